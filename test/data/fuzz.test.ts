import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import {
  createRng,
  decodeDicom,
  encodeLabExample,
  frameTfRecord,
  generatePhantom,
  openSource,
} from '../../src/data/index.js';
import { makeDicom } from './dicom-fixture.js';
import { tempDir } from '../temp.js';

const tmp = tempDir('lvseg-fuzz-');

/** A seeded mutation: flip 1-4 random bytes, truncate at a random point, or both. */
function mutate(bytes: Uint8Array, rng: ReturnType<typeof createRng>): Uint8Array {
  let out = Uint8Array.from(bytes);
  const kind = rng.int(3);
  if (kind !== 1) {
    const flips = 1 + rng.int(4);
    for (let k = 0; k < flips; k++) out[rng.int(out.length)] ^= 1 + rng.int(255);
  }
  if (kind !== 0) out = out.subarray(0, rng.int(out.length));
  return out;
}

/** Everything but a DataError is a failure of the reader, reported with the mutation's number. */
function classify(err: unknown, i: number): string {
  return err instanceof DataError
    ? 'DataError'
    : `mutation ${i}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message ?? String(err)}`;
}

describe('bad input', () => {
  it('a few hundred mutations of a TFRecord give only DataErrors or valid samples', async () => {
    const records = [0, 1, 2].map((s) => frameTfRecord(encodeLabExample(generatePhantom(s, 16))));
    const valid = Buffer.concat(records);
    const rng = createRng(2024);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const gz = i % 5 === 4; // some mutate the gzip stream instead of the framing
      const bytes = mutate(gz ? gzipSync(valid) : valid, rng);
      const file = join(tmp, `m${i}.tfrecords`);
      writeFileSync(file, bytes);
      let outcome = 'ok';
      try {
        const source = await openSource(file);
        for await (const s of source.samples()) {
          if (s.image.length !== s.height * s.width)
            throw new Error(`sample with ${s.image.length} pixels for ${s.height}x${s.width}`);
        }
      } catch (err) {
        outcome = classify(err, i);
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect([...outcomes.keys()].filter((k) => k !== 'ok' && k !== 'DataError')).toEqual([]);
    expect(outcomes.get('DataError')).toBeGreaterThan(250);
  });

  it('a few hundred mutations of a DICOM give only DataErrors or a decoded image', () => {
    const valid = makeDicom({
      rows: 8,
      columns: 8,
      bits: 16,
      values: Array.from({ length: 64 }, (_, i) => i * 10),
      spacing: [1.4, 1.4],
      instanceNumber: 3,
      slope: 1,
      intercept: 0,
    });
    const rng = createRng(99);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      let outcome = 'ok';
      try {
        const s = decodeDicom(mutate(valid, rng), `m${i}.dcm`);
        if (s.pixels.length !== s.rows * s.columns) throw new Error('pixel count mismatch');
      } catch (err) {
        outcome = classify(err, i);
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect([...outcomes.keys()].filter((k) => k !== 'ok' && k !== 'DataError')).toEqual([]);
    expect(outcomes.get('DataError')).toBeGreaterThan(100);
  });
});
