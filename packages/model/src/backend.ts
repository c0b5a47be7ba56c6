import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError } from './errors.js';
import { getModelDefinition, type ModelDefinition, type ModelId, trainingKernels } from './models.js';

export type BackendPreference = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendId = Exclude<BackendPreference, 'auto'>;

export interface BackendSelection {
  /** The backend now active: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu'. */
  backend: string;
  /** Backends tried before it ('auto' only), with the reason each was passed over. */
  skipped: { backend: string; reason: string }[];
}

/** Order in which 'auto' tries backends. */
export const BACKEND_ORDER: readonly BackendId[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** npm package providing each backend. */
export const BACKEND_PACKAGES: Readonly<Record<BackendId, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

/** Name under which each backend registers itself with tfjs. */
const TF_NAMES: Readonly<Record<BackendId, string>> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

const require = createRequire(import.meta.url);

let active: { pref: BackendPreference; backend: BackendId } | undefined;
let nodeBackendLoadedFrom: BackendId | undefined;
let wasmLoaded: Promise<void> | undefined;

/** Why a backend cannot be used for this model, or undefined when it can. */
type Attempt = { ok: true } | { ok: false; reason: string; notInstalled?: boolean };

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function hasNvidiaGpu(): boolean {
  if (process.platform !== 'linux') return true; // cannot tell cheaply: let the import decide
  return ['/dev/nvidia0', '/proc/driver/nvidia/version', '/dev/dxg'].some((p) => existsSync(p));
}

function missingKernels(tfName: string, def: ModelDefinition): string[] {
  return trainingKernels(def).filter((k) => tf.getKernel(k, tfName) === undefined);
}

/** The directory holding the tfjs-backend-wasm .wasm binaries, with a trailing separator. */
export function wasmBinaryDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

async function loadWasm(): Promise<void> {
  wasmLoaded ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmBinaryDir());
  })();
  try {
    await wasmLoaded;
  } catch (e) {
    wasmLoaded = undefined;
    throw e;
  }
}

async function tryBackend(id: BackendId, def: ModelDefinition): Promise<Attempt> {
  const pkg = BACKEND_PACKAGES[id];
  const tfName = TF_NAMES[id];
  if (id === 'tensorflow-gpu' || id === 'tensorflow') {
    if (nodeBackendLoadedFrom && nodeBackendLoadedFrom !== id) {
      return {
        ok: false,
        reason: `${BACKEND_PACKAGES[nodeBackendLoadedFrom]} is already loaded in this process`,
      };
    }
    if (!isInstalled(pkg)) return { ok: false, notInstalled: true, reason: `${pkg} is not installed` };
    if (id === 'tensorflow-gpu' && !hasNvidiaGpu()) {
      return { ok: false, reason: 'no NVIDIA GPU detected (no /dev/nvidia0)' };
    }
    if (!nodeBackendLoadedFrom) {
      try {
        // A computed specifier: the package is optional and may be absent at type-check time.
        const spec: string = pkg;
        await import(spec);
      } catch (e) {
        return { ok: false, reason: `${pkg} is installed but failed to load: ${(e as Error).message}` };
      }
      nodeBackendLoadedFrom = id;
    }
    if (!tf.findBackendFactory(tfName)) {
      return {
        ok: false,
        reason: `${pkg} loaded but registered no '${tfName}' backend with this copy of @tensorflow/tfjs (version mismatch? both must be ${tf.version_core})`,
      };
    }
  } else if (id === 'wasm') {
    try {
      await loadWasm();
    } catch (e) {
      return {
        ok: false,
        notInstalled: !isInstalled(pkg),
        reason: `${pkg} failed to load: ${(e as Error).message}`,
      };
    }
  }
  const missing = missingKernels(tfName, def);
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `${id} has no ${missing.join(', ')} kernel (no Conv2D gradients), so ${def.name} cannot train on it`,
    };
  }
  if (id === 'cpu') {
    // The cpu backend prints an "install the node backend" banner on first use; selectBackend
    // already reports why faster backends were skipped. Production mode only silences warnings.
    tf.enableProdMode();
  }
  if (tf.getBackend() === tfName) return { ok: true }; // already active: setBackend would re-run init
  let ok = false;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    return { ok: false, reason: `${id} failed to initialise: ${(e as Error).message}` };
  }
  if (!ok) return { ok: false, reason: `${id} failed to initialise` };
  await tf.ready();
  return { ok: true };
}

