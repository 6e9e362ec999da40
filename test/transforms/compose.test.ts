import { describe, expect, it } from 'vitest';
import { Dataset } from '../../src/data/pipeline.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { UsageError } from '../../src/errors.js';
import { compose, rngAt, transformFromSpec } from '../../src/transforms/compose.js';
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
});
