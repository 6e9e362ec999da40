import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { NATIVE_ADVICE } from './native-addon.js';
import { ONEDNN_BACKEND, registerOnednnBackend } from './onednn/index.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { registerWebGpuBackend, WEBGPU_BACKEND } from './webgpu.js';

/** Every name --backend takes. */
export const BACKEND_NAMES = ['auto', 'webgpu', 'onednn', 'wasm', 'cpu'] as const;
/** One of BACKEND_NAMES. */
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_HELP =
  'compute backend: auto picks webgpu on a real GPU, else onednn when the native addon loads, else wasm';

/** The backend selectBackend made active, and its notice when `auto` fell back. */
export interface SelectedBackend {
  /** The backend in use: webgpu, onednn, wasm or cpu. */
  name: Exclude<BackendName, 'auto'>;
  /** A one-line notice for the user when `auto` fell back (why, and how to get the fast one). */
  notice?: string;
}

/**
 * Makes `name` the active TensorFlow.js backend. `auto` takes webgpu on a machine with a GPU whose
 * WebGPU adapter is real hardware (and says so), else onednn when its addon loads, else wasm.
 */
export async function selectBackend(name: BackendName = 'auto'): Promise<SelectedBackend> {
  let wanted: SelectedBackend['name'] = name === 'auto' ? ONEDNN_BACKEND : name;
  let notice: string | undefined;
  if (name === WEBGPU_BACKEND || (name === 'auto' && hasGpuDevice())) {
    const gpu = await registerWebGpuBackend(name === WEBGPU_BACKEND);
    if (gpu.ok) {
      wanted = WEBGPU_BACKEND;
      notice =
        name === 'auto' || gpu.software
          ? `training on webgpu: ${gpu.adapter}${gpu.software ? ' (a CPU renderer: slow, for testing)' : ''}`
          : undefined;
    } else if (name === WEBGPU_BACKEND) {
      throw new BackendError(`--backend webgpu: ${gpu.reason}; use --backend auto`);
    }
  }
  if (wanted === ONEDNN_BACKEND) {
    const native = registerOnednnBackend();
    if (!native.ok) {
      if (name === ONEDNN_BACKEND) {
        throw new BackendError(`--backend onednn: ${native.reason}; run '${NATIVE_ADVICE}', or use --backend wasm`);
      }
      wanted = 'wasm';
      notice = `training on wasm: ${native.reason}; for the fast native backend run '${NATIVE_ADVICE}'`;
    }
  }
  // wasm lacks Conv2DBackpropFilter (and its Conv2DBackpropInput is slow): lvseg's make it train.
  if (wanted === 'wasm') registerWasmTrainingKernels();
  const ok = await tf.setBackend(wanted);
  if (!ok) throw new BackendError(`the ${wanted} backend failed to initialise; try --backend cpu`);
  await tf.ready();
  if (wanted === 'cpu') quietCpuBackend();
  return notice === undefined ? { name: wanted } : { name: wanted, notice };
}

/** The cpu backend prints a "install tfjs-node" banner on first use in Node; lvseg has its own advice. */
function quietCpuBackend(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
}

/** A GPU's device node: only then is looking for a WebGPU adapter worth its start-up time. */
function hasGpuDevice(): boolean {
  try {
    return (
      readdirSync('/dev').some((f) => f.startsWith('nvidia')) ||
      (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')))
    );
  } catch {
    return false;
  }
}
