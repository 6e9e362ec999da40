import { DataError } from '../errors.js';
import { createRng } from './random.js';
import type { Sample } from './sample.js';
import type { SampleSource } from './source.js';

/** A batch as the training loop feeds it to a model: images [B, H, W] and labels [B, H, W], flat. */
export interface SampleBatch {
  size: number;
  height: number;
  width: number;
  images: Float32Array;
  labels: Uint8Array;
  names: string[];
  samples: readonly Sample[];
}

/** A stage yields its elements for one iteration; `epoch` numbers iterations so shuffles differ per epoch. */
type Stage<T> = (epoch: number) => AsyncIterable<T>;

/**
 * A tf.data-style pipeline over async iterables: `map`, `cache`, `shuffle(buffer, seed)`, `batch`,
 * `repeat`, `skip`, `take`, `prefetch`. Immutable: each method returns a new Dataset. Iterating twice
 * gives iterations 0, 1, …; `iterate(epoch)` picks one. Shuffles are seeded per iteration (and per
 * repetition under `repeat`), so a stream is a pure function of (seed, position): a consumer that counts
 * what it took resumes exactly with `skip(position)` (training's checkpoints do this).
 */
export class Dataset<T> implements AsyncIterable<T> {
  private iterations = 0;

  private constructor(private readonly stage: Stage<T>) {}

  /** From an array, an iterable, or a function returning a fresh (async) iterable per iteration. */
  static from<T>(items: readonly T[] | (() => Iterable<T> | AsyncIterable<T>)): Dataset<T> {
    return new Dataset(async function* () {
      yield* typeof items === 'function' ? items() : items;
    });
  }

  /** A source's samples, read afresh on each iteration (use `cache()` to read once). */
  static fromSource(source: SampleSource): Dataset<Sample> {
    return new Dataset(() => source.samples());
  }

  iterate(epoch: number): AsyncIterable<T> {
    return this.stage(epoch);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.stage(this.iterations++)[Symbol.asyncIterator]();
  }

  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const x of this.iterate(0)) out.push(x);
    return out;
  }

  map<U>(fn: (item: T, index: number) => U | Promise<U>): Dataset<U> {
    const up = this.stage;
    return new Dataset(async function* (epoch) {
      let i = 0;
      for await (const x of up(epoch)) yield await fn(x, i++);
    });
  }

  /** Keeps the elements of the first complete iteration in memory and replays them afterwards. */
  cache(): Dataset<T> {
    const up = this.stage;
    let cached: T[] | undefined;
    return new Dataset(async function* (epoch) {
      if (cached) {
        yield* cached;
        return;
      }
      const items: T[] = [];
      for await (const x of up(epoch)) {
        items.push(x);
        yield x;
      }
      cached = items;
    });
  }

  /**
   * tf.data's buffered shuffle: keeps `bufferSize` elements and yields a random one as each new one
   * arrives (a buffer as large as the data gives a full shuffle). Each iteration is reshuffled from
   * (seed, iteration) alone.
   */
  shuffle(bufferSize: number, seed: number): Dataset<T> {
    if (!(Number.isInteger(bufferSize) && bufferSize >= 1))
      throw new DataError(`shuffle buffer must be a positive integer, got ${bufferSize}`);
    const up = this.stage;
    return new Dataset(async function* (epoch) {
      const rng = createRng(seed * 7919 + epoch);
      const buffer: T[] = [];
      for await (const x of up(epoch)) {
        if (buffer.length < bufferSize) {
          buffer.push(x);
          continue;
        }
        const i = rng.int(bufferSize);
        const out = buffer[i]!;
        buffer[i] = x;
        yield out;
      }
      // splice, not swap-and-pop: the order lvseg's training has always drawn, so earlier runs reproduce and resume
      while (buffer.length > 0) yield buffer.splice(rng.int(buffer.length), 1)[0]!;
    });
  }

  /** Repeats `count` times, or forever without a count; each repetition is a new iteration upstream. */
  repeat(count?: number): Dataset<T> {
    const up = this.stage;
    const per = count ?? 1 << 20;
    return new Dataset(async function* (epoch) {
      for (let r = 0; count === undefined || r < count; r++) {
        let any = false;
        for await (const x of up(epoch * per + r)) {
          any = true;
          yield x;
        }
        if (!any) return; // an empty dataset repeated forever would spin
      }
    });
  }

  /** Drops the first `count` elements (tf.data's skip). Upstream still runs: skipping shuffled samples in memory costs
   * only the random draws. */
  skip(count: number): Dataset<T> {
    const up = this.stage;
    return new Dataset(async function* (epoch) {
      let n = 0;
      for await (const x of up(epoch)) if (n++ >= count) yield x;
    });
  }

  take(count: number): Dataset<T> {
    const up = this.stage;
    return new Dataset(async function* (epoch) {
      if (count <= 0) return;
      let n = 0;
      for await (const x of up(epoch)) {
        yield x;
        if (++n >= count) return;
      }
    });
  }

  /** Reads up to `bufferSize` elements ahead while the consumer works on the current one. */
  prefetch(bufferSize = 2): Dataset<T> {
    const up = this.stage;
    return new Dataset(async function* (epoch) {
      const it = up(epoch)[Symbol.asyncIterator]();
      const queue: Promise<IteratorResult<T>>[] = [];
      const pull = (): void => {
        const p = it.next();
        p.catch(() => undefined); // awaited in turn below; this only stops an early exit reporting it as unhandled
        queue.push(p);
      };
      try {
        for (let i = 0; i < Math.max(1, bufferSize); i++) pull();
        for (;;) {
          const r = await queue.shift()!;
          if (r.done) return;
          pull();
          yield r.value;
        }
      } finally {
        await it.return?.();
      }
    });
  }

  /** Stacks samples into batches of `size` (the last one smaller unless `dropRemainder`). */
  batch(this: Dataset<Sample>, size: number, options: { dropRemainder?: boolean } = {}): Dataset<SampleBatch> {
    if (!(Number.isInteger(size) && size >= 1))
      throw new DataError(`batch size must be a positive integer, got ${size}`);
    const up = this.stage;
    return new Dataset(async function* (epoch) {
      let pending: Sample[] = [];
      for await (const s of up(epoch)) {
        pending.push(s);
        if (pending.length === size) {
          yield stackSamples(pending);
          pending = [];
        }
      }
      if (pending.length > 0 && !options.dropRemainder) yield stackSamples(pending);
    });
  }
}

/** One batch from samples of equal size. */
export function stackSamples(samples: readonly Sample[]): SampleBatch {
  const { height, width } = samples[0]!;
  const n = height * width;
  const images = new Float32Array(samples.length * n);
  const labels = new Uint8Array(samples.length * n);
  samples.forEach((s, i) => {
    if (s.height !== height || s.width !== width) {
      throw new DataError(
        `sample ${s.name} is ${s.height}x${s.width}, but its batch is ${height}x${width}; resize the data or use ` +
          `batch size 1`,
      );
    }
    images.set(s.image, i * n);
    labels.set(s.label, i * n);
  });
  return { size: samples.length, height, width, images, labels, names: samples.map((s) => s.name), samples };
}
