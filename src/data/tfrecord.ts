import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { withAtomicTemp } from '../io/atomic.js';
import { maskedCrc32c } from './crc32c.js';

/**
 * TFRecord framing: uint64 LE length, masked CRC32C of those 8 bytes, the data, masked CRC32C of
 * the data. A record longer than this is taken as corruption rather than allocated.
 */
export const MAX_RECORD_BYTES = 1 << 30;

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

/** True when the bytes start with the gzip magic (1f 8b). */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
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

/** Bytes arriving in chunks, taken off the front in exact amounts without copying when one chunk holds them. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // read position in chunks[0]
  size = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      this.size -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - filled, c.length - this.head);
      out.set(c.subarray(this.head, this.head + k), filled);
      filled += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.size -= n;
    return out;
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
  const where = gz ? ' (offset in the decompressed stream)' : '';
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream: Readable = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (gz) raw.on('error', (err) => stream.destroy(err));
  const queue = new ByteQueue();
  let offset = 0; // of the next unread byte
  let index = 0;
  let length = -1; // of the current record once its header is read
  let recordOffset = 0;
  try {
    for await (const chunk of stream) {
      queue.push(chunk as Uint8Array);
      for (;;) {
        if (length < 0) {
          if (queue.size < 12) break;
          recordOffset = offset;
          const header = queue.take(12);
          offset += 12;
          const view = new DataView(header.buffer, header.byteOffset, 12);
          const expected = view.getUint32(8, true);
          if (maskedCrc32c(header.subarray(0, 8)) !== expected) {
            const what = index === 0 ? 'not a TFRecord file, or a corrupt one' : 'corrupt file';
            throw new DataError(`${file}: record ${index} at byte ${recordOffset}${where}: length CRC mismatch (${what})`);
          }
          const len = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
          if (len > MAX_RECORD_BYTES) {
            throw new DataError(`${file}: record ${index} at byte ${recordOffset}${where}: implausible length ${len} bytes (corrupt file)`);
          }
          length = len;
        }
        if (queue.size < length + 4) break;
        const data = queue.take(length);
        const crcBytes = queue.take(4);
        const expected = new DataView(crcBytes.buffer, crcBytes.byteOffset, 4).getUint32(0, true);
        if (maskedCrc32c(data) !== expected) {
          throw new DataError(`${file}: record ${index} at byte ${recordOffset}${where}: data CRC mismatch (corrupt file)`);
        }
        offset += length + 4;
        length = -1;
        index++;
        yield data;
      }
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    const what = gz ? 'gzip stream is corrupt or truncated' : 'read failed';
    throw new DataError(`${file}: ${what} near record ${index} (${(err as Error).message})`, { cause: err });
  } finally {
    stream.destroy();
    raw.destroy();
  }
  if (length >= 0 || queue.size > 0) {
    const need = length >= 0 ? 12 + length + 4 : 12;
    const have = length >= 0 ? 12 + queue.size : queue.size;
    const at = length >= 0 ? recordOffset : offset;
    throw new DataError(`${file}: truncated: record ${index} at byte ${at}${where} needs ${need} bytes, only ${have} remain`);
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
