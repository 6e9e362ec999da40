import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { crc32c, frameTfRecord, maskedCrc32c, readTfRecords, writeTfRecords } from '../../src/data/index.js';
import { readTfRecordBlob } from '../../src/data/tfrecord-stream.js';
import { tempDir } from '../temp.js';

const tmp = tempDir('lvseg-tfrecord-');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function readAll(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readTfRecords(file)) out.push(new TextDecoder().decode(r));
  return out;
}

async function failure(file: string): Promise<Error> {
  try {
    await readAll(file);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('crc32c', () => {
  it('matches the standard check values', () => {
    expect(crc32c(enc('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('masks as TensorFlow does', () => {
    const crc = crc32c(enc('123456789'));
    expect(maskedCrc32c(enc('123456789'))).toBe(((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });
});

describe('TFRecord framing', () => {
  it('frames a record as length, length CRC, data, data CRC', () => {
    const framed = frameTfRecord(enc('abc'));
    const dv = new DataView(framed.buffer);
    expect(framed.length).toBe(8 + 4 + 3 + 4);
    expect(dv.getUint32(0, true)).toBe(3);
    expect(dv.getUint32(4, true)).toBe(0);
    expect(dv.getUint32(8, true)).toBe(maskedCrc32c(framed.subarray(0, 8)));
    expect(new TextDecoder().decode(framed.subarray(12, 15))).toBe('abc');
    expect(dv.getUint32(15, true)).toBe(maskedCrc32c(enc('abc')));
  });

  it('round-trips records, plain and gzip, and leaves no temporary file', async () => {
    const records = ['one', '', 'three'.repeat(1000)];
    const plain = join(tmp, 'a.tfrecords');
    const gz = join(tmp, 'a.tfrecords.gz');
    expect(await writeTfRecords(plain, records.map(enc))).toBe(3);
    expect(await writeTfRecords(gz, records.map(enc), { gzip: true })).toBe(3);
    expect(await readAll(plain)).toEqual(records);
    expect(await readAll(gz)).toEqual(records);
    expect(readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('detects gzip by its magic bytes whatever the file name', async () => {
    const file = join(tmp, 'misleading.tfrecords');
    writeFileSync(file, gzipSync(Buffer.concat([frameTfRecord(enc('x')), frameTfRecord(enc('y'))])));
    expect(await readAll(file)).toEqual(['x', 'y']);
  });

  it('reports a flipped data byte with file, record index and byte offset', async () => {
    const file = join(tmp, 'flip.tfrecords');
    const bytes = Buffer.concat([frameTfRecord(enc('first')), frameTfRecord(enc('second'))]);
    bytes[21 + 12 + 2] ^= 0x01; // inside record 1's data; record 1 starts at byte 21
    writeFileSync(file, bytes);
    const err = await failure(file);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(`${file}: record 1 at byte 21: data CRC mismatch (corrupt file)`);
  });

  it('reports a flipped length byte as a length CRC mismatch', async () => {
    const file = join(tmp, 'flip-len.tfrecords');
    const bytes = Buffer.from(frameTfRecord(enc('first')));
    bytes[0] ^= 0x40;
    writeFileSync(file, bytes);
    expect((await failure(file)).message).toBe(
      `${file}: record 0 at byte 0: length CRC mismatch (not a TFRecord file, or a corrupt one)`,
    );
  });

  it('says a cut-off file is truncated, in the header or the data', async () => {
    const whole = Buffer.concat([frameTfRecord(enc('first')), frameTfRecord(enc('second'))]);
    const cutData = join(tmp, 'cut-data.tfrecords');
    writeFileSync(cutData, whole.subarray(0, whole.length - 3));
    expect((await failure(cutData)).message).toBe(
      `${cutData}: truncated: record 1 at byte 21 needs 22 bytes, only 19 remain`,
    );
    const cutHeader = join(tmp, 'cut-header.tfrecords');
    writeFileSync(cutHeader, whole.subarray(0, 21 + 5));
    expect((await failure(cutHeader)).message).toMatch(/truncated: record 1 at byte 21 needs 12 bytes, only 5 remain/);
  });

  it('reports a corrupt gzip stream as a DataError naming the file', async () => {
    const file = join(tmp, 'bad.tfrecords.gz');
    const gz = gzipSync(frameTfRecord(enc('payload'.repeat(100))));
    writeFileSync(file, gz.subarray(0, gz.length - 8));
    const err = await failure(file);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain(file);
  });

  it(
    'reads a Blob as the lab page does (gzip through DecompressionStream) to the records readTfRecords ' + 'reads',
    async () => {
      const records = ['one', '', 'three'.repeat(100_000)];
      const gz = join(tmp, 'blob.tfrecords.gz');
      await writeTfRecords(gz, records.map(enc), { gzip: true });
      const fromBlob: string[] = [];
      for await (const r of readTfRecordBlob(new Blob([readFileSync(gz)]), 'picked.tfrecords.gz'))
        fromBlob.push(new TextDecoder().decode(r));
      expect(fromBlob).toEqual(await readAll(gz));
      const cut = gzipSync(frameTfRecord(enc('payload'.repeat(100))));
      const blobFailure = async (): Promise<void> => {
        for await (const _ of readTfRecordBlob(new Blob([cut.subarray(0, cut.length - 8)]), 'cut.tfrecords.gz')) void _;
      };
      await expect(blobFailure()).rejects.toThrow(/^cut\.tfrecords\.gz: /);
    },
  );
});
