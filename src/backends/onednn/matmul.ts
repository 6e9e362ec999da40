import { util } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { MatMulDim, packDims } from './contract.js';
import { isF32, output, values, withFallback, type KernelTable, type NativeKernel } from './kernel.js';

/** BatchMatMul and _FusedMatMul (bias, relu as a oneDNN post-op); transposes are strides, nothing is copied. */
export function matMulKernels(addon: NativeAddon, kernels: KernelTable): void {
  const matMul =
    (fused: boolean): NativeKernel =>
    ({ inputs, backend, attrs }) => {
      const { a, b, bias, preluActivationWeights } = inputs;
      const activation = (attrs.activation as string | undefined) ?? 'linear';
      if (!isF32(backend, a, b) || a.shape.length < 2 || b.shape.length < 2) return null;
      if (fused && (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu'))) return null;
      const ta = attrs.transposeA === true,
        tb = attrs.transposeB === true;
      const ra = a.shape.length,
        rb = b.shape.length;
      const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
      const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
      const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
      const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
      const batchShapeA = a.shape.slice(0, -2),
        batchShapeB = b.shape.slice(0, -2);
      const batchA = util.sizeFromShape(batchShapeA),
        batchB = util.sizeFromShape(batchShapeB);
      // Same batch dims, or b shared by every batch entry of a; other broadcasts go to the cpu kernel.
      const sameBatch = util.arraysEqual(batchShapeA, batchShapeB);
      if (k !== kb || m * n * k * batchA === 0 || !(sameBatch || (batchB === 1 && rb <= ra))) return null;
      let biasValues: Float32Array | null = null;
      if (fused && bias != null) {
        if (!isF32(backend, bias) || util.sizeFromShape(bias.shape) !== n || bias.shape[bias.shape.length - 1] !== n)
          return null;
        biasValues = values(backend, bias);
      }
      const c = output(backend, [...batchShapeA, m, n]);
      // With a unit dimension the transposed and plain layouts are the same bytes; the plain one is the
      // one oneDNN runs fast (a transposed 65536x1 times 1x64, the Dense weight gradient, took 20x longer).
      const plainA = ta && (m === 1 || k === 1),
        plainB = tb && (k === 1 || n === 1);
      const dims = packDims(MatMulDim, {
        Batch: batchA,
        M: m,
        K: k,
        N: n,
        TransposeA: ta && !plainA ? 1 : 0,
        TransposeB: tb && !plainB ? 1 : 0,
        BatchB: batchB,
      });
      addon.matMul(values(backend, a), values(backend, b), biasValues, c.data, dims, activation === 'relu');
      return c.info;
    };
  kernels.set('BatchMatMul', withFallback(matMul(false)));
  kernels.set('_FusedMatMul', withFallback(matMul(true)));
}
