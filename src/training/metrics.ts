import {
  accuracyFromCounts,
  addCounts,
  confusionCounts,
  diceFromCounts,
  iou,
  iouFromCounts,
  labDice,
  pixelAccuracy,
  regionCounts,
  type ConfusionCounts,
} from '../imaging/mask-metrics.js';
import { mean } from '../imaging/statistics.js';
import { UsageError } from '../errors.js';

/**
 * Training metrics on argmax masks. They call the evaluation layer's pure functions: there is one
 * Dice implementation in lvseg (`labDice`, the lab's batch-pooled Dice with smooth 1).
 */
export const METRIC_NAMES = ['accuracy', 'dice', 'iou'] as const;
/** One of METRIC_NAMES. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** One batch's value of `name`, from its predicted and true masks (one Uint8Array per image). */
export function batchMetric(name: MetricName, preds: Uint8Array[], labels: Uint8Array[]): number {
  switch (name) {
    case 'dice':
      return labDice(preds, labels);
    case 'accuracy':
      return mean(preds.map((p, i) => pixelAccuracy(p, labels[i]!)));
    case 'iou':
      return mean(preds.map((p, i) => iou(p, labels[i]!)));
  }
}

/** What a batch's masks hold beyond two classes: K, and per image the classes its label marks. */
export interface MetricClasses {
  classes?: number;
  labelled?: readonly (readonly number[] | undefined)[];
}

/**
 * One batch's value of every metric in `names` (equal to batchMetric for each), from one confusion count
 * per image: `preds` and `labels` hold one mask per image each. Dice is labDice's: counts summed over
 * the batch, smooth 1. With K > 2 classes, dice and iou are the means over the foreground classes of
 * each class's value (over the images whose label marks that class), accuracy the share of pixels whose
 * class is right.
 */
export function batchMetrics(
  names: readonly MetricName[],
  preds: Uint8Array[],
  labels: Uint8Array[],
  options: MetricClasses = {},
): number[] {
  if (names.length === 0) return [];
  const k = options.classes ?? 2;
  if (k > 2) return multiClassMetrics(names, preds, labels, k, options.labelled ?? []);
  const counts = preds.map((p, i) => confusionCounts(p, labels[i]!));
  return names.map((name) => {
    switch (name) {
      case 'dice':
        return diceFromCounts(counts.reduce(addCounts, ZERO_COUNTS), 1);
      case 'accuracy':
        return mean(counts.map(accuracyFromCounts));
      case 'iou':
        return mean(counts.map(iouFromCounts));
      default:
        throw new UsageError(`unknown metric '${name as string}'; use any of ${METRIC_NAMES.join(', ')}`);
    }
  });
}

const ZERO_COUNTS: ConfusionCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };

/** Per foreground class 1…K−1, one confusion count per image whose label marks it (none: an empty list). */
function classCounts(
  preds: Uint8Array[],
  labels: Uint8Array[],
  k: number,
  labelled: readonly (readonly number[] | undefined)[],
): ConfusionCounts[][] {
  const marks = (i: number, c: number): boolean => labelled[i] === undefined || labelled[i]!.includes(c);
  return Array.from({ length: k - 1 }, (_, j) =>
    preds.flatMap((p, i) => (marks(i, j + 1) ? [regionCounts(p, labels[i]!, [j + 1])] : [])),
  );
}

/**
 * Each foreground class's Dice over a batch, by class 1…K−1: its counts summed over the images whose label marks
 * it, smooth 1 (batchMetrics' dice for K > 2 is their mean); undefined for a class no image marks.
 */
export function classDices(
  preds: Uint8Array[],
  labels: Uint8Array[],
  k: number,
  labelled: readonly (readonly number[] | undefined)[] = [],
): (number | undefined)[] {
  return classCounts(preds, labels, k, labelled).map((counts) =>
    counts.length > 0 ? diceFromCounts(counts.reduce(addCounts, ZERO_COUNTS), 1) : undefined,
  );
}

function multiClassMetrics(
  names: readonly MetricName[],
  preds: Uint8Array[],
  labels: Uint8Array[],
  k: number,
  labelled: readonly (readonly number[] | undefined)[],
): number[] {
  const classes = classCounts(preds, labels, k, labelled).filter((counts) => counts.length > 0);
  return names.map((name) => {
    switch (name) {
      case 'dice':
        return mean(classes.map((counts) => diceFromCounts(counts.reduce(addCounts, ZERO_COUNTS), 1)));
      case 'iou':
        return mean(classes.map((counts) => mean(counts.map(iouFromCounts))));
      case 'accuracy':
        return mean(
          preds.map((p, i) => {
            let right = 0;
            for (let j = 0; j < p.length; j++) if (p[j] === labels[i]![j]) right++;
            return right / p.length;
          }),
        );
      default:
        throw new UsageError(`unknown metric '${name as string}'; use any of ${METRIC_NAMES.join(', ')}`);
    }
  });
}

export function checkMetricNames(names: readonly string[]): MetricName[] {
  for (const n of names) {
    if (!(METRIC_NAMES as readonly string[]).includes(n))
      throw new UsageError(`unknown metric '${n}'; use any of ${METRIC_NAMES.join(', ')}`);
  }
  return names as MetricName[];
}

/** Keras-style running means of per-batch values, weighted by batch size. */
export class RunningMeans {
  private sums = new Map<string, number>();
  private weights = new Map<string, number>();

  add(name: string, value: number, weight = 1): void {
    this.sums.set(name, (this.sums.get(name) ?? 0) + value * weight);
    this.weights.set(name, (this.weights.get(name) ?? 0) + weight);
  }

  values(prefix = ''): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, s] of this.sums) out[prefix + k] = s / this.weights.get(k)!;
    return out;
  }
}
