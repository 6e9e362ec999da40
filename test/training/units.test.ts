import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend } from '../../src/backends/select.js';
import { createOptimizer } from '../../src/backends/optimizers.js';
import { getLoss, imageDiceLoss, softDiceLoss, sparseCrossEntropy } from '../../src/losses/losses.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { batchMetric, batchMetrics, METRIC_NAMES } from '../../src/training/metrics.js';
import { loadLatestCheckpoint, writeCheckpoint } from '../../src/training/checkpoint.js';
import { buildModelFromSpec, loadModelSpec } from '../../src/models/spec.js';
import { UsageError } from '../../src/errors.js';
import { tempDir } from '../temp.js';

await selectBackend('cpu');

describe('losses', () => {
  it('sparse cross-entropy from logits: ln 2 for equal logits, ln(1 + e^-2) for a margin of 2', () => {
    const labels = tf.tensor3d([[[1, 0]]], [1, 1, 2], 'int32');
    expect(sparseCrossEntropy(tf.zeros([1, 1, 2, 2]) as tf.Tensor4D, labels).dataSync()[0]).toBeCloseTo(Math.LN2, 6);
    const logits = tf.tensor4d([
      [
        [
          [0, 2],
          [2, 0],
        ],
      ],
    ]);
    expect(sparseCrossEntropy(logits, labels).dataSync()[0]).toBeCloseTo(Math.log(1 + Math.exp(-2)), 6);
  });

  it('soft Dice is 0 for confident right answers and near 1 for confident wrong ones', () => {
    const labels = tf.tensor3d([[[1, 0, 0, 1]]], [1, 1, 4], 'int32');
    const right = tf.tensor4d([
      [
        [
          [-20, 20],
          [20, -20],
          [20, -20],
          [-20, 20],
        ],
      ],
    ]);
    const wrong = tf.tensor4d([
      [
        [
          [20, -20],
          [-20, 20],
          [-20, 20],
          [20, -20],
        ],
      ],
    ]);
    expect(softDiceLoss(right, labels).dataSync()[0]).toBeCloseTo(0, 5);
    // (2·0 + 1)/(2 + 2 + 1) = 0.2 → loss 0.8
    expect(softDiceLoss(wrong, labels).dataSync()[0]).toBeCloseTo(0.8, 5);
  });

  it('per-image soft Dice weighs a small mask as much as a large one; pooled Dice does not', () => {
    // image 0: a 1-pixel LV, missed; image 1: a 3-pixel LV, found
    const labels = tf.tensor3d([[[1, 0, 0, 0]], [[1, 1, 1, 0]]], [2, 1, 4], 'int32');
    const logits = tf.tensor4d([
      [
        [
          [20, -20],
          [20, -20],
          [20, -20],
          [20, -20],
        ],
      ],
      [
        [
          [-20, 20],
          [-20, 20],
          [-20, 20],
          [20, -20],
        ],
      ],
    ]);
    // per image: (1 − 1/2 + 1 − 7/7) / 2 = 0.25; pooled: 1 − (2·3 + 1)/(3 + 4 + 1) = 0.125
    expect(imageDiceLoss(logits, labels).dataSync()[0]).toBeCloseTo(0.25, 5);
    expect(softDiceLoss(logits, labels).dataSync()[0]).toBeCloseTo(0.125, 5);
    expect(getLoss('ce+image-dice')(logits, labels).dataSync()[0]).toBeCloseTo(
      0.25 + sparseCrossEntropy(logits, labels).dataSync()[0]!,
      5,
    );
  });
  it(
    "soft Dice's two-class shortcut (a sigmoid of the logit difference) gives the softmax's value and " + 'gradient',
    () => {
      const logits = tf.randomNormal([2, 5, 5, 2], 0, 3, 'float32', 1) as tf.Tensor4D;
      const labels = tf.cast(tf.greater(tf.randomUniform([2, 5, 5], 0, 1, 'float32', 2), 0.6), 'int32') as tf.Tensor3D;
      const viaSoftmax = (l: tf.Tensor4D): tf.Scalar => {
        const p = tf.squeeze(tf.slice(tf.softmax(l, -1), [0, 0, 0, 1], [-1, -1, -1, 1]), [3]);
        const y = tf.cast(labels, 'float32');
        const inter = tf.sum(tf.mul(p, y), [1, 2]);
        return tf.mean(
          tf.sub(1, tf.div(tf.add(tf.mul(2, inter), 1), tf.add(tf.add(tf.sum(p, [1, 2]), tf.sum(y, [1, 2])), 1))),
        ) as tf.Scalar;
      };
      expect(imageDiceLoss(logits, labels).dataSync()[0]).toBeCloseTo(viaSoftmax(logits).dataSync()[0]!, 6);
      const fast = tf
        .grad((l) => imageDiceLoss(l as tf.Tensor4D, labels))(logits)
        .dataSync();
      const reference = tf
        .grad((l) => viaSoftmax(l as tf.Tensor4D))(logits)
        .dataSync();
      expect(Math.max(...fast.map((v, i) => Math.abs(v - reference[i]!)))).toBeLessThan(1e-6);
      expect(Math.max(...reference.map(Math.abs))).toBeGreaterThan(1e-3);
    },
  );
});

