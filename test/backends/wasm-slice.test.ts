import { describe, expect, it } from 'vitest';
import { copyWindow } from '../../src/backends/wasm-slice.js';
import { planBackpropFilterAxis, planBackpropInputAxis } from '../../src/backends/wasm-conv-plan.js';
import { samePaddingAsExplicit } from '../../src/backends/wasm-same-padding.js';

/** Reference: element by element through the multi-index. */
function naiveWindow(src: Float32Array, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const total = size.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let offset = 0;
    let stride = 1;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const i = rest % size[axis]!;
      rest = Math.floor(rest / size[axis]!);
      offset += (begin[axis]! + i) * stride;
      stride *= shape[axis]!;
    }
    out.push(src[offset]!);
  }
  return out;
}

describe('copyWindow', () => {
  const shape = [3, 4, 5, 6];
  const src = Float32Array.from({ length: 360 }, (_, i) => i);

  it('copies a 2x2 window of a 3x4 matrix', () => {
    const dst = new Float32Array(4);
    copyWindow(
      Float32Array.from({ length: 12 }, (_, i) => i),
      [3, 4],
      [1, 2],
      [2, 2],
      dst,
    );
    expect(Array.from(dst)).toEqual([6, 7, 10, 11]);
  });

  it.each([
    [
      [0, 0, 0, 0],
      [3, 4, 5, 6],
    ],
    [
      [1, 0, 0, 0],
      [1, 4, 5, 6],
    ],
    [
      [0, 1, 2, 3],
      [3, 2, 3, 3],
    ],
    [
      [2, 3, 4, 5],
      [1, 1, 1, 1],
    ],
    [
      [0, 1, 0, 0],
      [3, 3, 5, 6],
    ],
    [
      [1, 2, 0, 0],
      [2, 1, 5, 6],
    ],
    [
      [0, 0, 1, 0],
      [3, 4, 4, 6],
    ],
  ])('matches element-by-element indexing from %j, size %j', (begin, size) => {
    const dst = new Float32Array(size.reduce((a, b) => a * b, 1));
    copyWindow(src, shape, begin, size, dst);
    expect(Array.from(dst)).toEqual(naiveWindow(src, shape, begin, size));
  });

  it('copies nothing for an empty window', () => {
    const dst = new Float32Array(0);
    copyWindow(src, shape, [0, 0, 0, 0], [0, 4, 5, 6], dst);
    expect(dst.length).toBe(0);
  });
});

describe('phase plans for strided convolution gradients', () => {
  it('plans the FCN upsampler (31x31, stride 16, same, 256 <- 16) as 2 taps over 17 blocks', () => {
    // same padding: max(0, 15*16 + 31 - 256) = 15, top 7.
    expect(planBackpropInputAxis(256, 16, 31, 16, 7)).toEqual({
      taps: 2,
      dyBegin: 0,
      dySize: 16,
      padBefore: 1,
      padAfter: 1,
      blocks: 17,
      cropBegin: 7,
    });
    expect(planBackpropFilterAxis(256, 16, 31, 16, 7)).toEqual({
      taps: 2,
      xSize: 256,
      padBefore: 7,
      padAfter: 9,
      blocks: 17,
    });
  });

  it('plans a 3x3 stride-1 same conv as a plain 3-tap conv with one zero row each side', () => {
    expect(planBackpropInputAxis(16, 16, 3, 1, 1)).toEqual({
      taps: 3,
      dyBegin: 0,
      dySize: 16,
      padBefore: 1,
      padAfter: 1,
      blocks: 16,
      cropBegin: 0,
    });
  });

  it('drops x rows that no output reaches (valid, stride 2, kernel 2 on 7 rows)', () => {
    // outputs at rows 0, 2, 4 read rows 0..5; row 6 is unused.
    expect(planBackpropFilterAxis(7, 3, 2, 2, 0)).toEqual({ taps: 1, xSize: 6, padBefore: 0, padAfter: 0, blocks: 3 });
  });
});

describe('samePaddingAsExplicit', () => {
  it('clamps the padding at 0 when the stride exceeds the kernel', () => {
    expect(samePaddingAsExplicit([1, 25, 17, 1], [3, 1, 1, 1], 16, 1, false)).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it('pads a 5x5 stride-2 conv on 256 by 1 before and 2 after', () => {
    expect(samePaddingAsExplicit([1, 256, 256, 1], [5, 5, 1, 100], 2, 1, false)).toEqual([
      [0, 0],
      [1, 2],
      [1, 2],
      [0, 0],
    ]);
  });
});
