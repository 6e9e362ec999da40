/**
 * The wasm backend's Winograd F(4x4, 3x3) convolution (src/backends/wasm-winograd.ts) against the
 * TensorFlow.js cpu backend: same, valid and explicit padding, odd sizes, batches, more tiles than one
 * block, bias and relu. The kernel under test is called with a fallback that throws, so a case it would
 * hand to XNNPACK fails instead of passing unnoticed. Tolerance: max |wasm - cpu| <= 5e-5 * max |cpu|
 * (F(4x4, 3x3) rounds a few times more than direct convolution: ~1e-5 for 256 channels).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Conv2D, getKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from '../../src/backends/wasm-kernels.js';
import { winogradApplies, withWinograd } from '../../src/backends/wasm-winograd.js';
import { WASM_SIMD_BASE64 } from '../../src/backends/wasm-simd-module.js';
import { createRng } from '../../src/data/random.js';

const TOLERANCE = 5e-5;
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function randomTensor(shape: number[], seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

const refuse: KernelFunc = () => {
  throw new Error('handed to the fallback');
};

/** The Winograd kernel's output on wasm (never the fallback), and the cpu backend's, as arrays. */
function both(xShape: number[], k: number, pad: Pad, bias: boolean, relu: boolean): [Float32Array, Float32Array] {
  const c = xShape[3]!;
  const xs = randomTensor(xShape, 1);
  const ws = randomTensor([3, 3, c, k], 2);
  const bs = randomTensor([k], 3);
  tf.setBackend('wasm');
  const winograd = withWinograd(refuse);
  const got = tf.tidy(() => {
    const inputs: Record<string, TensorInfo> = {
      x: tf.tensor4d(xs, xShape as never),
      filter: tf.tensor4d(ws, [3, 3, c, k]),
    };
    if (bias) inputs.bias = tf.tensor1d(bs);
    const attrs = { strides: 1, pad, dilations: 1, dataFormat: 'NHWC', activation: relu ? 'relu' : 'linear' };
    const out = winograd({ inputs, attrs: attrs as unknown as NamedAttrMap, backend: tf.backend() }) as TensorInfo;
    return tf.engine().makeTensorFromTensorInfo(out).dataSync() as Float32Array;
  });
  tf.setBackend('cpu');
  const want = tf.tidy(() => {
    const x = tf.tensor4d(xs, xShape as never);
    const filter = tf.tensor4d(ws, [3, 3, c, k]);
    const y = tf.fused.conv2d({
      x,
      filter,
      strides: 1,
      pad,
      ...(bias ? { bias: tf.tensor1d(bs) } : {}),
      activation: relu ? 'relu' : 'linear',
    });
    return y.dataSync() as Float32Array;
  });
  return [got, want];
}

