import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

export type BackendName = 'auto' | 'onednn' | 'wasm' | 'cpu';

export interface SelectedBackend {
  /** The backend in use: onednn, wasm or cpu. */
  name: Exclude<BackendName, 'auto'>;
  /** A one-line notice for the user when `auto` fell back (why, and how to get the fast one). */
  notice?: string;
}

/** Makes `name` the active TensorFlow.js backend; `auto` takes onednn when it loads, else wasm. */
export async function selectBackend(name: BackendName = 'auto'): Promise<SelectedBackend> {
  const wanted = name === 'auto' ? 'wasm' : name;
  if (wanted === 'onednn') {
    throw new BackendError("the onednn backend is not built; run 'npm run setup' (needs libdnnl-dev, g++, make) or use --backend wasm");
  }
  const ok = await tf.setBackend(wanted);
  if (!ok) throw new BackendError(`the ${wanted} backend failed to initialise; try --backend cpu`);
  await tf.ready();
  if (wanted === 'cpu') quietCpuBackend();
  if (wanted === 'wasm') registerWasmTrainingKernels();
  return { name: wanted };
}

/** The cpu backend prints a "install tfjs-node" banner on first use in Node; lvseg has its own advice. */
function quietCpuBackend(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
}
