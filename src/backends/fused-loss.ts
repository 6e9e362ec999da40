import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';

/**
 * Fused losses a backend may provide, looked up by kernel name so that the losses (src/training) know no
 * backend. A backend that computes sparse softmax cross-entropy and its gradient in one pass registers
 * a kernel under SPARSE_SOFTMAX_CE for its name (tf.registerKernel): inputs `logits` (float32 [..., C])
 * and `labels` (int32 [...]); outputs the mean loss (a float32 scalar) and its gradient with respect to
 * the logits, `(softmax - onehot(label)) / positions`, where a label outside [0, C) adds no loss and no
 * gradient (as tf.oneHot's all-zero rows). The onednn backend does (src/backends/onednn/loss.ts).
 */
export const SPARSE_SOFTMAX_CE = 'LvsegSparseSoftmaxCrossEntropy';

/**
 * Sparse softmax cross-entropy from logits [..., C] and int32 labels [...], averaged over every
 * position, through the active backend's fused kernel. Undefined when the backend has none or the
 * inputs are not float32 logits and int32 labels of matching shapes: the caller composes it from ops.
 */
export function fusedSparseCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar | undefined {
  if (tf.getKernel(SPARSE_SOFTMAX_CE, tf.getBackend()) === undefined) return undefined;
  if (logits.dtype !== 'float32' || labels.dtype !== 'int32') return undefined;
  if (logits.rank < 1 || logits.size === 0 || !util.arraysEqual(logits.shape.slice(0, -1), labels.shape))
    return undefined;
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [value, grad] = tf.engine().runKernel(SPARSE_SOFTMAX_CE, { logits: x, labels }) as tf.Tensor[];
    save([grad]);
    return { value, gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(saved, dy) };
  });
  return loss(logits) as tf.Scalar;
}