function maxError(got: Float32Array, want: Float32Array): { error: number; scale: number } {
  let error = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    error = Math.max(error, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return { error, scale };
}

describe('wasm Winograd F(4x4, 3x3) convolution', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    await tf.ready();
  });
  afterAll(() => {
    tf.setBackend('cpu');
  });

  const cases: Array<[string, number[], number, Pad, boolean, boolean]> = [
    ['same, odd sizes, batch 2', [2, 9, 7, 4], 8, 'same', false, false],
    ['valid', [1, 8, 10, 8], 16, 'valid', true, false],
    [
      'explicit padding, bias and relu',
      [3, 5, 6, 12],
      8,
      [
        [0, 0],
        [2, 0],
        [0, 1],
        [0, 0],
      ],
      true,
      true,
    ],
    ['one pixel', [1, 1, 1, 4], 8, 'same', true, true],
    // 1024 / 16 = 64 tiles a block: 2 x 8 x 9 tiles span three blocks, the last one partial.
    ['several blocks', [2, 31, 33, 16], 16, 'same', true, true],
    ['wide channels', [1, 6, 6, 64], 40, 'same', true, false],
    // K = 4 mod 8: the last 4 output channels take the 4-wide product (the lab FCN's 300-filter layers)
    ['4 filters', [2, 7, 5, 8], 4, 'same', true, false],
    ['12 filters', [1, 9, 9, 4], 12, 'valid', false, true],
    ['the lab FCN conv4 shape', [1, 16, 16, 300], 300, 'same', true, true],
  ];
  for (const [name, xShape, k, pad, bias, relu] of cases) {
    it(`${name}: x ${xShape.join('x')}, ${k} filters`, () => {
      const [got, want] = both(xShape, k, pad, bias, relu);
      expect(got.length).toBe(want.length);
      const { error, scale } = maxError(got, want);
      expect(scale).toBeGreaterThan(0.5);
      expect(error).toBeLessThanOrEqual(TOLERANCE * scale);
    });
  }

  it('leaves other convolutions to the fallback', () => {
    const base = { strides: 1, dilations: 1, dataFormat: 'NHWC' as const };
    expect(winogradApplies([1, 8, 8, 4], [3, 3, 4, 8], base)).toBe(true);
    expect(winogradApplies([1, 8, 8, 4], [3, 3, 4, 8], { ...base, activation: 'relu' })).toBe(true);
    expect(winogradApplies([1, 8, 8, 1], [3, 3, 1, 8], base)).toBe(false); // 1 channel in
    expect(winogradApplies([1, 8, 8, 4], [3, 3, 4, 4], base)).toBe(true); // 4 out: the 4-wide tail
    expect(winogradApplies([1, 8, 8, 4], [3, 3, 4, 6], base)).toBe(false); // 6 out
    expect(winogradApplies([1, 8, 8, 4], [5, 5, 4, 8], base)).toBe(false);
    expect(winogradApplies([1, 8, 8, 4], [3, 3, 4, 8], { ...base, strides: 2 })).toBe(false);
    expect(winogradApplies([1, 8, 8, 4], [3, 3, 4, 8], { ...base, dilations: [2, 2] })).toBe(false);
    expect(winogradApplies([1, 4, 8, 8], [3, 3, 4, 8], { ...base, dataFormat: 'NCHW' })).toBe(false);
    expect(winogradApplies([1, 8, 8, 4], [3, 3, 4, 8], { ...base, activation: 'elu' })).toBe(false);
  });

  it('is what the registered Conv2D runs, and conv2d on wasm matches cpu through it', () => {
    expect(getKernel(Conv2D, 'wasm')).toBeDefined();
    const xs = randomTensor([2, 16, 16, 8], 4);
    const ws = randomTensor([3, 3, 8, 16], 5);
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() =>
        tf.conv2d(tf.tensor4d(xs, [2, 16, 16, 8]), tf.tensor4d(ws, [3, 3, 8, 16]), 1, 'same').dataSync(),
      );
    };
    const got = run('wasm') as Float32Array;
    const want = run('cpu') as Float32Array;
    const { error, scale } = maxError(got, want);
    expect(error).toBeLessThanOrEqual(TOLERANCE * scale);
  });

  it('writes nothing to the heap it shares: no data section, memory imported', () => {
    const bytes = Buffer.from(WASM_SIMD_BASE64, 'base64');
    const module = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(
      WebAssembly.Module.exports(module)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['copy_rows', 'wino_conv', 'wino_filter']);
    // Section ids after the 8-byte header: 11 is the data section.
    const ids: number[] = [];
    for (let at = 8; at < bytes.length; ) {
      ids.push(bytes[at]!);
      let size = 0;
      let shift = 0;
      let byte: number;
      at++;
      do {
        byte = bytes[at++]!;
        size |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte & 0x80);
      at += size;
    }
    expect(ids).toContain(10); // code
    expect(ids).not.toContain(11);
  });

  it('is the build of native/wasm/kernels.c', (context) => {
    try {
      execFileSync('clang-14', ['--version']);
    } catch {
      console.warn('skipped: clang-14 is not installed (apt-get install clang-14 lld-14 to rebuild the module)');
      context.skip();
    }
    const built = execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--print'], { encoding: 'utf8' });
    expect(built.trim()).toBe(WASM_SIMD_BASE64);
  });
});
