import * as tf from '@tensorflow/tfjs-core';
import { fusedSparseCrossEntropy } from '../backends/fused-loss.js';
import { UsageError } from '../errors.js';

/** The losses `--loss` takes. */
export const LOSS_NAMES = ['sparse-ce', 'dice', 'ce+dice', 'image-dice', 'ce+image-dice'] as const;
/** One of LOSS_NAMES. */
export type LossName = (typeof LOSS_NAMES)[number];

/** A loss over per-pixel logits [B, H, W, 2] and integer labels [B, H, W]; returns a scalar. */
export type LossFn = (logits: tf.Tensor4D, labels: tf.Tensor3D) => tf.Scalar;

/**
 * Sparse softmax cross-entropy from logits, averaged over every pixel: the lab's
 * `SparseCategoricalCrossentropy(from_logits=True)`. Fed softmax outputs instead of logits (the lab's
 * Task 1), it sits at ln 2. On a backend with a fused kernel for it (onednn: one native pass
 * with its gradient) it runs that.
 */
export const sparseCrossEntropy: LossFn = (logits, labels) =>
  tf.tidy(() => {
    const classes = tf.cast(labels, 'int32');
    const fused = fusedSparseCrossEntropy(logits, classes);
    if (fused) return fused;
    const logProbs = tf.logSoftmax(logits, -1);
    const onehot = tf.oneHot(classes, logits.shape[3]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProbs), -1))) as tf.Scalar;
  });

/**
 * The softmax's class-1 channel [B, H, W, 1]. With two classes that is sigmoid(l1 − l0), which is ~10×
 * faster than the softmax and its gradient on the cpu-derived backends (their softmax reduces over a
 * last axis of 2: 38 ms against 4 ms, forward and gradient, for a batch of 4 at 128×128).
 */
function foregroundProbability(logits: tf.Tensor4D): tf.Tensor4D {
  if (logits.shape[3] === 2) {
    const [background, lv] = tf.split(logits, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    return tf.sigmoid(tf.sub(lv, background)) as tf.Tensor4D;
  }
  return tf.slice(tf.softmax(logits, -1), [0, 0, 0, 1], [-1, -1, -1, 1]);
}

/**
 * Soft Dice loss on the foreground probability with smooth 1, like the lab's metric:
 * 1 − (2·Σp·y + 1)/(Σp + Σy + 1). `pooled` sums over the whole batch (the lab's Dice); per image, it is the
 * mean over the batch of each image's own Dice loss, so a small apical LV weighs as much as a large basal
 * one, as it does in the mean per-image Dice that evaluation reports. A differentiable surrogate on
 * tensors; the Dice *metric* is the evaluation layer's `labDice` on argmax masks.
 */
function softDice(logits: tf.Tensor4D, labels: tf.Tensor3D, pooled: boolean): tf.Scalar {
  return tf.tidy(() => {
    const foreground = tf.squeeze(foregroundProbability(logits), [3]);
    const y = tf.cast(labels, 'float32');
    const axes = pooled ? undefined : [1, 2];
    const intersection = tf.sum(tf.mul(foreground, y), axes);
    const sizes = tf.add(tf.sum(foreground, axes), tf.sum(y, axes));
    return tf.mean(tf.sub(1, tf.div(tf.add(tf.mul(2, intersection), 1), tf.add(sizes, 1)))) as tf.Scalar;
  });
}

/** Soft Dice loss pooled over the batch (see `softDice`). */
export const softDiceLoss: LossFn = (logits, labels) => softDice(logits, labels, true);

/** Soft Dice loss per image, averaged over the batch (see `softDice`). */
export const imageDiceLoss: LossFn = (logits, labels) => softDice(logits, labels, false);

const plus = (a: LossFn, b: LossFn): LossFn => (logits, labels) => tf.tidy(() => tf.add(a(logits, labels), b(logits, labels)) as tf.Scalar);

/**
 * The loss of a deep-supervised model's outputs [logits, aux1, …, auxk] (aux j at 1/2^j of the input
 * size, upsampled): weights 1, 1/2, …, 1/2^k normalised to sum 1, as nnU-Net weighs its levels. One
 * output: `loss` of it.
 */
export function supervisedLoss(loss: LossFn, outputs: readonly tf.Tensor4D[], labels: tf.Tensor3D): tf.Scalar {
  if (outputs.length === 1) return loss(outputs[0]!, labels);
  return tf.tidy(() => {
    const weights = outputs.map((_, j) => 2 ** -j);
    const total = weights.reduce((a, b) => a + b, 0);
    return tf.addN(outputs.map((o, j) => tf.mul(weights[j]! / total, loss(o, labels)))) as tf.Scalar;
  });
}

/** The loss function of a name in LOSS_NAMES; throws a UsageError for any other. */
export function getLoss(name: string): LossFn {
  switch (name) {
    case 'sparse-ce':
      return sparseCrossEntropy;
    case 'dice':
      return softDiceLoss;
    case 'ce+dice':
      return plus(sparseCrossEntropy, softDiceLoss);
    case 'image-dice':
      return imageDiceLoss;
    case 'ce+image-dice':
      return plus(sparseCrossEntropy, imageDiceLoss);
    default:
      throw new UsageError(`unknown loss '${name}'; use one of ${LOSS_NAMES.join(', ')}`);
  }
}

/**
 * The loss of outputs already read from a model: `scores` channel last for `labels.length` images of
 * height × width. The epoch's val_loss and evaluation's loss are this one computation, so a run's
 * evaluation.json repeats its last val_loss. Probabilities (a per-pixel softmax output, or the inference
 * pipeline's averaged foreground) enter as their logarithms, clipped to [1e-7, 1 − 1e-7] as Keras clips
 * them: those are logits of the same distribution, so a from-logits loss gives −log p of the label.
 */
export async function scoresLoss(
  loss: LossFn,
  scores: Float32Array,
  labels: readonly Uint8Array[],
  height: number,
  width: number,
  kind: 'logits' | 'probabilities',
): Promise<number> {
  const pixels = height * width;
  const classes = scores.length / (labels.length * pixels);
  const flatLabels = new Int32Array(labels.length * pixels);
  labels.forEach((label, i) => {
    flatLabels.set(label, i * pixels);
  });
  const value = tf.tidy(() => {
    const outputs = tf.tensor4d(scores, [labels.length, height, width, classes]);
    const logits = kind === 'probabilities' ? tf.log(tf.clipByValue(outputs, 1e-7, 1 - 1e-7)) : outputs;
    return loss(logits as tf.Tensor4D, tf.tensor3d(flatLabels, [labels.length, height, width], 'int32'));
  });
  try {
    // read asynchronously: the webgpu backend cannot read synchronously in Node
    return (await value.data())[0]!;
  } finally {
    value.dispose();
  }
}
