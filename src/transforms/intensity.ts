/**
 * Intensity transforms: the label is untouched. The random ones keep the image's range and are meant to
 * run before `normalizeIntensity`, which then maps whatever a scanner (or an augmentation) produced to
 * the same statistics.
 */
import type { Sample } from '../data/sample.js';
import { DataError } from '../errors.js';
import type { Transform } from './compose.js';

function range(image: Float32Array): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { lo, hi };
}

function meanAndSd(image: Float32Array): { mean: number; sd: number } {
  let sum = 0;
  for (let i = 0; i < image.length; i++) sum += image[i]!;
  const mean = sum / image.length;
  let sq = 0;
  for (let i = 0; i < image.length; i++) sq += (image[i]! - mean) ** 2;
  return { mean, sd: Math.sqrt(sq / image.length) };
}

/**
 * The `qs`-th percentiles (0–100) of `values`, by nearest rank: the values a sorted copy holds at those ranks,
 * found by selection on one copy (each image's normalisation in training took ~1.4 ms sorting a 256×256 image).
 */
export function percentiles(values: Float32Array, qs: readonly number[]): number[] {
  const n = values.length;
  const ranks = qs.map((q) => Math.min(n - 1, Math.max(0, Math.round((q / 100) * (n - 1)))));
  const work = values.slice();
  // NaN has no place in a < order: sort() puts it last, as the ranks expect
  if (work.some(Number.isNaN)) {
    work.sort();
    return ranks.map((r) => work[r]!);
  }
  // ascending ranks, each selected within the part of `work` that the previous one left above it
  const order = ranks.map((_, i) => i).sort((a, b) => ranks[a]! - ranks[b]!);
  const out = new Array<number>(ranks.length);
  let left = 0;
  for (const i of order) {
    const r = ranks[i]!;
    select(work, r, left, n - 1);
    out[i] = work[r]!;
    left = r;
  }
  return out;
}

/** Reorders a[left..right] so that a[k] holds the value a sorted a would hold there (Hoare's selection). */
function select(a: Float32Array, k: number, left: number, right: number): void {
  while (right > left) {
    const pivot = a[(left + right) >> 1]!;
    let i = left,
      j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

/**
 * Per-image normalisation: clips to the [`low`, `high`] percentiles (bright fat, flow artefacts and
 * dark air stop dominating) and then z-scores, so images from scanners with different intensity scales
 * arrive with mean 0 and sd 1. A constant image becomes all zeros.
 */
export function normalizeIntensity(image: Float32Array, low = 1, high = 99): Float32Array {
  if (!(low >= 0 && high <= 100 && low < high))
    throw new DataError(`intensity percentiles must satisfy 0 <= low < high <= 100, got ${low} and ${high}`);
  const [lo, hi] = percentiles(image, [low, high]) as [number, number];
  const out = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = Math.min(Math.max(image[i]!, lo), hi);
  const { mean, sd } = meanAndSd(out);
  const div = sd > 1e-8 ? sd : 1;
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - mean) / div;
  return out;
}

/** `normalizeIntensity` as a transform. */
export function normalize(low = 1, high = 99): Transform {
  return (sample) => ({ ...sample, image: normalizeIntensity(sample.image, low, high) });
}

/** x ↦ lo + (hi − lo)·((x − lo)/(hi − lo))^gamma over the image's own range: the range is kept. */
export function adjustGamma(image: Float32Array, gamma: number): Float32Array {
  const { lo, hi } = range(image);
  const out = new Float32Array(image.length);
  const span = hi - lo;
  if (!(span > 0)) return out.fill(image.length > 0 ? image[0]! : 0);
  for (let i = 0; i < image.length; i++) out[i] = lo + span * ((image[i]! - lo) / span) ** gamma;
  return out;
}

export interface GammaOptions {
  /** Gamma drawn log-uniformly in [lo, hi] (default [0.7, 1.5]). */
  gamma?: [number, number];
  p?: number;
}

export function randomGamma({ gamma = [0.7, 1.5], p = 1 }: GammaOptions = {}): Transform {
  if (!(gamma[0] > 0 && gamma[1] >= gamma[0]))
    throw new DataError(`gamma range must be 0 < lo <= hi, got [${gamma.join(', ')}]`);
  return (sample, rng) => {
    if (rng.next() >= p) return sample;
    return {
      ...sample,
      image: adjustGamma(sample.image, Math.exp(rng.uniform(Math.log(gamma[0]), Math.log(gamma[1])))),
    };
  };
}

export interface ContrastOptions {
  /** Contrast factor about the mean, uniform in [lo, hi] (default [0.75, 1.25]). */
  contrast?: [number, number];
  /** Brightness shift, uniform in ±fraction of the image's sd (default 0.1). */
  brightness?: number;
  p?: number;
}

export function randomContrast({ contrast = [0.75, 1.25], brightness = 0.1, p = 1 }: ContrastOptions = {}): Transform {
  return (sample, rng) => {
    if (rng.next() >= p) return sample;
    const c = rng.uniform(contrast[0], contrast[1]);
    const { mean, sd } = meanAndSd(sample.image);
    const shift = rng.uniform(-brightness, brightness) * sd;
    const image = new Float32Array(sample.image.length);
    for (let i = 0; i < image.length; i++) image[i] = mean + c * (sample.image[i]! - mean) + shift;
    return { ...sample, image };
  };
}

export interface NoiseOptions {
  /** Noise sd, uniform in [0, sd]·(the image's sd) (default 0.1). */
  sd?: number;
  p?: number;
}

/** Additive Gaussian noise relative to the image's own sd (MRI noise is roughly Rician; at this size Gaussian is
 * close). */
export function randomNoise({ sd = 0.1, p = 1 }: NoiseOptions = {}): Transform {
  return (sample, rng) => {
    if (rng.next() >= p) return sample;
    const sigma = rng.uniform(0, sd) * meanAndSd(sample.image).sd;
    const image = new Float32Array(sample.image.length);
    for (let i = 0; i < image.length; i++) image[i] = sample.image[i]! + sigma * rng.normal();
    return { ...sample, image };
  };
}

/** A separable Gaussian blur with sd `sigma` pixels, edges clamped. */
export function gaussianBlur(image: Float32Array, height: number, width: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return image.slice();
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) total += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= total;
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? Math.min(width - 1, Math.max(0, x + k)) : x;
          const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + k));
          acc += kernel[k + radius]! * src[yy * width + xx]!;
        }
        out[y * width + x] = acc;
      }
    }
    return out;
  };
  return pass(pass(image, true), false);
}

export interface BlurOptions {
  /** Blur sd in pixels, uniform in [lo, hi] (default [0.25, 1]). */
  sigma?: [number, number];
  p?: number;
}

export function randomBlur({ sigma = [0.25, 1], p = 1 }: BlurOptions = {}): Transform {
  return (sample: Sample, rng) => {
    if (rng.next() >= p) return sample;
    return {
      ...sample,
      image: gaussianBlur(sample.image, sample.height, sample.width, rng.uniform(sigma[0], sigma[1])),
    };
  };
}
