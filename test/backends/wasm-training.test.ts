/**
 * End to end: five Adam steps of small networks from the same weights give the same losses on the
 * wasm backend (with lvseg's training kernels) and on the cpu backend, within 1e-3 relative.
 * The networks cover what lvseg trains: the lab's FCN shape (strided convs, max pooling, a strided
 * Conv2DTranspose), the lab's dense net, and a small U-Net (BatchNormalization, Conv2DTranspose,
 * Concatenate, Dropout).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '../../src/backends/select.js';
import { createOptimizer } from '../../src/backends/optimizers.js';
import { createRng } from '../../src/data/random.js';

const SIZE = 32;
const BATCH = 2;
const STEPS = 5;

/** Uniform [0, 1) draws from the data layer's seeded generator. */
function seededUniform(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.next();
}

function buildFcn(): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(
    tfl.layers.conv2d({
      inputShape: [SIZE, SIZE, 1],
      filters: 6,
      kernelSize: 5,
      strides: 2,
      padding: 'same',
      activation: 'relu',
    }),
  );
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }));
  model.add(tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
  model.add(tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' }));
  model.add(tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 7, strides: 4, padding: 'same' }));
  return model;
}

function buildDense(): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(tfl.layers.flatten({ inputShape: [SIZE, SIZE, 1] }));
  model.add(tfl.layers.dense({ units: 32, activation: 'relu' }));
  model.add(tfl.layers.dense({ units: SIZE * SIZE * 2 }));
  model.add(tfl.layers.reshape({ targetShape: [SIZE, SIZE, 2] }));
  return model;
}

function buildUnet(): tfl.LayersModel {
  const input = tfl.input({ shape: [SIZE, SIZE, 1] });
  const block = (x: tfl.SymbolicTensor, filters: number): tfl.SymbolicTensor => {
    const c = tfl.layers
      .conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false })
      .apply(x) as tfl.SymbolicTensor;
    const b = tfl.layers.batchNormalization().apply(c) as tfl.SymbolicTensor;
    return tfl.layers.activation({ activation: 'relu' }).apply(b) as tfl.SymbolicTensor;
  };
  const e1 = block(input, 4);
  const p1 = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(e1) as tfl.SymbolicTensor;
  const e2 = block(p1, 8);
  const d2 = tfl.layers.dropout({ rate: 0.3, seed: 7 }).apply(e2) as tfl.SymbolicTensor;
  const up = tfl.layers
    .conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2, padding: 'same' })
    .apply(d2) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate().apply([up, e1]) as tfl.SymbolicTensor;
  const d1 = block(cat, 4);
  const out = tfl.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(d1) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** Same weights on every backend: drawn from a seeded generator (BatchNorm's scale and variance at 1). */
function setSeededWeights(model: tfl.LayersModel, seed: number): void {
  const rng = seededUniform(seed);
  model.setWeights(
    model.weights.map((w) => {
      const size = (w.shape as number[]).reduce((a, b) => a * b, 1);
      const ones = /gamma|moving_variance/.test(w.name);
      const zeros = /moving_mean/.test(w.name);
      const values = Float32Array.from({ length: size }, () => (ones ? 1 : zeros ? 0 : (rng() * 2 - 1) * 0.3));
      return tf.tensor(values, w.shape as number[]);
    }),
  );
}

async function trainLosses(backend: 'cpu' | 'wasm', build: () => tfl.LayersModel): Promise<number[]> {
  await selectBackend(backend);
  const rng = seededUniform(99);
  const images = tf.tensor4d(
    Float32Array.from({ length: BATCH * SIZE * SIZE }, () => rng()),
    [BATCH, SIZE, SIZE, 1],
  );
  const labels = tf.oneHot(
    tf.tensor3d(
      Int32Array.from({ length: BATCH * SIZE * SIZE }, () => (rng() < 0.3 ? 1 : 0)),
      [BATCH, SIZE, SIZE],
      'int32',
    ),
    2,
  );
  const model = build();
  setSeededWeights(model, 5);
  const optimizer = createOptimizer('adam', 1e-3);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const loss = optimizer.minimize(() => {
      const logits = (model as tfl.LayersModel).apply(images, { training: true }) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, true)!;
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  model.dispose();
  optimizer.dispose();
  tf.dispose([images, labels]);
  return losses;
}

describe('training on wasm matches cpu', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it.each([
    ['the lab FCN shape', buildFcn],
    ['the lab dense net', buildDense],
    ['a small U-Net with BatchNormalization, Conv2DTranspose, Concatenate and Dropout', buildUnet],
  ] as const)('five Adam steps of %s give the same losses', async (_name, build) => {
    const cpu = await trainLosses('cpu', build);
    const wasm = await trainLosses('wasm', build);
    expect(cpu).toHaveLength(STEPS);
    // The losses move: the steps really train.
    expect(cpu[STEPS - 1]).not.toBe(cpu[0]);
    for (let i = 0; i < STEPS; i++) {
      expect(
        Math.abs(wasm[i]! - cpu[i]!) / Math.abs(cpu[i]!),
        `step ${i}: wasm ${wasm[i]} vs cpu ${cpu[i]}`,
      ).toBeLessThan(1e-3);
    }
  });
});
