import * as tf from '@tensorflow/tfjs-core';
import { backend_util, getGradient, slice_util, util } from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BufferPool } from './buffer-pool.js';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';

/**
 * The `onednn` backend: a MathBackendCPU (same tensor storage, every cpu kernel registered for it too)
 * whose heavy kernels run natively on oneDNN, in place on the cpu backend's Float32Array buffers.
 * Each native kernel checks that its case is one the addon handles (float32, NHWC, shapes oneDNN
 * accepts) and otherwise calls the cpu kernel, so the backend is never less capable than `cpu`.
 */
export const ONEDNN_BACKEND = 'onednn';

type Dims = Int32Array;

let registered = false;

/** Kernel outputs are recycled through this pool (see buffer-pool.ts); 256 MB of free buffers at most. */
const pool = new BufferPool(256 << 20);

/** The cpu kernels whose output shares the input's data id (reference counted), never a view of its buffer. */
const SHARES_BY_REFCOUNT = new Set(['Reshape', 'Identity']);

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

/** Marks every input buffer of a call to a cpu kernel as exposed: the kernel may return a view of it. */
function exposingInputs(cpu: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    for (const t of Object.values(args.inputs)) if (t != null) pool.expose(backend.data.get(t.dataId)?.values);
    return cpu(args);
  };
}

/** Registers the onednn backend when the addon loads; returns why not otherwise. */
export function registerOnednnBackend(): { ok: true } | { ok: false; reason: string } {
  const load = loadNativeAddon();
  if (!load.addon) return { ok: false, reason: load.reason };
  if (registered) return { ok: true };
  const addon = load.addon;
  // Priority below wasm's and cpu's: lvseg always picks its backend explicitly (select.ts).
  tf.registerBackend(ONEDNN_BACKEND, () => {
    const backend = new OnednnBackend();
    // The cpu backend prints an "install tfjs-node" banner on first use; this is the fast path.
    (backend as unknown as { firstUse: boolean }).firstUse = false;
    return backend;
  }, 0);
  const overrides = nativeKernels(addon);
  for (const cpuKernel of tf.getKernelsForBackend('cpu')) {
    const makeNative = overrides.get(cpuKernel.kernelName);
    const kernelFunc = makeNative ? makeNative(cpuKernel.kernelFunc, cpuKernel.kernelName)
      : SHARES_BY_REFCOUNT.has(cpuKernel.kernelName) ? cpuKernel.kernelFunc : exposingInputs(cpuKernel.kernelFunc);
    tf.registerKernel({ ...cpuKernel, backendName: ONEDNN_BACKEND, kernelFunc });
  }
  registerFusedReluGradient(addon);
  registerNormalizationGradients(addon);
  registerSoftmaxCrossEntropy(addon);
  registered = true;
  return { ok: true };
}

const RELU_GRAD = 'LvsegReluGrad';

/**
 * tfjs's Relu gradient is mul(dy, step(x)): two passes and a temporary over every activation. On
 * onednn it becomes one native pass; other backends keep tfjs's formula (the gradient registry is
 * global, so this gradient checks the backend each time).
 */
function registerFusedReluGradient(addon: NativeAddon): void {
  tf.registerKernel({
    kernelName: RELU_GRAD,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend }) => {
      const cpu = backend as MathBackendCPU;
      const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
      const out = output(cpu, [...x.shape]);
      addon.binary(4, values(cpu, dy), values(cpu, x), out.data, false, false);
      return out.info;
    },
  });
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const grad = dy as tf.Tensor;
      const native = tf.getBackend() === ONEDNN_BACKEND && x.dtype === 'float32' && grad.dtype === 'float32' &&
        util.arraysEqual(x.shape, grad.shape);
      return {
        x: () => (native ? (tf.engine().runKernel(RELU_GRAD, { dy: grad, x }) as tf.Tensor) : tf.mul(grad, tf.cast(tf.step(x), 'float32'))),
      };
    },
  });
}

const SOFTMAX_CE = 'LvsegSparseSoftmaxCrossEntropy';

