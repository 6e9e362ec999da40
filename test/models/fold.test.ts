import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildUnet } from '../../src/models/unet.js';
import { buildFcn } from '../../src/models/fcn.js';
import { inferenceModel } from '../../src/models/fold.js';

/** Gives every batch norm statistics and an affine map far from the identity, as training would. */
function trainedLikeBatchNorms(model: tfl.LayersModel, seed: number): void {
  let s = seed;
  const draw = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer.weights.map((w) => {
        const n = w.shape[0]!;
        const v = Float32Array.from({ length: n }, () => {
          const r = draw();
          if (w.originalName.endsWith('moving_variance')) return 0.05 + 2 * r;
          if (w.originalName.endsWith('gamma')) return 0.3 + 1.5 * r;
          return 2 * r - 1;
        });
        return tf.tensor1d(v);
      }),
    );
  }
}

const classNames = (m: tfl.LayersModel) => m.layers.map((l) => l.getClassName());

async function maxDiff(
  a: tfl.LayersModel,
  b: tfl.LayersModel,
  input: tf.Tensor,
): Promise<{ diff: number; scale: number }> {
  const ya = a.predict(input) as tf.Tensor;
  const yb = b.predict(input) as tf.Tensor;
  expect(yb.shape).toEqual(ya.shape);
  const diff = (await tf.max(tf.abs(tf.sub(ya, yb))).data())[0];
  const scale = (await tf.max(tf.abs(ya)).data())[0];
  return { diff, scale };
}

describe('inferenceModel', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const input = tf.tidy(() => tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 7));

  it.each<[string, { batchNorm: boolean; residual?: boolean }]>([
    ['U-Net with batch norm', { batchNorm: true }],
    ['residual U-Net with batch norm', { batchNorm: true, residual: true }],
  ])('folds every batch norm of a %s into its convolution and gives the same outputs', async (_, options) => {
    const model = buildUnet({ inputSize: 32, depth: 2, baseFilters: 4, ...options });
    trainedLikeBatchNorms(model, 11);
    const folded = await inferenceModel(model);
    expect(folded).not.toBe(model);
    expect(classNames(folded)).not.toContain('BatchNormalization');
    const bns = classNames(model).filter((c) => c === 'BatchNormalization').length;
    expect(bns).toBeGreaterThan(0);
    // the convolutions now carry a bias; where a relu read the batch norm, they apply it themselves
    const convs = folded.layers.filter((l) => l.getClassName() === 'Conv2D' && l.getConfig().useBias === true);
    expect(convs.length).toBeGreaterThanOrEqual(bns);
    const relus = folded.layers.filter(
      (l) => l.getClassName() === 'Conv2D' && l.getConfig().activation === 'relu',
    ).length;
    expect(relus).toBe(options.residual ? bns / 2 : bns);
    // the batch norms and relus that became part of a convolution are gone, not left as identities
    const identities = folded.layers.filter(
      (l) => l.getClassName() === 'Activation' && l.getConfig().activation === 'linear',
    );
    expect(identities).toEqual([]);
    expect(folded.layers.length).toBe(model.layers.length - bns - relus);
    const { diff, scale } = await maxDiff(model, folded, input);
    expect(scale).toBeGreaterThan(0.1);
    expect(diff).toBeLessThan(1e-4 * Math.max(1, scale));
    // the saved model is untouched: its batch norms are still there and still give its own outputs
    expect(classNames(model)).toContain('BatchNormalization');
  });

  it('fuses the relu that follows a plain convolution, and leaves a model with nothing to fold as it is', async () => {
    const unet = buildUnet({ inputSize: 32, depth: 2, baseFilters: 4 });
    const fused = await inferenceModel(unet);
    expect(fused).not.toBe(unet);
    expect(
      fused.layers.filter((l) => l.getClassName() === 'Conv2D' && l.getConfig().activation === 'relu').length,
    ).toBe(10);
    const { diff, scale } = await maxDiff(unet, fused, input);
    expect(diff).toBeLessThan(1e-5 * Math.max(1, scale));

    const fcn = buildFcn(); // its convolutions already apply their relu
    expect(await inferenceModel(fcn)).toBe(fcn);
  });

  it('keeps a batch norm whose convolution output is read elsewhere too', async () => {
    const x = tfl.input({ shape: [8, 8, 1] });
    const conv = tfl.layers
      .conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false })
      .apply(x) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization().apply(conv) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: x, outputs: tfl.layers.add().apply([bn, conv]) as tfl.SymbolicTensor });
    expect(await inferenceModel(model)).toBe(model);
  });
});
