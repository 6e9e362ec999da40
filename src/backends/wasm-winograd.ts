/**
 * 3x3 stride-1 convolutions for the wasm backend by Winograd's F(4x4, 3x3): 4x fewer products than
 * XNNPACK's direct convolution, which tfjs-backend-wasm 4.22 uses for every shape. The kernel is C
 * (native/wasm/kernels.c) in lvseg's wasm SIMD module (wasm-simd.ts), on tfjs's tensors in place.
 * Where it does not apply (other kernels, strides or dilations, NCHW, channels not multiples of 4,
 * activations other than relu) or the module cannot run, the convolution goes to `fallback`.
 * docs/wasm.md has the measurements.
 */
import {
  backend_util,
  type Conv2DAttrs,
  type FusedConv2DAttrs,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, type WasmHeap, wasmSimdKernels } from './wasm-simd.js';

/** The transform's positions: a 6x6 input tile for each 4x4 output tile. */
const POSITIONS = 36;
/** Floats of one transformed position's block of tiles: keeps a block's 36 positions in the L2 cache. */
const BLOCK_FLOATS = 1024;
/** Floats kernels.c leaves between the positions of a block (its POSITION_PAD). */
const POSITION_PAD = 16;

/** Whether the Winograd kernel computes this convolution (before looking at the backend). */
export function winogradApplies(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: Pick<Conv2DAttrs, 'strides' | 'dilations' | 'dataFormat'> & { activation?: string },
): boolean {
  const [kh, kw, inChannels, outChannels] = filterShape as [number, number, number, number];
  const ones = (v: number | [number, number] | undefined) =>
    v === undefined || (typeof v === 'number' ? v === 1 : v[0] === 1 && v[1] === 1);
  const activation = attrs.activation ?? 'linear';
  return (
    xShape.length === 4 &&
    kh === 3 &&
    kw === 3 &&
    inChannels % 4 === 0 &&
    outChannels % 4 === 0 &&
    ones(attrs.strides) &&
    ones(attrs.dilations) &&
    attrs.dataFormat !== 'NCHW' &&
    (activation === 'linear' || activation === 'relu')
  );
}

/**
 * Wraps wasm's Conv2D or FusedConv2D kernel (`fallback`): 3x3 stride-1 NHWC float32 convolutions, with an
 * optional bias and relu, run on the Winograd module; everything else on `fallback`.
 */
export function withWinograd(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as FusedConv2DAttrs;
    if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || preluActivationWeights) {
      return fallback(args);
    }
    const outChannels = filter.shape[3]!;
    if (!winogradApplies(x.shape, filter.shape, attrs)) return fallback(args);
    if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== outChannels)) {
      return fallback(args);
    }
    const winograd = wasmSimdKernels(backend);
    if (!winograd) return fallback(args);
    const heap = backend.wasm as unknown as WasmHeap;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const [batch, height, width, inChannels] = x.shape as [number, number, number, number];
    const out = backend.makeOutput([batch, info.outHeight, info.outWidth, outChannels], 'float32');
    if (out.shape.some((d) => d === 0)) return out;
    const tiles = Math.max(4, Math.floor(BLOCK_FLOATS / Math.max(inChannels, outChannels)) & ~3);
    // u: the transformed filter, packed in blocks of 8 output channels; v, m: a block's positions, each
    // padded by a cache line (kernels.c).
    const vFloats = POSITIONS * (tiles * inChannels + POSITION_PAD);
    const mFloats = POSITIONS * (tiles * outChannels + POSITION_PAD);
    const uFloats = POSITIONS * inChannels * (Math.ceil(outChannels / 8) * 8);
    const scratch = heap._malloc((uFloats + vFloats + mFloats) * 4);
    try {
      const u = scratch;
      const v = u + uFloats * 4;
      const m = v + vFloats * 4;
      const at = (t: TensorInfo) => heapOffset(backend, t);
      winograd.wino_filter(at(filter), u, inChannels, outChannels);
      winograd.wino_conv(
        at(x),
        u,
        bias ? at(bias) : 0,
        at(out),
        batch,
        height,
        width,
        inChannels,
        outChannels,
        info.padInfo.top,
        info.padInfo.left,
        info.outHeight,
        info.outWidth,
        attrs.activation === 'relu' ? 1 : 0,
        v,
        m,
        tiles,
      );
    } finally {
      heap._free(scratch);
    }
    return out;
  };
}
