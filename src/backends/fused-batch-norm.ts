import * as tf from '@tensorflow/tfjs-core';

/**
 * Training-mode batch normalization as one kernel, where a backend provides it, looked up by kernel name
 * so that training knows no backend (as fused-loss.ts does for the loss). A backend registers under
 * BATCH_NORM_TRAINING a kernel with inputs `x` (float32 [..., C]), `scale` and `offset` (float32 [C]) and
 * attr `varianceEpsilon`, and outputs `y = (x − mean)·scale/√(variance + ε) + offset`, the batch `mean`
 * and the biased batch `variance` ([C], over every axis but the last, as tf.moments gives them); and under
 * BATCH_NORM_TRAINING_GRAD one with inputs `x`, `dy`, `mean`, `variance`, `scale` that outputs `dx`,
 * `dScale` and `dOffset`, the batch statistics' own dependence on x included. The onednn backend does
 * (src/backends/onednn/normalization.ts): tfjs's composition (tf.moments, then batchNorm) makes a dozen
 * full-size temporaries forward and back. With attr `relu: true` the forward kernel outputs relu(y) and
 * the gradient kernel takes that output as input `y` too: a batch norm followed by a relu, as one kernel each
 * way.
 */
export const BATCH_NORM_TRAINING = 'LvsegBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'LvsegBatchNormTrainingGrad';

/**
 * Batch-normalizes x over its leading axes with the active backend's fused kernels: the output (with
 * its gradient to x, scale and offset; relu'd with `relu`) and the batch mean and variance (no gradient;
 * the caller keeps and disposes them). Undefined where the backend has no such kernel or the inputs are
 * not float32 per-channel parameters: the caller composes it from ops.
 */
export function fusedBatchNormTraining(
  x: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  epsilon: number,
  relu = false,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined {
  const backend = tf.getBackend();
  if (
    tf.getKernel(BATCH_NORM_TRAINING, backend) === undefined ||
    tf.getKernel(BATCH_NORM_TRAINING_GRAD, backend) === undefined
  )
    return undefined;
  const channels = x.shape[x.rank - 1];
  const perChannel = (t: tf.Tensor): boolean => t.dtype === 'float32' && t.rank === 1 && t.size === channels;
  if (x.dtype !== 'float32' || x.rank < 2 || x.size === 0 || !perChannel(scale) || !perChannel(offset))
    return undefined;
  const attrs = { varianceEpsilon: epsilon, relu };
  let stats: tf.Tensor[] = [];
  const normalize = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BATCH_NORM_TRAINING, { x: input, scale: gamma, offset: beta }, attrs) as tf.Tensor[];
    stats = [tf.keep(mean!), tf.keep(variance!)];
    save(relu ? [input, mean!, variance!, gamma, y!] : [input, mean!, variance!, gamma]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVariance, sScale, sY] = saved;
        const inputs: tf.NamedTensorMap = { x: sx!, dy, mean: sMean!, variance: sVariance!, scale: sScale! };
        if (sY) inputs.y = sY;
        const [dx, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, inputs, attrs) as tf.Tensor[];
        return [dx!, dScale!, dOffset!];
      },
    };
  });
  const y = normalize(x, scale, offset);
  return { y, mean: stats[0] as tf.Tensor1D, variance: stats[1] as tf.Tensor1D };
}
