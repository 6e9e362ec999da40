import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The gradients are registered by tfjs-layers in the app; these tests use tfjs-core alone.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, test } from 'vitest';
import { onednnKernelCounts, registerOnednnBackend } from '../../src/backends/onednn/index.js';
import { sparseCrossEntropy } from '../../src/losses/losses.js';

// Every native kernel against the tfjs cpu backend on the same inputs. Tolerance: the largest absolute
// difference is at most 1e-4 of the largest reference magnitude (or 1e-4 when that is below 1): float32
// sums of up to ~30k products in a different order.
const native = registerOnednnBackend();
if (!native.ok) console.warn(`[onednn tests skipped] ${native.reason}; build it with 'npm run setup'`);

type Arrays = Record<string, { shape: number[]; data: Float32Array }>;
type Compute = (t: Record<string, tf.Tensor>) => tf.Tensor[];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomArrays(shapes: Record<string, number[]>, seed: number): Arrays {
  const next = rng(seed);
  const out: Arrays = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
    out[name] = { shape, data };
  }
  return out;
}

function runOn(backend: string, arrays: Arrays, compute: Compute): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const t: Record<string, tf.Tensor> = {};
    for (const [name, a] of Object.entries(arrays)) t[name] = tf.tensor(a.data.slice(), a.shape);
    return compute(t).map((r) => r.dataSync() as Float32Array);
  });
}

/** The onednn kernels a computation must run natively, and the cpu fallbacks it may take (none unless listed). */
interface KernelExpectation {
  native: string[];
  fallback?: Record<string, number>;
}

/** How much each count grew from `before` to `after`. */
function grown(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
}

/**
 * The computation gives the cpu backend's values on onednn, where the listed kernels ran natively (so
 * the comparison is not cpu against cpu) and exactly the listed fallbacks happened (counted for this
 * computation alone, whatever ran before).
 */
function expectSameOnBoth(arrays: Arrays, compute: Compute, expected: KernelExpectation): void {
  const ref = runOn('cpu', arrays, compute);
  const before = onednnKernelCounts();
  const got = runOn('onednn', arrays, compute);
  const after = onednnKernelCounts();
  const ran = grown(after.native, before.native);
  for (const kernel of expected.native) expect(ran[kernel], `${kernel} ran natively`).toBeGreaterThan(0);
  expect(grown(after.fallback, before.fallback)).toEqual(expected.fallback ?? {});
  expect(got.length).toBe(ref.length);
  ref.forEach((r, i) => {
    expect(got[i].length).toBe(r.length);
    let maxRef = 0,
      maxDiff = 0;
    for (let j = 0; j < r.length; j++) {
      maxRef = Math.max(maxRef, Math.abs(r[j]));
      maxDiff = Math.max(maxDiff, Math.abs(r[j] - got[i][j]));
    }
    expect(maxDiff, `output ${i}`).toBeLessThanOrEqual(1e-4 * Math.max(1, maxRef));
  });
}

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: 'same' | 'valid';
}

