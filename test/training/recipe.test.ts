import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, setLearningRate } from '../../src/backends/optimizers.js';
import { selectBackend } from '../../src/backends/select.js';
import { UsageError } from '../../src/errors.js';
import { buildModel, segmentationModel } from '../../src/models/build.js';
import { summarizeModel } from '../../src/models/summary.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { learningRateSchedule } from '../../src/training/schedule.js';
import { supervisedLoss, type LossFn } from '../../src/losses/losses.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('learning-rate schedules', () => {
  it('warm up linearly, then decay by a cosine to the floor', () => {
    const s = learningRateSchedule({ name: 'cosine', lr: 1, totalSteps: 110, warmupSteps: 10, minFraction: 0.01 });
    expect([s(0), s(4), s(9)]).toEqual([0.1, 0.5, 1]);
    expect(s(10)).toBeCloseTo(1, 10);
    expect(s(60)).toBeCloseTo(0.505, 10);
    expect(s(110)).toBeCloseTo(0.01, 10);
    expect(s(500)).toBeCloseTo(0.01, 10);
  });

  it('poly decays monotonically and constant stays', () => {
    const p = learningRateSchedule({ name: 'poly', lr: 2, totalSteps: 100 });
    expect(p(0)).toBe(2);
    expect(p(50)).toBeLessThan(p(49));
    expect(p(100)).toBeCloseTo(0.02, 10);
    expect(learningRateSchedule({ name: 'constant', lr: 3, totalSteps: 10 })(7)).toBe(3);
    expect(() => learningRateSchedule({ name: 'step' as 'poly', lr: 1, totalSteps: 1 })).toThrow(UsageError);
  });
});

describe('AdamW', () => {
  it('decays kernels, not biases, by lr·weightDecay per step, and follows setLearningRate', () => {
    const kernel = tf.variable(tf.ones([2, 2]), true, 'recipe_kernel');
    const bias = tf.variable(tf.ones([2]), true, 'recipe_bias');
    const opt = createOptimizer('adam', 0.1, { weightDecay: 0.5 });
    // zero gradients: Adam moves nothing, so only the decay shows
    opt.applyGradients({ recipe_kernel: tf.zeros([2, 2]), recipe_bias: tf.zeros([2]) });
    expect(Array.from(kernel.dataSync())).toEqual([0.95, 0.95, 0.95, 0.95].map(Math.fround));
    expect(Array.from(bias.dataSync())).toEqual([1, 1]);
    setLearningRate(opt, 0.2);
    opt.applyGradients({ recipe_kernel: tf.zeros([2, 2]), recipe_bias: tf.zeros([2]) });
    expect(kernel.dataSync()[0]).toBeCloseTo(0.95 * 0.9, 6);
  });
});

