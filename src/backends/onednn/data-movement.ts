import type * as tf from '@tensorflow/tfjs-core';
import { backend_util, slice_util, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../native-addon.js';
import { CopyDim } from './contract.js';
import { isF32, output, pool, values, withFallback, type KernelTable } from './kernel.js';

/**
 * Data movement (the U-Net's skip concatenations and their gradient, SplitV): Slice, SplitV, Concat,
 * Tile, Transpose, PadV2, and the nearest-neighbour resize gradient. tfjs cpu copies a non-contiguous
 * slice element by element through index arithmetic (a channel slice of a 256x256x32 skip took ~600 ms);
 * these are strided row copies in C++.
 */

/** copyRows' dims, reused: the addon reads them during the (synchronous) call and keeps no reference. */
const copyDims = new Int32Array(CopyDim.Count);

function copyRows(
  addon: NativeAddon,
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  rows: number,
  run: number,
  srcStride: number,
  dstStride: number,
): void {
  copyDims[CopyDim.Rows] = rows;
  copyDims[CopyDim.Run] = run;
  copyDims[CopyDim.SrcStride] = srcStride;
  copyDims[CopyDim.DstStride] = dstStride;
  addon.copyRows(src.subarray(srcOffset), dst.subarray(dstOffset), copyDims);
}

/** The float32 window of x as a new tensor; a contiguous window shares x's buffer, as the cpu kernel does. */
function sliceWindow(
  addon: NativeAddon,
  backend: MathBackendCPU,
  x: TensorInfo,
  begin: number[],
  size: number[],
): TensorInfo {
  const src = values(backend, x);
  const total = util.sizeFromShape(size);
  if (total === 0) return backend.makeTensorInfo(size, 'float32', new Float32Array(0));
  if (slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = slice_util.computeFlatOffset(begin, util.computeStrides(x.shape));
    pool.expose(src);
    return backend.makeTensorInfo(size, 'float32', src.subarray(offset, offset + total));
  }
  const out = output(backend, size);
  copyBox(
    addon,
    src,
    x.shape,
    begin,
    out.data,
    size,
    size.map(() => 0),
    size,
  );
  return out.info;
}

function fullStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/**
 * Copies a box of `size` at `srcBegin` in src (row-major, srcShape) to `dstBegin` in dst (dstShape):
 * trailing axes whole in both become one run, the axes before them (down to the first one not whole)
 * the rows of one native copy, and the axes before that are walked here (a channel slice of NHWC is one
 * copy of N*H*W rows; a padded NHWC image one copy per image row).
 */
function copyBox(
  addon: NativeAddon,
  src: Float32Array,
  srcShape: readonly number[],
  srcBegin: readonly number[],
  dst: Float32Array,
  dstShape: readonly number[],
  dstBegin: readonly number[],
  size: readonly number[],
): void {
  const rank = size.length;
  if (util.sizeFromShape([...size]) === 0) return;
  const ss = fullStrides(srcShape),
    ds = fullStrides(dstShape);
  const whole = (i: number) => size[i] === srcShape[i] && size[i] === dstShape[i];
  let k = rank - 1;
  while (k > 0 && whole(k)) k--;
  const run = size[k] * ss[k];
  const rowAxis = k - 1;
  let first = rowAxis,
    rows = rowAxis >= 0 ? size[rowAxis] : 1;
  while (first > 0 && whole(first)) rows *= size[--first];
  const srcStride = rowAxis >= 0 ? ss[rowAxis] : run,
    dstStride = rowAxis >= 0 ? ds[rowAxis] : run;
  let srcBase = 0,
    dstBase = 0;
  for (let i = 0; i <= k; i++) {
    srcBase += srcBegin[i] * ss[i];
    dstBase += dstBegin[i] * ds[i];
  }
  const outer = Math.max(0, first);
  const index = new Array<number>(outer).fill(0);
  const copies = util.sizeFromShape(size.slice(0, outer));
  for (let c = 0; c < copies; c++) {
    copyRows(addon, src, srcBase, dst, dstBase, rows, run, srcStride, dstStride);
    for (let axis = outer - 1; axis >= 0; axis--) {
      index[axis]++;
      srcBase += ss[axis];
      dstBase += ds[axis];
      if (index[axis] < size[axis]) break;
      srcBase -= index[axis] * ss[axis];
      dstBase -= index[axis] * ds[axis];
      index[axis] = 0;
    }
  }
}

export function dataMovementKernels(addon: NativeAddon, kernels: KernelTable): void {
  // tfjs cpu converts every output index to coordinates (an array per element); this walks the output
  // in order with the input offset kept by an odometer. A kept innermost axis moves whole rows natively.
  kernels.set(
    'Transpose',
    withFallback(({ inputs, backend, attrs }) => {
      const { x } = inputs;
      const perm = attrs.perm as number[];
      const rank = x.shape.length;
      if (!isF32(backend, x) || rank === 0 || perm.length !== rank || util.sizeFromShape(x.shape) === 0) return null;
      const outShape = perm.map((p) => x.shape[p]);
      const out = output(backend, outShape);
      const src = values(backend, x),
        dst = out.data;
      const xs = fullStrides(x.shape);
      // Stride in the input of each output axis.
      const step = perm.map((p) => xs[p]);
      const keepsInner = perm[rank - 1] === rank - 1;
      const innerAxes = keepsInner ? rank - 1 : rank;
      const inner = keepsInner ? x.shape[rank - 1] : 1;
      const last = innerAxes - 1;
      const n = last >= 0 ? outShape[last] : 1,
        lastStep = last >= 0 ? step[last] : 0;
      const outer = util.sizeFromShape(outShape.slice(0, Math.max(0, last)));
      const index = new Array<number>(Math.max(0, last)).fill(0);
      let from = 0,
        to = 0;
      for (let o = 0; o < outer; o++) {
        if (keepsInner) {
          copyRows(addon, src, from, dst, to, n, inner, lastStep, inner);
          to += n * inner;
        } else {
          for (let j = 0, f = from; j < n; j++, f += lastStep) dst[to++] = src[f];
        }
        for (let axis = last - 1; axis >= 0; axis--) {
          index[axis]++;
          from += step[axis];
          if (index[axis] < outShape[axis]) break;
          from -= index[axis] * step[axis];
          index[axis] = 0;
        }
      }
      return out.info;
    }),
  );

  // Also the gradient of Slice, and ZeroPadding2D.
  kernels.set(
    'PadV2',
    withFallback(({ inputs, backend, attrs }) => {
      const { x } = inputs;
      const paddings = attrs.paddings as [number, number][];
      if (!isF32(backend, x) || x.shape.length === 0 || paddings.length !== x.shape.length) return null;
      if (paddings.some(([before, after]) => before < 0 || after < 0)) return null;
      const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
      const out = output(backend, outShape);
      out.data.fill((attrs.constantValue as number | undefined) ?? 0);
      copyBox(
        addon,
        values(backend, x),
        x.shape,
        x.shape.map(() => 0),
        out.data,
        outShape,
        paddings.map((p) => p[0]),
        x.shape,
      );
      return out.info;
    }),
  );

  // tfjs cpu searches a window of dy for every input pixel (36 tests per value for a 2x upsampling);
  // this adds each dy pixel into its source pixel once, in the same order, in double like the cpu kernel.
  kernels.set(
    'ResizeNearestNeighborGrad',
    withFallback(({ inputs, backend, attrs }) => {
      const { images, dy } = inputs;
      if (!isF32(backend, dy) || images.shape.length !== 4 || dy.shape.length !== 4) return null;
      const alignCorners = attrs.alignCorners === true;
      const [batch, xHeight, xWidth, depth] = images.shape;
      const [, yHeight, yWidth] = dy.shape;
      // The cpu kernel's window covers every source pixel only when upsampling; leave the rest to it.
      if (yHeight < xHeight || yWidth < xWidth || dy.shape[0] !== batch || dy.shape[3] !== depth) return null;
      const scale = (x: number, y: number) => (alignCorners && y > 1 ? x - 1 : x) / (alignCorners && y > 1 ? y - 1 : y);
      const nearest = (i: number, s: number, limit: number) =>
        Math.min(limit - 1, alignCorners ? Math.round(i * s) : Math.floor(i * s));
      const heightScale = scale(xHeight, yHeight),
        widthScale = scale(xWidth, yWidth);
      const sourceCol = Int32Array.from({ length: yWidth }, (_, c) => nearest(c, widthScale, xWidth));
      const dyValues = values(backend, dy);
      const sums = new Float64Array(batch * xHeight * xWidth * depth);
      let from = 0;
      for (let b = 0; b < batch; b++) {
        for (let r = 0; r < yHeight; r++) {
          const rowBase = (b * xHeight + nearest(r, heightScale, xHeight)) * xWidth;
          for (let c = 0; c < yWidth; c++) {
            const to = (rowBase + sourceCol[c]) * depth;
            for (let d = 0; d < depth; d++) sums[to + d] += dyValues[from++];
          }
        }
      }
      const dx = output(backend, [...images.shape]);
      dx.data.set(sums);
      return dx.info;
    }),
  );

  kernels.set(
    'Slice',
    withFallback(({ inputs, backend, attrs }) => {
      const { x } = inputs;
      if (!isF32(backend, x) || x.shape.length === 0) return null;
      const [begin, size] = slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
      slice_util.assertParamsValid(x, begin, size);
      return sliceWindow(addon, backend, x, begin, size);
    }),
  );

  kernels.set(
    'SplitV',
    withFallback(({ inputs, backend, attrs }) => {
      const { x } = inputs;
      if (!isF32(backend, x) || x.shape.length === 0) return null;
      const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
      const sizes = backend_util.prepareSplitSize(
        x as unknown as tf.Tensor,
        attrs.numOrSizeSplits as number | number[],
        axis,
      );
      const begin = new Array<number>(x.shape.length).fill(0);
      const parts = sizes.map((s) => {
        const size = [...x.shape];
        size[axis] = s;
        const part = sliceWindow(addon, backend, x, [...begin], size);
        begin[axis] += s;
        return part;
      });
      return parts as unknown as TensorInfo;
    }),
  );

  kernels.set(
    'Concat',
    withFallback(({ inputs, backend, attrs }) => {
      const all = Object.values(inputs);
      if (all.length === 0 || !isF32(backend, ...all) || all[0].shape.length === 0) return null;
      const axis = util.parseAxisParam(attrs.axis as number, all[0].shape)[0];
      backend_util.assertParamsConsistent(
        all.map((t) => t.shape),
        axis,
      );
      const outShape = backend_util.computeOutShape(
        all.map((t) => t.shape),
        axis,
      );
      const parts = all.filter((t) => util.sizeFromShape(t.shape) > 0);
      if (parts.length < 2) return null;
      const out = output(backend, outShape);
      const outer = util.sizeFromShape(outShape.slice(0, axis));
      const innerTotal = util.sizeFromShape(outShape.slice(axis));
      let column = 0;
      for (const t of parts) {
        const inner = util.sizeFromShape(t.shape.slice(axis));
        copyRows(addon, values(backend, t), 0, out.data, column, outer, inner, inner, innerTotal);
        column += inner;
      }
      return out.info;
    }),
  );

  kernels.set(
    'Tile',
    withFallback(({ inputs, backend, attrs }) => {
      const { x } = inputs;
      const reps = attrs.reps as number[];
      if (
        !isF32(backend, x) ||
        x.shape.length === 0 ||
        reps.length !== x.shape.length ||
        util.sizeFromShape(x.shape) === 0
      )
        return null;
      const outShape = x.shape.map((d, i) => d * reps[i]);
      if (util.sizeFromShape(outShape) === 0) return null;
      // One tiled axis at a time, innermost first: repeating axis k copies each block of the axes from k
      // on `reps[k]` times, as row copies (stride 0 reads the same block again).
      let shape = [...x.shape];
      let current = values(backend, x);
      const tiled = reps.map((r, k) => (r > 1 ? k : -1)).filter((k) => k >= 0);
      if (tiled.length === 0) {
        const out = output(backend, outShape);
        out.data.set(current);
        return out.info;
      }
      let result: { info: TensorInfo; data: Float32Array } | undefined;
      for (let t = tiled.length - 1; t >= 0; t--) {
        const k = tiled[t];
        const outer = util.sizeFromShape(shape.slice(0, k));
        const block = util.sizeFromShape(shape.slice(k));
        const r = reps[k];
        const next = [...shape];
        next[k] *= r;
        if (t === 0) result = output(backend, outShape);
        const dst = t === 0 ? result!.data : new Float32Array(util.sizeFromShape(next));
        if (outer <= r) {
          for (let o = 0; o < outer; o++) copyRows(addon, current, o * block, dst, o * block * r, r, block, 0, block);
        } else {
          for (let j = 0; j < r; j++) copyRows(addon, current, 0, dst, j * block, outer, block, block, block * r);
        }
        current = dst;
        shape = next;
      }
      return result!.info;
    }),
  );
}