/** The loss and its gradient in one native pass; see onednnSparseCrossEntropy. */
function registerSoftmaxCrossEntropy(addon: NativeAddon): void {
  tf.registerKernel({
    kernelName: SOFTMAX_CE,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend }) => {
      const cpu = backend as MathBackendCPU;
      const { logits, labels } = inputs as { logits: TensorInfo; labels: TensorInfo };
      // An int32 tensor's values need not be an Int32Array (a cast from bool keeps its Uint8Array).
      const stored = cpu.data.get(labels.dataId).values;
      const classes = stored instanceof Int32Array ? stored : Int32Array.from(stored as ArrayLike<number>);
      const grad = output(cpu, [...logits.shape]);
      const loss = addon.softmaxCrossEntropy(values(cpu, logits), classes, grad.data);
      return [cpu.makeTensorInfo([], 'float32', Float32Array.of(loss)), grad.info];
    },
  });
}

/**
 * Sparse softmax cross-entropy from logits [..., C] and int32 labels [...], averaged over every
 * position, as one native kernel that also writes the gradient (tfjs's composition is ~15 kernels and
 * a one-hot tensor, forward and backward). Undefined when the active backend is not onednn or the
 * inputs are not float32 logits and int32 labels of matching shapes: the caller composes it from ops.
 */
export function onednnSparseCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar | undefined {
  if (tf.getBackend() !== ONEDNN_BACKEND || logits.dtype !== 'float32' || labels.dtype !== 'int32') return undefined;
  if (logits.rank < 1 || logits.size === 0 || !util.arraysEqual(logits.shape.slice(0, -1), labels.shape)) return undefined;
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [value, grad] = tf.engine().runKernel(SOFTMAX_CE, { logits: x, labels }) as tf.Tensor[];
    save([grad]);
    return { value, gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(saved, dy) };
  });
  return loss(logits) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------------
// Buffer access

function values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

function isF32(backend: MathBackendCPU, ...ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32' && backend.data.get(t.dataId).values instanceof Float32Array);
}

/** An output buffer from the pool, not cleared: every native kernel writes all of its output. */
function output(backend: MathBackendCPU, shape: number[]): { info: TensorInfo; data: Float32Array } {
  const data = pool.take(util.sizeFromShape(shape));
  return { info: backend.makeTensorInfo(shape, 'float32', data), data };
}

type NativeKernel = (args: { inputs: Record<string, TensorInfo>; backend: MathBackendCPU; attrs: NamedAttrMap }) => TensorInfo | null;

/** Makes the onednn kernel `name` from the cpu kernel it overrides. */
type KernelFactory = (cpu: KernelFunc, name: string) => KernelFunc;

/**
 * Wraps a native kernel that returns null for cases it does not handle, falling back to the cpu kernel
 * (counted under the kernel's name).
 */
function withFallback(native: NativeKernel): KernelFactory {
  return (cpu, name) => {
    const fallback = exposingInputs(cpu);
    return (args) => {
      const result = native(args as unknown as Parameters<NativeKernel>[0]);
      if (result) return result;
      fallbacks.set(name, (fallbacks.get(name) ?? 0) + 1);
      return fallback(args);
    };
  };
}

const fallbacks = new Map<string, number>();

/** How often each native kernel handed a case to the cpu kernel since the process started (for profiles). */
export function onednnFallbackCounts(): Record<string, number> {
  return Object.fromEntries(fallbacks);
}

// ---------------------------------------------------------------------------------------------------
// Convolution and pooling geometry, checked against what oneDNN computes from the same numbers.

function convDims(info: backend_util.Conv2DInfo): Dims | null {
  const p = info.padInfo;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  if (info.dataFormat !== 'channelsLast' || info.inChannels * info.outChannels === 0 || info.batchSize === 0) return null;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0) return null;
  // oneDNN derives the output size as floor((in - k + pads) / stride) + 1; it must agree with tfjs's.
  if (Math.floor((info.inHeight - effH + p.top + p.bottom) / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor((info.inWidth - effW + p.left + p.right) / info.strideWidth) + 1 !== info.outWidth) return null;
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, p.left, p.bottom, p.right,
    info.dilationHeight, info.dilationWidth,
  ]);
}

