/**
 * Finding the independent verifier (python3 with jwcrypto) for the interop checks, and what to do
 * when there is none: skip on a developer's machine, fail under CI. .ci/run installs
 * python3-jwcrypto, so a CI run without it means the check silently stopped running.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The verifier script, given the artifacts and the JWKS as one JSON file. */
export const INTEROP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'verify.py');

export const JWCRYPTO_MISSING =
  'no python3 with jwcrypto (tried $KPFL_PYTHON, python3 on PATH, /usr/bin/python3): apt-get install -y python3-jwcrypto, or set KPFL_PYTHON';

/** $KPFL_PYTHON, then python3 on PATH, then /usr/bin/python3 (a pyenv python3 on PATH may lack jwcrypto). */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.KPFL_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
}

/** True when the CI variable is set to anything but '', '0' or 'false'. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

export type InteropPython = { python: string } | { skip: string } | { fail: string };

/**
 * The first candidate that can import jwcrypto; otherwise a reason to skip, or under CI a reason to fail.
 */
export function interopPython(
  env: NodeJS.ProcessEnv = process.env,
  candidates: string[] = pythonCandidates(env),
): InteropPython {
  const python = candidates.find(
    (py) => spawnSync(py, ['-c', 'import jwcrypto'], { stdio: 'ignore', timeout: 20_000 }).status === 0,
  );
  if (python) return { python };
  if (isCi(env)) return { fail: `${JWCRYPTO_MISSING}. Under CI this is a failure, not a skip.` };
  return { skip: JWCRYPTO_MISSING };
}
