import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePhantom } from '../../src/data/synthetic.js';
import { openSource, readAllSamples, sourceClasses } from '../../src/data/source.js';
import { LV_MYO_CLASSES } from '../../src/data/classes.js';
import { encodePngGrey } from '../../src/imaging/png.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A 4×4 PNG dataset of one case with two slices: s1 has endo and epi masks, s2 endo only. */
function pngDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lvseg-classes-'));
  dirs.push(dir);
  const write = (sub: string, name: string, values: number[]): void => {
    mkdirSync(join(dir, sub, 'P1'), { recursive: true });
    writeFileSync(join(dir, sub, 'P1', `${name}.png`), encodePngGrey(4, 4, Uint8Array.from(values)));
  };
  const endo = [0, 0, 0, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 0];
  const epi = [255, 255, 255, 0, 255, 255, 255, 0, 255, 255, 255, 0, 0, 0, 0, 0];
  for (const s of ['s1', 's2']) {
    write(
      'images',
      s,
      Array.from({ length: 16 }, (_, i) => i * 10),
    );
    write('masks/endo', s, endo);
  }
  write('masks/epi', 's1', epi);
  return dir;
}

describe('class names from the source', () => {
  it('read a PNG set as the blood pool alone unless the myocardium is asked for', async () => {
    const dir = pngDataset();
    const binary = await openSource(dir);
    expect(binary.classes).toBeUndefined();
    expect(sourceClasses(binary)).toEqual(['background', 'lv']);
    const [s1] = await readAllSamples(binary);
    expect(Array.from(s1!.label)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    expect(s1!.labelledClasses).toBeUndefined();
  });

  it('read epi minus endo as the myocardium, and mark endo-only slices as labelling classes 0 and 1', async () => {
    const source = await openSource(pngDataset(), { classes: LV_MYO_CLASSES });
    expect(source.classes).toEqual(['background', 'lv', 'myocardium']);
    const [s1, s2] = await readAllSamples(source);
    expect(Array.from(s1!.label)).toEqual([2, 2, 2, 0, 2, 1, 1, 0, 2, 1, 1, 0, 0, 0, 0, 0]);
    expect(s1!.labelledClasses).toBeUndefined();
    expect(Array.from(s2!.label)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    expect(s2!.labelledClasses).toEqual([0, 1]);
  });

  it('refuse classes a source cannot give, naming the source', async () => {
    await expect(openSource(pngDataset(), { classes: ['background', 'rv'] })).rejects.toThrow(
      /PNG dataset .* gives classes/,
    );
    await expect(openSource('synthetic:2', { classes: ['background', 'lv', 'scar'] })).rejects.toThrow(
      /synthetic:2:0:256: phantoms give classes/,
    );
  });

  it('read the DICOM o-contours as the myocardium where the experts drew them', async () => {
    const dir = '../shared/data/sunnybrook/dicom';
    const source = await openSource(dir, { classes: LV_MYO_CLASSES });
    const samples = await readAllSamples(source);
    const withWall = samples.filter((s) => s.labelledClasses === undefined);
    // the experts drew an o-contour on some of the slices with an i-contour
    expect(withWall.length).toBeGreaterThan(20);
    expect(withWall.length).toBeLessThan(samples.length);
    for (const s of withWall) expect(s.label.filter((v) => v === 2).length).toBeGreaterThan(100);
    for (const s of samples.filter((x) => x.labelledClasses)) expect(s.label.includes(2)).toBe(false);
    // the o-contours filed under SC-HF-I-6 are SC-HF-I-1's: none encloses its slice's blood pool, none is a wall
    const sixth = samples.filter((s) => s.patient === 'SC-HF-I-06');
    expect(sixth.length).toBeGreaterThan(0);
    expect(sixth.every((s) => s.labelledClasses !== undefined)).toBe(true);
    const notWall = source.report!.warnings.filter((w) => /is not this slice's wall/.test(w));
    expect(notWall.length).toBe(9);
    expect(notWall.every((w) => w.includes('SC-HF-I-6/o-contours/IM-0001-'))).toBe(true);
  });
});

describe('phantoms with more classes', () => {
  it('label the wall 2 and the right ventricle 3 over the same image', () => {
    const two = generatePhantom(3, 64);
    const four = generatePhantom(3, 64, { classes: 4 });
    expect(Array.from(four.image)).toEqual(Array.from(two.image));
    const count = (l: Uint8Array, v: number): number => l.filter((x) => x === v).length;
    expect(count(four.label, 1)).toBe(count(two.label, 1));
    expect(count(four.label, 2)).toBeGreaterThan(0.3 * count(four.label, 1));
    expect(count(four.label, 3)).toBeGreaterThan(0.3 * count(four.label, 1));
    // the wall encloses the blood pool: every blood-pool pixel's 4-neighbours are blood pool or wall
    for (let i = 0; i < four.label.length; i++) {
      if (four.label[i] !== 1) continue;
      for (const j of [i - 1, i + 1, i - 64, i + 64]) expect([1, 2]).toContain(four.label[j]);
    }
    expect(generatePhantom(3, 64, { classes: 3 }).label.includes(3)).toBe(false);
  });
});
