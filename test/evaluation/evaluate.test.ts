import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend } from '../../src/backends/select.js';
import type { Sample } from '../../src/data/sample.js';
import { evaluateModel } from '../../src/evaluation/evaluate.js';
import { detectOutputKind } from '../../src/models/predict.js';
import { getLoss, scoresLoss, softDiceLoss } from '../../src/losses/losses.js';
import { thresholdModel } from './tiny-model.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

function sample(name: string, image: number[], label: number[], spacing?: [number, number]): Sample {
  return {
    name,
    patient: name.slice(0, 1),
    image: Float32Array.from(image),
    label: Uint8Array.from(label),
    height: 2,
    width: 2,
    spacing,
  };
}

// Predictions are image > 0.5.
const a = sample('a1', [1, 1, 0, 0], [1, 0, 0, 0]); // pred 1100 vs 1000: tp1 fp1
const b = sample('b1', [0, 0, 0, 1], [0, 0, 1, 1]); // pred 0001 vs 0011: tp1 fn1
const c = sample('c1', [0, 0, 0, 0], [0, 0, 0, 0]); // both empty

const softplus = (z: number) => Math.log1p(Math.exp(z));
// Loss per pixel from logits [0, z]: label 1 → softplus(−z), label 0 → softplus(z), z = x − 0.5.
const pixelLoss = (x: number, l: number) => (l ? softplus(-(x - 0.5)) : softplus(x - 0.5));

describe('evaluateModel', () => {
  it('reports the lab loss, accuracy, Dice and per-image metrics of a model with known outputs', async () => {
    const model = thresholdModel(2, 2);
    const { metrics, perImage } = await evaluateModel(model, [a, b, c], { batchSize: 2 });
    const expectedLoss =
      [a, b, c].flatMap((s) => Array.from(s.image, (x, i) => pixelLoss(x, s.label[i]!))).reduce((p, q) => p + q) / 12;
    expect(metrics.loss).toBeCloseTo(expectedLoss, 5);
    expect(metrics.accuracy).toBeCloseTo(10 / 12, 12);
    // Batch 1 = {a, b}: tp 2, fp 1, fn 1 → (4 + 1) / (6 + 1); batch 2 = {c}: (0 + 1) / (0 + 1).
    expect(metrics.dice).toBeCloseTo((5 / 7 + 1) / 2, 12);
    expect(metrics.meanDice).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 12);
    expect(metrics.iou).toBeCloseTo((1 / 2 + 1 / 2 + 1) / 3, 12);
    expect(metrics.precision).toBeCloseTo((1 / 2 + 1 + 1) / 3, 12);
    expect(metrics.recall).toBeCloseTo((1 + 1 / 2 + 1) / 3, 12);
    expect(metrics).toMatchObject({ count: 3, distanceCount: 3, unit: 'px', batchSize: 2 });
    expect(perImage.map((r) => [r.name, r.patient, r.lvAreaPx, r.labelAreaPx])).toEqual([
      ['a1', 'a', 2, 1],
      ['b1', 'b', 1, 2],
      ['c1', 'c', 0, 0],
    ]);
    // a: boundary pixels {0,1} vs {0}: distances 0, 1 (pred→label) and 0 → 95th percentile of [0, 0, 1].
    expect(perImage[0]!.hd95).toBeCloseTo(0.9, 12);
    expect(perImage[2]!.hd95).toBe(0);
  });

  it('gives the same Dice for batch size 1 as the mean of per-image smoothed Dice', async () => {
    const { metrics } = await evaluateModel(thresholdModel(2, 2), [a, b], { batchSize: 1 });
    expect(metrics.dice).toBeCloseTo((3 / 4 + 3 / 4) / 2, 12);
  });

  it("treats a softmax over the whole flattened output (the lab's Task 1) as logits, giving ln 2", async () => {
    const model = tfl.sequential();
    model.add(tfl.layers.flatten({ inputShape: [2, 2, 1] }));
    model.add(tfl.layers.dense({ units: 8, activation: 'softmax', kernelInitializer: 'zeros' }));
    model.add(tfl.layers.reshape({ targetShape: [2, 2, 2] }));
    expect(detectOutputKind(model)).toBe('logits');
    const { metrics } = await evaluateModel(model, [a, b]);
    // Every output is 1/8, equal for both classes: the per-pixel cross-entropy is ln 2.
    expect(metrics.loss).toBeCloseTo(Math.LN2, 6);
    model.dispose();
  });

  it('uses probabilities when the model ends in softmax over the classes', async () => {
    const model = thresholdModel(2, 2, true);
    expect(detectOutputKind(model)).toBe('probabilities');
    expect(detectOutputKind(thresholdModel(2, 2))).toBe('logits');
    const { metrics } = await evaluateModel(model, [a]);
    const expected = Array.from(a.image, (x, i) => pixelLoss(x, a.label[i]!)).reduce((p, q) => p + q) / 4;
    expect(metrics.loss).toBeCloseTo(expected, 5);
  });

  it('reports distances and areas in mm when every image has a spacing, leaving one-empty images out', async () => {
    const spaced = [
      sample('a1', [1, 1, 0, 0], [1, 0, 0, 0], [2, 2]),
      sample('d1', [0, 0, 0, 0], [1, 0, 0, 0], [2, 2]), // nothing predicted: hd95 NaN
    ];
    const { metrics, perImage } = await evaluateModel(thresholdModel(2, 2), spaced);
    expect(metrics.unit).toBe('mm');
    expect(metrics.distanceCount).toBe(1);
    expect(metrics.hd95).toBeCloseTo(1.8, 12);
    expect(perImage[1]!.hd95).toBeNaN();
    expect(perImage[0]!.lvAreaMm2).toBe(8);
  });

  it('falls back to pixels when only some images have a spacing', async () => {
    const mixed = [sample('a1', [1, 1, 0, 0], [1, 0, 0, 0], [2, 2]), b];
    const { metrics, perImage } = await evaluateModel(thresholdModel(2, 2), mixed);
    expect(metrics.unit).toBe('px');
    expect(perImage[0]!.hd95).toBeCloseTo(0.9, 12);
  });

  it('accepts async iterables and keeps no tensors alive', async () => {
    const model = thresholdModel(2, 2);
    const before = tf.memory().numTensors;
    async function* gen() {
      yield a;
      yield b;
    }
    const { metrics } = await evaluateModel(model, gen(), { batchSize: 1 });
    expect(metrics.count).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses images of another size than the model input, naming the image', async () => {
    const big: Sample = {
      ...a,
      name: 'big',
      image: new Float32Array(9),
      label: new Uint8Array(9),
      height: 3,
      width: 3,
    };
    await expect(evaluateModel(thresholdModel(2, 2), [big])).rejects.toThrow(
      /big: image is 3×3 but the model takes 2×2/,
    );
  });

  it('evaluates images of several sizes with a fully convolutional model of free size', async () => {
    const big: Sample = {
      ...a,
      name: 'big',
      image: new Float32Array(9).fill(1),
      label: new Uint8Array(9).fill(1),
      height: 3,
      width: 3,
    };
    const { metrics } = await evaluateModel(thresholdModel(null, null), [a, big], { batchSize: 4 });
    expect(metrics.count).toBe(2);
    expect(metrics.dice).toBeCloseTo((3 / 4 + 1) / 2, 12);
  });
});

