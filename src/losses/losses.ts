import * as tf from '@tensorflow/tfjs-core';
import { fusedSparseCrossEntropy } from '../backends/fused-loss.js';
import { UsageError } from '../errors.js';

/** The losses `--loss` takes. */
export const LOSS_NAMES = ['sparse-ce', 'dice', 'ce+dice', 'image-dice', 'ce+image-dice'] as const;
/** One of LOSS_NAMES. */
export type LossName = (typeof LOSS_NAMES)[number];

/**
 * A loss over per-pixel logits [B, H, W, K] and integer labels [B, H, W]; returns a scalar. `known`
 * [B, K] (1 or 0) says which classes each image's label marks (knownClasses): a class unmarked in an
 * image may hide under its background there. Without it every label marks every class.
 */
export type LossFn = (logits: tf.Tensor4D, labels: tf.Tensor3D, known?: tf.Tensor2D) => tf.Scalar;

/**
 * The `known` tensor of a batch: [B, K] with 1 where sample b's label marks class k (Sample.labelledClasses,
 * every class when absent); undefined when every sample marks every class, so a fully labelled batch takes
 * the losses' plain path.
 */
export function knownClasses(
  labelled: readonly (readonly number[] | undefined)[],
  classes: number,
): tf.Tensor2D | undefined {
  if (labelled.every((l) => l === undefined)) return undefined;
  const values = new Float32Array(labelled.length * classes);
  labelled.forEach((l, b) => {
    for (let k = 0; k < classes; k++) values[b * classes + k] = l === undefined || l.includes(k) ? 1 : 0;
  });
  return tf.tensor2d(values, [labelled.length, classes]);
}

/**
 * Sparse softmax cross-entropy from logits, averaged over every pixel: the lab's
 * `SparseCategoricalCrossentropy(from_logits=True)`. Fed softmax outputs instead of logits (the lab's
 * Task 1), it sits at ln 2. On a backend with a fused kernel for it (onednn: one native pass
 * with its gradient) it runs that. With `known`, a background pixel of an image that leaves classes
 * unmarked counts as right when it is background or any of them: −log of their summed probability (the
 * background and myocardium probabilities merged on a Sunnybrook slice with an endocardial contour only).
 */
export const sparseCrossEntropy: LossFn = (logits, labels, known) =>
  tf.tidy(() => {
    const classes = tf.cast(labels, 'int32');
    if (!known) {
      const fused = fusedSparseCrossEntropy(logits, classes);
      if (fused) return fused;
    }
    const logProbs = tf.logSoftmax(logits, -1);
    const onehot = tf.oneHot(classes, logits.shape[3]);
    if (!known) return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProbs), -1))) as tf.Scalar;
    const [batch, height, width, k] = logits.shape;
    const unknown = tf.reshape(tf.sub(1, known), [batch, 1, 1, k]);
    const isBackground = tf.expandDims(tf.cast(tf.equal(classes, 0), 'float32'), -1);
    const accepted = tf.minimum(1, tf.add(onehot, tf.mul(isBackground, unknown)));
    // log Σ p over the accepted classes; the others pushed to exp(-1e4) = 0
    const merged = tf.logSumExp(tf.add(logProbs, tf.mul(tf.sub(1, accepted), -1e4)), -1);
    return tf.div(tf.neg(tf.sum(merged)), batch * height * width) as tf.Scalar;
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
function softDice(logits: tf.Tensor4D, labels: tf.Tensor3D, pooled: boolean, known?: tf.Tensor2D): tf.Scalar {
  if (logits.shape[3] > 2 || known) return softDiceOverClasses(logits, labels, pooled, known);
  return tf.tidy(() => {
    const foreground = tf.squeeze(foregroundProbability(logits), [3]);
    const y = tf.cast(labels, 'float32');
    const axes = pooled ? undefined : [1, 2];
    const intersection = tf.sum(tf.mul(foreground, y), axes);
    const sizes = tf.add(tf.sum(foreground, axes), tf.sum(y, axes));
    return tf.mean(tf.sub(1, tf.div(tf.add(tf.mul(2, intersection), 1), tf.add(sizes, 1)))) as tf.Scalar;
  });
}

