import { UsageError } from '../errors.js';

/**
 * How pixel values are scaled after reading: a factor (the lab's 1/1024; 1/255 for the shared data,
 * whose values run 0–255), `minmax` (per image to 0–1), `zscore` (per image to mean 0, sd 1) or
 * `none` (the source's own units).
 */
export type Scaling = number | 'minmax' | 'zscore' | 'none';

/** The lab's default: `tf.cast(image, tf.float32) / 1024`. */
export const LAB_SCALING: Scaling = 1 / 1024;

/** Parses `1/1024`, `0.0039`, `minmax`, `zscore`, `none` (as written on the command line or in a config). */
export function parseScaling(raw: string | number): Scaling {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw <= 0) throw new UsageError(`scale must be a positive number, got ${raw}`);
    return raw;
  }
  const t = raw.trim().toLowerCase();
  if (t === 'minmax' || t === 'zscore' || t === 'none') return t;
  const frac = /^([-+]?\d*\.?\d+(?:e[-+]?\d+)?)(?:\s*\/\s*(\d*\.?\d+(?:e[-+]?\d+)?))?$/i.exec(t);
  const n = frac ? Number(frac[1]) / (frac[2] === undefined ? 1 : Number(frac[2])) : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(`scale takes a positive factor like 1/1024 or 1/255, or minmax, zscore, none; not '${raw}'`);
  }
  return n;
}

/** `1/1024` for 0.0009765625 and so on, for configs and messages. */
export function formatScaling(scale: Scaling): string {
  if (typeof scale !== 'number') return scale;
  const inv = 1 / scale;
  return Math.abs(inv - Math.round(inv)) < 1e-9 ? `1/${Math.round(inv)}` : String(scale);
}

/** Scales `values` in place and returns it. */
export function applyScaling(values: Float32Array, scale: Scaling): Float32Array {
  if (scale === 'none' || scale === 1) return values;
  if (typeof scale === 'number') {
    for (let i = 0; i < values.length; i++) values[i] = values[i]! * scale;
    return values;
  }
  if (scale === 'minmax') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    // A constant image maps to 0 rather than dividing by zero.
    const range = hi > lo ? hi - lo : 1;
    for (let i = 0; i < values.length; i++) values[i] = (values[i]! - lo) / range;
    return values;
  }
  let sum = 0;
  for (const v of values) sum += v;
  const mean = values.length > 0 ? sum / values.length : 0;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  const sd = values.length > 0 ? Math.sqrt(sq / values.length) : 0;
  const div = sd > 0 ? sd : 1;
  for (let i = 0; i < values.length; i++) values[i] = (values[i]! - mean) / div;
  return values;
}