// Strides 1, 2 and 16; kernels 1 to 31; same and valid; batch 1 to 4; odd sizes.
// 3x3 stride 1, and 5x5 or 6x6 stride 2 (split into four phases), large enough for Winograd under both
// ISAs' rules (native/conv_winograd.cc `winogradApplies`): F(4x4, 3x3), and F(2x2, 3x3) for the 6x6
// output; odd sizes cut the last tiles and pad unevenly. Forward only: the gradients are oneDNN's.
const WINOGRAD_CASES: ConvCase[] = [
  { n: 1, h: 16, w: 16, ci: 200, co: 300, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 23, w: 21, ci: 128, co: 130, k: 3, s: 1, pad: 'same' },
  { n: 4, h: 21, w: 14, ci: 129, co: 128, k: 3, s: 1, pad: 'valid' },
  { n: 2, h: 39, w: 36, ci: 48, co: 128, k: 5, s: 2, pad: 'same' },
  { n: 1, h: 37, w: 41, ci: 64, co: 192, k: 6, s: 2, pad: 'valid' },
  { n: 8, h: 6, w: 6, ci: 256, co: 192, k: 3, s: 1, pad: 'same' },
];
const FEW_OUTPUT_CASES: ConvCase[] = [
  { n: 1, h: 16, w: 16, ci: 300, co: 2, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 11, w: 9, ci: 37, co: 1, k: 3, s: 2, pad: 'valid' },
  { n: 1, h: 7, w: 10, ci: 16, co: 4, k: 5, s: 1, pad: 'same' },
  // the U-Net's 1x1 logits (16 -> 3 classes): a matmul over the pixels
  { n: 2, h: 11, w: 10, ci: 16, co: 3, k: 1, s: 1, pad: 'valid' },
];
const convCases: ConvCase[] = [
  { n: 1, h: 9, w: 7, ci: 1, co: 3, k: 1, s: 1, pad: 'same' },
  // one input channel and more than 16 outputs, like the FCN's first layer (a separate native path:
  // direct loops); input x output channels <= 16 run as other direct loops, more on oneDNN's kernels
  { n: 2, h: 21, w: 18, ci: 1, co: 20, k: 5, s: 2, pad: 'same' },
  // more channels than one register block (16 or 32) and rows that end mid pixel-block; a window of more
  // than 64 taps (im2col + matmul)
  { n: 1, h: 23, w: 30, ci: 1, co: 37, k: 5, s: 2, pad: 'same' },
  { n: 1, h: 19, w: 22, ci: 1, co: 18, k: 9, s: 1, pad: 'valid' },
  { n: 2, h: 12, w: 10, ci: 6, co: 5, k: 3, s: 1, pad: 'same' },
  { n: 3, h: 21, w: 18, ci: 1, co: 7, k: 5, s: 2, pad: 'same' },
  // the U-Net's first layer (1 -> 16, 3x3): the one-channel forward and filter-gradient loops
  { n: 2, h: 20, w: 17, ci: 1, co: 16, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 17, w: 19, ci: 3, co: 4, k: 5, s: 2, pad: 'same' },
  { n: 3, h: 11, w: 13, ci: 5, co: 2, k: 3, s: 1, pad: 'valid' },
  { n: 4, h: 15, w: 9, ci: 2, co: 3, k: 4, s: 2, pad: 'valid' },
  { n: 1, h: 37, w: 41, ci: 2, co: 2, k: 31, s: 16, pad: 'same' },
  { n: 2, h: 33, w: 35, ci: 1, co: 2, k: 31, s: 1, pad: 'valid' },
  { n: 1, h: 49, w: 33, ci: 2, co: 3, k: 7, s: 16, pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 7, co: 5, k: 2, s: 2, pad: 'same' },
  // few outputs from many inputs, like the FCN's 300 -> 2 score layer (direct dot products over the input
  // channels): an odd channel count for the simd tail, stride 2, one output channel, four
  ...FEW_OUTPUT_CASES,
];
// And a few drawn at random (fixed seed, so a failure is reproducible).
const draw = rng(2026);
for (let i = 0; i < 4; i++) {
  const k = 1 + Math.floor(draw() * 9);
  const s = [1, 2, 16][Math.floor(draw() * 3)];
  convCases.push({
    n: 1 + Math.floor(draw() * 4),
    h: k + Math.floor(draw() * 20),
    w: k + Math.floor(draw() * 20),
    ci: 1 + Math.floor(draw() * 6),
    co: 1 + Math.floor(draw() * 6),
    k,
    s,
    pad: draw() < 0.5 ? 'same' : 'valid',
  });
}
const label = (c: ConvCase) => `${c.n}x${c.h}x${c.w}x${c.ci} k${c.k} s${c.s} ${c.pad} -> ${c.co}`;

