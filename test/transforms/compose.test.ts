import { describe, expect, it } from 'vitest';
import { Dataset } from '../../src/data/pipeline.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { UsageError } from '../../src/errors.js';
import { compose, rngAt, transformFromSpec, transformFromSpecCropped } from '../../src/transforms/compose.js';
import { centreCrop } from '../../src/transforms/spatial.js';
import { firstDifference } from './same.js';

const SPEC = [
  { type: 'flip' },
  { type: 'rotate90' },
  { type: 'affine', degrees: 30, scale: [0.7, 1.4], translate: 0.1 },
  { type: 'grid', magnitude: 2 },
  { type: 'gamma' },
  { type: 'contrast' },
  { type: 'noise' },
  { type: 'blur' },
  { type: 'crop', size: 24 },
  { type: 'normalize' },
];

describe('transform lists', () => {
  it('give the same batch for the same seed, and another batch for another seed', async () => {
    const samples = Array.from({ length: 6 }, (_, i) => generatePhantom(i, 32));
    const t = transformFromSpec(SPEC);
    const batch = (seed: number) =>
      Dataset.from(samples)
        .shuffle(6, seed)
        .map((s, i) => t(s, rngAt(seed, i)))
        .batch(3)
        .toArray();
    const [a, b, c] = [await batch(1), await batch(1), await batch(2)];
    expect(a[0]!.images.length).toBe(3 * 24 * 24);
    expect(firstDifference(a[0]!.images, b[0]!.images)).toBe(-1);
    expect(firstDifference(a[1]!.labels, b[1]!.labels)).toBe(-1);
    expect(firstDifference(a[0]!.images, c[0]!.images)).not.toBe(-1);
    expect(a.flatMap((x) => Array.from(x.labels)).every((v) => v === 0 || v === 1)).toBe(true);
  });

  it('apply in order', () => {
    const s = generatePhantom(0, 32);
    const crop = transformFromSpec([{ type: 'crop', size: 8 }]);
    const both = compose(crop, transformFromSpec([{ type: 'crop', size: 4 }]));
    expect(both(s, rngAt(0, 0)).height).toBe(4);
  });

  it('reject an unknown transform or option, naming it', () => {
    expect(() => transformFromSpec([{ type: 'twirl' }])).toThrow(UsageError);
    expect(() => transformFromSpec([{ type: 'twirl' }])).toThrow(/transforms\[0\]: unknown transform "twirl"/);
    expect(() => transformFromSpec([{ type: 'affine', angle: 3 }])).toThrow(/affine.*unknown option 'angle'/);
    expect(() => transformFromSpec([{ type: 'gamma', gamma: [2, 1] }])).toThrow(/gamma.gamma must be a range/);
    expect(() => transformFromSpec([{ type: 'crop' }])).toThrow(/crop.size/);
  });

  it('take a following crop inside an affine: the same pixels as warping everything, then cropping', () => {
    const s = generatePhantom(2, 64);
    const spatial = [{ type: 'flip' }, { type: 'affine', degrees: 180, scale: [0.8, 1.25], translate: 0.06 }];
    const folded = transformFromSpecCropped(spatial, 32);
    const late = compose(transformFromSpec(spatial), centreCrop(32));
    // and a window larger than the image: padding, as centreCrop pads
    const padded = [transformFromSpecCropped(spatial, 80), compose(transformFromSpec(spatial), centreCrop(80))];
    for (let i = 0; i < 8; i++) {
      const [a, b] = [folded(s, rngAt(3, i)), late(s, rngAt(3, i))];
      expect([a.height, a.width]).toEqual([32, 32]);
      expect(firstDifference(a.image, b.image)).toBe(-1);
      expect(firstDifference(a.label, b.label)).toBe(-1);
      const [c, d] = padded.map((t) => t(s, rngAt(3, i)));
      expect(firstDifference(c!.image, d!.image)).toBe(-1);
      expect(firstDifference(c!.label, d!.label)).toBe(-1);
    }
    // an affine that is skipped (p) still crops
    expect(transformFromSpecCropped([{ type: 'affine', p: 0 }], 16)(s, rngAt(0, 0)).height).toBe(16);
  });

  it('crop after the last spatial transform, so the intensity ones see the window only', () => {
    const s = generatePhantom(4, 64);
    // a grid distortion cannot take the crop: it comes right after it, before the noise
    const spec = [
      { type: 'grid', magnitude: 2 },
      { type: 'noise', sd: 0.2 },
    ];
    const early = compose(transformFromSpec(spec.slice(0, 1)), centreCrop(24), transformFromSpec(spec.slice(1)));
    const cropped = transformFromSpecCropped(spec, 24);
    for (let i = 0; i < 4; i++) {
      const [a, b] = [cropped(s, rngAt(1, i)), early(s, rngAt(1, i))];
      expect(firstDifference(a.image, b.image)).toBe(-1);
      expect(firstDifference(a.label, b.label)).toBe(-1);
    }
    // the noise's sd follows the window's statistics: not those of the whole image
    const whole = compose(transformFromSpec(spec), centreCrop(24))(s, rngAt(1, 0));
    expect(firstDifference(whole.image, cropped(s, rngAt(1, 0)).image)).not.toBe(-1);
    // without any spatial transform the crop comes first
    const gamma = [{ type: 'gamma', gamma: [2, 2] }];
    const first = compose(centreCrop(24), transformFromSpec(gamma))(s, rngAt(0, 0));
    expect(firstDifference(transformFromSpecCropped(gamma, 24)(s, rngAt(0, 0)).image, first.image)).toBe(-1);
  });
});
