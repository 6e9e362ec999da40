import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource, readAllSamples } from '../../src/data/source.js';
import { parsePixelSpacing, parseSpacingCsv } from '../../src/data/spacing.js';
import { encodeMaskPng } from '../../src/imaging/mask.js';

let dir: string;

/** A PNG dataset of two cases, one 8×8 slice each. */
function writeDataset(root: string): void {
  for (const c of ['P1', 'P2']) {
    mkdirSync(join(root, 'images', c), { recursive: true });
    mkdirSync(join(root, 'masks', 'endo', c), { recursive: true });
    const mask = new Uint8Array(64);
    mask[27] = 1;
    writeFileSync(join(root, 'images', c, 'IM-0001-0001.png'), encodeMaskPng(mask, 8, 8));
    writeFileSync(join(root, 'masks', 'endo', c, 'IM-0001-0001.png'), encodeMaskPng(mask, 8, 8));
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvseg-spacing-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pixel spacing', () => {
  it('parses --spacing as square or row,column millimetres and rejects the rest in one line', () => {
    expect(parsePixelSpacing('1.367')).toEqual([1.367, 1.367]);
    expect(parsePixelSpacing('1.4,1.2')).toEqual([1.4, 1.2]);
    for (const bad of ['', '0', '-1', 'abc', '1,2,3', '1,'])
      expect(() => parsePixelSpacing(bad)).toThrow(/--spacing: .* is not a pixel spacing; write millimetres per pixel/);
  });

  it('reads spacing.csv in both forms and names the line at fault', () => {
    expect([...parseSpacingCsv('case,spacing_mm\nP1,1.25\n\n# comment\nP2,1.5\n', 'f.csv')]).toEqual([
      ['P1', [1.25, 1.25]],
      ['P2', [1.5, 1.5]],
    ]);
    expect([...parseSpacingCsv('case,row_mm,column_mm\r\nP1,1.4,1.2\r\n', 'f.csv')]).toEqual([['P1', [1.4, 1.2]]]);
    expect(() => parseSpacingCsv('patient,mm\nP1,1\n', 'f.csv')).toThrow(
      /f\.csv: the first line must be 'case,spacing_mm' or 'case,row_mm,column_mm'/,
    );
    expect(() => parseSpacingCsv('case,spacing_mm\nP1,1\nP2,zero\n', 'f.csv')).toThrow(/f\.csv line 3: 'P2,zero'/);
    expect(() => parseSpacingCsv('case,spacing_mm\nP1,1\nP1,2\n', 'f.csv')).toThrow(/case 'P1' is listed twice/);
  });

  it("gives a PNG dataset's samples the spacing of their case, and --spacing only where none is known", async () => {
    const root = join(dir, 'with-csv');
    writeDataset(root);
    writeFileSync(join(root, 'spacing.csv'), 'case,spacing_mm\nP1,1.25\nP2,1.5\n');
    const own = await readAllSamples(await openSource(root, { spacing: [9, 9] }));
    expect(own.map((s) => s.spacing)).toEqual([
      [1.25, 1.25],
      [1.5, 1.5],
    ]);

    const bare = join(dir, 'bare');
    writeDataset(bare);
    expect((await readAllSamples(await openSource(bare))).map((s) => s.spacing)).toEqual([undefined, undefined]);
    const given = await openSource(bare, { spacing: [1.367, 1.367] });
    expect(given.description).toMatch(/spacing 1\.367 mm where the source has none/);
    expect((await readAllSamples(given)).map((s) => s.spacing)).toEqual([
      [1.367, 1.367],
      [1.367, 1.367],
    ]);
    const synthetic = await readAllSamples(await openSource('synthetic:1:0:16', { spacing: [2, 1] }));
    expect(synthetic[0]!.spacing).toEqual([2, 1]);
  });

  it('refuses a spacing.csv that leaves a case out, naming the case', async () => {
    const root = join(dir, 'partial');
    writeDataset(root);
    writeFileSync(join(root, 'spacing.csv'), 'case,spacing_mm\nP1,1.25\n');
    await expect(readAllSamples(await openSource(root))).rejects.toThrow(
      /spacing\.csv: no row for case 'P2'; list every case/,
    );
  });
});
