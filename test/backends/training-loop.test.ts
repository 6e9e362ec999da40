import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { createOptimizer } from '../../src/backends/optimizers.js';
import { onednnKernelCounts, registerOnednnBackend } from '../../src/backends/onednn/index.js';
import { selectBackend } from '../../src/backends/select.js';
import type { Sample } from '../../src/data/sample.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { buildModel } from '../../src/models/build.js';
import { sparseCrossEntropy } from '../../src/losses/losses.js';
import { withSeededRandom } from '../../src/training/seed.js';
import { fitModel } from '../../src/training/train.js';

// One short training run per backend through lvseg's own loop (fitModel: the data pipeline, the loss
// from losses.ts, createOptimizer's Adam, validation): a small U-Net on 32x32 phantoms, four steps.
const native = registerOnednnBackend();
if (!native.ok) console.warn(`[onednn training-loop test skipped] ${native.reason}; build it with 'npm run setup'`);

const phantoms = (first: number, count: number): Sample[] =>
  Array.from({ length: count }, (_, i) => {
    const sample = generatePhantom(first + i, 32);
    return { ...sample, image: sample.image.map((v) => v / 255) };
  });

async function shortRun(backend: 'cpu' | 'onednn' | 'wasm') {
  await selectBackend(backend);
  const model = withSeededRandom(7, () => buildModel('unet', { inputSize: 32, depth: 2, baseFilters: 4 }));
  const optimizer = createOptimizer('adam', 1e-3);
  const { history } = await fitModel({
    model,
    optimizer,
    train: phantoms(0, 8),
    val: phantoms(100, 2),
    epochs: 2,
    batchSize: 2,
    stepsPerEpoch: 2,
    shuffleBuffer: 8,
    seed: 3,
    loss: sparseCrossEntropy,
    metrics: ['dice'],
    learningRate: 1e-3,
  });
  optimizer.dispose();
  model.dispose();
  return history.map((e) => [e.loss, e.val_loss] as [number, number]);
}

/** The cpu run, once for both tests. */
let cpuRun: ReturnType<typeof shortRun> | undefined;
const cpuLosses = () => (cpuRun ??= shortRun('cpu'));

const expectClose = (actual: [number, number][], expected: [number, number][]) => {
  actual.flat().forEach((v, i) => {
    expect(Math.abs(v - expected.flat()[i]), `${v} vs ${expected.flat()[i]}`).toBeLessThanOrEqual(
      1e-3 * Math.abs(expected.flat()[i]),
    );
  });
};

describe('a short training run through the training loop', () => {
  test.skipIf(!native.ok)(
    'on onednn: the cpu losses, the native kernels and the fused loss ran, no cpu fallback',
    async () => {
      const cpu = await cpuLosses();
      const before = onednnKernelCounts();
      const onednn = await shortRun('onednn');
      const after = onednnKernelCounts();
      expect(onednn).toHaveLength(2);
      expectClose(onednn, cpu);
      expect(after.fallback).toEqual(before.fallback);
      for (const kernel of [
        'FusedConv2D',
        'Conv2D',
        'Conv2DBackpropInput',
        'Conv2DBackpropFilter',
        'MaxPool',
        'MaxPoolGrad',
        'Concat',
        'LvsegSparseSoftmaxCrossEntropy',
      ]) {
        expect((after.native[kernel] ?? 0) - (before.native[kernel] ?? 0), kernel).toBeGreaterThan(0);
      }
    },
  );

  test('on wasm: the cpu losses', async () => {
    const cpu = await cpuLosses();
    const wasm = await shortRun('wasm');
    expect(wasm).toHaveLength(2);
    expectClose(wasm, cpu);
    expect(tf.getBackend()).toBe('wasm');
  });
});
