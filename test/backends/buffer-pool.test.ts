import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, test } from 'vitest';
import { BufferPool } from '../../src/backends/buffer-pool.js';
import { onednnPooledBytes, registerOnednnBackend } from '../../src/backends/onednn/index.js';

describe('BufferPool', () => {
  test('a released buffer is handed out again for the same size, and only for that size', () => {
    const pool = new BufferPool(1 << 20, 16);
    const a = pool.take(1000);
    pool.release(a);
    expect(pool.bytes).toBe(4000);
    expect(pool.take(999)).not.toBe(a);
    expect(pool.take(1000)).toBe(a);
    expect(pool.bytes).toBe(0);
  });

  test('an exposed buffer, a foreign one, a small one or one past the byte limit is never kept', () => {
    const pool = new BufferPool(8000, 16);
    const exposed = pool.take(100);
    pool.expose(exposed);
    pool.release(exposed);
    pool.release(new Float32Array(100));
    pool.release(pool.take(8));
    expect(pool.bytes).toBe(0);
    const [first, second, third] = [pool.take(1000), pool.take(1000), pool.take(1000)];
    pool.release(first);
    pool.release(second);
    pool.release(third);
    expect(pool.bytes).toBe(8000);
    // Released twice: the second release must not put the buffer in the free list again.
    pool.release(first);
    expect(pool.bytes).toBe(8000);
  });

  test('a full pool gives up its oldest free buffers for a new release', () => {
    const pool = new BufferPool(8000, 16);
    const [big, small, newest] = [pool.take(1500), pool.take(500), pool.take(1000)];
    pool.release(big);
    pool.release(small);
    expect(pool.bytes).toBe(8000);
    // 4000 more bytes: the oldest (big, 6000) goes; small stays
    pool.release(newest);
    expect(pool.bytes).toBe(6000);
    expect(pool.take(1000)).toBe(newest);
    expect(pool.take(500)).toBe(small);
    expect(pool.take(1500)).not.toBe(big);
    // a buffer larger than the whole pool is not kept, and takes nothing out
    pool.release(pool.take(100));
    pool.release(pool.take(3000));
    expect(pool.bytes).toBe(400);
  });
});

const native = registerOnednnBackend();
if (!native.ok) console.warn(`[onednn buffer pool tests skipped] ${native.reason}; build it with 'npm run setup'`);

describe.skipIf(!native.ok)('the onednn backend recycles kernel outputs safely', () => {
  const size = 4096;
  const ramp = (offset: number) => tf.tensor1d(Float32Array.from({ length: size }, (_, i) => i + offset));

  test('a disposed native output is reused by the next native output of its size', async () => {
    await tf.setBackend('onednn');
    const x = ramp(0);
    const before = onednnPooledBytes();
    tf.relu(x).dispose();
    expect(onednnPooledBytes()).toBe(before + size * 4);
    const y = tf.relu(x);
    expect(onednnPooledBytes()).toBe(before);
    tf.dispose([x, y]);
  });

  test('values read out keep their contents after the tensor is disposed and its size is computed again', async () => {
    await tf.setBackend('onednn');
    const x = ramp(1);
    const y = tf.relu(x);
    const read = y.dataSync();
    y.dispose();
    const z = tf.neg(x);
    expect(read[0]).toBe(1);
    expect(read[size - 1]).toBe(size);
    expect(z.dataSync()[0]).toBe(-1);
    tf.dispose([x, z]);
  });

  // Each view is taken from an output that nothing else holds; after it is disposed, outputs of its size
  // would take its buffer if it had been recycled.
  const viewOf = async (view: (y: tf.Tensor) => tf.Tensor, firstValues: number[]) => {
    await tf.setBackend('onednn');
    const x = ramp(5);
    const y = tf.relu(x);
    const v = tf.tidy(() => view(y));
    y.dispose();
    const others = [tf.neg(x), tf.exp(tf.neg(x))];
    expect(Array.from(v.dataSync().slice(0, firstValues.length))).toEqual(firstValues);
    tf.dispose([x, v, ...others]);
  };

  test('a contiguous slice (a view of the buffer) outlives the tensor it views', async () => {
    await viewOf((y) => tf.slice(y, [size / 4], [size / 2]), [5 + size / 4, 6 + size / 4]);
  });

  test('so does a view made by a cpu kernel (a strided slice)', async () => {
    await viewOf(
      (y) => tf.stridedSlice(tf.reshape(y, [2, size / 2]), [1, 0], [2, size / 2], [1, 1]),
      [5 + size / 2, 6 + size / 2],
    );
  });
});
