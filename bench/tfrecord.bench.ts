import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeLabExample, generatePhantom, openSource, writeTfRecords } from '../src/data/index.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import type { Benchmark } from './main.js';

const SHARED = join(PACKAGE_ROOT, '..', 'shared', 'data', 'sunnybrook', 'tfrecords');

/** Read + decode (framing, both CRCs, Example, lab schema, scaling) of whole files, best of 3 passes. */
async function readRate(file: string): Promise<{ samples: number; seconds: number }> {
  let best = Infinity;
  let samples = 0;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = performance.now();
    samples = 0;
    for await (const s of (await openSource(file, { scale: 1 / 255 })).samples()) if (s.height > 0) samples++;
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { samples, seconds: best };
}

export const benchmark: Benchmark = {
  name: 'tfrecord',
  async run(emit, args) {
    const given = args.filter((a) => /\.tfrecords?(\.gz)?$/.test(a));
    const files =
      given.length > 0
        ? given
        : ['train_images.tfrecords.gz', 'val_images.tfrecords'].map((f) => join(SHARED, f)).filter(existsSync);
    let tmp: string | undefined;
    if (files.length === 0) {
      // Without the shared data, measure 256 phantoms of the same size, plain and gzip.
      tmp = mkdtempSync(join(tmpdir(), 'lvseg-bench-'));
      const records = Array.from({ length: 256 }, (_, i) => encodeLabExample(generatePhantom(i)));
      for (const gzip of [false, true]) {
        const file = join(tmp, `synthetic.tfrecords${gzip ? '.gz' : ''}`);
        await writeTfRecords(file, records, { gzip });
        files.push(file);
      }
    }
    try {
      for (const file of files) {
        const { samples, seconds } = await readRate(file);
        emit({
          bench: 'tfrecord-read',
          file,
          samples,
          seconds: Number(seconds.toFixed(3)),
          samples_per_s: Number((samples / seconds).toFixed(1)),
        });
      }
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  },
};