describe.skipIf(!native.ok)('onednn kernels match the cpu backend', () => {
  test.each(convCases.map((c) => [label(c), c] as const))('conv2d forward, input and filter gradients: %s', (_, c) => {
    const arrays = randomArrays({ x: [c.n, c.h, c.w, c.ci], w: [c.k, c.k, c.ci, c.co] }, c.h * 100 + c.k);
    expectSameOnBoth(
      arrays,
      ({ x, w }) => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad);
        const y = f(x, w);
        const [dx, dw] = tf.grads(f)([x, w], tf.mod(tf.reshape(tf.range(0, y.size), y.shape), 7));
        return [y, dx, dw];
      },
      { native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] },
    );
  });

  test.each(convCases.slice(0, 6).map((c) => [label(c), c] as const))(
    'fused conv2d with bias and relu, and its gradients: %s',
    (_, c) => {
      const arrays = randomArrays({ x: [c.n, c.h, c.w, c.ci], w: [c.k, c.k, c.ci, c.co], b: [c.co] }, c.w + 7);
      expectSameOnBoth(
        arrays,
        ({ x, w, b }) => {
          const f = (a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) =>
            tf.fused.conv2d({
              x: a as tf.Tensor4D,
              filter: k as tf.Tensor4D,
              strides: c.s,
              pad: c.pad,
              bias,
              activation: 'relu',
            });
          return [f(x, w, b), ...tf.grads(f)([x, w, b])];
        },
        { native: ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'LvsegReluGrad'] },
      );
    },
  );

  test.each([...FEW_OUTPUT_CASES, ...WINOGRAD_CASES].map((c) => [label(c), c] as const))(
    'fused conv2d with bias and relu, few outputs or Winograd: %s',
    (_, c) => {
      const arrays = randomArrays({ x: [c.n, c.h, c.w, c.ci], w: [c.k, c.k, c.ci, c.co], b: [c.co] }, c.ci);
      expectSameOnBoth(
        arrays,
        ({ x, w, b }) => [
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: w as tf.Tensor4D,
            strides: c.s,
            pad: c.pad,
            bias: b,
            activation: 'relu',
          }),
        ],
        { native: ['FusedConv2D'] },
      );
    },
  );

  test('sparse softmax cross-entropy and its gradient (one native kernel on onednn) match the composed ops', () => {
    const arrays = randomArrays({ logits: [2, 5, 7, 3], scores: [2, 5, 7] }, 61);
    // Classes 0-2, and 3 and -1 outside the range: tf.oneHot gives those an all-zero row.
    const labels = Int32Array.from({ length: 70 }, (_, i) => ((i * 7) % 4) - (i % 11 === 0 ? 1 : 0));
    expectSameOnBoth(
      arrays,
      ({ logits, scores }) => {
        const given = tf.tensor3d(labels, [2, 5, 7], 'int32');
        // Labels as the data pipeline makes them: a cast from a bool mask, and float32 zeros and ones.
        const fromBool = tf.cast(tf.greater(scores, 0), 'int32') as tf.Tensor3D;
        const fromFloat = tf.cast(tf.greater(scores, 0.5), 'float32') as tf.Tensor3D;
        const loss = (l: tf.Tensor3D) => (x: tf.Tensor) => sparseCrossEntropy(x as tf.Tensor4D, l);
        return [given, fromBool, fromFloat].flatMap((l) => [loss(l)(logits), tf.grad(loss(l))(logits, tf.scalar(0.7))]);
      },
      { native: ['LvsegSparseSoftmaxCrossEntropy'] },
    );
  });

  test('conv2d with dilation 2 matches', () => {
    const arrays = randomArrays({ x: [2, 13, 12, 3], w: [3, 3, 3, 4] }, 5);
    expectSameOnBoth(arrays, ({ x, w }) => [tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2)], {
      native: ['Conv2D'],
    });
  });

  test.each([
    ['k31 s16 same (the FCN upsampling)', [1, 3, 3, 2], [31, 31, 2, 2], [1, 48, 48, 2], 16, 'same'],
    ['k4 s2 valid', [2, 5, 6, 3], [4, 4, 2, 3], [2, 12, 14, 2], 2, 'valid'],
    ['k3 s1 same', [3, 7, 5, 4], [3, 3, 1, 4], [3, 7, 5, 1], 1, 'same'],
  ] as const)('conv2dTranspose forward and gradients: %s', (_, xs, ws, outShape, s, pad) => {
    const arrays = randomArrays({ x: [...xs], w: [...ws] }, 11);
    expectSameOnBoth(
      arrays,
      ({ x, w }) => {
        const f = (a: tf.Tensor, k: tf.Tensor) =>
          tf.conv2dTranspose(
            a as tf.Tensor4D,
            k as tf.Tensor4D,
            [...outShape] as [number, number, number, number],
            s,
            pad,
          );
        const y = f(x, w);
        return [y, ...tf.grads(f)([x, w], tf.mod(tf.reshape(tf.range(0, y.size), y.shape), 5))];
      },
      { native: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'] },
    );
  });

  test.each([
    [[1, 8, 8, 3], 2, 2, 'valid'],
    [[2, 9, 7, 4], 2, 2, 'same'],
    [[3, 11, 10, 2], 3, 2, 'same'],
    [[4, 13, 9, 5], 3, 1, 'valid'],
    [[1, 17, 17, 1], 5, 3, 'same'],
  ] as const)('maxPool forward and gradient: %j k%d s%d %s', (shape, k, s, pad) => {
    const arrays = randomArrays({ x: [...shape] }, 3);
    expectSameOnBoth(
      arrays,
      ({ x }) => {
        const f = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, k, s, pad);
        const y = f(x);
        return [y, tf.grad(f)(x, tf.add(tf.mod(tf.reshape(tf.range(0, y.size), y.shape), 3), 1))];
      },
      { native: ['MaxPool', 'MaxPoolGrad'] },
    );
  });

  // Inputs rounded to five levels, so most windows hold tied maxima: the gradient must go to the first of
  // them, as on cpu, in the 2x2 path (tiled, and with a row left over) and the generic one.
  test.each([
    [[2, 8, 6, 16], 2, 2, 'valid'],
    [[1, 9, 8, 3], 2, 2, 'valid'],
    [[2, 7, 7, 5], 3, 2, 'same'],
  ] as const)('maxPool gradient with tied maxima goes to the first: %j k%d s%d %s', (shape, k, s, pad) => {
    const arrays = randomArrays({ x: [...shape] }, 4);
    arrays.x.data = arrays.x.data.map((v) => Math.round(v * 2) / 2);
    expectSameOnBoth(
      arrays,
      ({ x }) => {
        const f = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, k, s, pad);
        const y = f(x);
        return [y, tf.grad(f)(x, tf.add(tf.mod(tf.reshape(tf.range(0, y.size), y.shape), 3), 1))];
      },
      { native: ['MaxPool', 'MaxPoolGrad'] },
    );
  });

  test.each([
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[3, 4, 6], [3, 6, 2], false, false],
    [[1, 9], [1, 4], true, false],
    [[1, 6], [5, 1], true, true],
    [[40, 1], [1, 30], false, false],
  ] as const)('matMul %j x %j (transpose %s %s) and gradients', (as, bs, ta, tb) => {
    const arrays = randomArrays({ a: [...as], b: [...bs] }, 17);
    expectSameOnBoth(
      arrays,
      ({ a, b }) => {
        const f = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q, ta, tb);
        return [f(a, b), ...tf.grads(f)([a, b])];
      },
      { native: ['BatchMatMul'] },
    );
  });

  // tfjs's own BatchMatMul gradient does not reduce a broadcast batch, so this case checks the forward only.
  test('matMul with b broadcast over a batch of a', () => {
    const arrays = randomArrays({ a: [2, 3, 4, 6], b: [6, 5] }, 18);
    expectSameOnBoth(arrays, ({ a, b }) => [tf.matMul(a, b)], { native: ['BatchMatMul'] });
  });

  test('fused matMul with bias and relu (a Dense layer) and its gradients', () => {
    const arrays = randomArrays({ a: [4, 33], b: [33, 9], bias: [9] }, 19);
    expectSameOnBoth(
      arrays,
      ({ a, b, bias }) => {
        const f = (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
          tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r, activation: 'relu' });
        return [f(a, b, bias), ...tf.grads(f)([a, b, bias])];
      },
      { native: ['_FusedMatMul', 'BatchMatMul'] },
    );
  });

  test('elementwise ops with same-shape, scalar and last-axis broadcasts', () => {
    const arrays = randomArrays({ x: [3, 5, 4, 6], y: [3, 5, 4, 6], c: [6], s: [1], z: [4, 8, 8, 2], d: [2] }, 23);
    expectSameOnBoth(
      arrays,
      ({ x, y, c, s, z, d }) => [
        // a bias over 2 channels (a short period the native loop widens) on a size it divides, and on one it does not
        tf.add(z, d),
        tf.sub(z, d),
        tf.sub(tf.slice(z, [0, 0, 0, 0], [3, 7, 5, 2]), d),
        tf.add(x, y),
        tf.add(c, x),
        tf.sub(x, c),
        tf.sub(1, x),
        tf.mul(x, s),
        tf.mul(c, x),
        tf.div(x, tf.add(y, 3)),
        tf.div(2, tf.add(y, 3)),
        tf.relu(x),
        tf.step(x, 0.25),
        tf.exp(x),
        tf.log(tf.add(x, 2)),
        tf.neg(x),
        tf.square(x),
        tf.sqrt(tf.add(x, 1)),
        tf.sigmoid(tf.mul(x, 30)),
        tf.add(x, tf.reshape(c, [1, 1, 6])),
        tf.grad((v: tf.Tensor) => tf.mul(tf.relu(v), y))(x),
        // one value per innermost run ([..., 1]), as softmax and its gradient broadcast
        tf.sub(x, tf.max(x, -1, true)),
        tf.mul(tf.sum(y, [2, 3], true), x),
        tf.div(x, tf.add(tf.sum(tf.abs(y), -1, true), 1)),
        // outer-product broadcasts the cpu kernel handles
        tf.add(tf.reshape(c, [6, 1]), tf.reshape(c, [1, 6])),
      ],
      {
        native: [
          'Add',
          'Sub',
          'Multiply',
          'RealDiv',
          'Relu',
          'Step',
          'Exp',
          'Log',
          'Neg',
          'Square',
          'Sqrt',
          'Sigmoid',
          'LvsegReluGrad',
          'Max',
          'Sum',
        ],
        // the outer-product broadcast
        fallback: { Add: 1 },
      },
    );
  });

  test('relu and its fused gradient (branch-free masks): NaN, ±0, ±Infinity, and a long odd-length run', () => {
    const special = [NaN, -0, 0, -Infinity, Infinity, -1e-30, 1e-30, -2, 3];
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor1d(special);
        const dy = tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        return [tf.relu(x), tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy)].map((t) => Array.from(t.dataSync()));
      });
    };
    const [relu, grad] = run('onednn');
    expect(relu).toEqual(run('cpu')[0]);
    // x > 0 passes dy, everything else (NaN included, as the native gradient always did) gives +0
    expect(grad).toEqual([0, 0, 0, 0, 5, 0, 7, 0, 9]);
    const arrays = randomArrays({ x: [1, 37, 41, 13], y: [1, 37, 41, 13] }, 31);
    expectSameOnBoth(arrays, ({ x, y }) => [tf.relu(x), tf.grad((v: tf.Tensor) => tf.mul(tf.relu(v), y))(x)], {
      native: ['Relu', 'LvsegReluGrad'],
    });
  });

  // tf.sum(x, [1]) and the 5-D sum reduce middle axes, tf.max(x, 0) leading ones: the cpu kernels do those.
  const SUM_MAX_FALLBACKS = { Sum: 2, Max: 1 };
  test('sum and max over leading, trailing and all axes', () => {
    const arrays = randomArrays({ x: [3, 5, 4, 6] }, 29);
    expectSameOnBoth(
      arrays,
      ({ x }) => [
        tf.sum(x, [0, 1, 2]),
        tf.sum(x, -1),
        tf.sum(x, [2, 3], true),
        tf.sum(x),
        tf.max(x, -1, true),
        tf.max(x),
        tf.sum(x, [1]),
        tf.max(x, 0),
        tf.logSumExp(x, -1, true),
        tf.softmax(x),
        tf.sum(tf.reshape(x, [1, 15, 4, 6]), [1, 2]),
        tf.sum(tf.reshape(x, [3, 5, 1, 4, 6]), [1, 3]),
      ],
      { native: ['Sum', 'Max'], fallback: SUM_MAX_FALLBACKS },
    );
  });
});

