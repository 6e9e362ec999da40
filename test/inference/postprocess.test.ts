import { describe, expect, it } from 'vitest';
import { fillHoles, postprocessMask } from '../../src/inference/postprocess.js';
import { createRng } from '../../src/data/random.js';
import { rect } from '../evaluation/shapes.js';

/** The plain definition: flood the background from every border pixel; what it does not reach is filled. */
function fillHolesByDefinition(mask: Uint8Array, height: number, width: number): Uint8Array {
  const outside = new Uint8Array(mask.length);
  const stack: number[] = [];
  const seed = (p: number): void => {
    if (mask[p] === 0 && outside[p] === 0) {
      outside[p] = 1;
      stack.push(p);
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  while (stack.length > 0) {
    const p = stack.pop()!;
    const y = Math.floor(p / width);
    const x = p - y * width;
    if (x > 0) seed(p - 1);
    if (x < width - 1) seed(p + 1);
    if (y > 0) seed(p - width);
    if (y < height - 1) seed(p + width);
  }
  return outside.map((o) => (o === 0 ? 1 : 0));
}

describe('post-processing', () => {
  it('fills holes but not bays open to the border', () => {
    const ring = rect(7, 7, 1, 1, 5, 5);
    ring[3 * 7 + 3] = 0; // a hole
    const filled = fillHoles(ring, 7, 7);
    expect(filled[3 * 7 + 3]).toBe(1);
    expect(filled.reduce((a, v) => a + v, 0)).toBe(25);
    const bay = rect(5, 5, 0, 0, 4, 4);
    bay[2] = 0; // on the border: stays background
    expect(fillHoles(bay, 5, 5)[2]).toBe(0);
  });

  it('fills exactly what a flood from the whole border leaves, on random masks of every kind', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 300; trial++) {
      const height = 1 + Math.floor(rng.next() * 24);
      const width = 1 + Math.floor(rng.next() * 24);
      const mask = new Uint8Array(height * width);
      // a few random rectangles (rings, bars, blobs touching the border or not) and scattered pixels
      const shapes = Math.floor(rng.next() * 4);
      for (let r = 0; r < shapes; r++) {
        const y0 = Math.floor(rng.next() * height);
        const x0 = Math.floor(rng.next() * width);
        const y1 = Math.min(height - 1, y0 + Math.floor(rng.next() * 10));
        const x1 = Math.min(width - 1, x0 + Math.floor(rng.next() * 10));
        const ring = rng.next() < 0.5;
        for (let y = y0; y <= y1; y++)
          for (let x = x0; x <= x1; x++)
            if (!ring || y === y0 || y === y1 || x === x0 || x === x1) mask[y * width + x] = 1;
      }
      const density = rng.next() * 0.5;
      for (let p = 0; p < mask.length; p++) if (rng.next() < density * 0.2) mask[p] = 1;
      expect(Array.from(fillHoles(mask, height, width)), `trial ${trial}: ${height}x${width}`).toEqual(
        Array.from(fillHolesByDefinition(mask, height, width)),
      );
    }
  });

  it('keeps the largest component, then fills its holes', () => {
    const mask = rect(10, 10, 1, 1, 5, 5);
    mask[3 * 10 + 3] = 0;
    mask[8 * 10 + 8] = 1; // a stray pixel
    const out = postprocessMask(mask, 10, 10, { largestComponent: true, fillHoles: true });
    expect(out[8 * 10 + 8]).toBe(0);
    expect(out[3 * 10 + 3]).toBe(1);
    expect(out.reduce((a, v) => a + v, 0)).toBe(25);
    expect(postprocessMask(mask, 10, 10, { largestComponent: false, fillHoles: false })).toBe(mask);
    expect(
      postprocessMask(new Uint8Array(100), 10, 10, { largestComponent: true, fillHoles: true }).every((v) => v === 0),
    ).toBe(true);
  });
});
