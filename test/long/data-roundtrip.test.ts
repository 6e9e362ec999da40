import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeLabExample, openSource, readAllSamples, writeTfRecords } from '../../src/data/index.js';
import { tempDir } from '../temp.js';

const DATA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sunnybrook');
const hasData = existsSync(join(DATA, 'png'));
if (!hasData) console.warn(`long data round-trip skipped: ${DATA} not found`);

describe.skipIf(!hasData)('every shared PNG slice', () => {
  for (const part of ['training', 'validation']) {
    it(`round-trips ${part} PNG -> gzip TFRecord -> samples pixel for pixel`, async () => {
      const png = await readAllSamples(await openSource(join(DATA, 'png', part)));
      const file = join(tempDir('lvseg-rt-'), `${part}.tfrecords.gz`);
      await writeTfRecords(file, png.map(encodeLabExample), { gzip: true });
      const back = await readAllSamples(await openSource(file));
      expect(back.map((s) => s.name)).toEqual(png.map((s) => s.name));
      let differing = 0;
      for (let i = 0; i < png.length; i++) {
        if (!Buffer.from(back[i]!.image.buffer).equals(Buffer.from(png[i]!.image.buffer))) differing++;
        if (!Buffer.from(back[i]!.label).equals(Buffer.from(png[i]!.label))) differing++;
      }
      expect(differing).toBe(0);
    });
  }
});
