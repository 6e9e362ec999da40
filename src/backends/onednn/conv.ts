import { backend_util, util } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { ConvDim, packDims } from './contract.js';
import {
  isF32,
  output,
  values,
  valuesToken,
  withFallback,
  type KernelTable,
  type NativeKernel,
  type Pad,
  type Rounding,
  type Shape4,
} from './kernel.js';

/**
 * The convolutions: Conv2D, FusedConv2D (bias, relu as a oneDNN post-op), Conv2DBackpropInput (also the
 * forward pass of Conv2DTranspose) and Conv2DBackpropFilter, NHWC activations and HWIO filters.
 */

/** The native dims of a convolution, or null when oneDNN would derive other output sizes than tfjs did. */
function convDims(info: backend_util.Conv2DInfo): Int32Array | null {
  const p = info.padInfo;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  if (info.dataFormat !== 'channelsLast' || info.inChannels * info.outChannels === 0 || info.batchSize === 0)
    return null;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0) return null;
  // A pad as wide as the filter (only explicit padding makes one) leaves windows with no input value; the addon refuses
  // it.
  if (p.top >= effH || p.bottom >= effH || p.left >= effW || p.right >= effW) return null;
  // oneDNN derives the output size as floor((in - k + pads) / stride) + 1; it must agree with tfjs's.
  if (Math.floor((info.inHeight - effH + p.top + p.bottom) / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor((info.inWidth - effW + p.left + p.right) / info.strideWidth) + 1 !== info.outWidth) return null;
  return packDims(ConvDim, {
    Batch: info.batchSize,
    InHeight: info.inHeight,
    InWidth: info.inWidth,
    InChannels: info.inChannels,
    OutHeight: info.outHeight,
    OutWidth: info.outWidth,
    OutChannels: info.outChannels,
    FilterHeight: info.filterHeight,
    FilterWidth: info.filterWidth,
    StrideHeight: info.strideHeight,
    StrideWidth: info.strideWidth,
    PadTop: p.top,
    PadLeft: p.left,
    PadBottom: p.bottom,
    PadRight: p.right,
    DilationHeight: info.dilationHeight,
    DilationWidth: info.dilationWidth,
  });
}

/** The dims of the convolution whose gradient a backprop kernel computes, or null if dy does not match it. */
function backpropDims(xShape: Shape4, filterShape: Shape4, dy: TensorInfo, attrs: NamedAttrMap): Int32Array | null {
  const dataFormat = backend_util.convertConv2DDataFormat(attrs.dataFormat as 'NHWC' | 'NCHW');
  const info = backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides as [number, number],
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
    false,
    dataFormat,
  );
  const dims = convDims(info);
  return dims && util.arraysEqual(info.outShape, dy.shape) ? dims : null;
}

export function convKernels(addon: NativeAddon, kernels: KernelTable): void {
  const conv2d =
    (fused: boolean): NativeKernel =>
    ({ inputs, backend, attrs }) => {
      const { x, filter, bias, preluActivationWeights } = inputs;
      const activation = (attrs.activation as string | undefined) ?? 'linear';
      if (!isF32(backend, x, filter) || x.shape.length !== 4 || filter.shape.length !== 4) return null;
      if (fused && (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu'))) return null;
      const dataFormat = backend_util.convertConv2DDataFormat(attrs.dataFormat as 'NHWC' | 'NCHW');
      const info = backend_util.computeConv2DInfo(
        x.shape as Shape4,
        filter.shape as Shape4,
        attrs.strides as [number, number],
        attrs.dilations as [number, number],
        attrs.pad as Pad,
        attrs.dimRoundingMode as Rounding,
        false,
        dataFormat,
      );
      const dims = convDims(info);
      if (!dims) return null;
      let biasValues: Float32Array | null = null;
      if (fused && bias != null) {
        if (!isF32(backend, bias) || util.sizeFromShape(bias.shape) !== info.outChannels) return null;
        biasValues = values(backend, bias);
      }
      const y = output(backend, info.outShape);
      const w = values(backend, filter);
      addon.conv2d(values(backend, x), w, biasValues, y.data, dims, activation === 'relu', valuesToken(w));
      return y.info;
    };
  kernels.set('Conv2D', withFallback(conv2d(false)));
  kernels.set('FusedConv2D', withFallback(conv2d(true)));

  kernels.set(
    'Conv2DBackpropInput',
    withFallback(({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs;
      if (!isF32(backend, dy, filter) || dy.shape.length !== 4 || filter.shape.length !== 4) return null;
      const inputShape = attrs.inputShape as Shape4;
      const dims = backpropDims(inputShape, filter.shape as Shape4, dy, attrs);
      if (!dims) return null;
      const dx = output(backend, [...inputShape]);
      addon.conv2dBackwardData(values(backend, dy), values(backend, filter), dx.data, dims);
      return dx.info;
    }),
  );

  kernels.set(
    'Conv2DBackpropFilter',
    withFallback(({ inputs, backend, attrs }) => {
      const { x, dy } = inputs;
      if (!isF32(backend, x, dy) || x.shape.length !== 4 || dy.shape.length !== 4) return null;
      const filterShape = attrs.filterShape as Shape4;
      const dims = backpropDims(x.shape as Shape4, filterShape, dy, attrs);
      if (!dims) return null;
      const dw = output(backend, [...filterShape]);
      addon.conv2dBackwardWeights(values(backend, x), values(backend, dy), dw.data, dims);
      return dw.info;
    }),
  );
}