// The U-Net's kernels: data movement (its skip concatenations and their SplitV gradient), Tile, Mean
// and batch normalization. Shapes are drawn at random from a fixed seed: ranks 1 to 5, odd sizes, every axis.
const pick = rng(4242);
const int = (lo: number, hi: number) => lo + Math.floor(pick() * (hi - lo + 1));
const randomShape = (rank: number) => Array.from({ length: rank }, () => int(1, 7));

describe.skipIf(!native.ok)('onednn U-Net kernels match the cpu backend', () => {
  test('slice: 40 random windows of ranks 1 to 5, and their gradients', () => {
    const cases = Array.from({ length: 40 }, (_, i) => {
      const shape = randomShape(1 + (i % 5));
      const begin = shape.map((d) => int(0, d - 1));
      const size = shape.map((d, a) => (pick() < 0.3 ? -1 : int(1, d - begin[a])));
      return { shape, begin, size };
    });
    cases.forEach(({ shape, begin, size }, i) => {
      expectSameOnBoth(
        randomArrays({ x: shape }, i),
        ({ x }) => {
          const f = (v: tf.Tensor) => tf.slice(v, begin, size);
          return [f(x), tf.grad(f)(x)];
        },
        { native: ['Slice', 'PadV2'] },
      );
    });
  });

  test('split and concat along every axis of random shapes (the concat gradient is a split), with gradients', () => {
    for (let i = 0; i < 15; i++) {
      const rank = 1 + (i % 5);
      const axis = i % rank;
      const base = randomShape(rank);
      const widths = [int(1, 5), int(1, 5), int(1, 5)].slice(0, 2 + (i % 2));
      const shapes = Object.fromEntries(widths.map((w, k) => [`t${k}`, base.map((d, a) => (a === axis ? w : d))]));
      expectSameOnBoth(
        randomArrays(shapes, 100 + i),
        (t) => {
          const parts = Object.values(t);
          const f = (...xs: tf.Tensor[]) => tf.concat(xs, axis - (i % 2 === 0 ? 0 : rank));
          const joined = f(...parts);
          const weight = tf.mod(tf.reshape(tf.range(0, joined.size), joined.shape), 5);
          return [
            joined,
            ...tf.split(joined, widths, axis),
            ...tf.split(joined, [widths[0], -1], axis),
            ...tf.grads(f)(parts, weight),
          ];
        },
        { native: ['Concat', 'SplitV'] },
      );
    }
  });

  test('the U-Net skip concatenation of NHWC tensors along channels, and its gradient', () => {
    expectSameOnBoth(
      randomArrays({ skip: [2, 9, 7, 5], up: [2, 9, 7, 3] }, 7),
      ({ skip, up }) => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.mul(tf.concat([a, b], -1), tf.range(1, 9));
        return [f(skip, up), ...tf.grads(f)([skip, up])];
      },
      { native: ['Concat', 'SplitV'] },
    );
  });

  test('broadcastTo of per-channel values over NHWC, as the Mean gradient does', () => {
    expectSameOnBoth(
      randomArrays({ c: [1, 1, 1, 7] }, 199),
      ({ c }) => [tf.broadcastTo(c, [3, 5, 9, 7]), tf.broadcastTo(c, [1, 4, 1, 7])],
      { native: ['Tile'] },
    );
  });

  test('tile and broadcastTo with random repeats', () => {
    for (let i = 0; i < 12; i++) {
      const shape = randomShape(1 + (i % 4));
      const reps = shape.map(() => int(1, 3));
      expectSameOnBoth(
        randomArrays({ x: shape }, 200 + i),
        ({ x }) => [
          tf.tile(x, reps),
          tf.broadcastTo(tf.reshape(tf.sum(x, 0), [1, ...shape.slice(1)]), [reps[0] + 1, ...shape.slice(1)]),
        ],
        { native: ['Tile'] },
      );
    }
  });

  test('transpose: random permutations of ranks 1 to 5, and NHWC <-> NCHW', () => {
    for (let i = 0; i < 20; i++) {
      const rank = 1 + (i % 5);
      const shape = randomShape(rank);
      const perm = Array.from({ length: rank }, (_, a) => a).sort(() => pick() - 0.5);
      // tfjs runs no kernel for an identity permutation (rank 1 included)
      const identity = perm.every((p, a) => p === a);
      expectSameOnBoth(randomArrays({ x: shape }, 500 + i), ({ x }) => [tf.transpose(x, perm)], {
        native: identity ? [] : ['Transpose'],
      });
    }
    expectSameOnBoth(
      randomArrays({ x: [2, 5, 7, 3] }, 520),
      ({ x }) => [tf.transpose(x, [0, 3, 1, 2]), tf.transpose(x, [0, 2, 1, 3])],
      { native: ['Transpose'] },
    );
  });

  test('pad with random paddings of ranks 1 to 5 (also the gradient of slice)', () => {
    for (let i = 0; i < 15; i++) {
      const shape = randomShape(1 + (i % 5));
      const paddings = shape.map(() => [int(0, 2), int(0, 2)] as [number, number]);
      expectSameOnBoth(randomArrays({ x: shape }, 300 + i), ({ x }) => [tf.pad(x, paddings, i % 3 === 0 ? 0.5 : 0)], {
        native: ['PadV2'],
      });
    }
  });

  test.each([
    [[1, 4, 5, 3], [8, 10], false],
    [[2, 3, 3, 2], [9, 9], false],
    [[2, 5, 4, 3], [10, 8], true],
    [[1, 7, 6, 1], [7, 13], false],
    [[1, 9, 8, 2], [5, 4], false],
  ] as const)('resizeNearestNeighbor %j to %j (align corners %s) and its gradient', (shape, size, alignCorners) => {
    expectSameOnBoth(
      randomArrays({ x: [...shape] }, 400 + size[0]),
      ({ x }) => {
        const f = (v: tf.Tensor) =>
          tf.mul(tf.image.resizeNearestNeighbor(v as tf.Tensor4D, [...size], alignCorners), tf.range(1, shape[3] + 1));
        return [f(x), tf.grad(f)(x)];
      },
      size[0] < shape[1]
        ? { native: [], fallback: { ResizeNearestNeighborGrad: 1 } }
        : { native: ['ResizeNearestNeighborGrad'] },
    );
  });

  test('mean over leading, trailing and all axes, and its gradient', () => {
    expectSameOnBoth(
      randomArrays({ x: [3, 5, 4, 6] }, 31),
      ({ x }) => {
        const means = (v: tf.Tensor) => [
          tf.mean(v, [0, 1, 2]),
          tf.mean(v, -1, true),
          tf.mean(v),
          tf.mean(v, [1]),
          tf.mean(v, [0, 1, 2], true),
        ];
        const weighted = (v: tf.Tensor) =>
          tf.addN(means(v).map((m, k) => tf.sum(tf.mul(m, tf.add(tf.reshape(tf.range(0, m.size), m.shape), k)))));
        return [...means(x), tf.grad(weighted)(x)];
      },
      {
        native: ['Mean', 'Tile'],
        // tf.mean(v, [1]) reduces a middle axis, forward and in the gradient; the scaffolding sums a scalar
        fallback: { Mean: 2, Sum: 1 },
      },
    );
  });

  test('batch normalization forward and gradients, with per-channel, scalar and missing parameters', () => {
    const arrays = randomArrays(
      { x: [2, 7, 5, 6], mean: [6], variance: [6], scale: [6], offset: [6], dy: [2, 7, 5, 6] },
      37,
    );
    expectSameOnBoth(
      arrays,
      ({ x, mean, variance, scale, offset, dy }) => {
        const v = tf.add(tf.abs(variance), 0.1);
        const f = (a: tf.Tensor, m: tf.Tensor, s: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.batchNorm(a as tf.Tensor4D, m, s, b, g, 0.001);
        return [
          f(x, mean, v, scale, offset),
          ...tf.grads(f)([x, mean, v, scale, offset], dy),
          tf.batchNorm(x, mean, v),
          tf.batchNorm(x, tf.scalar(0.1), tf.scalar(2), tf.scalar(0.5), tf.scalar(2)),
        ];
      },
      { native: ['FusedBatchNorm', 'LvsegBatchNormGrad'] },
    );
  });

  test('batch normalization in training (moments of the batch), gradients through the moments', () => {
    const arrays = randomArrays({ x: [3, 6, 5, 4], scale: [4], offset: [4], dy: [3, 6, 5, 4] }, 41);
    expectSameOnBoth(
      arrays,
      ({ x, scale, offset, dy }) => {
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          return tf.batchNorm(a as tf.Tensor4D, mean, variance, b, g, 0.001);
        };
        return [f(x, scale, offset), ...tf.grads(f)([x, scale, offset], dy)];
      },
      { native: ['FusedBatchNorm', 'LvsegBatchNormGrad', 'Mean'] },
    );
  });
});