function poolDims(info: backend_util.Conv2DInfo): Dims | null {
  const p = info.padInfo;
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0 || info.batchSize * info.inChannels === 0) return null;
  // Every window must hold at least one real pixel, or oneDNN and tfjs disagree on what it yields.
  if (p.top >= info.filterHeight || p.bottom >= info.filterHeight || p.left >= info.filterWidth || p.right >= info.filterWidth) return null;
  if (Math.floor((info.inHeight - info.filterHeight + p.top + p.bottom) / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor((info.inWidth - info.filterWidth + p.left + p.right) / info.strideWidth) + 1 !== info.outWidth) return null;
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, p.left, p.bottom, p.right,
  ]);
}

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

// ---------------------------------------------------------------------------------------------------
// The kernels

function nativeKernels(addon: NativeAddon): Map<string, KernelFactory> {
  const kernels = new Map<string, KernelFactory>();

  const conv2d = (fused: boolean): NativeKernel => ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs;
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    if (!isF32(backend, x, filter) || x.shape.length !== 4 || filter.shape.length !== 4) return null;
    if (fused && (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu'))) return null;
    const dataFormat = backend_util.convertConv2DDataFormat(attrs.dataFormat as 'NHWC' | 'NCHW');
    const info = backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, attrs.strides as [number, number],
      attrs.dilations as [number, number], attrs.pad as Pad, attrs.dimRoundingMode as Rounding, false, dataFormat);
    const dims = convDims(info);
    if (!dims) return null;
    let biasValues: Float32Array | null = null;
    if (fused && bias != null) {
      if (!isF32(backend, bias) || util.sizeFromShape(bias.shape) !== info.outChannels) return null;
      biasValues = values(backend, bias);
    }
    const y = output(backend, info.outShape);
    addon.conv2d(values(backend, x), values(backend, filter), biasValues, y.data, dims, activation === 'relu');
    return y.info;
  };
  kernels.set('Conv2D', withFallback(conv2d(false)));
  kernels.set('FusedConv2D', withFallback(conv2d(true)));

  /** The dims of the convolution whose gradient a backprop kernel computes, or null if dy does not match it. */
  const backpropDims = (xShape: Shape4, filterShape: Shape4, dy: TensorInfo, attrs: NamedAttrMap): Dims | null => {
    const dataFormat = backend_util.convertConv2DDataFormat(attrs.dataFormat as 'NHWC' | 'NCHW');
    const info = backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides as [number, number], 1,
      attrs.pad as Pad, attrs.dimRoundingMode as Rounding, false, dataFormat);
    const dims = convDims(info);
    return dims && util.arraysEqual(info.outShape, dy.shape) ? dims : null;
  };

  kernels.set('Conv2DBackpropInput', withFallback(({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    if (!isF32(backend, dy, filter) || dy.shape.length !== 4 || filter.shape.length !== 4) return null;
    const inputShape = attrs.inputShape as Shape4;
    const dims = backpropDims(inputShape, filter.shape as Shape4, dy, attrs);
    if (!dims) return null;
    const dx = output(backend, [...inputShape]);
    addon.conv2dBackwardData(values(backend, dy), values(backend, filter), dx.data, dims);
    return dx.info;
  }));

  kernels.set('Conv2DBackpropFilter', withFallback(({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    if (!isF32(backend, x, dy) || x.shape.length !== 4 || dy.shape.length !== 4) return null;
    const filterShape = attrs.filterShape as Shape4;
    const dims = backpropDims(x.shape as Shape4, filterShape, dy, attrs);
    if (!dims) return null;
    const dw = output(backend, [...filterShape]);
    addon.conv2dBackwardWeights(values(backend, x), values(backend, dy), dw.data, dims);
    return dw.info;
  }));

  const poolInfo = (shape: number[], attrs: NamedAttrMap) => backend_util.computePool2DInfo(shape as Shape4,
    attrs.filterSize as [number, number], attrs.strides as [number, number], 1, attrs.pad as Pad, attrs.dimRoundingMode as Rounding);

  kernels.set('MaxPool', withFallback(({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!isF32(backend, x) || x.shape.length !== 4) return null;
    const info = poolInfo(x.shape, attrs);
    const dims = poolDims(info);
    if (!dims) return null;
    const y = output(backend, info.outShape);
    addon.maxPoolDirect(values(backend, x), y.data, dims);
    return y.info;
  }));

  kernels.set('MaxPoolGrad', withFallback(({ inputs, backend, attrs }) => {
    const { dy, input } = inputs;
    if (!isF32(backend, dy, input) || input.shape.length !== 4) return null;
    const info = poolInfo(input.shape, attrs);
    const dims = poolDims(info);
    if (!dims || !util.arraysEqual(info.outShape, dy.shape)) return null;
    const dx = output(backend, [...input.shape]);
    addon.maxPoolGradDirect(values(backend, input), values(backend, dy), dx.data, dims);
    return dx.info;
  }));

  const matMul = (fused: boolean): NativeKernel => ({ inputs, backend, attrs }) => {
    const { a, b, bias, preluActivationWeights } = inputs;
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    if (!isF32(backend, a, b) || a.shape.length < 2 || b.shape.length < 2) return null;
    if (fused && (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu'))) return null;
    const ta = attrs.transposeA === true, tb = attrs.transposeB === true;
    const ra = a.shape.length, rb = b.shape.length;
    const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
    const batchShapeA = a.shape.slice(0, -2), batchShapeB = b.shape.slice(0, -2);
    const batchA = util.sizeFromShape(batchShapeA), batchB = util.sizeFromShape(batchShapeB);
    // Same batch dims, or b shared by every batch entry of a; other broadcasts go to the cpu kernel.
    const sameBatch = util.arraysEqual(batchShapeA, batchShapeB);
    if (k !== kb || m * n * k === 0 || !(sameBatch || (batchB === 1 && rb <= ra))) return null;
    let biasValues: Float32Array | null = null;
    if (fused && bias != null) {
      if (!isF32(backend, bias) || util.sizeFromShape(bias.shape) !== n || bias.shape[bias.shape.length - 1] !== n) return null;
      biasValues = values(backend, bias);
    }
    const c = output(backend, [...batchShapeA, m, n]);
    // With a unit dimension the transposed and plain layouts are the same bytes; the plain one is the
    // one oneDNN runs fast (a transposed 65536x1 times 1x64, the Dense weight gradient, took 20x longer).
    const plainA = ta && (m === 1 || k === 1), plainB = tb && (k === 1 || n === 1);
    addon.matMul(values(backend, a), values(backend, b), biasValues, c.data,
      Int32Array.from([batchA, m, k, n, ta && !plainA ? 1 : 0, tb && !plainB ? 1 : 0, batchB]), activation === 'relu');
    return c.info;
  };
  kernels.set('BatchMatMul', withFallback(matMul(false)));
  kernels.set('_FusedMatMul', withFallback(matMul(true)));

  const binaryOps: [string, number, boolean][] = [['Add', 0, true], ['Sub', 1, false], ['Multiply', 2, true], ['RealDiv', 3, false]];
  for (const [name, op, commutative] of binaryOps) {
    kernels.set(name, withFallback(({ inputs, backend }) => {
      let { a, b } = inputs;
      if (!isF32(backend, a, b)) return null;
      const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      if (util.sizeFromShape(outShape) === 0) return null;
      let layoutA = broadcastLayout(a.shape, outShape), layoutB = broadcastLayout(b.shape, outShape);
      if (commutative && layoutA !== 'full' && layoutB === 'full') {
        [a, b] = [b, a];
        [layoutA, layoutB] = [layoutB, layoutA];
      }
      let scalarA = false;
      if (layoutA !== 'full') {
        if (layoutA === 'scalar' && layoutB === 'full') scalarA = true;
        else return null;
      } else if (layoutB === null) {
        return null;
      }
      const out = output(backend, outShape);
      addon.binary(op, values(backend, a), values(backend, b), out.data, scalarA, layoutB === 'blocked');
      return out.info;
    }));
  }

  const unaryOps: [string, number][] = [['Relu', 0], ['Step', 1], ['Exp', 2], ['Log', 3], ['Neg', 4], ['Square', 5], ['Sqrt', 6]];
  for (const [name, op] of unaryOps) {
    kernels.set(name, withFallback(({ inputs, backend, attrs }) => {
      const { x } = inputs;
      if (!isF32(backend, x)) return null;
      const y = output(backend, [...x.shape]);
      addon.unary(op, values(backend, x), y.data, name === 'Step' ? (attrs.alpha as number) ?? 0 : 0);
      return y.info;
    }));
  }

  const reduce = (op: 0 | 1, mean = false): NativeKernel => ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!isF32(backend, x) || x.shape.length === 0 || util.sizeFromShape(x.shape) === 0) return null;
    const axes = [...util.parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape)];
    if (new Set(axes).size !== axes.length) return null;
    const reduced = x.shape.map((_, i) => axes.includes(i));
    const outShape = attrs.keepDims === true ? x.shape.map((d, i) => (reduced[i] ? 1 : d)) : x.shape.filter((_, i) => !reduced[i]);
    // Size-1 axes do not change the memory layout: what counts is whether the reduced axes of the rest
    // are a leading block (reduce rows, keep the innermost values) or a trailing one (reduce each row).
    const pattern = x.shape.map((d, i) => (d === 1 ? '' : reduced[i] ? 'r' : 'k')).join('');
    const trailing = /^k*r*$/.test(pattern);
    const leading = op === 0 && /^r+k+$/.test(pattern);
    if (!trailing && !leading) return null;
    const out = output(backend, outShape);
    if (trailing) addon.reduceInner(op, values(backend, x), out.data);
    else addon.sumLeading(values(backend, x), out.data);
    if (mean) {
      const scale = util.sizeFromShape(out.info.shape) / util.sizeFromShape(x.shape);
      for (let i = 0; i < out.data.length; i++) out.data[i] *= scale;
    }
    return out.info;
  };
  kernels.set('Sum', withFallback(reduce(0)));
  kernels.set('Max', withFallback(reduce(1)));
  // tfjs cpu's Mean is three JavaScript passes (a cast copy, a division, the sum), not the native Sum.
  kernels.set('Mean', withFallback(reduce(0, true)));
  dataMovementKernels(addon, kernels);
  return kernels;
}

