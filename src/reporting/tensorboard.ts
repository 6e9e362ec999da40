import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type protobuf from 'protobufjs';
import { loadProto } from '../data/proto.js';
import { frameTfRecord } from '../data/tfrecord.js';

/** TensorBoard's histogram summary (legacy `HistogramProto`). */
export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sum_squares: number;
  bucket_limit: number[];
  bucket: number[];
}

/**
 * TensorFlow's default histogram bucket limits: ±1e-12 growing by 10% to ±1e20, zero, and ±DBL_MAX at
 * the ends, so histograms from lvseg bin like those from TensorFlow.
 */
const DEFAULT_LIMITS: Float64Array = (() => {
  const pos: number[] = [];
  for (let v = 1e-12; v < 1e20; v *= 1.1) pos.push(v);
  pos.push(Number.MAX_VALUE);
  return Float64Array.from([...pos.map((v) => -v).reverse(), 0, ...pos]);
})();
/**
 * A first guess at each value's bucket, by the top 16 bits of its float32 form (sign, exponent and 7 bits of
 * mantissa: steps of under 1%, finer than the 10% grid, so the guess is at most a bucket or two off). Made on the
 * first histogram, not when the module loads: most commands that import it never write one.
 */
let guessTable: Uint16Array | undefined;
function guesses(): Uint16Array {
  if (guessTable) return guessTable;
  const guess = new Uint16Array(1 << 16);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let h = 0; h < guess.length; h++) {
    bits[0] = h << 16;
    guess[h] = Number.isFinite(f[0]!) ? searchBucket(f[0]!) : 0;
  }
  guessTable = guess;
  return guess;
}

