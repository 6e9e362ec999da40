import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { withAtomicTemp } from '../io/atomic.js';
import { maskedCrc32c } from './crc32c.js';
import { isGzip, tfRecordsFromChunks } from './tfrecord-stream.js';

export { isGzip, MAX_RECORD_BYTES } from './tfrecord-stream.js';

/** One framed record, synchronously: for writers that append to an open file (TensorBoard events). */
export function frameTfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length >>> 0, true);
  view.setUint32(4, Math.floor(data.length / 2 ** 32), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

async function readHead(file: string, n: number): Promise<Uint8Array> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * The records of a TFRecord file, streamed (a file larger than memory is fine). GZIP is detected by
 * its magic bytes whatever the name. Both CRCs are verified; a mismatch, a truncation or a gzip
 * error is a DataError naming the file, the record index and the byte offset (in the decompressed
 * stream for gzip files).
 */
export async function* readTfRecords(file: string): AsyncGenerator<Uint8Array> {
  let head: Uint8Array;
  try {
    head = await readHead(file, 2);
  } catch (err) {
    throw new DataError(`cannot read TFRecord file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const gz = isGzip(head);
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream: Readable = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (gz) raw.on('error', (err) => stream.destroy(err));
  try {
    yield* tfRecordsFromChunks(
      stream as AsyncIterable<Uint8Array>,
      file,
      gz,
      gz ? undefined : (await fsp.stat(file)).size,
    );
  } finally {
    stream.destroy();
    raw.destroy();
  }
}

export interface WriteTfRecordsOptions {
  /** GZIP-compress the file (TensorFlow reads it with compression_type='GZIP'). */
  gzip?: boolean;
}

/**
 * Writes records with TFRecord framing, streaming, atomically: a temporary file beside `file`,
 * renamed over it at the end, so an interrupted write never leaves half a file. Returns the count.
 */
export async function writeTfRecords(
  file: string,
  records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteTfRecordsOptions = {},
): Promise<number> {
  let count = 0;
  async function* frames(): AsyncGenerator<Uint8Array> {
    for await (const r of records) {
      count++;
      yield frameTfRecord(r);
    }
  }
  await withAtomicTemp(file, async (tmp) => {
    const source = Readable.from(frames(), { objectMode: false });
    if (options.gzip) await pipeline(source, createGzip(), createWriteStream(tmp));
    else await pipeline(source, createWriteStream(tmp));
  });
  return count;
}
