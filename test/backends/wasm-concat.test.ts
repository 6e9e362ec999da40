/**
 * The wasm backend's Concat (src/backends/wasm-concat.ts, rows copied by lvseg's wasm SIMD module)
 * against the cpu backend: every axis, rows of 1-37 elements (the SIMD loop and its tail), float32 and
 * int32, empty inputs among them; booleans go to wasm's own and still concatenate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, wasmOwnKernel } from '../../src/backends/wasm-kernels.js';
import { Concat } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmSimdKernels } from '../../src/backends/wasm-simd.js';
import { createRng } from '../../src/data/random.js';

function concatOn(backend: string, shapes: number[][], axis: number, dtype: 'float32' | 'int32' | 'bool'): number[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const rng = createRng(1);
    const parts = shapes.map((shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: size }, () => Math.floor(rng.next() * 1000));
      return dtype === 'bool'
        ? tf.tensor(
            values.map((v) => v % 2),
            shape,
            'bool',
          )
        : tf.tensor(
            values.map((v) => (dtype === 'int32' ? v - 500 : v / 7 - 70)),
            shape,
            dtype,
          );
    });
    return Array.from(tf.concat(parts, axis).dataSync());
  });
}

describe('wasm Concat', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    await tf.ready();
  });
  afterAll(() => {
    tf.setBackend('cpu');
  });

  const cases: Array<[string, number[][], number, 'float32' | 'int32' | 'bool']> = [
    [
      'channels, as a U-Net skip',
      [
        [2, 5, 7, 16],
        [2, 5, 7, 16],
      ],
      3,
      'float32',
    ],
    [
      'channels of odd widths',
      [
        [3, 4, 1],
        [3, 4, 5],
        [3, 4, 37],
      ],
      2,
      'float32',
    ],
    [
      'the first axis',
      [
        [2, 3],
        [4, 3],
      ],
      0,
      'float32',
    ],
    [
      'a middle axis, int32',
      [
        [2, 3, 6],
        [2, 1, 6],
        [2, 4, 6],
      ],
      1,
      'int32',
    ],
    [
      'with an empty input',
      [
        [2, 0, 3],
        [2, 2, 3],
      ],
      1,
      'float32',
    ],
    [
      'negative axis',
      [
        [3, 2],
        [3, 9],
      ],
      -1,
      'float32',
    ],
    [
      "booleans (wasm's own)",
      [
        [2, 3],
        [2, 5],
      ],
      1,
      'bool',
    ],
  ];
  for (const [name, shapes, axis, dtype] of cases) {
    it(`${name}: ${shapes.map((s) => s.join('x')).join(' + ')} on axis ${axis}`, () => {
      const want = concatOn('cpu', shapes, axis, dtype);
      const got = concatOn('wasm', shapes, axis, dtype);
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual(want);
    });
  }

  it("replaced wasm's own Concat, and lvseg's module runs here", () => {
    expect(wasmOwnKernel(Concat)).toBeDefined();
    tf.setBackend('wasm');
    expect(wasmSimdKernels(tf.backend() as BackendWasm)).not.toBeNull();
  });
});
