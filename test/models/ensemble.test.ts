import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEnsemble, ENSEMBLE_FILE } from '../../src/models/ensemble.js';
import { loadLayersModel, saveModel } from '../../src/models/io.js';
import { tempDir } from '../temp.js';

function member(seed: number, softmax = false): tfl.LayersModel {
  const m = tfl.sequential({ name: 'fcn' });
  m.add(
    tfl.layers.conv2d({
      inputShape: [4, 4, 1],
      filters: 2,
      kernelSize: 1,
      kernelInitializer: tfl.initializers.randomNormal({ seed }),
      biasInitializer: 'ones',
      ...(softmax ? { activation: 'softmax' } : {}),
    }),
  );
  return m;
}

const input = tf.tensor4d(
  Array.from({ length: 32 }, (_, i) => Math.sin(i)),
  [2, 4, 4, 1],
);

describe('ensembles', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("output the log of the mean of the members' softmax, whether a member gives logits or probabilities", async () => {
    const a = member(1);
    const b = member(2, true);
    const expected = tf.div(tf.add(tf.softmax(a.predict(input) as tf.Tensor), b.predict(input) as tf.Tensor), 2);
    const ensemble = buildEnsemble([a, b], ['logits', 'probabilities']);
    const got = tf.exp(ensemble.predict(input) as tf.Tensor);
    expect(got.shape).toEqual([2, 4, 4, 2]);
    const diff = Math.max(...(await tf.abs(tf.sub(got, expected)).data()));
    expect(diff).toBeLessThan(1e-6);
  });

  it('load from a folder with ensemble.json naming saved models', async () => {
    const dir = tempDir('lvseg-ensemble-');
    const a = member(3);
    const b = member(4);
    await saveModel(a, join(dir, 'a'));
    await saveModel(b, join(dir, 'b'));
    writeFileSync(
      join(dir, ENSEMBLE_FILE),
      JSON.stringify({
        members: [
          { model: 'a', output: 'logits' },
          { model: join(dir, 'b'), output: 'logits' },
        ],
        scale: '1/255',
      }),
    );
    const loaded = await loadLayersModel(dir);
    const expected = tf.div(
      tf.add(tf.softmax(a.predict(input) as tf.Tensor), tf.softmax(b.predict(input) as tf.Tensor)),
      2,
    );
    const diff = Math.max(...(await tf.abs(tf.sub(tf.exp(loaded.predict(input) as tf.Tensor), expected)).data()));
    expect(diff).toBeLessThan(1e-6);
    writeFileSync(join(dir, ENSEMBLE_FILE), JSON.stringify({ members: [{ model: 'a' }] }));
    await expect(loadLayersModel(dir)).rejects.toThrow(
      `${join(dir, ENSEMBLE_FILE)}: members[0] must be {"model": PATH, "output": "logits"|"probabilities"}`,
    );
  });
});
