/**
 * Issue 11's done-when on the shared full cines: `lvseg volumes` with the bundled lv-sunnybrook gives an EF
 * within 5 points of the experts' (same disc rule) and EDV and ESV within 10%, counting the experts' slices;
 * issue 25's: the model's LV mass within 10% of the experts' by the same rule (ED slices with both contours).
 * Segments 460 images on the CPU: a few minutes, so it runs with the long tests.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { ensureBuilt, runCli } from '../cli/run-cli.js';

const SHARED = join(PACKAGE_ROOT, '..', 'shared', 'data', 'sunnybrook', 'dicom');
const MODEL = join(PACKAGE_ROOT, 'models', 'lv-sunnybrook', 'model.json');
const ready = existsSync(join(SHARED, 'dicoms', 'SCD0000401')) && existsSync(MODEL);
if (!ready) console.warn(`[skip] lvseg volumes on the Sunnybrook cines: ${SHARED} or ${MODEL} is absent`);

interface Summary {
  edvMl: number;
  esvMl: number;
  efPct: number;
  countedSlices: number[];
  lvMassG?: number;
}

describe.skipIf(!ready)('lvseg volumes with the bundled model on the shared cines', () => {
  beforeAll(() => ensureBuilt());

  it.each(['SCD0000101', 'SCD0000401'])(
    '%s: EF within 5 points, EDV, ESV and LV mass within 10% of the experts, on their slices',
    async (patient) => {
      const r = await runCli(['volumes', join(SHARED, 'dicoms', patient), '--contours', SHARED, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const record = JSON.parse(r.stdout) as Summary & { experts: Summary };
      const e = record.experts;
      expect(Math.abs(record.efPct - e.efPct)).toBeLessThan(5);
      expect(Math.abs(record.edvMl / e.edvMl - 1)).toBeLessThan(0.1);
      expect(Math.abs(record.esvMl / e.esvMl - 1)).toBeLessThan(0.1);
      // Measured 2026-11-30: slices 2–10 for both, as the experts (SCD0000401's slice 11 out by the valve-crossing
      // rule). With the three-class model, SCD0000401's apical slice 2 grows 20.3% from ED to ES and counts because
      // myocardium rings its blood pool (100% at ED and ES): EDV +2.5%, ESV +7.8%, EF −3.5 points, mass −4.9%.
      expect(record.countedSlices).toEqual(e.countedSlices);
      // the bundled model segments the wall (issue 25): 116.7 g and 115.4 g by the count
      expect(record.lvMassG).toBeDefined();
      expect(Math.abs(record.lvMassG! / e.lvMassG! - 1)).toBeLessThan(0.1);
    },
    900_000,
  );
});
