import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { ADDON_PATH, loadNativeAddon } from '../../src/backends/native-addon.js';
import { BinaryOp, CopyDim, MatMulDim, UnaryOp, packDims } from '../../src/backends/onednn/contract.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

// The addon defends itself: what TypeScript never passes (wrong kinds, lengths that disagree with the
// dims, zero divisors, op codes out of range, copies past a buffer) is a JavaScript error, not a crash.
const { addon, reason } = loadNativeAddon();
if (!addon) console.warn(`[native addon tests skipped] ${reason}; build it with 'npm run setup'`);

const matMulDims = (batch: number, m: number, k: number, n: number) =>
  packDims(MatMulDim, { Batch: batch, M: m, K: k, N: n, TransposeA: 0, TransposeB: 0, BatchB: batch });

describe.skipIf(!addon)('the native addon checks its arguments', () => {
  test('random shapes, lengths, kinds and op codes on every entry point give JavaScript errors, never a crash', () => {
    // A child process, so a segfault or an abort fails this test instead of ending vitest.
    const child = spawnSync(
      process.execPath,
      [join(PACKAGE_ROOT, 'test', 'backends', 'native-fuzz-child.mjs'), ADDON_PATH, '2026', '1500'],
      { encoding: 'utf8', timeout: 240_000, env: { ...process.env, OMP_WAIT_POLICY: 'passive' } },
    );
    expect(child.signal, child.stderr).toBeNull();
    expect(child.status, child.stderr).toBe(0);
    const summary = JSON.parse(child.stdout) as Record<
      string,
      { accepted: number; rejected: number; validRejected: string[] }
    >;
    expect(Object.keys(summary).sort()).toEqual(
      Object.keys(addon!)
        .filter((k) => !['cachedPrimitives', 'cpuInfo'].includes(k)) /* queries without arguments */
        .sort(),
    );
    for (const [entry, stats] of Object.entries(summary)) {
      // Both outcomes happened, and consistent arguments always ran.
      expect(stats.accepted, entry).toBeGreaterThan(100);
      expect(stats.rejected, entry).toBeGreaterThan(100);
      expect(stats.validRejected, entry).toEqual([]);
    }
  });

  test('lengths that disagree with the dims, and a wrong kind, are errors naming the function', () => {
    const a = new Float32Array(6),
      b = new Float32Array(12),
      c = new Float32Array(8);
    expect(() => addon!.matMul(a, b, null, c, matMulDims(1, 2, 3, 4), false)).not.toThrow();
    expect(() => addon!.matMul(a, b, null, new Float32Array(7), matMulDims(1, 2, 3, 4), false)).toThrow(
      /lvseg native matMul: c holds 7 values, the dims say 8/,
    );
    expect(() => addon!.matMul(a, b, null, c, matMulDims(2, 2, 3, 4), false)).toThrow(RangeError);
    expect(() => addon!.matMul(a, b, null, c, new Int32Array(3), false)).toThrow(/must hold 7 dims/);
    expect(() => addon!.sgd(new Float32Array(4), new Float32Array(3), 0.1)).toThrow(
      /sgd: gradient holds 3 values, the dims say 4/,
    );
    expect(() =>
      addon!.unary(UnaryOp.Relu, new Float32Array(4), new Float64Array(4) as unknown as Float32Array, 0),
    ).toThrow(TypeError);
  });

  test('op codes out of range and zero divisors are refused', () => {
    const x = new Float32Array(4);
    expect(() => addon!.binary(BinaryOp.Count as never, x, x, x, false, false)).toThrow(/op code 5 is not one of 0..4/);
    expect(() => addon!.unary(-1 as never, x, x, 0)).toThrow(RangeError);
    expect(() => addon!.binary(BinaryOp.Add, x, new Float32Array(0), x, false, false)).toThrow(
      /b's length must divide out's/,
    );
    expect(() => addon!.sumLeading(x, new Float32Array(0))).toThrow(RangeError);
    expect(() => addon!.reduceInner(0, new Float32Array(0), new Float32Array(2))).toThrow(RangeError);
    expect(() => addon!.softmaxCrossEntropy(x, new Int32Array(0), x)).toThrow(RangeError);
    expect(() => addon!.channelAffine(x, new Float32Array(0), new Float32Array(0), new Float32Array(0), x)).toThrow(
      RangeError,
    );
  });

  test('copyRows refuses rows past either buffer and overlapping views, and copies the rest', () => {
    const dims = (rows: number, run: number, srcStride: number, dstStride: number) =>
      packDims(CopyDim, { Rows: rows, Run: run, SrcStride: srcStride, DstStride: dstStride });
    const src = Float32Array.from({ length: 10 }, (_, i) => i),
      dst = new Float32Array(6);
    addon!.copyRows(src, dst, dims(3, 2, 4, 2));
    expect(Array.from(dst)).toEqual([0, 1, 4, 5, 8, 9]);
    expect(() => addon!.copyRows(src, dst, dims(3, 2, 5, 2))).toThrow(/reach past the end of src/);
    expect(() => addon!.copyRows(src, dst, dims(3, 3, 3, 3))).toThrow(/reach past the end of dst/);
    expect(() => addon!.copyRows(src.subarray(0, 4), src.subarray(2, 6), dims(1, 4, 4, 4))).toThrow(/overlap/);
  });

  test('each primitive cache keeps at most 64 shapes, and an evicted shape is rebuilt correctly', () => {
    const before = addon!.cachedPrimitives();
    const run = (m: number) => {
      const a = Float32Array.from({ length: m * 2 }, (_, i) => i % 3),
        b = Float32Array.of(1, 2, 3, 4, 5, 6),
        c = new Float32Array(m * 3);
      addon!.matMul(a, b, null, c, matMulDims(1, m, 2, 3), false);
      return c;
    };
    for (let m = 1; m <= 150; m++) run(m);
    const after = addon!.cachedPrimitives();
    expect(after - before).toBeLessThanOrEqual(64);
    expect(after).toBeGreaterThanOrEqual(64);
    // m = 1 was evicted long ago: row 0 of a is [0, 1], so c = [0*1 + 1*4, 0*2 + 1*5, 0*3 + 1*6]
    expect(Array.from(run(1))).toEqual([4, 5, 6]);
  });

  test('worker threads share the addon: kernels from two threads at once give the right results', async () => {
    // Each thread multiplies its own matrices 200 times; the addon runs one kernel at a time.
    const code =
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.path);
      const a = Float32Array.from({ length: 64 * 32 }, (_, i) => (i % 7) - 3), b = Float32Array.from({ length: 32 * ` +
      `16 }, (_, i) => (i % 5) - 2);
      let c;
      for (let r = 0; r < 200; r++) { c = new Float32Array(64 * 16); addon.matMul(a, b, null, c, Int32Array.of(1, ` +
      `64, 32, 16, 0, 0, 1), false); }
      parentPort.postMessage(Array.from(c));`;
    const worker = new Worker(code, { eval: true, workerData: { path: ADDON_PATH } });
    const fromWorker = new Promise<number[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const a = Float32Array.from({ length: 64 * 32 }, (_, i) => (i % 7) - 3),
      b = Float32Array.from({ length: 32 * 16 }, (_, i) => (i % 5) - 2);
    const expected = new Float32Array(64 * 16);
    for (let i = 0; i < 64; i++)
      for (let j = 0; j < 16; j++) for (let k = 0; k < 32; k++) expected[i * 16 + j] += a[i * 32 + k] * b[k * 16 + j];
    let mine = new Float32Array(0);
    for (let r = 0; r < 200; r++) {
      mine = new Float32Array(64 * 16);
      addon!.matMul(a, b, null, mine, matMulDims(1, 64, 32, 16), false);
    }
    expect(Array.from(mine)).toEqual(Array.from(expected));
    expect(await fromWorker).toEqual(Array.from(expected));
    await worker.terminate();
  });
});
