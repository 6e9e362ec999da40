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
});
