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
    const [batch, height, width, k] = logits.shape;
    const onehot = oneHotFloat(classes, k);
    if (!known) return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProbs), -1))) as tf.Scalar;
    // Background pixels of an image take its unmarked classes too: the outer product of the two per image,
    // as a batched matMul (a [B,H,W,1] × [B,1,1,K] broadcast falls to tfjs's per-element cpu kernel).
    // 1 − min(class, 1): tfjs-cpu's bool-to-float Cast does not give float32 storage, which onednn needs
    const isBackground = tf.reshape(tf.sub(1, tf.minimum(tf.cast(classes, 'float32'), 1)), [batch, height * width, 1]);
    const open = tf.matMul(isBackground, tf.reshape(tf.sub(1, known), [batch, 1, k]));
    const accepted = tf.minimum(1, tf.add(onehot, tf.reshape(open, [batch, height, width, k])));
    // log Σ p over the accepted classes (never all below 1e-30: the label's own class is one of them)
    const merged = tf.log(tf.add(tf.sum(tf.mul(tf.exp(logProbs), accepted), -1), 1e-30));
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
 * One-hot of class indices as float32. Cast from tfjs's int32 one-hot: tfjs-backend-wasm 4.22's OneHot
 * ignores a float32 dtype and writes integer bits (a 1 reads 1.4e-45).
 */
function oneHotFloat(classes: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(classes, depth), 'float32');
}

/**
 * Σ over each image's pixels, per channel: [B, H, W, K] → [B, K], as a batched matMul with ones (native on
 * onednn; a Sum over the middle axes, and a last-axis Slice or Softmax of K > 2, fall to tfjs's cpu kernels,
 * which took 300 ms of a 3-class batch's loss and gradient).
 */
function sumPixels(x: tf.Tensor4D): tf.Tensor2D {
  const [batch, height, width, k] = x.shape;
  const pixels = height * width;
  return tf.reshape(tf.matMul(tf.ones([batch, 1, pixels]), tf.reshape(x, [batch, pixels, k])), [batch, k]);
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
    const probs = tf.exp(tf.logSoftmax(logits, -1)) as tf.Tensor4D;
    const y = oneHotFloat(tf.cast(labels, 'int32'), k) as tf.Tensor4D;
    // every class but the background, where the image marks it
    const foreground = tf.tensor2d([Array.from({ length: k }, (_, c) => (c === 0 ? 0 : 1))]);
    const weights = tf.mul(known ?? tf.ones([batch, k]), foreground);
    const intersection = sumPixels(tf.mul(probs, y) as tf.Tensor4D);
    const sizes = tf.add(sumPixels(probs), sumPixels(y));
    if (pooled) {
      const i = tf.sum(tf.mul(intersection, weights), 0);
      const s = tf.sum(tf.mul(sizes, weights), 0);
      const dice = tf.div(tf.add(tf.mul(2, i), 1), tf.add(s, 1));
      return tf.sub(1, tf.div(tf.sum(tf.mul(dice, tf.squeeze(foreground, [0]))), k - 1)) as tf.Scalar;
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

/** log(clip(p, 1e-7, 1 − 1e-7)) of each probability, in float32 as tf.clipByValue and tf.log give it. */
function logClipped(probabilities: Float32Array): Float32Array {
  const low = Math.fround(1e-7),
    high = Math.fround(1 - 1e-7);
  const out = new Float32Array(probabilities.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.min(Math.max(probabilities[i]!, low), high));
  return out;
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
    // the log of clipped probabilities as one loop here: tfjs has no native ClipByValue on onednn or wasm, and
    // its cpu kernel took ~0.3 s of each sunnybrook-unet validation
    const logits = tf.tensor4d(kind === 'probabilities' ? logClipped(scores) : scores, [
      labels.length,
      height,
      width,
      classes,
    ]);
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
