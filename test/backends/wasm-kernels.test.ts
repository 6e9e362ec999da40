/**
 * lvseg's wasm Conv2DBackpropInput / Conv2DBackpropFilter against the TensorFlow.js cpu backend, on
 * randomised shapes (strides 1, 2, 16; kernels 1..31; same and valid; batch 1..4; odd sizes), for the
 * forward of conv2dTranspose and every gradient of conv2d and conv2dTranspose.
 * Tolerance: max |wasm - cpu| <= 1e-4 * max |cpu| (float32; XNNPACK sums in another order).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/backends/wasm-kernels.js';
import { createRng } from '../../src/data/random.js';

const TOLERANCE = 1e-4;

/** Uniform [0, 1) draws from the data layer's seeded generator. */
function seededUniform(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.next();
}

function randomArray(size: number, rng: () => number): Float32Array {
  return Float32Array.from({ length: size }, () => rng() * 2 - 1);
}

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  pad: 'same' | 'valid';
}

function describeCase(c: ConvCase): string {
  return (
    `x ${c.batch}x${c.height}x${c.width}x${c.inChannels}, k ${c.kernelH}x${c.kernelW}x${c.outChannels}, s ` +
    `${c.stride}, ${c.pad}`
  );
}

function randomCase(rng: () => number): ConvCase {
  const pick = <T>(values: T[]): T => values[Math.floor(rng() * values.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  const stride = pick([1, 2, 16]);
  const kernelH = pick([1, 2, 3, 4, 5, 7, int(1, 31), 31]);
  const kernelW = rng() < 0.7 ? kernelH : int(1, Math.min(31, kernelH + 4));
  const pad = pick<'same' | 'valid'>(['same', 'valid']);
  // Keep the cpu backend's work small: strided-16 cases use few channels.
  const size = (k: number): number => (k + int(0, stride === 16 ? 24 : 9)) | 1; // odd sizes, >= k
  const big = stride === 16 || Math.max(kernelH, kernelW) > 7;
  return {
    batch: int(1, big ? 2 : 4),
    height: size(kernelH),
    width: size(kernelW),
    inChannels: int(1, big ? 2 : 6),
    outChannels: int(1, big ? 2 : 6),
    kernelH,
    kernelW,
    stride,
    pad,
  };
}

/** The FCN's own layer shapes, with fewer channels. */
const FCN_CASES: ConvCase[] = [
  { batch: 1, height: 64, width: 64, inChannels: 1, outChannels: 4, kernelH: 5, kernelW: 5, stride: 2, pad: 'same' },
  { batch: 2, height: 16, width: 16, inChannels: 5, outChannels: 6, kernelH: 5, kernelW: 5, stride: 2, pad: 'same' },
  { batch: 2, height: 8, width: 8, inChannels: 6, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, pad: 'same' },
  {
    batch: 1,
    height: 128,
    width: 128,
    inChannels: 2,
    outChannels: 2,
    kernelH: 31,
    kernelW: 31,
    stride: 16,
    pad: 'same',
  },
];

interface Results {
  transposeForward: Float32Array;
  convGrads: Float32Array[];
  transposeGrads: Float32Array[];
}

async function runCase(backend: string, c: ConvCase, seed: number): Promise<Results> {
  await tf.setBackend(backend);
  const rng = seededUniform(seed);
  const xShape: [number, number, number, number] = [c.batch, c.height, c.width, c.inChannels];
  const wShape: [number, number, number, number] = [c.kernelH, c.kernelW, c.inChannels, c.outChannels];
  const x = tf.tensor4d(
    randomArray(
      xShape.reduce((a, b) => a * b),
      rng,
    ),
    xShape,
  );
  const w = tf.tensor4d(
    randomArray(
      wShape.reduce((a, b) => a * b),
      rng,
    ),
    wShape,
  );
  const yShape = tf.conv2d(x, w, c.stride, c.pad).shape;
  const dy = tf.tensor4d(
    randomArray(
      yShape.reduce((a, b) => a * b),
      rng,
    ),
    yShape,
  );
  const r = tf.tensor4d(
    randomArray(
      xShape.reduce((a, b) => a * b),
      rng,
    ),
    xShape,
  );

  const transposeForward = tf.conv2dTranspose(dy, w, xShape, c.stride, c.pad);
  // Gradients of conv2d (Conv2DBackpropInput, Conv2DBackpropFilter) and of conv2dTranspose (Conv2D,
  // Conv2DBackpropFilter).
  const convGrads = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, c.stride, c.pad), dy)),
  )([x, w]);
  const transposeGrads = tf.grads((dyi: tf.Tensor, wi: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2dTranspose(dyi as tf.Tensor4D, wi as tf.Tensor4D, xShape, c.stride, c.pad), r)),
  )([dy, w]);
  const out: Results = {
    transposeForward: (await transposeForward.data()) as Float32Array,
    convGrads: (await Promise.all(convGrads.map((g) => g.data()))) as Float32Array[],
    transposeGrads: (await Promise.all(transposeGrads.map((g) => g.data()))) as Float32Array[],
  };
  tf.dispose([x, w, dy, r, transposeForward, ...convGrads, ...transposeGrads]);
  return out;
}

/** max |a - b| / max |b| (0 when b is all zeros and a equals it). */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

