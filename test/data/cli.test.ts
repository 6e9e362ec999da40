import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { splitFileName } from '../../src/cli/data.js';
import { generatePhantom, openSource, readAllSamples } from '../../src/data/index.js';
import { makeDicom } from './dicom-fixture.js';
import { tempDir } from '../temp.js';

const tmp = tempDir('lvseg-cli-');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('lvseg data', () => {
  it('synth writes TFRecords that inspect --json summarises', async () => {
    const file = join(tmp, 'synth.tfrecords.gz');
    expect(
      (await run('data', 'synth', '--count', '10', '--seed', '5', '--size', '32', '--out', file, '--gzip')).out,
    ).toBe(`wrote 10 phantoms to ${file}`);
    const r = await run('data', 'inspect', file, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ kind: 'tfrecord', count: 10, patients: 2, height: 32, width: 32, min: 0 });
    const phantoms = Array.from({ length: 10 }, (_, i) => generatePhantom(5 + i, 32));
    const frac = phantoms.reduce((a, p) => a + p.label.reduce((x, y) => x + y, 0) / p.label.length, 0) / 10;
    expect(summary.lvFraction).toBeCloseTo(frac, 10);
  });

  it('synth writes a PNG dataset that reads back as the same phantoms', async () => {
    const dir = join(tmp, 'synth-png');
    await run('data', 'synth', '--count', '3', '--size', '24', '--out', dir);
    const samples = await readAllSamples(await openSource(dir));
    expect(samples.map((s) => s.name)).toEqual([0, 1, 2].map((i) => generatePhantom(i, 24).name));
    expect(Array.from(samples[1]!.image)).toEqual(Array.from(generatePhantom(1, 24).image));
    expect(Array.from(samples[1]!.label)).toEqual(Array.from(generatePhantom(1, 24).label));
  });

  it('convert --split patient writes -train and -val files with no shared patient', async () => {
    const out = join(tmp, 'conv.tfrecords');
    const r = await run(
      'data',
      'convert',
      'synthetic:40:0:16',
      '--out',
      out,
      '--split',
      'patient',
      '--val-fraction',
      '0.25',
      '--seed',
      '1',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        String.raw`wrote 32 samples \(4 patients\) to .*conv-train\.tfrecords and 8 \(1 patients\) to .*conv` +
          String.raw`-val\.tfrecords, split by patient`,
      ),
    );
    const train = await readAllSamples(await openSource(join(tmp, 'conv-train.tfrecords')));
    const val = await readAllSamples(await openSource(join(tmp, 'conv-val.tfrecords')));
    const tp = new Set(train.map((s) => s.patient));
    expect(val.some((s) => tp.has(s.patient))).toBe(false);
    expect(splitFileName('x.tfrecords.gz', 'val')).toBe('x-val.tfrecords.gz');
  });

  it('inspect --samples writes panels', async () => {
    const dir = join(tmp, 'panels');
    const r = await run('data', 'inspect', 'synthetic:6:0:32', '--samples', '3', '--out', dir);
    expect(r.out).toContain('panels        3 in');
    expect(readdirSync(dir).length).toBe(3);
  });

  it('explains an unknown or empty source and a missing --out', async () => {
    const empty = join(tmp, 'empty-folder');
    mkdirSync(empty, { recursive: true });
    expect((await run('data', 'inspect', empty)).err).toMatch(
      new RegExp(
        String.raw`is a folder but neither a PNG dataset, a DICOM\+contours folder nor an nnU-Net dataset; e` +
          'xpected a TFRecord file',
      ),
    );
    const emptyFile = join(tmp, 'empty.tfrecords');
    writeFileSync(emptyFile, '');
    expect((await run('data', 'inspect', emptyFile)).err).toMatch(/is empty: no records/);
    const text = join(tmp, 'notes.txt');
    writeFileSync(text, 'these are notes, not records');
    expect((await run('data', 'inspect', text)).err).toMatch(
      /record 0 at byte 0: length CRC mismatch \(not a TFRecord file, or a corrupt one\)/,
    );
    const dcm = join(tmp, 'one.dcm');
    writeFileSync(dcm, makeDicom({ rows: 2, columns: 2, bits: 8, values: [1, 2, 3, 4] }));
    expect((await run('data', 'inspect', dcm)).err).toMatch(/is a single DICOM image, not a dataset/);
    const r = await run('data', 'convert', 'synthetic:2');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/needs --out FILE\.tfrecords/);
  });

  it('reads a DICOM+contours folder, skipping and counting a contour without its image', async () => {
    const dir = join(tmp, 'dicom');
    mkdirSync(join(dir, 'dicoms', 'SCD0000101'), { recursive: true });
    mkdirSync(join(dir, 'contourfiles', 'SC-HF-I-1', 'i-contours'), { recursive: true });
    writeFileSync(join(dir, 'link.csv'), 'patient_id,original_id\nSCD0000101,SC-HF-I-1\n');
    writeFileSync(
      join(dir, 'dicoms', 'SCD0000101', '7.dcm'),
      makeDicom({
        rows: 16,
        columns: 16,
        bits: 16,
        values: Array(256).fill(100),
        spacing: [1.5, 1.5],
        instanceNumber: 7,
      }),
    );
    const contour = '4 4\n12 4\n12 12\n4 12\n';
    writeFileSync(join(dir, 'contourfiles', 'SC-HF-I-1', 'i-contours', 'IM-0001-0007-icontour-manual.txt'), contour);
    writeFileSync(join(dir, 'contourfiles', 'SC-HF-I-1', 'i-contours', 'IM-0001-0008-icontour-manual.txt'), contour);
    const source = await openSource(dir);
    const samples = await readAllSamples(source);
    expect(samples.map((s) => s.name)).toEqual(['SC-HF-I-01/IM-0001-0007']);
    expect(samples[0]!.patient).toBe('SC-HF-I-01');
    expect(samples[0]!.spacing).toEqual([1.5, 1.5]);
    expect(samples[0]!.label.reduce((a, b) => a + b, 0)).toBe(81); // 8x8 fill + boundary = 9x9
    expect(source.report).toEqual({
      skipped: 1,
      warnings: [expect.stringMatching(/IM-0001-0008-icontour-manual\.txt: no image .*8\.dcm; skipped/)],
    });
    const json = JSON.parse((await run('data', 'inspect', dir, '--json')).out);
    expect(json).toMatchObject({ count: 1, skipped: 1, spacing: [1.5, 1.5] });
  });
});
