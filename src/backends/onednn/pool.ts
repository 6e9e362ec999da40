import { backend_util, util } from '@tensorflow/tfjs-core';
import type { NamedAttrMap } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { PoolDim, packDims } from './contract.js';
import {
  isF32,
  output,
  values,
  withFallback,
  type KernelTable,
  type Pad,
  type Rounding,
  type Shape4,
} from './kernel.js';

/** Max pooling and its gradient (NHWC); the gradient reruns the forward pass in C++ for oneDNN's workspace. */

/** The native dims of a max pooling, or null for a case oneDNN and tfjs would compute differently. */
function poolDims(info: backend_util.Conv2DInfo): Int32Array | null {
  const p = info.padInfo;
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0 || info.batchSize * info.inChannels === 0) return null;
  // Every window must hold at least one real pixel, or oneDNN and tfjs disagree on what it yields.
  if (
    p.top >= info.filterHeight ||
    p.bottom >= info.filterHeight ||
    p.left >= info.filterWidth ||
    p.right >= info.filterWidth
  )
    return null;
  if (Math.floor((info.inHeight - info.filterHeight + p.top + p.bottom) / info.strideHeight) + 1 !== info.outHeight)
    return null;
  if (Math.floor((info.inWidth - info.filterWidth + p.left + p.right) / info.strideWidth) + 1 !== info.outWidth)
    return null;
  return packDims(PoolDim, {
    Batch: info.batchSize,
    InHeight: info.inHeight,
    InWidth: info.inWidth,
    Channels: info.inChannels,
    OutHeight: info.outHeight,
    OutWidth: info.outWidth,
    FilterHeight: info.filterHeight,
    FilterWidth: info.filterWidth,
    StrideHeight: info.strideHeight,
    StrideWidth: info.strideWidth,
    PadTop: p.top,
    PadLeft: p.left,
    PadBottom: p.bottom,
    PadRight: p.right,
  });
}

const poolInfo = (shape: number[], attrs: NamedAttrMap) =>
  backend_util.computePool2DInfo(
    shape as Shape4,
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );

export function poolKernels(addon: NativeAddon, kernels: KernelTable): void {
  kernels.set(
    'MaxPool',
    withFallback(({ inputs, backend, attrs }) => {
      const { x } = inputs;
      if (!isF32(backend, x) || x.shape.length !== 4) return null;
      const info = poolInfo(x.shape, attrs);
      const dims = poolDims(info);
      if (!dims) return null;
      const y = output(backend, info.outShape);
      addon.maxPool(values(backend, x), y.data, dims);
      return y.info;
    }),
  );

  kernels.set(
    'MaxPoolGrad',
    withFallback(({ inputs, backend, attrs }) => {
      const { dy, input } = inputs;
      if (!isF32(backend, dy, input) || input.shape.length !== 4) return null;
      const info = poolInfo(input.shape, attrs);
      const dims = poolDims(info);
      if (!dims || !util.arraysEqual(info.outShape, dy.shape)) return null;
      const dx = output(backend, [...input.shape]);
      addon.maxPoolGrad(values(backend, input), values(backend, dy), dx.data, dims);
      return dx.info;
    }),
  );
}
