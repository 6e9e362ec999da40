import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/data/random.js';
import type { Sample } from '../../src/data/sample.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import {
  adjustGamma,
  gaussianBlur,
  normalizeIntensity,
  percentiles,
  randomBlur,
  randomContrast,
  randomGamma,
  randomNoise,
} from '../../src/transforms/intensity.js';

const constant = (value: number): Sample => ({
  name: 'flat',
  patient: 'p',
  image: new Float32Array(16 * 16).fill(value),
  label: new Uint8Array(16 * 16),
  height: 16,
  width: 16,
});

describe('intensity transforms', () => {
  it('never produce NaN or infinity, on a phantom, a constant, an all-zero or a negative image', () => {
    const transforms = [
      randomGamma(),
      randomContrast(),
      randomNoise(),
      randomBlur(),
      (s: Sample) => ({ ...s, image: normalizeIntensity(s.image) }),
    ];
    for (const s of [
      generatePhantom(1, 32),
      constant(5),
      constant(0),
      { ...constant(0), image: Float32Array.from({ length: 256 }, (_, i) => -i) },
    ]) {
      for (const t of transforms) {
        for (let seed = 0; seed < 3; seed++) {
          const out = t(s, createRng(seed));
          expect(out.image.every(Number.isFinite), `${t.name} on ${s.name}`).toBe(true);
          expect(out.label).toBe(s.label);
        }
      }
    }
  });

  it('normalises to mean 0 and sd 1 after clipping the percentiles', () => {
    const image = Float32Array.from({ length: 1000 }, (_, i) => (i === 999 ? 1e6 : i % 100));
    const out = normalizeIntensity(image, 1, 99);
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    const sd = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / out.length);
    expect(mean).toBeCloseTo(0, 5);
    expect(sd).toBeCloseTo(1, 5);
    // the outlier was clipped to the 99th percentile, so it sits with the other bright pixels
    expect(out[999]).toBeCloseTo(Math.max(...out.slice(0, 999)), 5);
    expect(percentiles(Float32Array.from([3, 1, 2, 5, 4]), [0, 50, 100])).toEqual([1, 3, 5]);
  });

  it('finds the percentiles a sorted copy holds, with ties, any order of qs and NaN', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (const [n, levels] of [
      [1, 5],
      [2, 2],
      [257, 3],
      [4096, 50],
      [65536, 4096],
      [10000, 1e9],
    ] as const) {
      const values = Float32Array.from({ length: n }, () => Math.floor(random() * levels) - levels / 4);
      const before = values.slice();
      const sorted = values.slice().sort();
      const qs = [99, 1, 50, 0, 100, 99, 37.5];
      const expected = qs.map((q) => sorted[Math.min(n - 1, Math.max(0, Math.round((q / 100) * (n - 1))))]);
      expect(percentiles(values, qs)).toEqual(expected);
      // the input is left as it was
      expect(values).toEqual(before);
    }
    expect(percentiles(Float32Array.from([NaN, 2, 1, NaN, 3]), [0, 50, 100])).toEqual([1, 3, NaN]);
  });

  it('keeps the range under gamma and the mean under a blur', () => {
    const image = Float32Array.from({ length: 64 }, (_, i) => 10 + i);
    const g = adjustGamma(image, 2);
    expect(Math.min(...g)).toBeCloseTo(10, 4);
    expect(Math.max(...g)).toBeCloseTo(73, 4);
    expect(g[32]!).toBeLessThan(image[32]!);
    const b = gaussianBlur(image, 8, 8, 1);
    expect(b.reduce((a, v) => a + v, 0) / 64).toBeCloseTo(image.reduce((a, v) => a + v, 0) / 64, 0);
  });
});
