import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sample } from '../../src/data/sample.js';
import { safeImageName, writeSamplePanels } from '../../src/reporting/samples.js';

const dir = mkdtempSync(join(tmpdir(), 'lvseg-samples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = (name: string): Sample => ({
  name,
  patient: 'p',
  image: new Float32Array(64),
  label: new Uint8Array(64),
  height: 8,
  width: 8,
});

describe('writeSamplePanels', () => {
  it('writes the best and worst images by Dice under file names the report can match', async () => {
    const samples = ['synthetic/0', 'synthetic/1', 'synthetic/2', 'synthetic/3', 'synthetic/4'].map(sample);
    const dice = [0.5, 0.9, Number.NaN, 0.1, 0.7];
    const files = await writeSamplePanels(dir, samples, () => new Uint8Array(64), dice, 2);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      'samples/best-01-synthetic_1.png',
      'samples/best-02-synthetic_4.png',
      'samples/worst-01-synthetic_3.png',
      'samples/worst-02-synthetic_0.png',
    ]);
    expect(readdirSync(join(dir, 'samples'))).toHaveLength(4);
  });

  it('never lists an image as both best and worst when there are few', async () => {
    const d = mkdtempSync(join(dir, 'few-'));
    const files = await writeSamplePanels(
      d,
      [sample('a'), sample('b'), sample('c')],
      () => new Uint8Array(64),
      [0.2, 0.8, 0.5],
      2,
    );
    expect(files.map((f) => f.slice(d.length + 1))).toEqual([
      'samples/best-01-b.png',
      'samples/best-02-c.png',
      'samples/worst-01-a.png',
    ]);
  });

  it('removes the panels an earlier call left, and only those', async () => {
    const d = mkdtempSync(join(dir, 'again-'));
    const samples = ['a', 'b', 'c', 'd'].map(sample);
    const masks = samples.map(() => new Uint8Array(64));
    await writeSamplePanels(d, samples, (i) => masks[i]!, [0.1, 0.2, 0.3, 0.4], 2);
    writeFileSync(join(d, 'samples', 'notes.png'), 'kept');
    await writeSamplePanels(d, samples, (i) => masks[i]!, [0.4, 0.3, 0.2, 0.1], 1);
    expect(readdirSync(join(d, 'samples')).sort()).toEqual(['best-01-a.png', 'notes.png', 'worst-01-d.png']);
  });

  it('makes image names safe for file names', () => {
    expect(safeImageName('SC-HF-I-01/IM-0001-0048.dcm')).toBe('SC-HF-I-01_IM-0001-0048.dcm');
  });
});