/**
 * softDice for K classes: each foreground class's soft Dice on its softmax channel against label == k,
 * averaged over the classes (background left out, as nnU-Net does) and, per image, over the images. With
 * `known`, a class an image does not mark takes no part in that image's Dice, nor in the pooled sums.
 */
function softDiceOverClasses(
  logits: tf.Tensor4D,
  labels: tf.Tensor3D,
  pooled: boolean,
  known?: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const [batch, , , k] = logits.shape;
    const probs = tf.slice(tf.softmax(logits, -1), [0, 0, 0, 1], [-1, -1, -1, k - 1]);
    const y = tf.slice(tf.oneHot(tf.cast(labels, 'int32'), k), [0, 0, 0, 1], [-1, -1, -1, k - 1]);
    const weights = known ? tf.slice(known, [0, 1], [-1, k - 1]) : tf.ones([batch, k - 1]);
    const intersection = tf.sum(tf.mul(probs, y), [1, 2]);
    const sizes = tf.add(tf.sum(probs, [1, 2]), tf.sum(y, [1, 2]));
    if (pooled) {
      const i = tf.sum(tf.mul(intersection, weights), 0);
      const s = tf.sum(tf.mul(sizes, weights), 0);
      const dice = tf.div(tf.add(tf.mul(2, i), 1), tf.add(s, 1));
      return tf.sub(1, tf.mean(dice)) as tf.Scalar;
    }
    const dice = tf.div(tf.add(tf.mul(2, intersection), 1), tf.add(sizes, 1));
    return tf.sub(1, tf.div(tf.sum(tf.mul(dice, weights)), tf.maximum(tf.sum(weights), 1))) as tf.Scalar;
  });
}

/** Soft Dice loss pooled over the batch (see `softDice`). */
export const softDiceLoss: LossFn = (logits, labels, known) => softDice(logits, labels, true, known);

/** Soft Dice loss per image, averaged over the batch (see `softDice`). */
export const imageDiceLoss: LossFn = (logits, labels, known) => softDice(logits, labels, false, known);

const plus =
  (a: LossFn, b: LossFn): LossFn =>
  (logits, labels, known) =>
    tf.tidy(() => tf.add(a(logits, labels, known), b(logits, labels, known)) as tf.Scalar);

/**
 * The loss of a deep-supervised model's outputs [logits, aux1, …, auxk] (aux j at 1/2^j of the input
 * size, upsampled): weights 1, 1/2, …, 1/2^k normalised to sum 1, as nnU-Net weighs its levels. One
 * output: `loss` of it.
 */
export function supervisedLoss(
  loss: LossFn,
  outputs: readonly tf.Tensor4D[],
  labels: tf.Tensor3D,
  known?: tf.Tensor2D,
): tf.Scalar {
  if (outputs.length === 1) return loss(outputs[0]!, labels, known);
  return tf.tidy(() => {
    const weights = outputs.map((_, j) => 2 ** -j);
    const total = weights.reduce((a, b) => a + b, 0);
    return tf.addN(outputs.map((o, j) => tf.mul(weights[j]! / total, loss(o, labels, known)))) as tf.Scalar;
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
  labelled: readonly (readonly number[] | undefined)[] = [],
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
    const known = knownClasses(
      labels.map((_, i) => labelled[i]),
      classes,
    );
    return loss(logits as tf.Tensor4D, tf.tensor3d(flatLabels, [labels.length, height, width], 'int32'), known);
  });
  try {
    // read asynchronously: the webgpu backend cannot read synchronously in Node
    return (await value.data())[0]!;
  } finally {
    value.dispose();
  }
}