describe('scoresLoss', () => {
  it('gives log-sum-exp minus the label logit, averaged over pixels, from logits', async () => {
    const loss = await scoresLoss(
      getLoss('sparse-ce'),
      Float32Array.from([0, 0, 2, 0]),
      [Uint8Array.from([1, 0])],
      1,
      2,
      'logits',
    );
    expect(loss).toBeCloseTo((Math.log(2) + Math.log(1 + Math.exp(-2))) / 2, 6);
  });

  it('gives −log p of the label from probabilities, clipped as Keras clips them', async () => {
    const loss = await scoresLoss(
      getLoss('sparse-ce'),
      Float32Array.from([0.25, 0.75, 1, 0]),
      [Uint8Array.from([1, 1])],
      1,
      2,
      'probabilities',
    );
    expect(loss).toBeCloseTo((-Math.log(0.75) - Math.log(1e-7)) / 2, 4);
  });

  it('is the soft Dice loss of the probabilities for the dice loss, whatever form they come in', async () => {
    const p = [0.9, 0.2, 0.6, 0.1];
    const labels = [Uint8Array.from([1, 0, 1, 0])];
    const expected = 1 - (2 * (0.9 + 0.6) + 1) / (p.reduce((a, b) => a + b) + 2 + 1);
    const probs = Float32Array.from(p.flatMap((q) => [1 - q, q]));
    const logits = Float32Array.from(p.flatMap((q) => [0, Math.log(q / (1 - q))]));
    expect(await scoresLoss(softDiceLoss, probs, labels, 2, 2, 'probabilities')).toBeCloseTo(expected, 5);
    expect(await scoresLoss(softDiceLoss, logits, labels, 2, 2, 'logits')).toBeCloseTo(expected, 5);
  });
});
