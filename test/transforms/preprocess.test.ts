import { describe, expect, it } from 'vitest';
import type { Sample } from '../../src/data/sample.js';
import { UsageError } from '../../src/errors.js';
import {
  checkPreprocessing,
  preprocessSample,
  restoreProbabilities,
  type Preprocessing,
} from '../../src/transforms/preprocess.js';

const PREP: Preprocessing = {
  spacing: 1,
  roi: { method: 'centre-crop', size: 32 },
  intensity: { method: 'percentile-zscore', low: 1, high: 99 },
};

function blank(height: number, width: number, spacing?: [number, number]): Sample {
  const image = Float32Array.from({ length: height * width }, (_, i) => i % 7);
  return {
    name: `${height}x${width}`,
    patient: 'p',
    image,
    label: new Uint8Array(height * width),
    height,
    width,
    ...(spacing ? { spacing } : {}),
  };
}

describe('preprocessing', () => {
  it('gives the model its input size and maps the output back to each image its own size', () => {
    for (const [h, w, spacing] of [
      [64, 64, undefined],
      [48, 52, undefined],
      [20, 24, undefined],
      [128, 128, [0.5, 0.5]],
    ] as const) {
      const { input, geometry } = preprocessSample(blank(h, w, spacing as [number, number] | undefined), PREP);
      expect([input.height, input.width]).toEqual([32, 32]);
      const back = restoreProbabilities(new Float32Array(32 * 32).fill(1), geometry);
      expect(back.length).toBe(h * w);
    }
  });

  it('puts the ROI back where it came from, with nothing outside it', () => {
    const { geometry } = preprocessSample(blank(64, 64), PREP);
    expect([geometry.top, geometry.left]).toEqual([16, 16]);
    const probs = new Float32Array(32 * 32);
    probs[0] = 1; // the ROI's top-left pixel
    const back = restoreProbabilities(probs, geometry);
    expect(back[16 * 64 + 16]).toBe(1);
    expect(back.reduce((a, v) => a + v, 0)).toBe(1);
  });

  it('resamples a 0.5 mm image to 1 mm before the crop', () => {
    const { geometry } = preprocessSample(blank(128, 128, [0.5, 0.5]), PREP);
    expect([geometry.resampledHeight, geometry.resampledWidth, geometry.top]).toEqual([64, 64, 16]);
  });

  it('normalises the crop to mean 0', () => {
    const { input } = preprocessSample(blank(64, 64), PREP);
    expect(input.image.reduce((a, v) => a + v, 0) / input.image.length).toBeCloseTo(0, 5);
  });

  it('rejects malformed settings, naming the field', () => {
    expect(() =>
      checkPreprocessing({ ...PREP, roi: { method: 'localiser', size: 3 } }, 'lvseg.json: preprocessing'),
    ).toThrow(UsageError);
    expect(() => checkPreprocessing({ ...PREP, spacing: -1 }, 'p')).toThrow(/spacing must be a positive number/);
    expect(() => checkPreprocessing({ ...PREP, colour: true }, 'p')).toThrow(/unknown field 'colour'/);
  });
});
