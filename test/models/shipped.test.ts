import { statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { segmentSamples } from '../../src/inference/segment.js';
import { loadLayersModel } from '../../src/models/io.js';
import { readModelMetadata } from '../../src/models/io.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { resizeBilinear } from '../../src/imaging/resample.js';

const DIR = join(PACKAGE_ROOT, 'models', 'lv-sunnybrook');

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('the shipped lv-sunnybrook model', () => {
  it('carries its lvseg.json: pipeline, training record and validation numbers', () => {
    const meta = readModelMetadata(join(DIR, 'model.json'))!;
    expect(meta.input).toEqual({ height: 128, width: 128, channels: 1 });
    expect(meta.preprocessing.roi).toEqual({ method: 'centre-crop', size: 128 });
    expect(meta.inference).toEqual({ tta: 'none', postprocess: { largestComponent: true, fillHoles: true } });
    const training = meta.training as {
      command: string;
      validation: { pipeline: { meanDice: number; count: number } };
    };
    expect(training.command).toMatch(/^lvseg train --preset sunnybrook-lv-myo /);
    expect(meta.classes).toEqual(['background', 'lv', 'myocardium']);
    expect(training.validation.pipeline.count).toBe(266);
    expect(training.validation.pipeline.meanDice).toBeGreaterThan(0.8);
  });

  it('is a few MB of float16 weights', () => {
    const bytes = statSync(join(DIR, 'weights.bin')).size;
    expect(bytes).toBeLessThan(5e6);
  });

  it('segments 256x256, 192x208 and 512x512 images into masks of their own sizes', async () => {
    const model = await loadLayersModel(DIR);
    const meta = readModelMetadata(join(DIR, 'model.json'))!;
    const p = generatePhantom(0, 256);
    const samples = [
      p,
      {
        ...p,
        image: resizeBilinear(p.image, 256, 256, 192, 208),
        label: new Uint8Array(192 * 208),
        height: 192,
        width: 208,
      },
      {
        ...p,
        image: resizeBilinear(p.image, 256, 256, 512, 512),
        label: new Uint8Array(512 * 512),
        height: 512,
        width: 512,
      },
    ];
    const out = await segmentSamples(model, samples, { preprocessing: meta.preprocessing, inference: meta.inference });
    expect(out.map((s) => s.mask.length)).toEqual([256 * 256, 192 * 208, 512 * 512]);
    // class indices of its three classes: background, the blood pool and the wall
    expect(out.every((s) => s.mask.every((v) => v <= 2))).toBe(true);
    model.dispose();
  });
});
