import { describe, expect, it } from 'vitest';
import { boundaryPixels, extractContour, largestComponent, polygonArea } from '../../src/imaging/contours.js';
import { rasterizeContour } from '../../src/data/contours.js';
import { foregroundArea } from '../../src/imaging/mask-metrics.js';
import { disc, rect } from '../evaluation/shapes.js';

describe('extractContour', () => {
  it('outlines a single pixel as a clockwise diamond through its edge middles, centre at +0.5', () => {
    const m = new Uint8Array(9);
    m[4] = 1;
    expect(extractContour(m, 3, 3)).toEqual([
      [1.5, 1],
      [2, 1.5],
      [1.5, 2],
      [1, 1.5],
    ]);
  });

  it('traces a rectangle on the outer edges of its pixels, corners cut', () => {
    const c = extractContour(rect(8, 10, 2, 3, 4, 7), 8, 10);
    const xs = c.map(([x]) => x);
    const ys = c.map(([, y]) => y);
    expect(Math.min(...xs)).toBe(3);
    expect(Math.max(...xs)).toBe(8);
    expect(Math.min(...ys)).toBe(2);
    expect(Math.max(...ys)).toBe(5);
    // 5×3 pixels; marching squares cuts each corner by a triangle of legs ½: 15 − 4·⅛.
    expect(polygonArea(c)).toBeCloseTo(14.5, 12);
  });

  it('outlines a disc with points at the radius from the centre', () => {
    const c = extractContour(disc(64, 30, 33, 12), 64, 64);
    for (const [x, y] of c) expect(Math.hypot(x - 30.5, y - 33.5)).toBeGreaterThan(11.5 - 0.01);
    for (const [x, y] of c) expect(Math.hypot(x - 30.5, y - 33.5)).toBeLessThan(12.5 + 0.01);
    expect(polygonArea(c)).toBeGreaterThan(Math.PI * 11.5 ** 2);
    expect(polygonArea(c)).toBeLessThan(Math.PI * 12.5 ** 2);
    // Closed loop: consecutive points are at most one pixel apart.
    for (let i = 0; i < c.length; i++) {
      const [x1, y1] = c[i]!;
      const [x2, y2] = c[(i + 1) % c.length]!;
      expect(Math.hypot(x2 - x1, y2 - y1)).toBeLessThanOrEqual(1 + 1e-12);
    }
  });

  it('keeps the largest component and ignores holes', () => {
    const m = disc(40, 20, 20, 10);
    m[20 * 40 + 20] = 0; // a hole
    m[2 * 40 + 2] = 1; // a stray pixel
    const c = extractContour(m, 40, 40);
    expect(Math.min(...c.map(([x]) => x))).toBe(10);
    expect(c.some(([x, y]) => x < 5 && y < 5)).toBe(false);
  });

  it("fills back to the same mask with the data layer's rasterizeContour", () => {
    for (const m of [disc(48, 20, 25, 13), rect(20, 20, 3, 4, 15, 9), disc(17, 8, 8, 1)]) {
      const size = Math.sqrt(m.length);
      const contour = extractContour(m, size, size);
      expect(Array.from(rasterizeContour(contour, size, size, { boundary: false }))).toEqual(Array.from(m));
    }
  });

  it('returns no points for an empty mask', () => {
    expect(extractContour(new Uint8Array(16), 4, 4)).toEqual([]);
  });

  it('rejects a mask whose size is not height × width', () => {
    expect(() => extractContour(new Uint8Array(10), 3, 3)).toThrow(/10 pixels, not 3×3/);
  });
});

describe('components and boundaries', () => {
  it('keeps the largest 4-connected component, diagonal pixels apart', () => {
    const m = Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 1, 0]);
    expect(Array.from(largestComponent(m, 3, 3))).toEqual([0, 0, 0, 0, 1, 1, 0, 1, 0]);
  });

  it('marks foreground pixels with a background 4-neighbour as boundary', () => {
    const b = boundaryPixels(rect(5, 5, 0, 0, 3, 3), 5, 5);
    expect(foregroundArea(b)).toBe(16 - 4);
    expect(b[1 * 5 + 1]).toBe(0);
    expect(b[0]).toBe(1);
  });
});
