import { describe, expect, it } from 'vitest';
import { Dataset } from '../../src/data/pipeline.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { UsageError } from '../../src/errors.js';
import { compose, rngAt, transformFromSpec, transformThenCrop } from '../../src/transforms/compose.js';
import { centreCrop } from '../../src/transforms/spatial.js';
import { firstDifference } from './same.js';

const SPEC = [
  { type: 'flip' }, { type: 'rotate90' }, { type: 'affine', degrees: 30, scale: [0.7, 1.4], translate: 0.1 }, { type: 'grid', magnitude: 2 },
  { type: 'gamma' }, { type: 'contrast' }, { type: 'noise' }, { type: 'blur' }, { type: 'crop', size: 24 }, { type: 'normalize' },
];

describe('transform lists', () => {
  it('give the same batch for the same seed, and another batch for another seed', async () => {
    const samples = Array.from({ length: 6 }, (_, i) => generatePhantom(i, 32));
    const t = transformFromSpec(SPEC);
    const batch = (seed: number) =>
      Dataset.from(samples).shuffle(6, seed).map((s, i) => t(s, rngAt(seed, i))).batch(3).toArray();
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

describe('transformThenCrop', () => {
  const AFFINE = { type: 'affine', degrees: 180, scale: [0.8, 1.25], translate: 0.06 };

  it('gives the pixels of the transform then the crop when the list is spatial (the affine warps the window only)', () => {
    for (const spec of [[{ type: 'flip' }, AFFINE], [{ type: 'flip' }, { ...AFFINE, p: 0.5 }], [AFFINE, { type: 'rotate90' }], []]) {
      const fused = transformThenCrop(spec, 20);
      const plain = compose(transformFromSpec(spec), centreCrop(20));
      for (let i = 0; i < 6; i++) {
        const s = generatePhantom(i, 48);
        const [a, b] = [fused(s, rngAt(3, i)), plain(s, rngAt(3, i))];
        expect([a.height, a.width]).toEqual([20, 20]);
        expect(firstDifference(a.image, b.image)).toBe(-1);
        expect(firstDifference(a.label, b.label)).toBe(-1);
      }
    }
  });

  it('pads a window larger than the image with background, as the crop does', () => {
    const s = generatePhantom(1, 16);
    const [a, b] = [transformThenCrop([AFFINE], 24)(s, rngAt(0, 0)), compose(transformFromSpec([AFFINE]), centreCrop(24))(s, rngAt(0, 0))];
    expect(firstDifference(a.image, b.image)).toBe(-1);
    expect(firstDifference(a.label, b.label)).toBe(-1);
  });

  it('runs the intensity transforms after the crop, on the window', () => {
    const s = generatePhantom(2, 48);
    const spec = [AFFINE, { type: 'gamma', p: 1 }, { type: 'noise', sd: 0.1, p: 1 }];
    const a = transformThenCrop(spec, 20)(s, rngAt(5, 0));
    const b = compose(transformFromSpec(spec.slice(0, 1)), centreCrop(20), transformFromSpec(spec.slice(1)))(s, rngAt(5, 0));
    expect(a.image.length).toBe(400);
    expect(firstDifference(a.image, b.image)).toBe(-1);
  });

  it('checks the list as transformFromSpec does', () => {
    expect(() => transformThenCrop([{ type: 'gamma', gamma: [2, 1] }], 8, 'augment')).toThrow(/gamma.gamma must be a range/);
    expect(() => transformThenCrop([{ type: 'flip' }, { type: 'twirl' }], 8, 'augment')).toThrow(/augment\[1\]: unknown transform "twirl"/);
  });
});
