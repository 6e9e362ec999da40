import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { onednnKernelCounts, registerOnednnBackend } from '../../src/backends/onednn/index.js';
import { selectBackend } from '../../src/backends/select.js';
import { imageDiceLoss, knownClasses, softDiceLoss, sparseCrossEntropy } from '../../src/losses/losses.js';
import { batchMetrics } from '../../src/training/metrics.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

const value = (t: tf.Scalar): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

// one image of 1×2 pixels, three classes: pixel 0 labelled background, pixel 1 lv
const logits = (): tf.Tensor4D => tf.tensor4d([0.2, -0.4, 1.1, -0.3, 0.9, 0.5], [1, 1, 2, 3]);
const labels = (): tf.Tensor3D => tf.tensor3d([0, 1], [1, 1, 2], 'int32');
const softmax = (z: number[]): number[] => {
  const e = z.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

describe('losses over K classes with partial labels', () => {
  it('merge the background and an unmarked class in the cross-entropy of a background pixel', () => {
    const p0 = softmax([0.2, -0.4, 1.1]);
    const p1 = softmax([-0.3, 0.9, 0.5]);
    const plain = value(sparseCrossEntropy(logits(), labels()));
    expect(plain).toBeCloseTo(-(Math.log(p0[0]!) + Math.log(p1[1]!)) / 2, 5);
    const known = knownClasses([[0, 1]], 3)!;
    expect(Array.from(known.dataSync())).toEqual([1, 1, 0]);
    const partial = value(sparseCrossEntropy(logits(), labels(), known));
    expect(partial).toBeCloseTo(-(Math.log(p0[0]! + p0[2]!) + Math.log(p1[1]!)) / 2, 5);
    // the myocardium's large probability at pixel 0 is no error where the wall is unmarked
    expect(partial).toBeLessThan(plain - 0.3);
  });

  it('leave an unmarked class out of the soft Dice, and equal the two-class Dice for K = 2', () => {
    const full = value(imageDiceLoss(logits(), labels()));
    const partial = value(imageDiceLoss(logits(), labels(), knownClasses([[0, 1]], 3)));
    const p = [softmax([0.2, -0.4, 1.1]), softmax([-0.3, 0.9, 0.5])];
    const diceLv = (2 * p[1]![1]! + 1) / (p[0]![1]! + p[1]![1]! + 1 + 1);
    const diceMyo = 1 / (p[0]![2]! + p[1]![2]! + 1);
    expect(partial).toBeCloseTo(1 - diceLv, 5);
    expect(full).toBeCloseTo(1 - (diceLv + diceMyo) / 2, 5);
    const two = tf.tensor4d([0.2, -0.4, -0.3, 0.9, 1.5, -1, 0, 0], [2, 1, 2, 2]);
    const y = tf.tensor3d([0, 1, 0, 0], [2, 1, 2], 'int32');
    const everyClass = knownClasses(
      [
        [0, 1],
        [0, 1],
      ],
      2,
    )!;
    for (const loss of [imageDiceLoss, softDiceLoss])
      expect(value(loss(two, y, everyClass))).toBeCloseTo(value(loss(two, y)), 5);
    expect(knownClasses([undefined, undefined], 3)).toBeUndefined();
  });

  it('score training metrics per class over the images that mark each', () => {
    const pred = [Uint8Array.from([1, 2, 2, 0]), Uint8Array.from([1, 0, 2, 0])];
    const label = [Uint8Array.from([1, 2, 0, 0]), Uint8Array.from([1, 0, 0, 0])];
    // lv: 2·2/(2+2) pooled = 1 (smooth 1: 5/5); myocardium over image 0 only: 2·1/(2+1), smooth 1: 3/4
    const [dice] = batchMetrics(['dice'], pred, label, { classes: 3, labelled: [undefined, [0, 1]] });
    expect(dice).toBeCloseTo((1 + 3 / 4) / 2, 10);
    // binary metrics are as before: foreground = non-zero
    expect(batchMetrics(['dice'], pred, label)[0]).toBeCloseTo((2 * 3 + 1) / (5 + 3 + 1), 10);
  });
});

describe.skipIf(!registerOnednnBackend().ok)('the K-class losses on onednn', () => {
  it('run their gradient on native kernels, no cpu fallback, to the cpu values', async () => {
    // a batch as the sunnybrook-lv-myo recipe gives it: 3 classes, two images with an endocardial contour only
    const shape: [number, number, number, number] = [4, 16, 16, 3];
    const z = Float32Array.from({ length: 4 * 16 * 16 * 3 }, (_, i) => Math.sin(i * 0.37) * 2);
    const y = Int32Array.from({ length: 4 * 16 * 16 }, (_, i) => (i * 7) % 3);
    const run = (): number[] =>
      tf.tidy(() => {
        const x = tf.variable(tf.tensor4d(z, shape));
        const known = knownClasses([undefined, [0, 1], undefined, [0, 1]], 3);
        const { value, grads } = tf.variableGrads(
          () =>
            tf.add(
              sparseCrossEntropy(x, tf.tensor3d(y, [4, 16, 16], 'int32'), known),
              imageDiceLoss(x, tf.tensor3d(y, [4, 16, 16], 'int32'), known),
            ) as tf.Scalar,
          [x],
        );
        const out = [value.dataSync()[0]!, ...grads[x.name]!.dataSync().slice(0, 24)];
        x.dispose();
        return out;
      });
    await selectBackend('cpu');
    const cpu = run();
    await selectBackend('onednn');
    const before = onednnKernelCounts().fallback;
    const onednn = run();
    expect(onednnKernelCounts().fallback).toEqual(before);
    for (const [i, v] of onednn.entries()) expect(v).toBeCloseTo(cpu[i]!, 5);
    await selectBackend('cpu');
  });
});
