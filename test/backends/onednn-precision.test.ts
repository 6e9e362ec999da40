import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { onednnAddon, setOnednnPrecision } from '../../src/backends/onednn/index.js';
import { ConvDim } from '../../src/backends/onednn/contract.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { runTraining } from '../../src/workflows/train-run.js';
import { tempDir } from '../temp.js';

// The bfloat16 convolutions (setOnednnPrecision): inputs rounded to bfloat16 (to nearest, ties to even),
// float32 sums and outputs. Checked against a JavaScript convolution of the rounded inputs, which they
// must match to float32 summation error, and against float32, which they must not equal.
const addon = onednnAddon();
if (!addon) console.warn("[bfloat16 tests skipped] the native addon is not built; build it with 'npm run setup'");
const BF16_ISAS = ['avx512_core_bf16', 'avx512_core_amx'];
const hasBf16 = addon !== undefined && BF16_ISAS.includes(addon.cpuInfo().onednnIsa);

/** x rounded to the nearest bfloat16 (ties to even), as a float32. */
function bf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const bits = u[0]!;
  u[0] = (((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16) >>> 0;
  return f[0]!;
}

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}

// NHWC input [N, S, S, C], HWIO 3x3 filter, stride 1, padding 1: the output has the input's size.
const [N, S, IC, OC, K] = [2, 8, 16, 24, 3];
function dims(k = K, stride = 1, pad = 1): Int32Array {
  const out = (S + 2 * pad - k) / stride + 1;
  const d = new Int32Array(ConvDim.Count);
  d.set([N, S, S, IC, out, out, OC, k, k, stride, stride, pad, pad, pad, pad, 1, 1]);
  return d;
}
const at = (y: number, x: number, c: number, n: number, channels: number): number =>
  ((n * S + y) * S + x) * channels + c;

/** The three convolutions in JavaScript (double sums) on the given, already rounded, values. */
function reference(x: Float32Array, w: Float32Array, dy: Float32Array) {
  const y = new Float32Array(N * S * S * OC);
  const dx = new Float32Array(N * S * S * IC);
  const dw = new Float32Array(K * K * IC * OC);
  const inside = (v: number): boolean => v >= 0 && v < S;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < S; oy++) {
      for (let ox = 0; ox < S; ox++) {
        for (let ky = 0; ky < K; ky++) {
          for (let kx = 0; kx < K; kx++) {
            const iy = oy + ky - 1,
              ix = ox + kx - 1;
            if (!inside(iy) || !inside(ix)) continue;
            for (let c = 0; c < IC; c++) {
              const xv = x[at(iy, ix, c, n, IC)]!;
              for (let o = 0; o < OC; o++) {
                const wi = ((ky * K + kx) * IC + c) * OC + o;
                const g = dy[at(oy, ox, o, n, OC)]!;
                y[at(oy, ox, o, n, OC)] += xv * w[wi]!;
                dx[at(iy, ix, c, n, IC)] += g * w[wi]!;
                dw[wi] += xv * g;
              }
            }
          }
        }
      }
    }
  }
  return { y, dx, dw };
}

function native(x: Float32Array, w: Float32Array, dy: Float32Array, d = dims()) {
  const y = new Float32Array(N * d[ConvDim.OutHeight]! * d[ConvDim.OutWidth]! * OC);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  addon!.conv2d(x, w, null, y, d, false, 0);
  addon!.conv2dBackwardData(dy, w, dx, d);
  addon!.conv2dBackwardWeights(x, dy, dw, d);
  return { y, dx, dw };
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}
function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe.skipIf(!addon)('bfloat16 convolutions', () => {
  afterEach(() => setOnednnPrecision('float32'));
  const x = random(N * S * S * IC, 1);
  const w = random(K * K * IC * OC, 2);
  const dy = random(N * S * S * OC, 3);

  test('the precision in effect is bfloat16 only on CPUs with AVX512_BF16 or AMX', () => {
    expect(setOnednnPrecision('bfloat16')).toBe(hasBf16 ? 'bfloat16' : 'float32');
    expect(setOnednnPrecision('float32')).toBe('float32');
  });

  test.skipIf(!hasBf16)('3x3 forward, input and filter gradients are those of the inputs rounded to bfloat16', () => {
    const exact = native(x, w, dy);
    setOnednnPrecision('bfloat16');
    const low = native(x, w, dy);
    const rounded = reference(x.map(bf16), w.map(bf16), dy.map(bf16));
    for (const key of ['y', 'dx', 'dw'] as const) {
      // float32 sums of up to 144 rounded products in oneDNN's order against double sums
      expect(maxDiff(low[key], rounded[key]), key).toBeLessThan(1e-5 * maxAbs(rounded[key]) + 1e-6);
      // and bfloat16's rounding shows against float32: ~2^-9 relative per input
      const off = maxDiff(low[key], exact[key]) / maxAbs(exact[key]);
      expect(off, key).toBeGreaterThan(1e-4);
      expect(off, key).toBeLessThan(2e-2);
    }
  });

  test('1x1 and 2x2 stride-2 layers stay float32 in bfloat16 mode (rounding cost them more than it saved)', () => {
    for (const d of [dims(1, 1, 0), dims(2, 2, 0)]) {
      const k = d[ConvDim.FilterHeight]!;
      const wk = random(k * k * IC * OC, 4);
      const dyk = random(N * d[ConvDim.OutHeight]! * d[ConvDim.OutWidth]! * OC, 5);
      const exact = native(x, wk, dyk, d);
      setOnednnPrecision('bfloat16');
      const low = native(x, wk, dyk, d);
      setOnednnPrecision('float32');
      for (const key of ['y', 'dx', 'dw'] as const) expect(low[key], `${k}x${k} ${key}`).toEqual(exact[key]);
    }
  });

  test.skipIf(!hasBf16)('a NaN input stays NaN through the rounding', () => {
    setOnednnPrecision('bfloat16');
    const withNan = x.slice();
    withNan[at(3, 3, 0, 0, IC)] = Number.NaN;
    const { y } = native(withNan, w, dy);
    expect(Number.isNaN(y[at(3, 3, 0, 0, OC)]!)).toBe(true);
    expect(Number.isNaN(y[at(3, 3, 0, 1, OC)]!)).toBe(false);
  });

  test('a run with --precision bfloat16 records the precision that ran and leaves float32 behind', async () => {
    const exact = native(x, w, dy);
    const out = join(tempDir('lvseg-bf16-run-'), 'run');
    const config = resolveTrainConfig(
      { model: 'unet', train: 'synthetic:4:1:32', val: 'synthetic:2:50:32', epochs: 1, batchSize: 2 },
      { backend: 'onednn', precision: 'bfloat16', out, tensorboard: false, unet: { depth: 2, baseFilters: 8 } },
    );
    const warnings: string[] = [];
    const run = await runTraining(config, undefined, {
      progress: { stream: { write: () => true } },
      warn: (line) => warnings.push(line),
    });
    expect(Number.isFinite(run.final?.loss)).toBe(true);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.precision).toBe(hasBf16 ? 'bfloat16' : 'float32');
    expect(warnings.some((l) => l.includes('neither AVX512_BF16 nor AMX'))).toBe(!hasBf16);
    // the final evaluation and whatever runs next are float32 again
    expect(native(x, w, dy)).toEqual(exact);
  }, 120_000);
});
