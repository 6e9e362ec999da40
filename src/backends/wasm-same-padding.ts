/**
 * tfjs-backend-wasm 4.22's convolutions give wrong results for `same` padding when the stride is
 * larger than the kernel and the input is not a multiple of the stride (e.g. a 3x3 kernel, stride
 * 16, input 25: TensorFlow's padding is max(0, 16 + 3 - 25) = 0, but XNNPACK's "TensorFlow SAME"
 * mode does not clamp it at 0 and shifts the window). The gradient of lvseg's FCN upsampler is such
 * a convolution. Passing the padding that tfjs-core computes, explicitly, avoids XNNPACK's own.
 */
import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** The explicit NHWC padding equal to TensorFlow's `same` for this input, filter, strides and dilations. */
export function samePaddingAsExplicit(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  depthwise: boolean,
): ExplicitPadding {
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    'same',
    undefined,
    depthwise,
  );
  const { top, bottom, left, right } = info.padInfo;
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/** Wraps wasm's own conv kernel so that `same` padding reaches it as explicit numbers (NHWC only). */
export function withExplicitSamePadding(wasmOwn: KernelFunc | undefined, depthwise: boolean): KernelFunc {
  if (!wasmOwn) throw new Error("withExplicitSamePadding needs wasm's own kernel to wrap");
  return (args) => {
    const attrs = args.attrs ?? {};
    const dataFormat = attrs.dataFormat as string | undefined;
    if (attrs.pad !== 'same' || dataFormat === 'NCHW') return wasmOwn(args);
    const x = args.inputs.x as TensorInfo;
    const filter = args.inputs.filter as TensorInfo;
    const pad = samePaddingAsExplicit(
      x.shape,
      filter.shape,
      attrs.strides as number | [number, number],
      (attrs.dilations as number | [number, number] | undefined) ?? 1,
      depthwise,
    );
    return wasmOwn({ ...args, attrs: { ...attrs, pad } as unknown as NamedAttrMap });
  };
}
