/**
 * Training kernels for TensorFlow.js's `wasm` backend (tfjs-backend-wasm 4.22).
 *
 * wasm has no Conv2DBackpropFilter (a conv net cannot train), and its Conv2DBackpropInput is a scalar
 * loop (about 1 s of a 1.5 s FCN step). Both are composed here from kernels that wasm runs with
 * XNNPACK SIMD code: a strided convolution's gradients are split into stride-1 work over sub-pixel
 * phases (see wasm-conv-plan.ts), so that
 *   - Conv2DBackpropInput (also the forward of Conv2DTranspose) is one stride-1 Conv2D of the padded dy
 *     with a rearranged filter (out channels = phases x in channels) followed by depth-to-space, and
 *   - Conv2DBackpropFilter is a space-to-depth of x, an im2col and one MatMul.
 * Neither multiplies the zeros that a dilated-gradient formulation would. Where wasm's own
 * data-movement kernels are slow (Reverse, DepthToSpace, MatMul with transposeA) the layouts avoid them.
 * Registration also replaces wasm's Slice and SplitV (slow: wasm-slice.ts) and MaxPoolGrad (wrong for
 * non-positive maxima: wasm-pool.ts) and Concat (a JavaScript copy per row: wasm-concat.ts), fixes `same`
 * padding of its convolutions (wasm-same-padding.ts) and runs their 3x3 stride-1 cases by Winograd's
 * F(4x4, 3x3) (wasm-winograd.ts); the last two are lvseg's wasm SIMD module (wasm-simd.ts).
 * docs/wasm.md has the measurements.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  backend_util,
  Concat,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNative,
  FusedConv2D,
  FusedDepthwiseConv2D,
  getKernel,
  MaxPoolGrad,
  registerKernel,
  Slice,
  SplitV,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type Tensor,
  type Tensor4D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { makeWasmConcat } from './wasm-concat.js';
import { planBackpropFilterAxis, planBackpropInputAxis } from './wasm-conv-plan.js';
import { makeWasmMaxPoolGrad } from './wasm-pool.js';
import { withExplicitSamePadding } from './wasm-same-padding.js';
import { makeWasmSlice, makeWasmSplitV } from './wasm-slice.js';
import { withWinograd } from './wasm-winograd.js';

const BACKEND = 'wasm';
/** Up to this many kernel taps, the filter gradient's im2col is built tap by tap (see below). */
const PER_TAP_IM2COL_MAX_TAPS = 64;

/** wasm's own kernels that lvseg replaced, kept for comparison in the bench and as fallbacks. */
const replacedKernels = new Map<string, KernelConfig>();
/** lvseg's kernel functions as registered, to make registration idempotent. */
const ownKernels = new Map<string, KernelFunc>();

/** The kernels lvseg adds to or replaces in the wasm backend, each made from wasm's own (if any). */
const KERNEL_FACTORIES: ReadonlyArray<[string, (wasmOwn: KernelFunc | undefined) => KernelFunc]> = [
  [Conv2DBackpropInput, () => conv2DBackpropInputKernel],
  [Conv2DBackpropFilter, () => conv2DBackpropFilterKernel],
  [Slice, makeWasmSlice],
  [SplitV, makeWasmSplitV],
  [MaxPoolGrad, makeWasmMaxPoolGrad],
  [Concat, makeWasmConcat],
  [Conv2D, (own) => withWinograd(withExplicitSamePadding(own, false))],
  [FusedConv2D, (own) => withWinograd(withExplicitSamePadding(own, false))],
  [DepthwiseConv2dNative, (own) => withExplicitSamePadding(own, true)],
  [FusedDepthwiseConv2D, (own) => withExplicitSamePadding(own, true)],
];

/**
 * wasm's own kernel `name` if lvseg replaced it; callable only when the wasm backend was initialised
 * before the replacement (its setup binds the wasm function).
 */
export function wasmOwnKernel(name: string): KernelFunc | undefined {
  return replacedKernels.get(name)?.kernelFunc;
}

