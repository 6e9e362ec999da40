/** The browser tests' model: a run whose masks are easy to check, with every step of the bundled model's pipeline. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { testModelMetadata } from '../models/metadata-fixture.js';
import { saveModel } from '../../src/models/io.js';

/** The test model's inference pipeline: every step of the bundled model's, at the phantoms' scale. */
export const PIPELINE = {
  ...testModelMetadata('none', 64),
  preprocessing: {
    spacing: 1,
    roi: { method: 'centre-crop', size: 64 },
    intensity: { method: 'percentile-zscore', low: 1, high: 99 },
  },
  inference: { tta: 'flips', postprocess: { largestComponent: true, fillHoles: true } },
};

/**
 * A run whose model masks are easy to check and far from empty: the 3×3 mean of the z-scored image above
 * 0.3013, as a real Conv2D with fixed weights (channel 0 scores 0, channel 1 scores mean - 0.3013), with the
 * pipeline above in its lvseg.json as `lvseg train` writes it. An odd threshold so that no flat region of
 * the phantoms sits on it, where the sign would depend on the order of the additions, which differs between
 * backends.
 */
export async function writePipelineRun(dir: string): Promise<void> {
  const input = tfl.input({ shape: [64, 64, 1] });
  const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'threshold' });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
  const kernel = new Float32Array(18);
  for (let k = 0; k < 9; k++) kernel[2 * k + 1] = 1 / 9;
  conv.setWeights([tf.tensor4d(kernel, [3, 3, 1, 2]), tf.tensor1d([0, -0.3013])]);
  // its masks measured to the contour line (labels), in the page as in lvseg volumes
  await saveModel(model, join(dir, 'model'), {
    metadata: { ...PIPELINE, labels: 'contour-included' } as ReturnType<typeof testModelMetadata>,
  });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ name: 'pipeline', model: 'threshold', scale: 'none', epochs: 0 }),
  );
}