async function expectCaseMatchesCpu(c: ConvCase, seed: number): Promise<void> {
  const cpu = await runCase('cpu', c, seed);
  const wasm = await runCase('wasm', c, seed);
  const label = describeCase(c);
  expect(relativeError(wasm.transposeForward, cpu.transposeForward), `${label}: conv2dTranspose`).toBeLessThan(
    TOLERANCE,
  );
  expect(relativeError(wasm.convGrads[0]!, cpu.convGrads[0]!), `${label}: conv2d dx`).toBeLessThan(TOLERANCE);
  expect(relativeError(wasm.convGrads[1]!, cpu.convGrads[1]!), `${label}: conv2d dw`).toBeLessThan(TOLERANCE);
  expect(
    relativeError(wasm.transposeGrads[0]!, cpu.transposeGrads[0]!),
    `${label}: conv2dTranspose d input`,
  ).toBeLessThan(TOLERANCE);
  expect(relativeError(wasm.transposeGrads[1]!, cpu.transposeGrads[1]!), `${label}: conv2dTranspose dw`).toBeLessThan(
    TOLERANCE,
  );
}

describe('wasm training kernels match the cpu backend', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels();
  });

  it.each(FCN_CASES.map((c, i) => [describeCase(c), c, i] as const))(
    'on the FCN layer shape %s',
    async (_label, c, i) => {
      await expectCaseMatchesCpu(c, 100 + i);
    },
  );

  it('on 20 randomised shapes (strides 1, 2, 16; kernels 1..31; same and valid; batch 1..4)', async () => {
    const rng = seededUniform(2024);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const c = randomCase(rng);
      seen.add(`${c.stride}/${c.pad}`);
      await expectCaseMatchesCpu(c, 1000 + i);
    }
    // Every stride/padding combination was exercised.
    expect(seen.size).toBe(6);
  });

  it('sends every max-pool gradient to the first maximum of its window, as the cpu backend does', async () => {
    const cases: Array<{
      shape: [number, number, number, number];
      size: number;
      stride: number;
      pad: 'same' | 'valid';
    }> = [
      { shape: [1, 9, 7, 3], size: 2, stride: 2, pad: 'same' },
      { shape: [2, 8, 8, 5], size: 2, stride: 2, pad: 'valid' },
      { shape: [3, 11, 10, 2], size: 3, stride: 2, pad: 'same' },
      { shape: [1, 6, 9, 4], size: 3, stride: 1, pad: 'same' },
      { shape: [2, 13, 5, 1], size: 4, stride: 3, pad: 'valid' },
    ];
    for (const [i, c] of cases.entries()) {
      const run = async (backend: string): Promise<Float32Array> => {
        await tf.setBackend(backend);
        const rng = seededUniform(300 + i);
        // Relu zeros (tied maxima) in even cases, all-negative windows in odd ones: wasm's own
        // MaxPoolGrad loses the gradient of both.
        const raw = tf.tensor4d(
          randomArray(
            c.shape.reduce((a, b) => a * b),
            rng,
          ),
          c.shape,
        );
        const x = i % 2 === 0 ? tf.relu(raw) : tf.sub(raw, 2);
        const grad = tf.grad((xi: tf.Tensor) =>
          tf.sum(tf.mul(tf.maxPool(xi as tf.Tensor4D, c.size, c.stride, c.pad), tf.scalar(1.5))),
        )(x);
        const out = (await grad.data()) as Float32Array;
        tf.dispose([raw, x, grad]);
        return out;
      };
      const cpu = await run('cpu');
      const wasm = await run('wasm');
      expect(Array.from(wasm), `maxPool ${JSON.stringify(c)}`).toEqual(Array.from(cpu));
    }
  });

  it('handles NCHW data the same as the cpu backend', async () => {
    const run = async (backend: string): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const rng = seededUniform(7);
      const x = tf.tensor4d(randomArray(2 * 3 * 11 * 9, rng), [2, 3, 11, 9]);
      const w = tf.tensor4d(randomArray(3 * 3 * 3 * 4, rng), [3, 3, 3, 4]);
      const dy = tf.tensor4d(randomArray(2 * 4 * 6 * 5, rng), [2, 4, 6, 5]);
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW' };
      const dx = tf
        .engine()
        .runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: [2, 3, 11, 9] }) as tf.Tensor;
      const dw = tf
        .engine()
        .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 3, 4] }) as tf.Tensor;
      const out = [(await dx.data()) as Float32Array, (await dw.data()) as Float32Array];
      tf.dispose([x, w, dy, dx, dw]);
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(TOLERANCE);
    expect(relativeError(wasm[1]!, cpu[1]!)).toBeLessThan(TOLERANCE);
  });

  it('registers idempotently and keeps wasm Slice exact on int32 and bool tensors', async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    const ints = tf.tensor3d(
      Int32Array.from({ length: 2 * 3 * 4 }, (_, i) => i),
      [2, 3, 4],
      'int32',
    );
    expect(Array.from(await tf.slice(ints, [1, 1, 1], [1, 2, 2]).data())).toEqual([17, 18, 21, 22]);
    const bools = tf.tensor1d([true, false, true, true], 'bool');
    expect(Array.from(await tf.slice(bools, [1], [2]).data())).toEqual([0, 1]);
    const [a, b] = tf.split(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), [1, 2], 1);
    expect(Array.from(await a!.data())).toEqual([1, 4]);
    expect(Array.from(await b!.data())).toEqual([2, 3, 5, 6]);
  });
});