// ---------------------------------------------------------------------------------------------------
// Data movement and batch normalization (the U-Net's skip concatenations and their gradient, SplitV).
// tfjs cpu copies a non-contiguous slice element by element through index arithmetic (a channel slice
// of a 256x256x32 skip took ~600 ms); these are strided row copies in C++.

/** copyRows' dims, reused: the addon reads them during the (synchronous) call and keeps no reference. */
const copyDims = new Int32Array(4);

function copyRows(addon: NativeAddon, src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number,
  rows: number, run: number, srcStride: number, dstStride: number): void {
  copyDims[0] = rows;
  copyDims[1] = run;
  copyDims[2] = srcStride;
  copyDims[3] = dstStride;
  addon.copyRows(src.subarray(srcOffset), dst.subarray(dstOffset), copyDims);
}

/** The float32 window of x as a new tensor; a contiguous window shares x's buffer, as the cpu kernel does. */
function sliceWindow(addon: NativeAddon, backend: MathBackendCPU, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const src = values(backend, x);
  const total = util.sizeFromShape(size);
  if (total === 0) return backend.makeTensorInfo(size, 'float32', new Float32Array(0));
  if (slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = slice_util.computeFlatOffset(begin, util.computeStrides(x.shape));
    pool.expose(src);
    return backend.makeTensorInfo(size, 'float32', src.subarray(offset, offset + total));
  }
  const out = output(backend, size);
  copyBox(addon, src, x.shape, begin, out.data, size, size.map(() => 0), size);
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
function copyBox(addon: NativeAddon, src: Float32Array, srcShape: readonly number[], srcBegin: readonly number[],
  dst: Float32Array, dstShape: readonly number[], dstBegin: readonly number[], size: readonly number[]): void {
  const rank = size.length;
  if (util.sizeFromShape([...size]) === 0) return;
  const ss = fullStrides(srcShape), ds = fullStrides(dstShape);
  const whole = (i: number) => size[i] === srcShape[i] && size[i] === dstShape[i];
  let k = rank - 1;
  while (k > 0 && whole(k)) k--;
  const run = size[k] * ss[k];
  const rowAxis = k - 1;
  let first = rowAxis, rows = rowAxis >= 0 ? size[rowAxis] : 1;
  while (first > 0 && whole(first)) rows *= size[--first];
  const srcStride = rowAxis >= 0 ? ss[rowAxis] : run, dstStride = rowAxis >= 0 ? ds[rowAxis] : run;
  let srcBase = 0, dstBase = 0;
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

function dataMovementKernels(addon: NativeAddon, kernels: Map<string, KernelFactory>): void {
  // tfjs cpu converts every output index to coordinates (an array per element); this walks the output
  // in order with the input offset kept by an odometer. A kept innermost axis moves whole rows natively.
  kernels.set('Transpose', withFallback(({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const perm = attrs.perm as number[];
    const rank = x.shape.length;
    if (!isF32(backend, x) || rank === 0 || perm.length !== rank || util.sizeFromShape(x.shape) === 0) return null;
    const outShape = perm.map((p) => x.shape[p]);
    const out = output(backend, outShape);
    const src = values(backend, x), dst = out.data;
    const xs = fullStrides(x.shape);
    // Stride in the input of each output axis.
    const step = perm.map((p) => xs[p]);
    const keepsInner = perm[rank - 1] === rank - 1;
    const innerAxes = keepsInner ? rank - 1 : rank;
    const inner = keepsInner ? x.shape[rank - 1] : 1;
    const last = innerAxes - 1;
    const n = last >= 0 ? outShape[last] : 1, lastStep = last >= 0 ? step[last] : 0;
    const outer = util.sizeFromShape(outShape.slice(0, Math.max(0, last)));
    const index = new Array<number>(Math.max(0, last)).fill(0);
    let from = 0, to = 0;
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
  }));

  // Also the gradient of Slice, and ZeroPadding2D.
  kernels.set('PadV2', withFallback(({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const paddings = attrs.paddings as [number, number][];
    if (!isF32(backend, x) || x.shape.length === 0 || paddings.length !== x.shape.length) return null;
    if (paddings.some(([before, after]) => before < 0 || after < 0)) return null;
    const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
    const out = output(backend, outShape);
    out.data.fill((attrs.constantValue as number | undefined) ?? 0);
    copyBox(addon, values(backend, x), x.shape, x.shape.map(() => 0), out.data, outShape, paddings.map((p) => p[0]), x.shape);
    return out.info;
  }));

  // tfjs cpu searches a window of dy for every input pixel (36 tests per value for a 2x upsampling);
  // this adds each dy pixel into its source pixel once, in the same order, in double like the cpu kernel.
  kernels.set('ResizeNearestNeighborGrad', withFallback(({ inputs, backend, attrs }) => {
    const { images, dy } = inputs;
    if (!isF32(backend, dy) || images.shape.length !== 4 || dy.shape.length !== 4) return null;
    const alignCorners = attrs.alignCorners === true;
    const [batch, xHeight, xWidth, depth] = images.shape;
    const [, yHeight, yWidth] = dy.shape;
    // The cpu kernel's window covers every source pixel only when upsampling; leave the rest to it.
    if (yHeight < xHeight || yWidth < xWidth || dy.shape[0] !== batch || dy.shape[3] !== depth) return null;
    const scale = (x: number, y: number) => ((alignCorners && y > 1) ? x - 1 : x) / ((alignCorners && y > 1) ? y - 1 : y);
    const nearest = (i: number, s: number, limit: number) => Math.min(limit - 1, alignCorners ? Math.round(i * s) : Math.floor(i * s));
    const heightScale = scale(xHeight, yHeight), widthScale = scale(xWidth, yWidth);
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
  }));

  kernels.set('Slice', withFallback(({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!isF32(backend, x) || x.shape.length === 0) return null;
    const [begin, size] = slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
    slice_util.assertParamsValid(x, begin, size);
    return sliceWindow(addon, backend, x, begin, size);
  }));

  kernels.set('SplitV', withFallback(({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!isF32(backend, x) || x.shape.length === 0) return null;
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits as number | number[], axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    const parts = sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const part = sliceWindow(addon, backend, x, [...begin], size);
      begin[axis] += s;
      return part;
    });
    return parts as unknown as TensorInfo;
  }));

  kernels.set('Concat', withFallback(({ inputs, backend, attrs }) => {
    const all = Object.values(inputs);
    if (all.length === 0 || !isF32(backend, ...all) || all[0].shape.length === 0) return null;
    const axis = util.parseAxisParam(attrs.axis as number, all[0].shape)[0];
    backend_util.assertParamsConsistent(all.map((t) => t.shape), axis);
    const outShape = backend_util.computeOutShape(all.map((t) => t.shape), axis);
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
  }));

  kernels.set('Tile', withFallback(({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const reps = attrs.reps as number[];
    if (!isF32(backend, x) || x.shape.length === 0 || reps.length !== x.shape.length || util.sizeFromShape(x.shape) === 0) return null;
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
      const dst = t === 0 ? (result = output(backend, outShape)).data : new Float32Array(util.sizeFromShape(next));
      if (outer <= r) {
        for (let o = 0; o < outer; o++) copyRows(addon, current, o * block, dst, o * block * r, r, block, 0, block);
      } else {
        for (let j = 0; j < r; j++) copyRows(addon, current, 0, dst, j * block, outer, block, block, block * r);
      }
      current = dst;
      shape = next;
    }
    return result!.info;
  }));

  kernels.set('FusedBatchNorm', withFallback(({ inputs, backend, attrs }) => {
    const { x, mean, variance, scale, offset } = inputs;
    const params = [mean, variance, scale, offset].filter((t) => t != null);
    if (!isF32(backend, x, ...params) || x.shape.length === 0 || util.sizeFromShape(x.shape) === 0) return null;
    const channels = x.shape[x.shape.length - 1];
    // The cpu kernel repeats each parameter with its own length: one value, or one per channel, is
    // what the native pass covers.
    if (params.some((t) => { const n = util.sizeFromShape(t.shape); return n !== 1 && n !== channels; })) return null;
    const epsilon = (attrs.varianceEpsilon as number | undefined) ?? 0.001;
    const perChannel = (t: TensorInfo | undefined, fallback: number) => (c: number): number => {
      if (t == null) return fallback;
      const v = values(backend, t);
      return v.length === 1 ? v[0] : v[c];
    };
    const m = perChannel(mean, 0), v = perChannel(variance, 1), s = perChannel(scale, 1), b = perChannel(offset, 0);
    const mc = new Float32Array(channels), ac = new Float32Array(channels), bc = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      mc[c] = m(c);
      ac[c] = s(c) / Math.sqrt(v(c) + epsilon);
      bc[c] = b(c);
    }
    const y = output(backend, [...x.shape]);
    addon.channelAffine(values(backend, x), mc, ac, bc, y.data);
    return y.info;
  }));
}

const BATCH_NORM_GRAD = 'LvsegBatchNormGrad';

/**
 * On onednn, the gradients of batch normalization and of Mean over leading axes. tfjs's FusedBatchNorm
 * gradient tiles the per-channel scale to the activation's shape and builds the four parameter
 * gradients from full-size products (~20 kernels); here one kernel makes all five: two per-channel sums
 * in one native pass, dx as one per-channel multiply, the rest per channel. tfjs's Mean gradient
 * multiplies by a full tensor of ones and divides; here it is the scaled dy broadcast by the native
 * Tile. Other backends and cases keep tfjs's gradients (the registry is global, so each gradient checks
 * the backend when it runs).
 */
function registerNormalizationGradients(addon: NativeAddon): void {
  tf.registerKernel({
    kernelName: BATCH_NORM_GRAD,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as MathBackendCPU;
      const { x, dy, mean, variance, scale } = inputs as Record<string, TensorInfo | undefined> as
        { x: TensorInfo; dy: TensorInfo; mean: TensorInfo; variance: TensorInfo; scale?: TensorInfo };
      const epsilon = (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
      const channels = mean.shape[0];
      const m = values(cpu, mean), v = values(cpu, variance), g = scale ? values(cpu, scale) : undefined;
      const sumDy = new Float32Array(channels), sumDyXc = new Float32Array(channels);
      addon.channelSums(values(cpu, x), values(cpu, dy), m, sumDy, sumDyXc);
      const [dMean, dVariance, dScale, dOffset] = [0, 1, 2, 3].map(() => output(cpu, [channels]));
      const dxScale = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        const inv = 1 / Math.sqrt(v[c] + epsilon), gc = g ? g[c] : 1;
        dxScale[c] = gc * inv;
        dMean.data[c] = -inv * gc * sumDy[c];
        dVariance.data[c] = -0.5 * inv * inv * inv * gc * sumDyXc[c];
        dScale.data[c] = inv * sumDyXc[c];
        dOffset.data[c] = sumDy[c];
      }
      const dx = output(cpu, [...x.shape]);
      addon.channelAffine(values(cpu, dy), new Float32Array(channels), dxScale, new Float32Array(channels), dx.data);
      return [dx.info, dMean.info, dVariance.info, dScale.info, dOffset.info];
    },
  });
  const tfjsBatchNormGrad = getGradient('FusedBatchNorm');
  const tfjsMeanGrad = getGradient('Mean');
  if (!tfjsBatchNormGrad || !tfjsMeanGrad) return;
  tf.registerGradient({
    ...tfjsBatchNormGrad,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      const grad = dy as tf.Tensor;
      const channels = x.shape[x.shape.length - 1];
      const native = tf.getBackend() === ONEDNN_BACKEND && [x, mean, variance, grad].every((t) => t.dtype === 'float32') &&
        mean.rank === 1 && variance.rank === 1 && mean.size === channels && variance.size === channels &&
        (scale == null || (scale.rank === 1 && scale.size === channels)) && util.arraysEqual(x.shape, grad.shape);
      if (!native) return tfjsBatchNormGrad.gradFunc(dy, saved, attrs);
      const inputs: tf.NamedTensorMap = { x, dy: grad, mean, variance };
      if (scale != null) inputs.scale = scale;
      const [dx, dMean, dVariance, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_GRAD, inputs, attrs) as tf.Tensor[];
      return { x: () => dx, mean: () => dMean, variance: () => dVariance, scale: () => dScale, offset: () => dOffset };
    },
  });
  tf.registerGradient({
    ...tfjsMeanGrad,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (tf.getBackend() !== ONEDNN_BACKEND || x.dtype !== 'float32') return tfjsMeanGrad.gradFunc(dy, saved, attrs);
      const axes = util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const reduceSize = util.sizeFromShape(axes.map((a) => x.shape[a]));
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      // dy / n first (small), then one broadcast: the same values as tfjs's (dy * 1) / n.
      return { x: () => tf.broadcastTo(tf.reshape(tf.div(dy as tf.Tensor, reduceSize), expanded), x.shape) };
    },
  });
}