/** The index of the first limit strictly greater than `v`, by binary search. */
function searchBucket(v: number): number {
  let lo = 0;
  let hi = DEFAULT_LIMITS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (DEFAULT_LIMITS[mid]! > v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * searchBucket(v) from the guess table and a check against the limits on either side: the binary search alone
 * took ~60 ns a value, ~0.1 s each epoch for the histograms of the U-Net's 1.9M weights.
 */
function bucketIndex(v: number, bits: number, guess: Uint16Array): number {
  let i = guess[bits >>> 16]!;
  while (i > 0 && DEFAULT_LIMITS[i - 1]! > v) i--;
  while (i < DEFAULT_LIMITS.length - 1 && DEFAULT_LIMITS[i]! <= v) i++;
  return i;
}

/**
 * A histogram of `values` over TensorFlow's default buckets; runs of empty buckets are merged into
 * one, as TensorFlow writes them, which keeps a weight histogram to a few dozen buckets.
 */
export function computeHistogram(values: ArrayLike<number>): Histogram {
  const counts = new Float64Array(DEFAULT_LIMITS.length);
  // float32 values (weights) are their own bits; others go through a float32 first
  const own = values instanceof Float32Array ? new Uint32Array(values.buffer, values.byteOffset, values.length) : null;
  const f32 = new Float32Array(1);
  const f32Bits = new Uint32Array(f32.buffer);
  const guess = guesses();
  let min = Infinity,
    max = -Infinity,
    sum = 0,
    sumSquares = 0,
    num = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    num++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
    if (own === null) f32[0] = v;
    counts[bucketIndex(v, own === null ? f32Bits[0]! : own[i]!, guess)]!++;
  }
  const bucket_limit: number[] = [],
    bucket: number[] = [];
  for (let i = 0; i < counts.length; ) {
    let end = DEFAULT_LIMITS[i]!,
      count = counts[i]!;
    i++;
    if (count === 0) {
      while (i < counts.length && counts[i] === 0) end = DEFAULT_LIMITS[i++]!;
    }
    bucket_limit.push(end);
    bucket.push(count);
  }
  return num === 0
    ? { min: 0, max: 0, num: 0, sum: 0, sum_squares: 0, bucket_limit, bucket }
    : { min, max, num, sum, sum_squares: sumSquares, bucket_limit, bucket };
}

/** Event, Summary and friends, from the project's proto/event.proto. */
function eventTypes(): { Event: protobuf.Type; Summary: protobuf.Type } {
  const root = loadProto('event.proto');
  return { Event: root.lookupType('tensorboard.Event'), Summary: root.lookupType('tensorboard.Summary') };
}

export const FILE_VERSION = 'brain.Event:2';

export interface EventFileWriterOptions {
  /** Defaults to the machine's host name, as TensorFlow names its files. */
  host?: string;
  /** Clock for wall_time in seconds; tests pass a fixed one. */
  now?: () => number;
}

/**
 * Writes one TensorBoard event file, `events.out.tfevents.<seconds>.<host>`, in `logDir`: TFRecord-framed
 * `Event` protos, the file version first. Events are buffered and appended on `flush()`. The file is an
 * append-only log that TensorBoard tails while training runs, so it is appended to, not written atomically;
 * a record is only ever appended whole.
 */
export class EventFileWriter {
  readonly path: string;
  private readonly now: () => number;
  private readonly types = eventTypes();
  private pending: Uint8Array[] = [];
  private closed = false;

  constructor(
    readonly logDir: string,
    options: EventFileWriterOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now() / 1000);
    mkdirSync(logDir, { recursive: true });
    const wall = this.now();
    const host = (options.host ?? hostname()).replace(/[^\w.-]/g, '_');
    let path = join(logDir, `events.out.tfevents.${Math.floor(wall)}.${host}`);
    // A resumed run may start within the same second: never append to another writer's file.
    for (let n = 1; existsSync(path); n++) path = join(logDir, `events.out.tfevents.${Math.floor(wall)}.${host}.${n}`);
    this.path = path;
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, this.frame({ wall_time: wall, step: 0, file_version: FILE_VERSION }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private frame(event: Record<string, unknown>): Uint8Array {
    const { Event } = this.types;
    return frameTfRecord(Event.encode(Event.fromObject(event)).finish());
  }

  private addValue(step: number, value: Record<string, unknown>): void {
    if (this.closed) throw new Error(`TensorBoard event file ${this.path} is already closed`);
    this.pending.push(this.frame({ wall_time: this.now(), step, summary: { value: [value] } }));
  }

  scalar(tag: string, value: number, step: number): void {
    this.addValue(step, { tag, simple_value: value });
  }

  histogram(tag: string, values: ArrayLike<number>, step: number): void {
    this.addValue(step, { tag, histo: computeHistogram(values) });
  }

  /** An encoded image (PNG) of the given size; colorspace 1 grey, 3 RGB, 4 RGBA. */
  image(
    tag: string,
    encoded: Uint8Array,
    size: { width: number; height: number; colorspace?: number },
    step: number,
  ): void {
    this.addValue(step, {
      tag,
      image: {
        height: size.height,
        width: size.width,
        colorspace: size.colorspace ?? 4,
        encoded_image_string: encoded,
      },
    });
  }

  /** Text for TensorBoard's Text dashboard (markdown): a string tensor tagged for the "text" plugin. */
  text(tag: string, text: string, step: number): void {
    this.addValue(step, {
      tag,
      metadata: { plugin_data: { plugin_name: 'text', content: new Uint8Array(0) }, data_class: 'DATA_CLASS_TENSOR' },
      tensor: { dtype: 'DT_STRING', tensor_shape: {}, string_val: [new TextEncoder().encode(text)] },
    });
  }

  /** Appends the buffered events to the file in one write, so TensorBoard sees the whole epoch at once. */
  flush(): void {
    if (this.pending.length === 0) return;
    const total = this.pending.reduce((n, r) => n + r.length, 0);
    const buf = new Uint8Array(total);
    let at = 0;
    for (const r of this.pending) {
      buf.set(r, at);
      at += r.length;
    }
    appendFileSync(this.path, buf);
    this.pending = [];
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }
}
