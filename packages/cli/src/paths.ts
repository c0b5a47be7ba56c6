import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, resolved from this file: the demo's embedded dataset lives there. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_DATASET = fileURLToPath(new URL('../../../data/mnist', import.meta.url));
// Absolute, so children find the loader whatever their working directory.
export const TSX_LOADER = import.meta.resolve('tsx');
export const CLI_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** argv to run this CLI again in a child process (with the same TypeScript loader). */
export function cliCommand(args: string[]): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: ['--import', TSX_LOADER, CLI_MAIN, ...args] };
}

/** argv to run the `kpfl` of another checkout at `root` (its packages/cli/src/main.ts), with this loader. */
export function cliCommandAt(root: string, args: string[]): { cmd: string; args: string[] } {
  return {
    cmd: process.execPath,
    args: ['--import', TSX_LOADER, join(root, 'packages', 'cli', 'src', 'main.ts'), ...args],
  };
}