describe('metrics', () => {
  it('batchMetrics gives every metric bit for bit as batchMetric does', () => {
    let state = 7;
    const mask = (): Uint8Array =>
      Uint8Array.from({ length: 37 }, () => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return (state >> 16) & 1;
      });
    const preds = [mask(), mask(), new Uint8Array(37)];
    const labels = [mask(), new Uint8Array(37), new Uint8Array(37)];
    expect(batchMetrics(METRIC_NAMES, preds, labels)).toEqual(METRIC_NAMES.map((m) => batchMetric(m, preds, labels)));
    expect(batchMetrics([], preds, labels)).toEqual([]);
  });
});

describe('training config', () => {
  it('defaults < preset < config file < flags', () => {
    const c = resolveTrainConfig(
      { preset: 'lab-task3', train: 'synthetic:4', lr: 0.01 },
      { epochs: 5, lr: 0.5, batchSize: 2 },
    );
    expect(c).toMatchObject({
      model: 'fcn',
      epochs: 5,
      batchSize: 2,
      lr: 0.01,
      shuffleBuffer: 10,
      scale: '1/1024',
      loss: 'sparse-ce',
      stepsPerEpoch: null,
    });
    expect(resolveTrainConfig({ preset: 'lab-task3', train: 'x', scale: '1/255' }).scale).toBe('1/255');
    expect(resolveTrainConfig({ preset: 'lab-search', train: 'x' })).toMatchObject({ model: 'fcn-deep', epochs: 60 });
    // the blood-pool recipe is cut to 30 epochs for time; the wall's keeps 40 and the rest of the recipe
    const unet = resolveTrainConfig({ preset: 'sunnybrook-unet', train: 'x' });
    const lvMyo = resolveTrainConfig({ preset: 'sunnybrook-lv-myo', train: 'x' });
    expect([unet.epochs, lvMyo.epochs]).toEqual([30, 40]);
    expect({ ...lvMyo, epochs: 30, classes: undefined, preset: unet.preset }).toEqual({ ...unet, classes: undefined });
  });

  it('names the key at fault', () => {
    expect(() => resolveTrainConfig({ model: 'fcn', train: 'x' }, { batchsize: 2 }, 'cfg.json')).toThrow(
      /cfg\.json: unknown key 'batchsize'/,
    );
    expect(() => resolveTrainConfig({ model: 'fcn', train: 'x', epochs: 0 })).toThrow(UsageError);
    expect(() => resolveTrainConfig({ model: 'fcn', train: 'x', metrics: ['dice', 'f1'] })).toThrow(
      /metrics must be a list of accuracy, dice, iou/,
    );
    expect(() => resolveTrainConfig({ train: 'x' })).toThrow(/no model/);
  });
});

describe('checkpoints', () => {
  it('round-trip the weights and the Adam moments, keeping the newest two', async () => {
    const dir = join(tempDir('lvseg-ckpt-'), 'checkpoints');
    const model = buildModelFromSpec(loadModelSpec('test/training/tiny-model.json'), { inputSize: 8 });
    const optimizer = createOptimizer('adam', 0.01);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const x = tf.randomNormal([1, 8, 8, 1]);
    const y = tf.zeros([1, 8, 8], 'int32') as tf.Tensor3D;
    const step = (opt: tf.Optimizer, m: tfl.LayersModel = model, v = vars): void =>
      tf.tidy(() => {
        opt.minimize(() => sparseCrossEntropy(m.apply(x) as tf.Tensor4D, y), false, v);
      });
    for (let epoch = 0; epoch < 3; epoch++) {
      step(optimizer);
      await writeCheckpoint(dir, model, optimizer, { epoch, samplePosition: 10 * (epoch + 1), seed: 1, savedAt: '' });
    }
    expect(readdirSync(dir).sort()).toEqual(['epoch-002', 'epoch-003']);
    const loaded = (await loadLatestCheckpoint(dir))!;
    expect(loaded.state).toMatchObject({ epoch: 2, samplePosition: 30 });
    const restored = createOptimizer('adam', 0.01);
    await loaded.restoreOptimizer(restored);
    // one more step from the checkpoint equals one more step of the original
    step(optimizer);
    step(
      restored,
      loaded.model,
      loaded.model.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    const a = model.getWeights().map((w) => Array.from(w.dataSync()));
    const b = loaded.model.getWeights().map((w) => Array.from(w.dataSync()));
    a.forEach((wa, i) => {
      wa.forEach((v, j) => {
        expect(b[i]![j]).toBeCloseTo(v, 6);
      });
    });
  });
});

describe('the spacing setting of a training run', () => {
  it(
    "defaults to the data's own, keeps a number from a config file as written, and rejects what is not a " + 'spacing',
    () => {
      expect(resolveTrainConfig({ model: 'fcn', train: 'synthetic:2' }).spacing).toBeNull();
      expect(resolveTrainConfig({ model: 'fcn', train: 'synthetic:2' }, { spacing: 1.367 }).spacing).toBe('1.367');
      expect(resolveTrainConfig({ model: 'fcn', train: 'synthetic:2', spacing: '1.4,1.2' }).spacing).toBe('1.4,1.2');
      expect(() => resolveTrainConfig({ model: 'fcn', train: 'synthetic:2', spacing: 'wide' })).toThrow(
        /spacing must be a pixel spacing in mm like 1.367 or ROW,COL, got "wide"/,
      );
    },
  );
});
