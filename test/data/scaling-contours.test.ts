import { describe, expect, it } from 'vitest';
import { applyScaling, formatScaling, parseContour, parseScaling, rasterizeContour } from '../../src/data/index.js';

describe('scaling', () => {
  it('parses factors, fractions and per-image modes', () => {
    expect(parseScaling('1/1024')).toBe(1 / 1024);
    expect(parseScaling('0.5')).toBe(0.5);
    expect(parseScaling('minmax')).toBe('minmax');
    expect(parseScaling('none')).toBe('none');
    expect(() => parseScaling('1/0')).toThrow(/positive factor/);
    expect(() => parseScaling('big')).toThrow(/positive factor/);
    expect(formatScaling(1 / 255)).toBe('1/255');
  });

  it('scales by a factor, min-max and z-score', () => {
    expect(Array.from(applyScaling(Float32Array.from([0, 512, 1024]), 1 / 1024))).toEqual([0, 0.5, 1]);
    expect(Array.from(applyScaling(Float32Array.from([10, 20, 30]), 'minmax'))).toEqual([0, 0.5, 1]);
    expect(Array.from(applyScaling(Float32Array.from([5, 5]), 'minmax'))).toEqual([0, 0]);
    const z = applyScaling(Float32Array.from([1, 3]), 'zscore');
    expect(z[0]).toBeCloseTo(-1, 6);
    expect(z[1]).toBeCloseTo(1, 6);
  });
});

describe('contours', () => {
  it('parses x y lines and names a malformed line with its number', () => {
    expect(parseContour('1.5 2\n3 4\n\n5 6\n', 'c.txt')).toEqual([
      [1.5, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(() => parseContour('1 2\n3 x\n5 6', 'c.txt')).toThrow(
      "c.txt:2: malformed contour line '3 x'; expected two numbers 'x y'",
    );
    expect(() => parseContour('1 2\n3 4', 'c.txt')).toThrow(/at least 3 points/);
  });

  it('fills by pixel centres (x + 0.5, y + 0.5), even-odd, without and with the boundary', () => {
    // a square from 2 to 6: centres 2.5..5.5 are inside -> pixels 2..5, 4x4
    const square: [number, number][] = [
      [2, 2],
      [6, 2],
      [6, 6],
      [2, 6],
    ];
    const fill = rasterizeContour(square, 10, 10, { boundary: false });
    expect(fill.reduce((a, b) => a + b, 0)).toBe(16);
    expect(fill[2 * 10 + 2]).toBe(1);
    expect(fill[6 * 10 + 6]).toBe(0);
    // the boundary adds the pixels the lines pass through: rows and columns 2..6 -> 5x5
    expect(rasterizeContour(square, 10, 10).reduce((a, b) => a + b, 0)).toBe(25);
    // the even-odd rule leaves a hole where the polygon winds twice
    const doubled: [number, number][] = [
      [0, 0],
      [8, 0],
      [8, 8],
      [0, 8],
      [0, 0],
      [2, 2],
      [2, 6],
      [6, 6],
      [6, 2],
      [2, 2],
    ];
    const ring = rasterizeContour(doubled, 10, 10, { boundary: false });
    expect(ring[4 * 10 + 4]).toBe(0);
    expect(ring[1 * 10 + 1]).toBe(1);
  });

  it('refuses a point far outside the image instead of drawing a huge line', () => {
    expect(() =>
      rasterizeContour(
        [
          [0, 0],
          [1e12, 0],
          [0, 5],
        ],
        10,
        10,
      ),
    ).toThrow(/far outside/);
  });
});
