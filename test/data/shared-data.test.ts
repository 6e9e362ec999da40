import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Dataset,
  encodeLabExample,
  openSource,
  readAllSamples,
  readPngSlice,
  writeTfRecords,
} from '../../src/data/index.js';
import { tempDir } from '../temp.js';

// The shared Sunnybrook subset lives beside the worktree; these checks skip without it.
const DATA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sunnybrook');
const hasData = existsSync(join(DATA, 'tfrecords', 'split.json'));
if (!hasData) console.warn(`shared-data tests skipped: ${DATA} not found`);

const meanLvFraction = (samples: { label: Uint8Array }[]): number =>
  samples.reduce((a, s) => a + s.label.reduce((x, y) => x + y, 0) / s.label.length, 0) / samples.length;

/** Dice of two binary masks (local to this test; the project's diceCoefficient lives in src/evaluation). */
function dice(a: Uint8Array, b: Uint8Array): number {
  let inter = 0,
    sa = 0,
    sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0 ? 1 : 0,
      y = b[i]! > 0 ? 1 : 0;
    inter += x & y;
    sa += x;
    sb += y;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

describe.skipIf(!hasData)('the shared Sunnybrook data', () => {
  const split = hasData
    ? (JSON.parse(readFileSync(join(DATA, 'tfrecords', 'split.json'), 'utf8')) as { train: string[]; val: string[] })
    : { train: [], val: [] };

  it('reads 234 training and 26 validation samples whose names match split.json', async () => {
    const train = await readAllSamples(await openSource(join(DATA, 'tfrecords', 'train_images.tfrecords.gz')));
    const val = await readAllSamples(await openSource(join(DATA, 'tfrecords', 'val_images.tfrecords')));
    expect(train.length).toBe(234);
    expect(val.length).toBe(26);
    expect(train.map((s) => s.name)).toEqual(split.train);
    expect(val.map((s) => s.name)).toEqual(split.val);
    expect(meanLvFraction(train)).toBeCloseTo(0.0164, 4);
    expect(meanLvFraction(val)).toBeCloseTo(0.0171, 4);
    expect(train[0]!.height).toBe(256);
    expect(Math.max(...train[0]!.image)).toBe(255);
  });

  it('rasterises the DICOM contours to the PNG masks (Dice >= 0.95 on every shared slice)', async () => {
    const source = await openSource(join(DATA, 'dicom'));
    const samples = await readAllSamples(source);
    expect(samples.length).toBe(96);
    expect(source.report?.skipped).toBe(0);
    expect(new Set(samples.map((s) => s.patient))).toEqual(
      new Set(['SC-HF-I-01', 'SC-HF-I-02', 'SC-HF-I-04', 'SC-HF-I-05', 'SC-HF-I-06']),
    );
    let compared = 0,
      identical = 0,
      worst = 1;
    for (const s of samples) {
      expect(s.spacing![0]).toBeGreaterThan(1.2);
      const [c, slice] = s.name.split('/');
      const file = ['training', 'validation']
        .map((p) => join(DATA, 'png', p, 'masks', 'endo', c!, `${slice}.png`))
        .find(existsSync);
      if (!file) continue;
      const png = (await readPngSlice(file)).pixels;
      const d = dice(
        s.label,
        Uint8Array.from(png, (v) => (v > 0 ? 1 : 0)),
      );
      worst = Math.min(worst, d);
      compared++;
      if (d === 1) identical++;
    }
    expect(compared).toBe(96);
    expect(worst).toBeGreaterThanOrEqual(0.95);
    // the documented rule reproduces the published masks exactly
    expect(identical).toBe(96);
  });

  it(
    'round-trips PNG -> TFRecord -> samples pixel for pixel (the first 16 validation slices; all, gzip, in ' +
      'test/long)',
    async () => {
      const png = await Dataset.fromSource(await openSource(join(DATA, 'png', 'validation')))
        .take(16)
        .toArray();
      const file = join(tempDir('lvseg-rt-'), 'val.tfrecords');
      await writeTfRecords(file, png.map(encodeLabExample));
      const back = await readAllSamples(await openSource(file));
      expect(back.length).toBe(png.length);
      for (let i = 0; i < png.length; i++) {
        expect(back[i]!.name).toBe(png[i]!.name);
        expect(back[i]!.patient).toBe(png[i]!.patient);
        expect(Buffer.from(back[i]!.image.buffer).equals(Buffer.from(png[i]!.image.buffer))).toBe(true);
        expect(Buffer.from(back[i]!.label).equals(Buffer.from(png[i]!.label))).toBe(true);
      }
    },
  );
});
