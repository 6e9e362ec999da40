import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeLvMass } from '../../src/evaluation/volumes.js';
import { readCineSeries } from '../../src/data/dicom-series.js';
import { measureExpertContours } from '../../src/evaluation/cine-volumes.js';

describe('LV mass by the disc rule', () => {
  it("sums epi minus endo area times the disc thickness, times 1.05 g/mL, with each slice's wall thickness", () => {
    // three slices 10 mm apart, in a stack of five: every disc 10 mm thick
    const ring = (endoR: number, epiR: number) => ({
      endoAreaMm2: Math.PI * endoR ** 2,
      epiAreaMm2: Math.PI * epiR ** 2,
    });
    const mass = computeLvMass(
      [
        { slice: 1, zMm: 10, ...ring(20, 28) },
        { slice: 2, zMm: 20, ...ring(25, 33) },
        { slice: 3, zMm: 30, ...ring(15, 25) },
      ],
      [0, 10, 20, 30, 40],
    )!;
    const myo = (Math.PI * (28 ** 2 - 20 ** 2 + (33 ** 2 - 25 ** 2) + (25 ** 2 - 15 ** 2)) * 10) / 1000;
    expect(mass.myocardiumMl).toBeCloseTo(myo, 10);
    expect(mass.lvMassG).toBeCloseTo(1.05 * myo, 10);
    expect(mass.slices.map((s) => s.wallThicknessMm)).toEqual([8, 8, 10].map((t) => expect.closeTo(t, 10)));
    expect(mass.meanWallThicknessMm).toBeCloseTo(26 / 3, 10);
    expect(computeLvMass([], [0, 10])).toBeUndefined();
  });

  it(
    "gives the experts' mass of SCD0000101 from their i- and o-contours at ED (116.7 g by the issue's " + 'count)',
    async () => {
      const { cine } = await readCineSeries('../shared/data/sunnybrook/dicom/dicoms/SCD0000101');
      const experts = await measureExpertContours(
        cine,
        '../shared/data/sunnybrook/dicom/contourfiles/SC-HF-I-1/i-contours',
      );
      expect(experts.mass!.lvMassG).toBeGreaterThan(116.7 * 0.99);
      expect(experts.mass!.lvMassG).toBeLessThan(116.7 * 1.01);
      expect(experts.mass!.meanWallThicknessMm).toBeGreaterThan(5);
      expect(experts.mass!.meanWallThicknessMm).toBeLessThan(9);
    },
  );

  it("leaves out of the experts' mass an o-contour that does not enclose its blood pool, and says which", async () => {
    const { cine } = await readCineSeries('../shared/data/sunnybrook/dicom/dicoms/SCD0000101');
    const dir = mkdtempSync(join(tmpdir(), 'lvseg-mass-'));
    try {
      cpSync('../shared/data/sunnybrook/dicom/contourfiles/SC-HF-I-1', dir, { recursive: true });
      const good = await measureExpertContours(cine, join(dir, 'i-contours'));
      // one ED o-contour moved 20 px down, off its blood pool: a contour filed under the wrong slice or patient
      const moved = join(dir, 'o-contours', 'IM-0001-0099-ocontour-manual.txt');
      const shifted = readFileSync(moved, 'utf8').replace(/^(\S+) (\S+)$/gm, (_, x, y) => `${x} ${Number(y) + 20}`);
      writeFileSync(moved, shifted);
      const bad = await measureExpertContours(cine, join(dir, 'i-contours'));
      expect(bad.warnings.filter((w) => w.includes("is not this slice's wall"))).toEqual([
        expect.stringContaining('IM-0001-0099-ocontour-manual.txt: encloses'),
      ]);
      expect(bad.mass!.slices.length).toBe(good.mass!.slices.length - 1);
      expect(good.warnings.some((w) => w.includes("is not this slice's wall"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
