import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { NATIVE_ADVICE } from './native-addon.js';
import { ONEDNN_BACKEND, registerOnednnBackend } from './onednn/index.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

export type BackendName = 'auto' | 'onednn' | 'wasm' | 'cpu';

export interface SelectedBackend {
  /** The backend in use: onednn, wasm or cpu. */
  name: Exclude<BackendName, 'auto'>;
  /** A one-line notice for the user when `auto` fell back (why, and how to get the fast one). */
  notice?: string;
}

/** Makes `name` the active TensorFlow.js backend; `auto` takes onednn when its addon loads, else wasm. */
export async function selectBackend(name: BackendName = 'auto'): Promise<SelectedBackend> {
  let wanted: SelectedBackend['name'] = name === 'auto' ? ONEDNN_BACKEND : name;
  let notice: string | undefined;
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