describe('U-Net variants and the sunnybrook-unet preset', () => {
  it('builds residual U-Nets with shortcuts where the width changes', () => {
    const plain = summarizeModel(buildModel('unet', { inputSize: 32, depth: 2, baseFilters: 4, batchNorm: true }));
    const residual = buildModel('unet', { inputSize: 32, depth: 2, baseFilters: 4, batchNorm: true, residual: true });
    expect(residual.layers.some((l) => l.name === 'down0_shortcut')).toBe(true);
    expect(residual.layers.filter((l) => l.getClassName() === 'Add')).toHaveLength(2 * 2 + 1);
    expect(summarizeModel(residual).totalParams).toBeGreaterThan(plain.totalParams);
    expect(residual.outputs[0]!.shape).toEqual([null, 32, 32, 2]);
  });

  it('adds deep-supervision heads at full size after the logits; the segmentation model is the first output', () => {
    const training = buildModel('unet', { inputSize: 32, depth: 3, baseFilters: 4, deepSupervision: 2 });
    expect(training.outputs.map((o) => o.shape)).toEqual([
      [null, 32, 32, 2],
      [null, 32, 32, 2],
      [null, 32, 32, 2],
    ]);
    expect(training.outputNames).toEqual(['logits', 'aux1_up', 'aux2_up']);
    const model = segmentationModel(training);
    expect(model.outputs).toHaveLength(1);
    expect(model.layers.some((l) => l.name.startsWith('aux'))).toBe(false);
    // the heads are two 1×1 convs: (8 + 1)·2 and (16 + 1)·2 weights, shared otherwise
    expect(summarizeModel(training).totalParams - summarizeModel(model).totalParams).toBe(18 + 34);
    expect(segmentationModel(model)).toBe(model);
    expect(() => buildModel('unet', { inputSize: 32, depth: 3, baseFilters: 4, deepSupervision: 3 })).toThrow(
      /has 2 decoder levels below its output; pass 0 to 2/,
    );
  });

  it('weighs the outputs 1, 1/2, 1/4, … normalised', () => {
    const meanLoss: LossFn = (logits) => tf.mean(logits) as tf.Scalar;
    const labels = tf.zeros([1, 2, 2], 'int32') as tf.Tensor3D;
    const outputs = [1, 2, 4].map((v) => tf.fill([1, 2, 2, 2], v) as tf.Tensor4D);
    expect(supervisedLoss(meanLoss, outputs, labels).dataSync()[0]).toBeCloseTo((1 + 0.5 * 2 + 0.25 * 4) / 1.75, 6);
    expect(supervisedLoss(meanLoss, outputs.slice(0, 1), labels).dataSync()[0]).toBeCloseTo(1, 6);
  });

  it('keeps unet-small at depth 3 unless the variant says otherwise', () => {
    expect(buildModel('unet-small', { inputSize: 32 }).layers.some((l) => l.name === 'pool2')).toBe(true);
    expect(buildModel('unet-small', { inputSize: 32, depth: 2 }).layers.some((l) => l.name === 'pool2')).toBe(false);
  });

  it('resolves the preset into the recipe options, which flags can override', () => {
    const c = resolveTrainConfig({ preset: 'sunnybrook-unet', train: 'synthetic:4', tta: true });
    expect(c.model).toBe('unet');
    expect(c.unet).toMatchObject({ batchNorm: true, depth: 4 });
    expect(c.preprocessing?.roi).toEqual({ method: 'centre-crop', size: 128 });
    expect(c.augment?.map((t) => t.type)).toContain('affine');
    expect(c.augment?.map((t) => t.type)).not.toContain('flip');
    expect([c.loss, c.lrSchedule, c.tta, c.postprocess]).toEqual(['ce+image-dice', 'cosine', true, true]);
    expect(resolveTrainConfig({ preset: 'sunnybrook-unet', train: 'synthetic:4' }).tta).toBe(false);
    expect(c.epochs).toBe(30);
    const lab = resolveTrainConfig({ preset: 'lab-task3', train: 'synthetic:4' });
    expect([lab.preprocessing, lab.augment, lab.lrSchedule, lab.weightDecay, lab.tta]).toEqual([
      null,
      null,
      'constant',
      0,
      false,
    ]);
  });

  it('rejects recipe options that cannot apply, naming them', () => {
    expect(() => resolveTrainConfig({ model: 'fcn', train: 'synthetic:4', tta: true })).toThrow(
      /tta needs preprocessing/,
    );
    expect(() => resolveTrainConfig({ model: 'fcn', train: 'synthetic:4' }, { unet: { depth: 2 } })).toThrow(
      /unet applies to --model unet/,
    );
    expect(() => resolveTrainConfig({ model: 'unet', train: 'synthetic:4' }, { augment: [{ type: 'spin' }] })).toThrow(
      /augment\[0\]: unknown transform/,
    );
    expect(() => resolveTrainConfig({ model: 'unet', train: 'synthetic:4', lrSchedule: 'step' })).toThrow(
      /lrSchedule must be one of/,
    );
  });
});
