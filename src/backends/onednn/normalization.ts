import * as tf from '@tensorflow/tfjs-core';
import { getGradient, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../fused-batch-norm.js';
import type { NativeAddon } from '../native-addon.js';
import { ONEDNN_BACKEND, countNativeRun, isF32, output, values, withFallback, type KernelTable } from './kernel.js';

/** Batch normalization: FusedBatchNorm as one per-channel pass, and its gradient as one kernel. */
export function normalizationKernels(addon: NativeAddon, kernels: KernelTable): void {
  kernels.set(
    'FusedBatchNorm',
    withFallback(({ inputs, backend, attrs }) => {
      const { x, mean, variance, scale, offset } = inputs;
      const params = [mean, variance, scale, offset].filter((t) => t != null);
      if (!isF32(backend, x, ...params) || x.shape.length === 0 || util.sizeFromShape(x.shape) === 0) return null;
      const channels = x.shape[x.shape.length - 1];
      // The cpu kernel repeats each parameter with its own length: one value, or one per channel, is
      // what the native pass covers.
      if (
        params.some((t) => {
          const n = util.sizeFromShape(t.shape);
          return n !== 1 && n !== channels;
        })
      )
        return null;
      const epsilon = (attrs.varianceEpsilon as number | undefined) ?? 0.001;
      const perChannel =
        (t: TensorInfo | undefined, fallback: number) =>
        (c: number): number => {
          if (t == null) return fallback;
          const v = values(backend, t);
          return v.length === 1 ? v[0] : v[c];
        };
      const m = perChannel(mean, 0),
        v = perChannel(variance, 1),
        s = perChannel(scale, 1),
        b = perChannel(offset, 0);
      const mc = new Float32Array(channels),
        ac = new Float32Array(channels),
        bc = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        mc[c] = m(c);
        ac[c] = s(c) / Math.sqrt(v(c) + epsilon);
        bc[c] = b(c);
      }
      const y = output(backend, [...x.shape]);
      addon.channelAffine(values(backend, x), mc, ac, bc, y.data);
      return y.info;
    }),
  );
}

const BATCH_NORM_GRAD = 'LvsegBatchNormGrad';

/**
 * On onednn, the gradient of batch normalization. tfjs's FusedBatchNorm gradient tiles the per-channel
 * scale to the activation's shape and builds the four parameter gradients from full-size products (~20
 * kernels); here one kernel makes all five: two per-channel sums in one native pass, dx as one
 * per-channel multiply, the rest per channel. Other backends and cases keep tfjs's gradient (the
 * registry is global, so the gradient checks the backend when it runs).
 */
export function registerBatchNormGradient(addon: NativeAddon): void {
  tf.registerKernel({
    kernelName: BATCH_NORM_GRAD,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as MathBackendCPU;
      const { x, dy, mean, variance, scale } = inputs as Record<string, TensorInfo | undefined> as {
        x: TensorInfo;
        dy: TensorInfo;
        mean: TensorInfo;
        variance: TensorInfo;
        scale?: TensorInfo;
      };
      const epsilon = (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
      const channels = mean.shape[0];
      const m = values(cpu, mean),
        v = values(cpu, variance),
        g = scale ? values(cpu, scale) : undefined;
      const sumDy = new Float32Array(channels),
        sumDyXc = new Float32Array(channels);
      addon.channelSums(values(cpu, x), values(cpu, dy), m, sumDy, sumDyXc);
      const [dMean, dVariance, dScale, dOffset] = [0, 1, 2, 3].map(() => output(cpu, [channels]));
      const dxScale = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        const inv = 1 / Math.sqrt(v[c] + epsilon),
          gc = g ? g[c] : 1;
        dxScale[c] = gc * inv;
        dMean.data[c] = -inv * gc * sumDy[c];
        dVariance.data[c] = -0.5 * inv * inv * inv * gc * sumDyXc[c];
        dScale.data[c] = inv * sumDyXc[c];
        dOffset.data[c] = sumDy[c];
      }
      const dx = output(cpu, [...x.shape]);
      addon.channelAffine(values(cpu, dy), new Float32Array(channels), dxScale, new Float32Array(channels), dx.data);
      countNativeRun(BATCH_NORM_GRAD);
      return [dx.info, dMean.info, dVariance.info, dScale.info, dOffset.info];
    },
  });
  const tfjsBatchNormGrad = getGradient('FusedBatchNorm');
  if (!tfjsBatchNormGrad) return;
  tf.registerGradient({
    ...tfjsBatchNormGrad,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      const grad = dy as tf.Tensor;
      const channels = x.shape[x.shape.length - 1];
      const native =
        tf.getBackend() === ONEDNN_BACKEND &&
        [x, mean, variance, grad].every((t) => t.dtype === 'float32') &&
        mean.rank === 1 &&
        variance.rank === 1 &&
        mean.size === channels &&
        variance.size === channels &&
        (scale == null || (scale.rank === 1 && scale.size === channels)) &&
        util.arraysEqual(x.shape, grad.shape);
      if (!native) return tfjsBatchNormGrad.gradFunc(dy, saved, attrs);
      const inputs: tf.NamedTensorMap = { x, dy: grad, mean, variance };
      if (scale != null) inputs.scale = scale;
      const [dx, dMean, dVariance, dScale, dOffset] = tf
        .engine()
        .runKernel(BATCH_NORM_GRAD, inputs, attrs) as tf.Tensor[];
      return { x: () => dx, mean: () => dMean, variance: () => dVariance, scale: () => dScale, offset: () => dOffset };
    },
  });
}