/**
 * Registers lvseg's Conv2DBackpropInput, Conv2DBackpropFilter, Slice, SplitV and MaxPoolGrad for the
 * `wasm` backend (replacing wasm's own), and wraps wasm's convolutions to fix their `same` padding.
 * Idempotent; call after the wasm backend is registered (importing tfjs-backend-wasm does that).
 */
export function registerWasmTrainingKernels(): void {
  for (const [kernelName, make] of KERNEL_FACTORIES) {
    const existing = getKernel(kernelName, BACKEND);
    if (existing && existing.kernelFunc === ownKernels.get(kernelName)) continue;
    if (existing) {
      replacedKernels.set(kernelName, existing);
      // registerKernel warns and keeps the old one registered under the same key otherwise.
      unregisterKernel(kernelName, BACKEND);
    }
    const kernelFunc = make(existing?.kernelFunc);
    ownKernels.set(kernelName, kernelFunc);
    // Wrapped wasm kernels still need their setup (binding the wasm function) if the backend starts later.
    const setupFunc = existing?.setupFunc;
    registerKernel({ kernelName, backendName: BACKEND, kernelFunc, ...(setupFunc ? { setupFunc } : {}) });
  }
}

/**
 * A kernel input as a Tensor for tf ops. Ops pass Tensors, used as they are (the enclosing tidy does
 * not own them); a bare TensorInfo gets a wrapper holding its own reference, since the engine's
 * makeTensorFromTensorInfo does not add a backend reference and disposing it would free the input.
 */
function asTensor<R extends tf.Rank>(info: TensorInfo): Tensor<R> {
  if (info instanceof tf.Tensor) return info as Tensor<R>;
  const t = tf.engine().makeTensorFromTensorInfo(info) as Tensor<R>;
  tf.engine().backend.incRef(info.dataId);
  return t;
}

function isNchw(dataFormat: 'NHWC' | 'NCHW' | undefined): boolean {
  return dataFormat === 'NCHW';
}

