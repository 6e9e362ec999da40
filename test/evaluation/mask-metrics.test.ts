import { describe, expect, it } from 'vitest';
import {
  argmaxLabels,
  confusionCounts,
  diceCoefficient,
  iou,
  labDice,
  pixelAccuracy,
  precision,
  recall,
} from '../../src/imaging/mask-metrics.js';

const u8 = (xs: number[]) => Uint8Array.from(xs);

// 3 predicted, 4 labelled, 2 overlapping, 10 pixels.
const pred = u8([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
const label = u8([0, 1, 1, 1, 1, 0, 0, 0, 0, 0]);

describe('mask metrics on hand-made masks', () => {
  it('counts TP, FP, FN and TN', () => {
    expect(confusionCounts(pred, label)).toEqual({ tp: 2, fp: 1, fn: 2, tn: 5 });
  });

  it('computes Dice with and without smoothing', () => {
    expect(diceCoefficient(pred, label, 0)).toBeCloseTo(4 / 7, 12);
    expect(diceCoefficient(pred, label)).toBeCloseTo(5 / 8, 12);
  });

  it('computes IoU, precision, recall and accuracy', () => {
    expect(iou(pred, label)).toBeCloseTo(2 / 5, 12);
    expect(precision(pred, label)).toBeCloseTo(2 / 3, 12);
    expect(recall(pred, label)).toBeCloseTo(2 / 4, 12);
    expect(pixelAccuracy(pred, label)).toBeCloseTo(7 / 10, 12);
  });

  it('treats any non-zero value as foreground', () => {
    expect(diceCoefficient(u8([255, 0]), u8([1, 0]), 0)).toBe(1);
  });

  it('scores two empty masks as perfect and one empty mask as zero overlap', () => {
    const empty = new Uint8Array(10);
    expect(diceCoefficient(empty, empty, 0)).toBe(1);
    expect(diceCoefficient(empty, empty)).toBe(1);
    expect(iou(empty, empty)).toBe(1);
    expect(precision(empty, empty)).toBe(1);
    expect(recall(empty, empty)).toBe(1);
    expect(diceCoefficient(empty, label, 0)).toBe(0);
    expect(diceCoefficient(empty, label)).toBeCloseTo(1 / 5, 12);
    expect(iou(empty, label)).toBe(0);
    expect(precision(empty, label)).toBe(0);
    expect(recall(pred, empty)).toBe(0);
  });

  it('pools the lab Dice over the whole batch instead of averaging per image', () => {
    // Image A: perfect on 1 pixel; image B: 4 labelled, 0 found.
    const a = u8([1, 0, 0, 0]);
    const b = u8([0, 0, 0, 0]);
    const lb = u8([1, 1, 1, 1]);
    // (2·1 + 1) / (1 + 1 + 0 + 4 + 1) = 3/7; the mean of per-image Dice would be (1 + 1/5) / 2.
    expect(labDice([a, b], [a, lb])).toBeCloseTo(3 / 7, 12);
    expect(labDice([pred], [label])).toBeCloseTo(diceCoefficient(pred, label), 12);
  });

  it('rejects masks of different sizes with a message naming both sizes', () => {
    expect(() => diceCoefficient(u8([1, 0]), u8([1]))).toThrow(/2 pixels but label has 1/);
    expect(() => labDice([pred], [])).toThrow(/1 predictions but 0 labels/);
  });
});

describe('argmaxLabels', () => {
  it('picks the higher of two channel-last logits per pixel, ties to class 0', () => {
    const scores = Float32Array.from([0.2, -1, -3, 4, 5, 5, -0.5, -0.1]);
    expect(Array.from(argmaxLabels(scores, 4))).toEqual([0, 1, 0, 1]);
  });

  it('handles several images and more than two classes', () => {
    const scores = Float32Array.from([0, 1, 2, 5, 1, 0, 0, 9, 1, 3, 3, 3]);
    expect(Array.from(argmaxLabels(scores, 2, 3))).toEqual([2, 0, 1, 0]);
  });

  it('rejects a length that is not whole images', () => {
    expect(() => argmaxLabels(new Float32Array(7), 4)).toThrow(/not a whole number of images/);
  });
});
