import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { buildModelFromSpec, type ModelSpec } from '../../src/models/spec.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { readSearchSpace, sampleTrials, trialConfig } from '../../src/workflows/space.js';

describe("the lab's search space (examples/search/lab.json)", () => {
  it('draws 12 trials whose networks all map a 256x256 image to 256x256x2 logits', async () => {
    await tf.setBackend('cpu');
    const space = readSearchSpace('examples/search/lab.json');
    const base = resolveTrainConfig({ train: 'x.tfrecords' }, space.base, 'lab.json');
    const trials = sampleTrials(space);
    expect(trials).toHaveLength(12);
    for (const params of trials) {
      const config = trialConfig(base, params, 'lab.json');
      expect(config.scale).toBe('1/255');
      const model = buildModelFromSpec(config.modelSpecContent as ModelSpec, { inputSize: 256 });
      expect(model.outputs[0]!.shape).toEqual([null, 256, 256, 2]);
      model.dispose();
    }
    // both depths and both downsampling paths occur among the draws
    expect(new Set(trials.map((t) => JSON.stringify(t['spec.layers.6'])))).toHaveProperty('size', 2);
    expect(new Set(trials.map((t) => t['spec.layers.0.args.strides']))).toEqual(new Set([1, 2]));
  }, 60_000);
});
