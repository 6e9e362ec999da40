import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';

/**
 * The C++ addon on oneDNN (native/, built by `npm run setup` with node-gyp). Every function works in
 * place on Float32Array buffers; callers validate shapes and lengths first (see onednn.ts).
 */
export interface NativeAddon {
  /** Sets the OpenMP thread count (n > 0) and returns the count in effect. */
  setNumThreads(n: number): number;
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, dims: Int32Array, relu: boolean): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, dims: Int32Array): void;
  conv2dBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  /** Max pooling and its gradient as direct loops (native/pool_direct.cc); dims as kPoolDims in native/kernels.h. */
  maxPoolDirect(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  maxPoolGradDirect(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** The ISA oneDNN dispatches to (after ONEDNN_MAX_CPU_ISA) and the one lvseg's own loops were compiled for. */
  cpuInfo(): { onednnIsa: string; compiledIsa: string };
  matMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, dims: Int32Array, relu: boolean): void;
  adam(value: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number, beta1: number, beta2: number,
    oneMinusAccBeta1: number, oneMinusAccBeta2: number, epsilon: number): void;
  sgd(value: Float32Array, g: Float32Array, lr: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, scalarA: boolean, blocked: boolean): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  sumLeading(x: Float32Array, out: Float32Array): void;
  reduceInner(op: number, x: Float32Array, out: Float32Array): void;
  /** Mean sparse softmax cross-entropy of logits [rows, classes]; writes (softmax - onehot) / rows to grad. */
  softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, grad: Float32Array): number;
  /** dims: rows, run, srcStride, dstStride; src and dst are views starting at the first element. */
  copyRows(src: Float32Array, dst: Float32Array, dims: Int32Array): void;
  /** y = (x - m[c]) * a[c] + b[c] over the innermost axis (m, a and b: one value per channel). */
  channelAffine(x: Float32Array, m: Float32Array, a: Float32Array, b: Float32Array, y: Float32Array): void;
  /** Per channel: sumDy[c] = sum dy, sumDyXc[c] = sum dy * (x - mean[c]). */
  channelSums(x: Float32Array, dy: Float32Array, mean: Float32Array, sumDy: Float32Array, sumDyXc: Float32Array): void;
}

export const ADDON_PATH = join(PACKAGE_ROOT, 'build', 'Release', 'lvseg_onednn.node');
export const NATIVE_ADVICE = 'apt-get install libdnnl-dev g++ make && npm run setup';

export type AddonLoad = { addon: NativeAddon; reason?: undefined } | { addon?: undefined; reason: string };

let loaded: AddonLoad | undefined;

/** Loads the addon once; `reason` says in one line why it is not available. */
export function loadNativeAddon(): AddonLoad {
  if (loaded) return loaded;
  if (process.env.LVSEG_NO_NATIVE === '1') {
    loaded = { reason: 'LVSEG_NO_NATIVE=1 is set' };
  } else if (!existsSync(ADDON_PATH)) {
    loaded = { reason: `the native oneDNN addon is not built (${ADDON_PATH} is missing)` };
  } else {
    try {
      // OpenMP reads this when the addon loads it. Spinning threads (its default) make every parallel
      // region wait for a descheduled thread when other processes share the cores: measured on 2 busy
      // cores, an FCN step took 0.8-2.2 s spinning and 0.35-0.6 s passive. Set it to override.
      process.env.OMP_WAIT_POLICY ??= 'passive';
      loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
    } catch (err) {
      const first = String((err as Error).message).split('\n')[0];
      loaded = { reason: `the native oneDNN addon does not load (${first})` };
    }
  }
  return loaded;
}