/**
 * Make a tfjs backend active for training `model`.
 *
 * 'auto' tries tensorflow-gpu, tensorflow, wasm, cpu in that order and reports why each earlier
 * one was skipped. An explicit preference either succeeds or throws BackendUnavailableError
 * (naming the npm package to install when it is missing).
 *
 * tfjs keeps one active backend per process: trainLocal/evaluate use whatever this selected.
 * Calls are serialised: two overlapping tf.setBackend calls leave tfjs running one backend's
 * kernels against the other's instance (two participants in one process start at once).
 */
export function selectBackend(pref: BackendPreference, model: ModelId): Promise<BackendSelection> {
  const run = selectionQueue.then(() => selectNow(pref, model));
  selectionQueue = run.catch(() => undefined);
  return run;
}

let selectionQueue: Promise<unknown> = Promise.resolve();

async function selectNow(pref: BackendPreference, model: ModelId): Promise<BackendSelection> {
  const def = getModelDefinition(model);
  if (pref !== 'auto' && !BACKEND_ORDER.includes(pref)) {
    throw new BackendUnavailableError(
      String(pref),
      `unknown backend '${pref}'; valid: auto, ${BACKEND_ORDER.join(', ')}`,
    );
  }
  if (pref !== 'auto') {
    const r = await tryBackend(pref, def);
    if (!r.ok) {
      const pkg = BACKEND_PACKAGES[pref];
      const message = r.notInstalled
        ? `backend '${pref}' is not available: ${pkg} is not installed (npm install ${pkg})`
        : `backend '${pref}' is not available: ${r.reason}`;
      throw new BackendUnavailableError(pref, message, pkg);
    }
    active = { pref, backend: pref };
    return { backend: pref, skipped: [] };
  }
  const skipped: { backend: string; reason: string }[] = [];
  for (const id of BACKEND_ORDER) {
    const r = await tryBackend(id, def);
    if (r.ok) {
      active = { pref, backend: id };
      return { backend: id, skipped };
    }
    skipped.push({ backend: id, reason: r.reason });
  }
  throw new BackendUnavailableError(
    'auto',
    `no tfjs backend can train ${def.name}: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
  );
}

/** The backend selectBackend last activated, if any. */
export function activeBackend(): BackendId | undefined {
  return active?.backend;
}

/**
 * Called by trainLocal/evaluate. Selects 'auto' on first use; when training a model the active
 * backend cannot train (cnn on wasm), re-runs 'auto' if that is how it was chosen, else throws.
 */
export async function ensureBackend(def: ModelDefinition, forTraining: boolean): Promise<void> {
  if (!active) {
    await selectBackend('auto', def.name);
    return;
  }
  if (tf.getBackend() !== TF_NAMES[active.backend]) {
    // Someone switched tfjs backends behind our back (tf.setBackend): respect it.
    return;
  }
  if (!forTraining) return;
  const missing = missingKernels(TF_NAMES[active.backend], def);
  if (missing.length === 0) return;
  if (active.pref === 'auto') {
    await selectBackend('auto', def.name);
    return;
  }
  throw new BackendUnavailableError(
    active.backend,
    `backend '${active.backend}' has no ${missing.join(', ')} kernel, so ${def.name} cannot train on it; select 'auto' or 'cpu'`,
    BACKEND_PACKAGES[active.backend],
  );
}
