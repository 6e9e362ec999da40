import { describe, expect, it } from 'vitest';
import {
  averagePerpendicularDistance,
  distanceTransform,
  hausdorff95,
  meanContourDistance,
  percentile,
} from '../../src/evaluation/surface-distance.js';
import { disc, rect } from './shapes.js';

describe('distanceTransform', () => {
  it('matches brute force with anisotropic spacing', () => {
    const h = 9;
    const w = 11;
    const f = new Uint8Array(h * w);
    f[2 * w + 3] = 1;
    f[7 * w + 9] = 1;
    const d = distanceTransform(f, h, w, [2, 0.5]);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const expected = Math.min(Math.hypot(2 * (r - 2), 0.5 * (c - 3)), Math.hypot(2 * (r - 7), 0.5 * (c - 9)));
        expect(d[r * w + c]).toBeCloseTo(expected, 10);
      }
    }
  });

  it('is infinite everywhere without features', () => {
    expect(distanceTransform(new Uint8Array(4), 2, 2)[3]).toBe(Infinity);
  });
});

describe('hausdorff95', () => {
  it('is zero for identical masks and both-empty masks, NaN when one is empty', () => {
    const m = disc(32, 16, 16, 8);
    expect(hausdorff95(m, m, 32, 32)).toBe(0);
    expect(hausdorff95(new Uint8Array(1024), new Uint8Array(1024), 32, 32)).toBe(0);
    expect(hausdorff95(m, new Uint8Array(1024), 32, 32)).toBeNaN();
  });

  it('measures a shifted rectangle by its shift, scaled by the spacing', () => {
    const a = rect(20, 30, 5, 5, 14, 14);
    const b = rect(20, 30, 5, 8, 14, 17);
    // Left and right edges are 3 columns apart; the top/bottom edge pixels are mostly 0 apart.
    expect(hausdorff95(a, b, 20, 30)).toBeCloseTo(3, 10);
    expect(hausdorff95(a, b, 20, 30, [1, 1.5])).toBeCloseTo(4.5, 10);
  });

  it('gives the radius difference for two concentric discs', () => {
    const hd = hausdorff95(disc(64, 32, 32, 20), disc(64, 32, 32, 15), 64, 64);
    expect(hd).toBeGreaterThan(4.5);
    expect(hd).toBeLessThan(5.6);
  });
});

describe('averagePerpendicularDistance', () => {
  it('gives the radius difference for two concentric discs, in mm with spacing', () => {
    const apd = averagePerpendicularDistance(disc(64, 32, 32, 20), disc(64, 32, 32, 15), 64, 64);
    expect(apd).toBeCloseTo(5, 0);
    expect(Math.abs(apd - 5)).toBeLessThan(0.3);
    const mm = averagePerpendicularDistance(disc(64, 32, 32, 20), disc(64, 32, 32, 15), 64, 64, [1.25, 1.25]);
    expect(mm).toBeCloseTo(apd * 1.25, 10);
  });

  it('is zero for identical masks, 0 for both empty and NaN when one is empty', () => {
    const m = disc(32, 16, 16, 8);
    expect(averagePerpendicularDistance(m, m, 32, 32)).toBe(0);
    expect(averagePerpendicularDistance(new Uint8Array(1024), new Uint8Array(1024), 32, 32)).toBe(0);
    expect(averagePerpendicularDistance(new Uint8Array(1024), m, 32, 32)).toBeNaN();
  });

  it('measures to the nearest point on the expert polygon edges, not only its vertices', () => {
    const square: [number, number][] = [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
    ];
    expect(
      meanContourDistance(
        [
          [5, 2],
          [5, -3],
        ],
        square,
      ),
    ).toBeCloseTo(2.5, 12);
  });
});

describe('percentile', () => {
  it('interpolates linearly like NumPy', () => {
    expect(percentile([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 12);
    expect(percentile([7], 95)).toBe(7);
  });
});
