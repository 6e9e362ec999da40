/**
 * MaxPoolGrad for the wasm backend, in JavaScript over views of the wasm heap.
 *
 * tfjs-backend-wasm 4.22's own drops the gradient of every window whose maximum is not positive:
 * with all-negative inputs it passes back 1 of 32 expected units, and relu zeros lose theirs too.
 * Pooling negative activations (after BatchNormalization or a linear conv) then trains wrongly.
 * Semantics here are the cpu backend's: each output's gradient goes to the FIRST maximum of its
 * window in row-major order (strictly greater wins). Speed is about that of wasm's own.
 */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The geometry of a 2-D max pool, NHWC. */
export interface PoolGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * dx of y = maxPool(x): adds each dy to the position of the first maximum of its window.
 * Pure; `dx` (the shape of x) is overwritten.
 */
export function maxPoolBackprop(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry): void {
  const { channels: C, inHeight: H, inWidth: W } = g;
  dx.fill(0);
  const best = new Float32Array(C);
  const bestAt = new Int32Array(C);
  for (let b = 0; b < g.batchSize; b++) {
    const xBatch = b * H * W * C;
    for (let oh = 0; oh < g.outHeight; oh++) {
      const h0 = oh * g.strideHeight - g.padTop;
      for (let ow = 0; ow < g.outWidth; ow++) {
        const w0 = ow * g.strideWidth - g.padLeft;
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let kh = 0; kh < g.filterHeight; kh++) {
          const h = h0 + kh * g.dilationHeight;
          if (h < 0 || h >= H) continue;
          for (let kw = 0; kw < g.filterWidth; kw++) {
            const w = w0 + kw * g.dilationWidth;
            if (w < 0 || w >= W) continue;
            const base = xBatch + (h * W + w) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                bestAt[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * g.outHeight + oh) * g.outWidth + ow) * C;
        for (let c = 0; c < C; c++) {
          const at = bestAt[c]!;
          if (at >= 0) dx[at]! += dy[dyBase + c]!;
        }
      }
    }
  }
}

/** A MaxPoolGrad kernel for wasm (float32, NHWC); `fallback` (wasm's own) handles anything else. */
export function makeWasmMaxPoolGrad(fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const dy = args.inputs.dy as TensorInfo;
    const x = args.inputs.input as TensorInfo;
    const attrs = args.attrs ?? {};
    if ((x.dtype !== 'float32' || dy.dtype !== 'float32') && fallback) return fallback(args);
    const info = backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterSize as number | [number, number],
      attrs.strides as number | [number, number],
      1,
      attrs.pad as 'valid' | 'same' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(x.shape, 'float32');
    // Views are taken after makeOutput: allocating may grow (and so detach) the heap.
    maxPoolBackprop(
      backend.typedArrayFromHeap(x) as Float32Array,
      backend.typedArrayFromHeap(dy) as Float32Array,
      backend.typedArrayFromHeap(out) as Float32Array,
      {
        batchSize: info.batchSize,
        inHeight: info.inHeight,
        inWidth: info.inWidth,
        channels: info.inChannels,
        outHeight: info.outHeight,
        outWidth: info.outWidth,
        filterHeight: info.filterHeight,
        filterWidth: info.filterWidth,
        strideHeight: info.strideHeight,
        strideWidth: info.strideWidth,
        dilationHeight: info.dilationHeight,
        dilationWidth: info.dilationWidth,
        padTop: info.padInfo.top,
        padLeft: info.padInfo.left,
      },
    );
    return out;
  };
}
