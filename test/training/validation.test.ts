import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import type { Sample } from '../../src/data/sample.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { argmaxLabels } from '../../src/imaging/mask-metrics.js';
import { buildModel } from '../../src/models/build.js';
import { predictScores } from '../../src/models/predict.js';
import { getLoss, scoresLoss } from '../../src/losses/losses.js';
import { batchMetrics } from '../../src/training/metrics.js';
import { withSeededRandom } from '../../src/training/seed.js';
import { evaluateLossAndMetrics, fitModel, type EpochProfile } from '../../src/training/train.js';
import { createOptimizer } from '../../src/backends/optimizers.js';

const samples: Sample[] = Array.from({ length: 10 }, (_, i) => {
  const s = generatePhantom(i, 32);
  return { ...s, image: s.image.map((v) => v / 255) };
});

describe("training's validation", () => {
  let model: LayersModel;
  beforeAll(async () => {
    await selectBackend('cpu');
    model = withSeededRandom(5, () => buildModel('unet', { inputSize: 32, depth: 2, baseFilters: 4, batchNorm: true }));
  });
  afterAll(() => model.dispose());

  it(
    'runs the forward passes over several batches at once, and gives the loss and metrics of each batch (pooled ' +
      'Dice per batch)',
    async () => {
      const loss = getLoss('ce+image-dice');
      const batchSize = 3; // 3 + 3 + 3 + 1
      const before = tf.memory().numTensors;
      const logs = await evaluateLossAndMetrics(model, samples, batchSize, loss, ['dice', 'accuracy'], 'val_');
      expect(tf.memory().numTensors).toBe(before);
      let lossSum = 0;
      let diceSum = 0;
      let accuracySum = 0;
      for (let start = 0; start < samples.length; start += batchSize) {
        const batch = samples.slice(start, start + batchSize);
        const labels = batch.map((s) => s.label);
        const { scores, classes } = await predictScores(
          model,
          batch.map((s) => s.image),
          32,
          32,
        );
        lossSum += (await scoresLoss(loss, scores, labels, 32, 32, 'logits')) * batch.length;
        const masks = argmaxLabels(scores, 1024, classes);
        const [dice, accuracy] = batchMetrics(
          ['dice', 'accuracy'],
          batch.map((_, i) => masks.subarray(i * 1024, (i + 1) * 1024)),
          labels,
        );
        diceSum += dice! * batch.length;
        accuracySum += accuracy! * batch.length;
      }
      expect(Object.keys(logs).sort()).toEqual(['val_accuracy', 'val_dice', 'val_loss']);
      expect(logs.val_loss).toBeCloseTo(lossSum / samples.length, 5);
      expect(logs.val_dice).toBeCloseTo(diceSum / samples.length, 5);
      expect(logs.val_accuracy).toBeCloseTo(accuracySum / samples.length, 5);
      // a pooled Dice over all ten images would differ from the mean of the batches' pooled Dice
      expect(logs.val_dice).toBeGreaterThan(0);
    },
  );

  it(
    "in fitModel runs on the model's inference form: the model's own values, no tensor left behind per epoch, its " +
      'time in the profile',
    async () => {
      const net = withSeededRandom(6, () =>
        buildModel('unet', { inputSize: 32, depth: 2, baseFilters: 4, batchNorm: true }),
      );
      const optimizer = createOptimizer('adam', 1e-3);
      const loss = getLoss('ce+image-dice');
      let direct: Record<string, number> | undefined;
      const profile: EpochProfile[] = [];
      const { history } = await fitModel({
        profile,
        model: net,
        optimizer,
        train: samples.slice(0, 4),
        val: samples.slice(4),
        epochs: 3,
        batchSize: 2,
        stepsPerEpoch: 2,
        shuffleBuffer: 4,
        seed: 1,
        loss,
        metrics: ['dice'],
        learningRate: 1e-3,
        callbacks: [
          {
            onEpochEnd: async (epoch) => {
              if (epoch === 2) direct = await evaluateLossAndMetrics(net, samples.slice(4), 2, loss, ['dice'], 'val_');
            },
          },
        ],
      });
      expect(history[2]!.val_loss).toBeCloseTo(direct!.val_loss!, 4);
      expect(history[2]!.val_dice).toBeCloseTo(direct!.val_dice!, 3);
      expect(history[2]!.tensors).toBe(history[1]!.tensors);
      // the epoch profile: one record per epoch, its parts adding up to its total
      expect(profile).toHaveLength(3);
      for (const p of profile) {
        expect(p.step).toBeGreaterThan(0);
        expect(p.validation).toBeGreaterThan(0);
        expect(p.cpu).toBeGreaterThan(0);
        expect(p.total).toBeCloseTo(
          p.data + p.step + p.metrics + p.batchCallbacks + p.validation + p.epochCallbacks,
          6,
        );
        expect(p.total).toBeLessThanOrEqual(history[profile.indexOf(p)]!.seconds! * 1000 + 1000);
      }
      optimizer.dispose();
      net.dispose();
    },
  );

  it('gives nothing for no samples', async () => {
    expect(await evaluateLossAndMetrics(model, [], 4, getLoss('sparse-ce'), ['dice'])).toEqual({});
  });
});
