import { describe, expect, it } from 'vitest';
import { Dataset, generatePhantom, splitSamples, syntheticSource } from '../../src/data/index.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('Dataset', () => {
  it('shuffles reproducibly for a seed, differently per epoch, as a permutation', async () => {
    const ds = Dataset.from(range(50)).shuffle(50, 3);
    const e0 = await collect(ds.iterate(0));
    expect(await collect(Dataset.from(range(50)).shuffle(50, 3).iterate(0))).toEqual(e0);
    expect([...e0].sort((a, b) => a - b)).toEqual(range(50));
    expect(e0).not.toEqual(range(50));
    const e1 = await collect(ds.iterate(1));
    expect(e1).not.toEqual(e0);
    expect(await collect(Dataset.from(range(50)).shuffle(50, 4).iterate(0))).not.toEqual(e0);
    // iterating the dataset itself walks epochs 0, 1, ...
    expect(await collect(ds)).toEqual(e0);
    expect(await collect(ds)).toEqual(e1);
  });

  it('keeps a small shuffle buffer local, as tf.data does', async () => {
    const out = await collect(Dataset.from(range(100)).shuffle(2, 1).iterate(0));
    // with a buffer of 2, element i can come out at position i+1 at the latest
    out.forEach((v, pos) => {
      expect(v).toBeLessThanOrEqual(pos + 1);
    });
    expect([...out].sort((a, b) => a - b)).toEqual(range(100));
  });

  it('a shuffle buffer of 1 keeps the order; a bounded buffer only moves items a little forward', async () => {
    expect(await collect(Dataset.from(range(5)).shuffle(1, 3).iterate(0))).toEqual(range(5));
    const order = await collect(Dataset.from(range(50)).shuffle(10, 7).iterate(0));
    expect([...order].sort((a, b) => a - b)).toEqual(range(50));
    // item k cannot come out before position k - 9
    order.forEach((item, pos) => {
      expect(item).toBeLessThanOrEqual(pos + 9);
    });
  });

  it('resuming a repeated shuffle with skip(position) gives the same elements as never stopping', async () => {
    // training's stream: 13 samples, buffer 10, reshuffled per pass; 17 drawn before the "checkpoint"
    const stream = (): Dataset<number> => Dataset.from(range(13)).shuffle(10, 42).repeat();
    const straight = await collect(stream().take(40).iterate(0));
    const head = await collect(stream().take(17).iterate(0));
    const tail = await collect(stream().skip(17).take(23).iterate(0));
    expect([...head, ...tail]).toEqual(straight);
    expect(straight.slice(0, 13)).not.toEqual(straight.slice(13, 26));
    expect([...straight.slice(13, 26)].sort((a, b) => a - b)).toEqual(range(13));
  });

  it('batches, repeats, skips, takes and maps', async () => {
    expect(await collect(Dataset.from(range(5)).skip(3).iterate(0))).toEqual([3, 4]);
    expect(await collect(Dataset.from(range(5)).repeat(2).iterate(0))).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect(await collect(Dataset.from(range(5)).repeat().take(7).iterate(0))).toEqual([0, 1, 2, 3, 4, 0, 1]);
    expect(
      await collect(
        Dataset.from(range(3))
          .map((x) => x * 10)
          .iterate(0),
      ),
    ).toEqual([0, 10, 20]);
    const batches = await collect(
      Dataset.fromSource(syntheticSource(5, 0, 16))
        .batch(2)
        .iterate(0),
    );
    expect(batches.map((b) => b.size)).toEqual([2, 2, 1]);
    expect(batches[0]!.images.length).toBe(2 * 16 * 16);
    expect(Array.from(batches[0]!.images.subarray(256, 512))).toEqual(Array.from(generatePhantom(1, 16).image));
    expect(batches[1]!.names).toEqual([generatePhantom(2, 16).name, generatePhantom(3, 16).name]);
    const dropped = await collect(
      Dataset.fromSource(syntheticSource(5, 0, 16))
        .batch(2, { dropRemainder: true })
        .iterate(0),
    );
    expect(dropped.length).toBe(2);
  });

  it('reshuffles each repetition of a repeated shuffle', async () => {
    const out = await collect(Dataset.from(range(20)).shuffle(20, 9).repeat(2).iterate(0));
    expect(out.slice(0, 20)).not.toEqual(out.slice(20));
  });

  it('caches the first full pass and reads the source once', async () => {
    let reads = 0;
    const ds = Dataset.from(() => {
      reads++;
      return range(4);
    }).cache();
    expect(await collect(ds.iterate(0))).toEqual([0, 1, 2, 3]);
    expect(await collect(ds.iterate(1))).toEqual([0, 1, 2, 3]);
    expect(reads).toBe(1);
  });

  it('prefetches without changing order and passes errors through', async () => {
    expect(await collect(Dataset.from(range(10)).prefetch(3).iterate(0))).toEqual(range(10));
    const failing = Dataset.from(async function* () {
      yield 1;
      throw new Error('boom');
    }).prefetch(4);
    await expect(collect(failing.iterate(0))).rejects.toThrow('boom');
    // stopping early leaves no unhandled rejection behind
    for await (const x of Dataset.from(range(10)).prefetch(4).iterate(0)) if (x === 2) break;
  });
});

describe('splitSamples', () => {
  const samples = range(100).map((i) => ({ name: `s${i}`, patient: `p${Math.floor(i / 10)}` }));

  it('splits by slice with the asked fraction, reproducibly', () => {
    const a = splitSamples(samples, { by: 'random', valFraction: 0.1, seed: 7 });
    expect(a.val.length).toBe(10);
    expect(a.train.length).toBe(90);
    expect(splitSamples(samples, { by: 'random', valFraction: 0.1, seed: 7 })).toEqual(a);
    expect(splitSamples(samples, { by: 'random', valFraction: 0.1, seed: 8 }).val).not.toEqual(a.val);
    expect(new Set([...a.train, ...a.val].map((s) => s.name)).size).toBe(100);
  });

  it('splits by patient with no patient on both sides', () => {
    const { train, val } = splitSamples(samples, { by: 'patient', valFraction: 0.2, seed: 1 });
    const tp = new Set(train.map((s) => s.patient));
    const vp = new Set(val.map((s) => s.patient));
    expect([...vp].filter((p) => tp.has(p))).toEqual([]);
    expect(val.length).toBe(20);
    expect(vp.size).toBe(2);
  });

  it('refuses a patient split of one patient and a fraction outside (0, 1)', () => {
    expect(() => splitSamples(samples.slice(0, 10), { by: 'patient', valFraction: 0.2, seed: 1 })).toThrow(
      /one patient/,
    );
    expect(() => splitSamples(samples, { by: 'random', valFraction: 1, seed: 1 })).toThrow(/between 0 and 1/);
  });
});