function toNhwc(t: Tensor4D, nchw: boolean): Tensor4D {
  return nchw ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

/** Slices only when the window is not the whole tensor (wasm's Slice copies). */
function sliceIfNeeded(t: Tensor4D, begin: number[], size: number[]): Tensor4D {
  const whole = begin.every((b) => b === 0) && size.every((s, i) => s === t.shape[i]);
  return whole ? t : tf.slice(t, begin, size);
}

function padIfNeeded(t: Tensor4D, paddings: Array<[number, number]>): Tensor4D {
  return paddings.every(([a, b]) => a === 0 && b === 0) ? t : tf.pad(t, paddings);
}

/**
 * Reverses the rows of a 2-D tensor by slicing and concatenating them: wasm's Reverse and GatherV2
 * walk element by element (~40 ms for a 3x3x300x300 filter), contiguous row copies take ~1 ms.
 */
function reverseRows(t: tf.Tensor2D): tf.Tensor2D {
  const [rows, width] = t.shape;
  if (rows === 1) return t;
  const parts: tf.Tensor2D[] = [];
  for (let r = rows - 1; r >= 0; r--) parts.push(tf.slice(t, [r, 0], [1, width]));
  return tf.concat(parts, 0);
}

/**
 * dx of y = conv2d(x, w) with w [kh, kw, inC, outC]: one stride-1 conv of the padded dy with a filter
 * [mh, mw, outC, sh*sw*inC] holding every phase's flipped taps, then the phases are interleaved
 * (depth-to-space by the strides, done as a 4-D transpose: wasm's DepthToSpace is ~20x slower).
 */
export function conv2dBackpropInputNhwc(dy: Tensor4D, filter: Tensor4D, convInfo: backend_util.Conv2DInfo): Tensor4D {
  const { batchSize, inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth } = convInfo;
  const { strideHeight: sh, strideWidth: sw } = convInfo;
  const rows = planBackpropInputAxis(inHeight, convInfo.outHeight, filterHeight, sh, convInfo.padInfo.top);
  const cols = planBackpropInputAxis(inWidth, convInfo.outWidth, filterWidth, sw, convInfo.padInfo.left);
  const { taps: mh } = rows;
  const { taps: mw } = cols;
  const phaseChannels = sh * sw * inChannels;

  // Filter phases: g[th, tw, oc, (rh, rw, ic)] = w[rh + (mh-1-th)*sh, rw + (mw-1-tw)*sw, ic, oc].
  const wPadded = padIfNeeded(filter, [
    [0, mh * sh - filterHeight],
    [0, mw * sw - filterWidth],
    [0, 0],
    [0, 0],
  ]);
  const byPhase = tf.reshape(wPadded, [mh, sh, mw, sw * inChannels * outChannels]);
  const byTap = sh === 1 ? byPhase : tf.transpose(byPhase, [0, 2, 1, 3]); // [mh, mw, sh, (sw, ic, oc)]
  // Flipping both tap axes of the row-major (mh, mw) grid reverses its flattened order.
  const flipped = reverseRows(tf.reshape(byTap, [mh * mw, phaseChannels * outChannels]));
  const g = tf.reshape<tf.Rank.R4>(
    tf.transpose(tf.reshape(flipped, [mh * mw, phaseChannels, outChannels]), [0, 2, 1]),
    [mh, mw, outChannels, phaseChannels],
  );

  const dyUsed = sliceIfNeeded(
    dy,
    [0, rows.dyBegin, cols.dyBegin, 0],
    [batchSize, rows.dySize, cols.dySize, outChannels],
  );
  const dyPadded = padIfNeeded(dyUsed, [
    [0, 0],
    [rows.padBefore, rows.padAfter],
    [cols.padBefore, cols.padAfter],
    [0, 0],
  ]);
  const z = tf.conv2d(dyPadded, g, 1, 'valid'); // [n, blocksH, blocksW, (rh, rw, ic)]

  const full =
    sh === 1 && sw === 1
      ? z
      : tf.reshape<tf.Rank.R4>(
          tf.transpose(tf.reshape(z, [batchSize * rows.blocks, cols.blocks, sh, sw * inChannels]), [0, 2, 1, 3]),
          [batchSize, rows.blocks * sh, cols.blocks * sw, inChannels],
        );
  return sliceIfNeeded(full, [0, rows.cropBegin, cols.cropBegin, 0], [batchSize, inHeight, inWidth, inChannels]);
}

/**
 * dw of y = conv2d(x, w): space-to-depth of the padded x by the strides (channels first), an im2col
 * whose every row block is a window of one phase, and one MatMul with dy.
 * - Channels first gives the im2col matrix as [taps*C, positions] directly: wasm's MatMul with
 *   transposeA is ~10x slower than a plain one.
 * - wasm's Slice copies row by row in JavaScript, slow for short rows, so each tap is one window of
 *   the flattened (rows, cols) plane: positions run over the full padded width `bw` instead of `ow`,
 *   and dy is padded with zero columns so that the wrapped-around positions add nothing.
 */
export function conv2dBackpropFilterNhwc(x: Tensor4D, dy: Tensor4D, convInfo: backend_util.Conv2DInfo): Tensor4D {
  const { batchSize, inChannels, outChannels, outHeight, outWidth, filterHeight, filterWidth } = convInfo;
  const { strideHeight: sh, strideWidth: sw } = convInfo;
  const rows = planBackpropFilterAxis(convInfo.inHeight, outHeight, filterHeight, sh, convInfo.padInfo.top);
  const cols = planBackpropFilterAxis(convInfo.inWidth, outWidth, filterWidth, sw, convInfo.padInfo.left);
  const { taps: mh } = rows;
  const { taps: mw, blocks: bw } = cols;
  // One spare block row so that the last tap's window (which starts mw-1 columns late) stays inside.
  const bh = rows.blocks + 1;

  const xUsed = sliceIfNeeded(x, [0, 0, 0, 0], [batchSize, rows.xSize, cols.xSize, inChannels]);
  const xPadded = padIfNeeded(xUsed, [
    [0, 0],
    [rows.padBefore, rows.padAfter + sh],
    [cols.padBefore, cols.padAfter],
    [0, 0],
  ]);
  const phaseChannels = sh * sw * inChannels;
  // xs[(rh, rw, ic), n, qh*bw + qw] = xPadded[n, qh*sh + rh, qw*sw + rw, ic]: one transpose of
  // [(n, qh), rh, qw, (rw, ic)] to [rh, (rw, ic), (n, qh), qw].
  const xs = tf.reshape<tf.Rank.R3>(
    tf.transpose(tf.reshape(xPadded, [batchSize * bh, sh, bw, sw * inChannels]), [1, 3, 0, 2]),
    [phaseChannels, batchSize, bh * bw],
  );

  const widePositions = outHeight * bw;
  const dyWide = tf.reshape(
    padIfNeeded(dy, [
      [0, 0],
      [0, 0],
      [0, bw - outWidth],
      [0, 0],
    ]),
    [batchSize * widePositions, outChannels],
  );
  const window = (channelBegin: number, channels: number, th: number, tw: number): tf.Tensor3D =>
    tf.slice(xs, [channelBegin, 0, th * bw + tw], [channels, batchSize, widePositions]);

  if (filterHeight * filterWidth <= PER_TAP_IM2COL_MAX_TAPS) {
    // One im2col block per kernel tap (kh, kw): its phase's channels at its block offset. Rows come
    // out in dw's own order and no row is spent on taps past the kernel (25 instead of 36 for 5x5/2).
    const patches: tf.Tensor3D[] = [];
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const phase = (kh % sh) * sw + (kw % sw);
        patches.push(window(phase * inChannels, inChannels, Math.floor(kh / sh), Math.floor(kw / sw)));
      }
    }
    const im2colT = tf.reshape(patches.length === 1 ? patches[0]! : tf.concat(patches, 0), [
      filterHeight * filterWidth * inChannels,
      batchSize * widePositions,
    ]);
    return tf.reshape<tf.Rank.R4>(tf.matMul(im2colT, dyWide), [filterHeight, filterWidth, inChannels, outChannels]);
  }

  // Large kernels (the FCN's 31x31 upsampler): one block per phase-split tap, all phases at once.
  const patches: tf.Tensor3D[] = [];
  for (let th = 0; th < mh; th++) {
    for (let tw = 0; tw < mw; tw++) patches.push(window(0, phaseChannels, th, tw));
  }
  const im2colT = tf.reshape(patches.length === 1 ? patches[0]! : tf.concat(patches, 0), [
    mh * mw * phaseChannels,
    batchSize * widePositions,
  ]);
  const dwTaps = tf.matMul(im2colT, dyWide); // [(mh, mw, rh, rw, ic), oc]
  // [(mh, mw, rh, rw, ic, oc)] -> [(mh, rh), (mw, rw), ic, oc], then drop taps past the kernel.
  const byRow =
    sh === 1 ? dwTaps : tf.transpose(tf.reshape(dwTaps, [mh, mw, sh, sw * inChannels * outChannels]), [0, 2, 1, 3]);
  const dw = tf.reshape<tf.Rank.R4>(byRow, [mh * sh, mw * sw, inChannels, outChannels]);
  return sliceIfNeeded(dw, [0, 0, 0, 0], [filterHeight, filterWidth, inChannels, outChannels]);
}

const conv2DBackpropInputKernel: KernelFunc = ({ inputs, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  const nchw = isNchw(dataFormat);
  const nhwcShape: [number, number, number, number] = nchw
    ? [inputShape[0], inputShape[2], inputShape[3], inputShape[1]]
    : inputShape;
  const convInfo = backend_util.computeConv2DInfo(
    nhwcShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return tf.tidy(() => {
    const dx = conv2dBackpropInputNhwc(toNhwc(asTensor<tf.Rank.R4>(dy), nchw), asTensor<tf.Rank.R4>(filter), convInfo);
    return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
};

const conv2DBackpropFilterKernel: KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const nchw = isNchw(dataFormat);
  const [n, d1, d2, d3] = x.shape as [number, number, number, number];
  const nhwcShape: [number, number, number, number] = nchw ? [n, d2, d3, d1] : [n, d1, d2, d3];
  const convInfo = backend_util.computeConv2DInfo(
    nhwcShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return tf.tidy(() =>
    conv2dBackpropFilterNhwc(toNhwc(asTensor<tf.Rank.R4>(x), nchw), toNhwc(asTensor<tf.Rank.R4>(dy), nchw), convInfo),
  );
};
