import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { skipInputGradient } from '../../src/training/input-conv.js';

/**
 * Two convolutions with bias and no activation, weights from a fixed seed (tfjs runs a convolution with a relu
 * unfused in training already; a linear one, the U-Net's before its batch norm, fused).
 */
function twoConvs(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.randomNormal({ stddev: 0.3, seed });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        kernelInitializer: init(1),
        biasInitializer: init(2),
      }),
      tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', kernelInitializer: init(3) }),
    ],
  });
}

const x = (): tf.Tensor4D =>
  tf.tensor4d(
    Float32Array.from({ length: 2 * 144 }, (_, i) => Math.sin(i * 0.37)),
    [2, 12, 12, 1],
  );

async function gradients(model: tfl.LayersModel): Promise<{ values: Float32Array[]; kernels: string[] }> {
  const input = x();
  let out: Float32Array[] = [];
  const profile = await tf.profile(() => {
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(input, { training: true }) as tf.Tensor)));
    out = model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!.dataSync() as Float32Array);
    tf.dispose(grads);
  });
  input.dispose();
  return { values: out, kernels: profile.kernels.map((k) => k.name) };
}

describe('skipInputGradient', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('leaves out the gradient for the images and keeps every weight gradient', async () => {
    const stock = await gradients(twoConvs());
    const model = twoConvs();
    skipInputGradient(model);
    const plain = await gradients(model);
    const count = (names: string[]) => names.filter((n) => n === 'Conv2DBackpropInput').length;
    // the second convolution still passes its gradient back to the first; nothing goes back to the images
    expect(count(stock.kernels)).toBe(2);
    expect(count(plain.kernels)).toBe(1);
    expect(plain.values).toHaveLength(4);
    plain.values.forEach((g, i) => {
      const want = stock.values[i]!;
      expect(g.length).toBe(want.length);
      const scale = Math.max(...want.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      for (let k = 0; k < g.length; k++) expect(Math.abs(g[k]! - want[k]!)).toBeLessThan(1e-5 * scale);
    });
  });

  it('gives the same output in training and in inference as the layer did', () => {
    const stock = twoConvs();
    const model = twoConvs();
    skipInputGradient(model);
    for (const training of [true, false]) {
      const [a, b] = [stock, model].map((m) => (m.apply(x(), { training }) as tf.Tensor).dataSync());
      expect(Math.max(...a!.map((v, i) => Math.abs(v - b![i]!)))).toBeLessThan(1e-6);
    }
  });
});
