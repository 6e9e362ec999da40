import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/data/random.js';
import type { Sample } from '../../src/data/sample.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { firstDifference } from './same.js';
import {
  affineAboutCentre,
  cropOrPad,
  flip,
  randomAffine,
  randomGridDistortion,
  resampleToSpacing,
  rotate90,
  warpAffine,
} from '../../src/transforms/spatial.js';

/** A 3×4 sample whose pixels are their own index, the label marking the first row. */
function ramp(): Sample {
  const image = Float32Array.from({ length: 12 }, (_, i) => i);
  const label = Uint8Array.from({ length: 12 }, (_, i) => (i < 4 ? 1 : 0));
  return { name: 'ramp', patient: 'p', image, label, height: 3, width: 4 };
}

const phantom = (): Sample => generatePhantom(3, 64);
const isBinary = (label: Uint8Array): boolean => label.every((v) => v === 0 || v === 1);

describe('exact transforms', () => {
  it('rotates by 90° exactly, image and label together', () => {
    const r = rotate90(ramp(), 1);
    expect([r.height, r.width]).toEqual([4, 3]);
    // counter-clockwise: the last column becomes the first row
    expect(Array.from(r.image)).toEqual([3, 7, 11, 2, 6, 10, 1, 5, 9, 0, 4, 8]);
    expect(Array.from(r.label)).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]);
  });

  it('comes back after four quarter turns, and a clockwise turn undoes a counter-clockwise one', () => {
    const s = phantom();
    let r = s;
    for (let k = 0; k < 4; k++) r = rotate90(r, 1);
    expect(firstDifference(r.image, s.image)).toBe(-1);
    expect(firstDifference(r.label, s.label)).toBe(-1);
    expect(firstDifference(rotate90(rotate90(s, 1), -1).image, s.image)).toBe(-1);
  });

  it('is the identity after flipping twice', () => {
    const s = phantom();
    for (const [h, v] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const twice = flip(flip(s, h, v), h, v);
      expect(firstDifference(twice.image, s.image)).toBe(-1);
      expect(firstDifference(twice.label, s.label)).toBe(-1);
    }
    expect(Array.from(flip(ramp(), true, false).image.slice(0, 4))).toEqual([3, 2, 1, 0]);
  });

  it('warps by a 90° affine map to the same pixels as the exact rotation', () => {
    const s = phantom();
    const warped = warpAffine(s, affineAboutCentre(s.height, s.width, { degrees: 90 }));
    const exact = rotate90(s, 1);
    expect(firstDifference(warped.label, exact.label)).toBe(-1);
    for (let i = 0; i < exact.image.length; i++) expect(warped.image[i]).toBeCloseTo(exact.image[i]!, 4);
  });

  it('crops and pads, keeping image and label aligned', () => {
    const c = cropOrPad(ramp(), 1, 1, 2, 2);
    expect(Array.from(c.image)).toEqual([5, 6, 9, 10]);
    const p = cropOrPad(ramp(), -1, -1, 5, 6);
    expect(Array.from(p.image.slice(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(p.image.slice(6, 12))).toEqual([0, 0, 1, 2, 3, 0]);
    expect(Array.from(p.label.slice(6, 12))).toEqual([0, 1, 1, 1, 1, 0]);
  });

  it('resamples to a target spacing where the sample knows its own', () => {
    const s = { ...phantom(), spacing: [2, 1] as [number, number] };
    const r = resampleToSpacing(s, 1);
    expect([r.height, r.width, ...r.spacing!]).toEqual([128, 64, 1, 1]);
    expect(isBinary(r.label)).toBe(true);
    expect(resampleToSpacing(phantom(), 1).height).toBe(64);
  });
});

describe('random spatial transforms', () => {
  it('keep masks binary and the label under the image', () => {
    const s = phantom();
    for (const t of [randomAffine(), randomGridDistortion({ magnitude: 6 })]) {
      for (let seed = 0; seed < 5; seed++) {
        const out = t(s, createRng(seed));
        expect(isBinary(out.label)).toBe(true);
        expect(out.image.every(Number.isFinite)).toBe(true);
        // the phantom's LV is brighter than its surroundings: the moved label still covers bright pixels
        let inside = 0;
        let outside = 0;
        out.label.forEach((v, i) => {
          if (v) inside += out.image[i]!;
          else outside += out.image[i]!;
        });
        const n = out.label.reduce((a, v) => a + v, 0);
        expect(inside / n).toBeGreaterThan(outside / (out.label.length - n));
      }
    }
  });

  it('give the same result for the same seed and another for another seed', () => {
    const s = phantom();
    const t = randomAffine();
    expect(firstDifference(t(s, createRng(7)).image, t(s, createRng(7)).image)).toBe(-1);
    expect(firstDifference(t(s, createRng(7)).image, t(s, createRng(8)).image)).not.toBe(-1);
  });
});
