/**
 * TFRecord framing over any stream of byte chunks, with no `node:` module: the part of the reader that the
 * lab page (src/web/lab) shares with `readTfRecords` in tfrecord.ts, which feeds it a file stream.
 */
import { DataError } from '../errors.js';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/limits.js';
import { maskedCrc32c } from './crc32c.js';

/**
 * TFRecord framing: uint64 LE length, masked CRC32C of those 8 bytes, the data, masked CRC32C of
 * the data. A record longer than this is taken as corruption rather than allocated: a record is one
 * example, so it gets the bound of one image file (at 1 GiB, a 1 MB gzip declaring one record took
 * 2.15 GB of memory before its CRC failed).
 */
export const MAX_RECORD_BYTES = MAX_IMAGE_FILE_BYTES;

/** True when the bytes start with the gzip magic (1f 8b). */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
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
 * The records framed in `chunks` (the bytes of `file`, already decompressed when `gz`). Both CRCs are
 * verified; a mismatch, a truncation or an error of the stream itself (a corrupt gzip) is a DataError
 * naming the file, the record index and the byte offset (in the decompressed stream for gzip files).
 * `fileBytes`, the size of an uncompressed file, makes a record declared longer than the rest of the file
 * a truncation at once, before its bytes are gathered.
 */
export async function* tfRecordsFromChunks(
  chunks: AsyncIterable<Uint8Array>,
  file: string,
  gz: boolean,
  fileBytes?: number,
): AsyncGenerator<Uint8Array> {
  const where = gz ? ' (offset in the decompressed stream)' : '';
  const queue = new ByteQueue();
  let offset = 0; // of the next unread byte
  let index = 0;
  let length = -1; // of the current record once its header is read
  let recordOffset = 0;
  try {
    for await (const chunk of chunks) {
      queue.push(chunk);
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
            throw new DataError(
              `${file}: record ${index} at byte ${recordOffset}${where}: length CRC mismatch (${what})`,
            );
          }
          const len = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
          if (len > MAX_RECORD_BYTES) {
            throw new DataError(
              `${file}: record ${index} at byte ${recordOffset}${where}: implausible length ${len} bytes, more than ` +
                `one record may hold (${MAX_RECORD_BYTES / 2 ** 20} MB; corrupt file)`,
            );
          }
          if (!gz && fileBytes !== undefined && offset + len + 4 > fileBytes) {
            throw new DataError(
              `${file}: truncated: record ${index} at byte ${recordOffset} needs ${12 + len + 4} bytes, only ` +
                `${fileBytes - recordOffset} remain`,
            );
          }
          length = len;
        }
        if (queue.size < length + 4) break;
        const data = queue.take(length);
        const crcBytes = queue.take(4);
        const expected = new DataView(crcBytes.buffer, crcBytes.byteOffset, 4).getUint32(0, true);
        if (maskedCrc32c(data) !== expected) {
          throw new DataError(
            `${file}: record ${index} at byte ${recordOffset}${where}: data CRC mismatch (corrupt file)`,
          );
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
  }
  if (length >= 0 || queue.size > 0) {
    const need = length >= 0 ? 12 + length + 4 : 12;
    const have = length >= 0 ? 12 + queue.size : queue.size;
    const at = length >= 0 ? recordOffset : offset;
    throw new DataError(
      `${file}: truncated: record ${index} at byte ${at}${where} needs ${need} bytes, only ${have} remain`,
    );
  }
}

/** The chunks of a web ReadableStream (its async iteration is not in every browser lvseg supports yet). */
async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * The records of a TFRecord file given as a Blob (a File the user picked), gzip detected by its magic bytes
 * and decompressed with the platform's DecompressionStream: the browser's way to read what `readTfRecords`
 * reads from disk.
 */
export async function* readTfRecordBlob(blob: Blob, file: string): AsyncGenerator<Uint8Array> {
  const gz = isGzip(new Uint8Array(await blob.slice(0, 2).arrayBuffer()));
  const raw = blob.stream() as ReadableStream<Uint8Array>;
  const stream = gz
    ? raw.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>)
    : raw;
  yield* tfRecordsFromChunks(streamChunks(stream), file, gz, blob.size);
}
