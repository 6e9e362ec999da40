/**
 * Concat for the wasm backend: each input's rows copied into place by lvseg's wasm SIMD module.
 * tfjs-backend-wasm 4.22's Concat copies in JavaScript, one `subarray` + `set` per row of each input: a
 * U-Net's skip connection along channels has rows of 16-32 floats, so it makes a view per 64-128 bytes
 * (~4.5 ms of a 34 ms 128x128 pass at batch 16). Strings, booleans and a backend without the module go to
 * `fallback` (wasm's own).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { backend_util, type ConcatAttrs, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapOffset, wasmSimdKernels } from './wasm-simd.js';

export function makeWasmConcat(fallback: KernelFunc | undefined): KernelFunc {
  if (!fallback) throw new Error("makeWasmConcat needs wasm's own Concat for what it does not handle");
  return (args) => {
    const backend = args.backend as BackendWasm;
    const inputs = args.inputs as unknown as TensorInfo[];
    const dtype = inputs[0]?.dtype;
    const kernels = wasmSimdKernels(backend);
    if (!kernels || (dtype !== 'float32' && dtype !== 'int32') || inputs.some((t) => t.dtype !== dtype)) {
      return fallback(args);
    }
    const axis = util.parseAxisParam((args.attrs as unknown as ConcatAttrs).axis, inputs[0]!.shape)[0]!;
    backend_util.assertParamsConsistent(
      inputs.map((t) => t.shape),
      axis,
    );
    const parts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
    if (parts.length < 2) return fallback(args);
    const out = backend.makeOutput(
      backend_util.computeOutShape(
        inputs.map((t) => t.shape),
        axis,
      ),
      dtype,
    );
    const rows = util.sizeFromShape(parts[0]!.shape.slice(0, axis));
    const widths = parts.map((t) => util.sizeFromShape(t.shape.slice(axis)));
    const stride = widths.reduce((a, b) => a + b, 0);
    let at = heapOffset(backend, out);
    parts.forEach((t, i) => {
      kernels.copy_rows(at, heapOffset(backend, t), rows, widths[i]!, stride);
      at += widths[i]! * 4;
    });
    return out;
  };
}
