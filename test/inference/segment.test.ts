import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import type { Sample } from '../../src/data/sample.js';
import { evaluateModel } from '../../src/evaluation/evaluate.js';
import { segmentSamples, type SegmentSettings } from '../../src/inference/segment.js';
import { decodePngGrey, encodePngGrey } from '../../src/imaging/png.js';
import { saveModel } from '../../src/models/io.js';
import { captureCli } from '../cli/run-cli.js';
import { disc } from '../evaluation/shapes.js';
import { thresholdModel } from '../evaluation/tiny-model.js';

// The threshold model marks pixels above 0.5; after the z-score the bright disc is well above it.
const SETTINGS: SegmentSettings = {
  preprocessing: {
    spacing: null,
    roi: { method: 'centre-crop', size: 64 },
    intensity: { method: 'percentile-zscore', low: 1, high: 99 },
  },
  inference: { tta: 'flips', postprocess: { largestComponent: true, fillHoles: true } },
};

function discSample(height: number, width: number, radius: number): Sample {
  const size = Math.max(height, width);
  const square = disc(size, width / 2, height / 2, radius);
  const label = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) label[y * width + x] = square[y * size + x]!;
  return {
    name: `${height}x${width}`,
    patient: 'p',
    image: Float32Array.from(label, (v) => v * 200),
    label,
    height,
    width,
  };
}

let dir: string;
beforeAll(async () => {
  await selectBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'lvseg-segment-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the inference pipeline', () => {
  it('returns a mask of each image its own size, the LV where it was', async () => {
    const model = thresholdModel(64, 64);
    const samples = [discSample(96, 96, 10), discSample(72, 80, 8), discSample(160, 160, 12)];
    const out = await segmentSamples(model, samples, SETTINGS);
    out.forEach((s, i) => {
      expect(s.mask.length).toBe(samples[i]!.height * samples[i]!.width);
      expect(Array.from(s.mask)).toEqual(Array.from(samples[i]!.label));
    });
    expect(out.every((s) => !s.resized)).toBe(true);
  });

  it('gives the same mask with and without flips for a flip-equivariant model', async () => {
    const model = thresholdModel(64, 64);
    const s = discSample(80, 80, 9);
    const plain = (
      await segmentSamples(model, [s], {
        ...SETTINGS,
        inference: { tta: 'none', postprocess: { largestComponent: false, fillHoles: false } },
      })
    )[0]!;
    const tta = (await segmentSamples(model, [s], SETTINGS))[0]!;
    expect(Array.from(tta.mask)).toEqual(Array.from(plain.mask));
    for (let i = 0; i < plain.foreground.length; i += 97)
      expect(tta.foreground[i]).toBeCloseTo(plain.foreground[i]!, 5);
  });

  it('lets evaluateModel score images of another size than the model input', async () => {
    const { metrics } = await evaluateModel(thresholdModel(64, 64), [discSample(96, 96, 10), discSample(72, 80, 8)], {
      segment: SETTINGS,
    });
    expect(metrics.meanDice).toBe(1);
    expect(metrics.count).toBe(2);
  });
});

describe('lvseg predict with an lvseg.json', () => {
  it('writes masks of the images their own sizes (256x256, 192x208, 512x512)', async () => {
    await saveModel(thresholdModel(64, 64), join(dir, 'model'), {
      metadata: {
        format: 'lvseg-model',
        version: 1,
        input: { height: 64, width: 64, channels: 1 },
        scale: '1/255',
        ...SETTINGS,
      },
    });
    mkdirSync(join(dir, 'in'));
    const sizes = [
      [256, 256],
      [192, 208],
      [512, 512],
    ] as const;
    for (const [h, w] of sizes)
      writeFileSync(
        join(dir, 'in', `s${h}x${w}.png`),
        encodePngGrey(
          w,
          h,
          discSample(h, w, 20).label.map((v) => v * 200),
        ),
      );
    const { code, err } = await captureCli([
      'predict',
      join(dir, 'model'),
      join(dir, 'in'),
      '--out',
      join(dir, 'out'),
      '--backend',
      'cpu',
    ]);
    expect(code, err).toBe(0);
    expect(err).toMatch(/centre 64x64 ROI.*TTA over 4 flips/);
    for (const [h, w] of sizes) {
      const mask = decodePngGrey(readFileSync(join(dir, 'out', `in_s${h}x${w}.mask.png`)));
      expect([mask.height, mask.width]).toEqual([h, w]);
      expect(Array.from(mask.data).filter((v) => v === 255).length).toBe(
        discSample(h, w, 20).label.reduce((a, v) => a + v, 0),
      );
    }
  });
});