/**
 * On onednn, training-mode batch normalization as two kernels (see fused-batch-norm.ts): forward, the
 * batch mean and variance in two per-channel passes (double sums) and y in a third; backward, the two
 * per-channel sums and dx in one pass, `dx = γ·s·(dy − Σdy/n − (x − μ)·s²·Σdy(x − μ)/n)`, s = 1/√(σ² + ε).
 * tfjs's composition (tf.moments, then batchNorm, and their gradients) makes ~12 full-size passes. With
 * attr `relu`, y is relu'd in its pass and the gradient masks dy by the saved y in its own passes: the
 * U-Net's 18 batch norms, each followed by a relu, save a relu pass and a ReluGrad pass each.
 */
export function registerBatchNormTraining(addon: NativeAddon): void {
  const epsilonOf = (attrs: unknown): number => (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
  const reluOf = (attrs: unknown): boolean => (attrs as { relu?: boolean }).relu === true;
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAINING,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as MathBackendCPU;
      const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
      const channels = x.shape[x.shape.length - 1]!;
      const rows = util.sizeFromShape(x.shape) / channels;
      const xs = values(cpu, x),
        g = values(cpu, scale),
        b = values(cpu, offset);
      const mean = output(cpu, [channels]),
        variance = output(cpu, [channels]);
      const sums = new Float32Array(channels),
        squares = new Float32Array(channels);
      addon.channelSums(xs, xs, new Float32Array(channels), sums, squares);
      for (let c = 0; c < channels; c++) mean.data[c] = sums[c]! / rows;
      // Σ x·(x − μ) = Σ (x − μ)²: the variance from a second pass, without E[x²] − μ²'s cancellation
      addon.channelSums(xs, xs, mean.data, sums, squares);
      const a = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        variance.data[c] = squares[c]! / rows;
        a[c] = g[c]! / Math.sqrt(variance.data[c]! + epsilonOf(attrs));
      }
      const y = output(cpu, [...x.shape]);
      addon.channelAffine(xs, mean.data, a, b, y.data, reluOf(attrs));
      countNativeRun(BATCH_NORM_TRAINING);
      return [y.info, mean.info, variance.info];
    },
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAINING_GRAD,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as MathBackendCPU;
      const { x, dy, mean, variance, scale, y } = inputs as Record<
        'x' | 'dy' | 'mean' | 'variance' | 'scale',
        TensorInfo
      > & { y?: TensorInfo };
      const channels = mean.shape[0]!;
      const rows = util.sizeFromShape(x.shape) / channels;
      const m = values(cpu, mean),
        v = values(cpu, variance),
        g = values(cpu, scale);
      // with the relu fused in, its output y: dy counts where y > 0
      const mask = reluOf(attrs) && y != null ? values(cpu, y) : null;
      const sumDy = new Float32Array(channels),
        sumDyXc = new Float32Array(channels);
      addon.channelSums(values(cpu, x), values(cpu, dy), m, sumDy, sumDyXc, mask);
      const dScale = output(cpu, [channels]),
        dOffset = output(cpu, [channels]);
      const a = new Float32Array(channels),
        b = new Float32Array(channels),
        d = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        const s = 1 / Math.sqrt(v[c]! + epsilonOf(attrs));
        dScale.data[c] = s * sumDyXc[c]!;
        dOffset.data[c] = sumDy[c]!;
        a[c] = g[c]! * s;
        b[c] = (-g[c]! * s * s * s * sumDyXc[c]!) / rows;
        d[c] = (-g[c]! * s * sumDy[c]!) / rows;
      }
      const dx = output(cpu, [...x.shape]);
      addon.channelMix(values(cpu, dy), values(cpu, x), m, a, b, d, dx.data, mask);
      countNativeRun(BATCH_NORM_TRAINING_GRAD);
      return [dx.info, dScale.info, dOffset.info];
    },
  });
}
