/**
 * Index arithmetic for computing the two convolution gradients of a strided 2-D convolution as
 * stride-1 convolutions / matrix products over "phases" (sub-pixel positions), so that the wasm
 * backend can run them on its fast XNNPACK Conv2D and BatchMatMul kernels.
 *
 * Forward convolution along one spatial axis (stride s, kernel K, leading padding p):
 *   y[o] = sum_k x[o*s + k - p] * w[k]
 * Writing a kernel tap as k = r + m*s (phase r in [0, s), m in [0, M), M = ceil(K / s)) turns both
 * gradients into stride-1 operations on tensors whose channels hold the s phases:
 *   dx[q*s + r - p] = sum_m dy[q - m] * w[r + m*s]            (backprop input: a stride-1 conv of dy)
 *   dw[r + m*s]     = sum_o x[(o + m)*s + r - p] * dy[o]     (backprop filter: a stride-1 correlation)
 * Pure functions of the shapes; tested without tfjs.
 */

/** How to compute the backprop-input of one spatial axis as a stride-1 conv of dy. */
export interface BackpropInputAxisPlan {
  /** Taps per phase: ceil(kernel / stride). */
  taps: number;
  /** dy rows [dyBegin, dyBegin + dySize) are used. */
  dyBegin: number;
  dySize: number;
  /** Zero rows added before and after the used dy rows. */
  padBefore: number;
  padAfter: number;
  /** Output blocks q in [q0, q0 + blocks); each block holds `stride` dx rows after interleaving. */
  blocks: number;
  /** dx row i is interleaved row i + cropBegin. */
  cropBegin: number;
}

/**
 * Plans one axis of dx = conv2DBackpropInput(dy, w): `inSize` is the dx (forward input) size,
 * `outSize` the dy size, `padBefore` the forward conv's leading padding.
 */
export function planBackpropInputAxis(
  inSize: number,
  outSize: number,
  kernel: number,
  stride: number,
  padBefore: number,
): BackpropInputAxisPlan {
  const taps = Math.ceil(kernel / stride);
  // Only blocks that hold some dx row i in [0, inSize), i.e. i + padBefore = q*stride + r.
  const q0 = Math.floor(padBefore / stride);
  const q1 = Math.ceil((padBefore + inSize) / stride);
  // Block q reads dy[q - taps + 1 .. q]; rows outside [0, outSize) are zeros.
  const first = q0 - (taps - 1);
  const dyBegin = Math.max(0, first);
  const dyEnd = Math.min(outSize, q1);
  return {
    taps,
    dyBegin,
    dySize: Math.max(0, dyEnd - dyBegin),
    padBefore: dyBegin - first,
    padAfter: Math.max(0, q1 - Math.max(dyEnd, dyBegin)),
    blocks: q1 - q0,
    cropBegin: padBefore - q0 * stride,
  };
}

/** How to compute the backprop-filter of one spatial axis as a stride-1 correlation. */
export interface BackpropFilterAxisPlan {
  /** Taps per phase: ceil(kernel / stride). */
  taps: number;
  /** x rows [0, xSize) are used, padded with zeros before and after. */
  xSize: number;
  padBefore: number;
  padAfter: number;
  /** Rows of the phase-split x: outSize + taps - 1 (each holding `stride` x rows). */
  blocks: number;
}

/** Plans one axis of dw = conv2DBackpropFilter(x, dy): sizes of x and dy, the forward conv's leading padding. */
export function planBackpropFilterAxis(
  inSize: number,
  outSize: number,
  kernel: number,
  stride: number,
  padBefore: number,
): BackpropFilterAxisPlan {
  const taps = Math.ceil(kernel / stride);
  const blocks = outSize + taps - 1;
  const needed = blocks * stride; // rows of the padded x that the taps can reach
  const xSize = Math.min(inSize, needed - padBefore);
  return { taps, xSize, padBefore, padAfter: needed - padBefore - xSize, blocks };
}
