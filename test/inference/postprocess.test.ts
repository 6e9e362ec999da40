import { describe, expect, it } from 'vitest';
import { fillHoles, postprocessMask } from '../../src/inference/postprocess.js';
import { rect } from '../evaluation/shapes.js';

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
