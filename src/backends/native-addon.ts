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
  maxPool(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  matMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, dims: Int32Array, relu: boolean): void;
  adam(value: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number, beta1: number, beta2: number,
    oneMinusAccBeta1: number, oneMinusAccBeta2: number, epsilon: number): void;
  sgd(value: Float32Array, g: Float32Array, lr: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, scalarA: boolean, blocked: boolean): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  sumLeading(x: Float32Array, out: Float32Array): void;
  reduceInner(op: number, x: Float32Array, out: Float32Array): void;
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
      loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
    } catch (err) {
      const first = String((err as Error).message).split('\n')[0];
      loaded = { reason: `the native oneDNN addon does not load (${first})` };
    }
  }
  return loaded;
}