/**
 * How an operand of a broadcasting binary op maps onto the output: as is (full), one value (scalar),
 * a repeated block of trailing dims (periodic: a bias [C] over [N,H,W,C]), or one value per run of the
 * innermost outputs (blocked: [N,1] over [N,C]); null for the other broadcasts, left to the cpu kernel.
 */
function broadcastLayout(shape: number[], outShape: number[]): 'full' | 'scalar' | 'periodic' | 'blocked' | null {
  const size = util.sizeFromShape(shape);
  if (size === util.sizeFromShape(outShape)) return 'full';
  if (size === 1) return 'scalar';
  const padded = [...new Array<number>(outShape.length - shape.length).fill(1), ...shape];
  let first = 0;
  while (padded[first] === 1) first++;
  if (util.arraysEqual(padded.slice(first), outShape.slice(first))) return 'periodic';
  let last = padded.length;
  while (padded[last - 1] === 1) last--;
  if (util.arraysEqual(padded.slice(0, last), outShape.slice(0, last))) return 'blocked';
  return null;
}

/** Bytes of freed kernel outputs the onednn backend holds for reuse (for tests and profiles). */
export function onednnPooledBytes(): number {
  return pool.bytes;
}

/** The addon, for the fused optimizer updates (optimizers.ts). */
export function onednnAddon(): NativeAddon | undefined {
  return loadNativeAddon().addon;
}

/**
 * Threads for the onednn backend (default: all cores). Fewer can be faster on a machine that other
 * processes keep busy: a parallel region waits for its slowest, possibly descheduled, thread.
 */
export function setOnednnThreads(threads: number): number | undefined {
  return loadNativeAddon().addon?.setNumThreads(threads);
}
