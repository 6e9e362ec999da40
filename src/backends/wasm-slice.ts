/**
 * Slice and SplitV for the wasm backend that copy straight between views of the wasm heap.
 *
 * tfjs-backend-wasm 4.22's Slice first copies its whole input out of the heap (`readSync`), so
 * taking one 90,000-float row of a 9-row tensor costs as much as copying all nine (~35 ms at
 * 3x3x300x300); its SplitV pays that once per part. These copy only the window, in contiguous runs.
 */
import { slice_util, util, type DataType, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Runs shorter than this are copied element by element: cheaper than a subarray per run. */
const SHORT_RUN = 16;

/**
 * Copies the window [begin, begin + size) of a row-major tensor of shape `shape` held in `src`
 * into `dst` (row-major, shape `size`). Trailing axes that the window covers fully are merged into
 * one contiguous run. Pure; `dst` must hold prod(size) elements.
 */
export function copyWindow(
  src: NumericArray,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  dst: NumericArray,
): void {
  const rank = shape.length;
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  // The innermost axis that is not fully covered, with everything after it, forms one run.
  let runAxis = rank - 1;
  while (runAxis > 0 && begin[runAxis] === 0 && size[runAxis] === shape[runAxis]) runAxis--;
  const run = size[runAxis]! * strides[runAxis]!;
  const runStart = begin[runAxis]! * strides[runAxis]!;
  const runs = total / run;
  // Odometer over the axes before runAxis.
  const index = new Array<number>(runAxis).fill(0);
  let base = 0;
  for (let i = 0; i < runAxis; i++) base += begin[i]! * strides[i]!;
  let out = 0;
  for (let r = 0; r < runs; r++) {
    const from = base + runStart;
    if (run < SHORT_RUN) {
      for (let j = 0; j < run; j++) dst[out + j] = src[from + j]!;
    } else {
      dst.set(src.subarray(from, from + run), out);
    }
    out += run;
    for (let axis = runAxis - 1; axis >= 0; axis--) {
      index[axis]!++;
      base += strides[axis]!;
      if (index[axis]! < size[axis]!) break;
      base -= index[axis]! * strides[axis]!;
      index[axis] = 0;
    }
  }
}

function sliceOnHeap(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype as DataType);
  if (util.sizeFromShape(size) === 0) return out;
  // Views are taken after makeOutput: allocating may grow (and so detach) the heap.
  const src = backend.typedArrayFromHeap(x) as NumericArray;
  const dst = backend.typedArrayFromHeap(out) as NumericArray;
  copyWindow(src, x.shape, begin, size, dst);
  return out;
}

/** A Slice kernel for wasm; `fallback` (wasm's own) handles strings. */
export function makeWasmSlice(fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { inputs } = args;
    const attrs = args.attrs ?? {};
    const x = inputs.x as TensorInfo;
    if (x.dtype === 'string' && fallback) return fallback(args);
    const [begin, size] = slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
    return sliceOnHeap(args.backend as BackendWasm, x, begin, size);
  };
}

/** A SplitV kernel for wasm; `fallback` (wasm's own) handles strings. */
export function makeWasmSplitV(fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { inputs } = args;
    const attrs = args.attrs ?? {};
    const x = inputs.x as TensorInfo;
    if (x.dtype === 'string' && fallback) return fallback(args);
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
    const sizes = prepareSplitSizes(x.shape[axis]!, attrs.numOrSizeSplits as number | number[]);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const part = sliceOnHeap(args.backend as BackendWasm, x, [...begin], size);
      begin[axis]! += s;
      return part;
    });
  };
}

/**
 * tf.split's sizes: a count of equal parts, or sizes with at most one -1 (the rest). Not
 * backend_util.prepareSplitSize: tfjs 4.22's mis-sums a leading -1 (it throws on [-1, 3]) and writes the
 * resolved size into the caller's array.
 */
function prepareSplitSizes(length: number, numOrSizeSplits: number | number[]): number[] {
  if (typeof numOrSizeSplits === 'number') return new Array<number>(numOrSizeSplits).fill(length / numOrSizeSplits);
  const known = numOrSizeSplits.reduce((sum, s) => (s === -1 ? sum : sum + s), 0);
  return numOrSizeSplits.map((s) => (s === -1 ? length - known : s));
}