// The native convolution reorders a filter into oneDNN's layout once while its values stay the same
// (onednn/kernel.ts `valuesToken`). Every way a filter's buffer can change must reorder it again.
describe.skipIf(!native.ok)('onednn convolution filters that change', () => {
  // 16 → 24 channels: oneDNN's own path, which reorders the filter; 64 → 64: Winograd, which transforms it
  describe.each([
    ['oneDNN', { x: [1, 9, 9, 16], w: [3, 3, 16, 24] }],
    ['Winograd', { x: [2, 20, 20, 128], w: [3, 3, 128, 128] }],
  ])('%s', (_, shapes) => {
    const conv = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    const onCpu = (x: Float32Array, w: Float32Array): Float32Array =>
      runOn('cpu', { x: { shape: shapes.x, data: x }, w: { shape: shapes.w, data: w } }, (t) => [conv(t.x!, t.w!)])[0]!;
    // the file's tolerance: 1e-4 of the largest reference magnitude
    const close = (a: Float32Array, b: Float32Array) =>
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThanOrEqual(
        1e-4 * Math.max(1, ...b.map(Math.abs)),
      );

    test('a filter updated in place by the optimizer, and a pooled buffer that holds another filter', async () => {
      const { x, w } = randomArrays(shapes, 53);
      const { createOptimizer } = await import('../../src/backends/optimizers.js');
      tf.setBackend('onednn');
      const xt = tf.tensor(x!.data, x!.shape);
      const variable = tf.variable(tf.tensor(w!.data, w!.shape));
      const sgd = createOptimizer('sgd', 0.5);
      for (let step = 0; step < 3; step++) {
        // the same filter twice (the second call skips the reorder), then one in-place update
        const first = tf.tidy(() => conv(xt, variable).dataSync() as Float32Array);
        const again = tf.tidy(() => conv(xt, variable).dataSync() as Float32Array);
        const now = (variable.dataSync() as Float32Array).slice();
        tf.setBackend('cpu');
        const expected = onCpu(x!.data, now);
        tf.setBackend('onednn');
        close(first, expected);
        close(again, expected);
        tf.tidy(() => {
          sgd.minimize(() => tf.mean(tf.square(conv(xt, variable))) as tf.Scalar);
        });
      }
      // Filters made by a native kernel come from the pool: a disposed one's buffer holds the next.
      for (const offset of [0, 0.25, -0.5]) {
        const got = tf.tidy(() => conv(xt, tf.add(variable, offset)).dataSync() as Float32Array);
        const shifted = (variable.dataSync() as Float32Array).map((v) => v + offset);
        tf.setBackend('cpu');
        const expected = onCpu(x!.data, shifted);
        tf.setBackend('onednn');
        close(got, expected);
      }
      tf.dispose([xt, variable]);
      sgd.dispose();
    });
  });
});
