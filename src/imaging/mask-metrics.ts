/**
 * Overlap metrics on binary masks: pure functions over typed arrays, usable without tfjs.
 * This is the project's only Dice implementation; training metrics, callbacks, evaluation and reports
 * all call into it.
 *
 * A mask is any array of class indices; a pixel is foreground (left ventricle) when its value is non-zero.
 *
 * Empty masks: where a ratio would be 0/0 (both masks empty) the metric is 1, because an empty prediction
 * of an empty label is a perfect answer; where only one side is empty the ratio is well defined (0).
 */
import { DataError } from '../errors.js';

export type MaskLike = ArrayLike<number>;

/** Pixel counts of a prediction against a label, foreground = non-zero. */
export interface ConfusionCounts {
  /** Predicted foreground, labelled foreground. */
  tp: number;
  /** Predicted foreground, labelled background. */
  fp: number;
  /** Predicted background, labelled foreground. */
  fn: number;
  /** Predicted background, labelled background. */
  tn: number;
}

function checkSameLength(pred: MaskLike, label: MaskLike, what: string): void {
  if (pred.length !== label.length) {
    throw new DataError(
      `${what}: prediction has ${pred.length} pixels but label has ${label.length}; ` +
        'compare masks of the same height and width',
    );
  }
}

export function confusionCounts(pred: MaskLike, label: MaskLike): ConfusionCounts {
  checkSameLength(pred, label, 'confusionCounts');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0;
    const l = label[i] !== 0;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  return { tp, fp, fn, tn: pred.length - tp - fp - fn };
}

/**
 * The counts of one class (or a region of several, like the epicardium = lv ∪ myocardium) in a
 * multi-class prediction and label: foreground = a value in `values`. For `values` [1..255] these are
 * confusionCounts.
 */
export function regionCounts(pred: MaskLike, label: MaskLike, values: readonly number[]): ConfusionCounts {
  checkSameLength(pred, label, 'regionCounts');
  const inside = new Uint8Array(256);
  for (const v of values) inside[v] = 1;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = inside[pred[i]!] === 1;
    const l = inside[label[i]!] === 1;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  return { tp, fp, fn, tn: pred.length - tp - fp - fn };
}

/** The binary mask (1 inside, 0 outside) of the pixels whose class is in `values`. */
export function regionMask(mask: MaskLike, values: readonly number[]): Uint8Array {
  const inside = new Uint8Array(256);
  for (const v of values) inside[v] = 1;
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = inside[mask[i]!]!;
  return out;
}

/** Adds counts of several images: the lab pools pixels over a whole batch. */
export function addCounts(a: ConfusionCounts, b: ConfusionCounts): ConfusionCounts {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn };
}

/** Dice from counts: (2·TP + s) / (2·TP + FP + FN + s); 1 when both masks are empty and s = 0. */
export function diceFromCounts(c: ConfusionCounts, smooth = 1): number {
  const denominator = 2 * c.tp + c.fp + c.fn + smooth;
  return denominator === 0 ? 1 : (2 * c.tp + smooth) / denominator;
}

/** Dice coefficient (2|A∩B| + s) / (|A| + |B| + s) of one prediction against its label. */
export function diceCoefficient(pred: MaskLike, label: MaskLike, smooth = 1): number {
  return diceFromCounts(confusionCounts(pred, label), smooth);
}

/**
 * The NVIDIA lab's Dice: intersections and sizes summed over the whole batch before the ratio
 * (not a mean of per-image Dice), smooth 1. Large ventricles weigh more than small ones.
 */
export function labDice(preds: readonly MaskLike[], labels: readonly MaskLike[], smooth = 1): number {
  if (preds.length !== labels.length) {
    throw new DataError(
      `labDice: ${preds.length} predictions but ${labels.length} labels; pass one label per prediction`,
    );
  }
  let total: ConfusionCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < preds.length; i++) total = addCounts(total, confusionCounts(preds[i]!, labels[i]!));
  return diceFromCounts(total, smooth);
}

/** Intersection over union |A∩B| / |A∪B| (Jaccard); 1 when both masks are empty. */
export function iou(pred: MaskLike, label: MaskLike): number {
  return iouFromCounts(confusionCounts(pred, label));
}

export function iouFromCounts(c: ConfusionCounts): number {
  const union = c.tp + c.fp + c.fn;
  return union === 0 ? 1 : c.tp / union;
}

/** TP / (TP + FP): how much of the prediction is ventricle. 1 when nothing is predicted and nothing is there, 0 when
 * nothing is predicted but the label has ventricle. */
export function precision(pred: MaskLike, label: MaskLike): number {
  return precisionFromCounts(confusionCounts(pred, label));
}

export function precisionFromCounts(c: ConfusionCounts): number {
  const predicted = c.tp + c.fp;
  if (predicted === 0) return c.fn === 0 ? 1 : 0;
  return c.tp / predicted;
}

/** TP / (TP + FN): how much of the ventricle is found. 1 when the label is empty and nothing is predicted, 0 when the
 * label is empty but something is predicted. */
export function recall(pred: MaskLike, label: MaskLike): number {
  return recallFromCounts(confusionCounts(pred, label));
}

export function recallFromCounts(c: ConfusionCounts): number {
  const actual = c.tp + c.fn;
  if (actual === 0) return c.fp === 0 ? 1 : 0;
  return c.tp / actual;
}

/** Fraction of pixels whose class matches the label (background included). */
export function pixelAccuracy(pred: MaskLike, label: MaskLike): number {
  return accuracyFromCounts(confusionCounts(pred, label));
}

export function accuracyFromCounts(c: ConfusionCounts): number {
  const n = c.tp + c.fp + c.fn + c.tn;
  return n === 0 ? 1 : (c.tp + c.tn) / n;
}

/** Number of foreground (non-zero) pixels: the LV area in pixels. */
export function foregroundArea(mask: MaskLike): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  return n;
}

/**
 * Per-pixel class with the highest score, from channel-last scores (logits or probabilities) of one or
 * more images: `scores.length` must be a multiple of `pixels · classes`. Ties go to the lower class, as
 * tf.argMax does.
 */
export function argmaxLabels(scores: Float32Array, pixels: number, classes = 2): Uint8Array {
  if (!Number.isInteger(classes) || classes < 1 || classes > 256) {
    throw new DataError(`argmaxLabels: classes must be an integer from 1 to 256, got ${classes}`);
  }
  if (!Number.isInteger(pixels) || pixels < 1 || scores.length % (pixels * classes) !== 0) {
    throw new DataError(
      `argmaxLabels: ${scores.length} scores are not a whole number of images of ${pixels} pixels × ` +
        `${classes} classes; ` +
        'pass the model output with the classes as the last axis',
    );
  }
  const n = scores.length / classes;
  const out = new Uint8Array(n);
  if (classes === 2) {
    // The common case, without the inner loop.
    for (let i = 0; i < n; i++) out[i] = scores[2 * i + 1]! > scores[2 * i]! ? 1 : 0;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const base = i * classes;
    let best = 0;
    let bestScore = scores[base]!;
    for (let k = 1; k < classes; k++) {
      const s = scores[base + k]!;
      if (s > bestScore) {
        best = k;
        bestScore = s;
      }
    }
    out[i] = best;
  }
  return out;
}
