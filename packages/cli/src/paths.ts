import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, resolved from this file: the demo's embedded dataset lives there. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_DATASET = fileURLToPath(new URL('../../../data/mnist', import.meta.url));
// Absolute, so children find the loader whatever their working directory.
export const TSX_LOADER = import.meta.resolve('tsx');
/**
 * How node runs this repository's TypeScript: @kpfl/* resolve to their sources under the
 * kpfl-source export condition (their default is the built dist/, for installs; ADR 0012), and
 * tsx compiles them as they load.
 */
export const SOURCE_NODE_ARGS = ['--conditions=kpfl-source', '--import', TSX_LOADER] as const;
export const CLI_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** argv to run this CLI again in a child process (with the same TypeScript loader). */
export function cliCommand(args: string[]): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: [...SOURCE_NODE_ARGS, CLI_MAIN, ...args] };
}

/** argv to run the `kpfl` of another checkout at `root` (its packages/cli/src/main.ts), with this loader. */
export function cliCommandAt(root: string, args: string[]): { cmd: string; args: string[] } {
  return {
    cmd: process.execPath,
    args: [...SOURCE_NODE_ARGS, join(root, 'packages', 'cli', 'src', 'main.ts'), ...args],
  };
}
