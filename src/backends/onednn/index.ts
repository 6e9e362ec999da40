import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadNativeAddon, type NativeAddon } from '../native-addon.js';
import { ConvPrecision } from './contract.js';
import { convKernels } from './conv.js';
import { dataMovementKernels } from './data-movement.js';
import { elementwiseKernels, registerReluGradient } from './elementwise.js';
import { ONEDNN_BACKEND, exposingInputs, pool, type KernelTable } from './kernel.js';
import { registerSoftmaxCrossEntropy } from './loss.js';
import { matMulKernels } from './matmul.js';
import { normalizationKernels, registerBatchNormGradient, registerBatchNormTraining } from './normalization.js';
import { poolKernels } from './pool.js';
import { reduceKernels, registerMeanGradient } from './reduce.js';

/**
 * The `onednn` backend: a MathBackendCPU (same tensor storage, every cpu kernel registered for it too)
 * whose heavy kernels run natively on oneDNN, in place on the cpu backend's Float32Array buffers.
 * Each native kernel checks that its case is one the addon handles (float32, NHWC, shapes oneDNN
 * accepts) and otherwise calls the cpu kernel, so the backend is never less capable than `cpu`. The
 * kernels are grouped by family, one module each (conv, pool, matmul, elementwise, reduce,
 * data-movement, normalization, loss); contract.ts holds the op codes and dims layouts the addon reads.
 */
export {
  ONEDNN_BACKEND,
  onednnFallbackCounts,
  onednnKernelCounts,
  writtenInPlace,
  type KernelCounts,
} from './kernel.js';

let registered = false;

/**
 * The cpu kernels whose output shares the input's data id (reference counted), never a view of its buffer. Cast
 * shares it where nothing is lost (to float32, as the gradient of every Identity casts dy) and copies otherwise;
 * exposing its input lost four activation-sized buffers per U-Net level to the pool each training step (~31 MB
 * of fresh, page-faulting memory a step for sunnybrook-unet).
 */
const SHARES_BY_REFCOUNT = new Set(['Reshape', 'Identity', 'Cast']);

/**
 * MathBackendCPU whose native-kernel outputs come from, and go back to, the buffer pool. Values read
 * out of the backend are exposed: the reader may keep the array after the tensor is disposed.
 */
class OnednnBackend extends MathBackendCPU {
  override readSync(dataId: object): ReturnType<MathBackendCPU['readSync']> {
    pool.expose(this.data.get(dataId)?.values);
    return super.readSync(dataId);
  }

  override dispose(): void {
    pool.clear();
    super.dispose();
  }

  override disposeData(dataId: object, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const disposed = super.disposeData(dataId, force);
    if (disposed && values !== undefined && !this.data.has(dataId)) pool.release(values);
    return disposed;
  }
}

/** Every cpu kernel the addon replaces, by family. */
function nativeKernels(addon: NativeAddon): KernelTable {
  const kernels: KernelTable = new Map();
  convKernels(addon, kernels);
  poolKernels(addon, kernels);
  matMulKernels(addon, kernels);
  elementwiseKernels(addon, kernels);
  reduceKernels(addon, kernels);
  dataMovementKernels(addon, kernels);
  normalizationKernels(addon, kernels);
  return kernels;
}

/** Registers the onednn backend when the addon loads; returns why not otherwise. */
export function registerOnednnBackend(): { ok: true } | { ok: false; reason: string } {
  const load = loadNativeAddon();
  if (!load.addon) return { ok: false, reason: load.reason };
  if (registered) return { ok: true };
  const addon = load.addon;
  // Priority below wasm's and cpu's: lvseg always picks its backend explicitly (select.ts).
  tf.registerBackend(
    ONEDNN_BACKEND,
    () => {
      const backend = new OnednnBackend();
      // The cpu backend prints an "install tfjs-node" banner on first use; this is the fast path.
      (backend as unknown as { firstUse: boolean }).firstUse = false;
      return backend;
    },
    0,
  );
  const overrides = nativeKernels(addon);
  for (const cpuKernel of tf.getKernelsForBackend('cpu')) {
    const makeNative = overrides.get(cpuKernel.kernelName);
    const kernelFunc: KernelFunc = makeNative
      ? makeNative(cpuKernel.kernelFunc, cpuKernel.kernelName)
      : SHARES_BY_REFCOUNT.has(cpuKernel.kernelName)
        ? cpuKernel.kernelFunc
        : exposingInputs(cpuKernel.kernelFunc);
    tf.registerKernel({ ...cpuKernel, backendName: ONEDNN_BACKEND, kernelFunc });
  }
  registerReluGradient(addon);
  registerBatchNormGradient(addon);
  registerBatchNormTraining(addon);
  registerMeanGradient();
  registerSoftmaxCrossEntropy(addon);
  registered = true;
  return { ok: true };
}

/** Bytes of freed kernel outputs the onednn backend holds for reuse (for tests and profiles). */
export function onednnPooledBytes(): number {
  return pool.bytes;
}

/** The addon, for the fused optimizer updates (optimizers.ts). */
export function onednnAddon(): NativeAddon | undefined {
  return loadNativeAddon().addon;
}

/** What the onednn backend's convolutions read their inputs in (they accumulate and write float32 either way). */
export const PRECISIONS = ['float32', 'bfloat16'] as const;
export type ConvPrecisionName = (typeof PRECISIONS)[number];

/**
 * Sets the precision of the onednn convolutions from now on: `bfloat16` rounds their inputs (activations,
 * weights, gradients) to bfloat16 where the CPU has AVX512_BF16 or AMX (mixed precision: float32 sums,
 * outputs and weights), ~2x the float32 rate; `float32` elsewhere. Returns the precision in effect, or
 * undefined without the addon.
 */
export function setOnednnPrecision(precision: ConvPrecisionName): ConvPrecisionName | undefined {
  const addon = loadNativeAddon().addon;
  if (!addon) return undefined;
  const now = addon.setConvPrecision(precision === 'bfloat16' ? ConvPrecision.Bf16 : ConvPrecision.F32);
  return now === ConvPrecision.Bf16 ? 'bfloat16' : 'float32';
}

/**
 * Threads for the onednn backend (default: all cores). Fewer can be faster on a machine that other
 * processes keep busy: a parallel region waits for its slowest, possibly descheduled, thread.
 */
export function setOnednnThreads(threads: number): number | undefined {
  return loadNativeAddon().addon?.setNumThreads(threads);
}
