import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cardiacPhases, cinePosition, phasesFromRWave } from '../../src/data/cardiac-phase.js';
import { readDicomSlice } from '../../src/data/dicom.js';
import { readLinkCsv } from '../../src/data/sunnybrook.js';
import { readPngDataset } from '../../src/data/png-dataset.js';
import { foregroundArea } from '../../src/evaluation/index.js';

const DATA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sunnybrook');
const hasData = existsSync(join(DATA, 'png')) && existsSync(join(DATA, 'dicom'));
if (!hasData) console.warn(`ED/ES checks on the shared data skipped: ${DATA} not found`);

const named = (patient: string, instances: number[]) =>
  instances.map((n) => ({ patient, name: `${patient}/IM-0001-${String(n).padStart(4, '0')}` }));

describe('cine positions from Sunnybrook names', () => {
  it('reads phase and slice location from the instance number, 20 phases per location', () => {
    expect(cinePosition('SC-HF-I-01/IM-0001-0048')).toEqual({ instance: 48, phase: 8, location: 2 });
    expect(cinePosition('SC-HF-I-01/IM-0001-0059')).toEqual({ instance: 59, phase: 19, location: 2 });
    expect(cinePosition('IM-0001-0020')).toEqual({ instance: 20, phase: 20, location: 0 });
    expect(cinePosition('IM-0001-0021')).toEqual({ instance: 21, phase: 1, location: 1 });
    expect(cinePosition('synthetic-p000/slice-0003')).toBeUndefined();
    expect(cinePosition('SC-HF-I-01/IM-0001-0000')).toBeUndefined();
  });

  it('counts phases from the R wave round the cycle', () => {
    expect([1, 2, 20, 19, 18, 11, 5].map((p) => phasesFromRWave(p))).toEqual([0, 1, 1, 2, 3, 10, 4]);
  });
});

describe('cardiacPhases', () => {
  it('calls the contoured phase nearest the R wave ED and the mid-cycle one ES, per patient', () => {
    const phases = cardiacPhases([
      ...named('A', [48, 59, 68, 79]), // phases 8 and 19: 19 is one phase before the next R wave
      ...named('B', [1, 9, 21, 29]), // phases 1 and 9
      ...named('C', [38, 46, 58]), // phases 18 and 6 (an ED slice without its ES partner)
    ]);
    expect([...phases]).toEqual([
      ['A/IM-0001-0048', 'ES'],
      ['A/IM-0001-0059', 'ED'],
      ['A/IM-0001-0068', 'ES'],
      ['A/IM-0001-0079', 'ED'],
      ['B/IM-0001-0001', 'ED'],
      ['B/IM-0001-0009', 'ES'],
      ['B/IM-0001-0021', 'ED'],
      ['B/IM-0001-0029', 'ES'],
      ['C/IM-0001-0038', 'ED'],
      ['C/IM-0001-0046', 'ES'],
      ['C/IM-0001-0058', 'ED'],
    ]);
  });

  it('decides a patient with one contoured phase by its distance from the R wave, and skips other names', () => {
    const phases = cardiacPhases([
      ...named('D', [20, 40]),
      ...named('E', [7, 27]),
      { patient: 'p', name: 'p/slice-1' },
    ]);
    expect(phases.get('D/IM-0001-0020')).toBe('ED');
    expect(phases.get('E/IM-0001-0007')).toBe('ES');
    expect(phases.has('p/slice-1')).toBe(false);
  });
});

describe.skipIf(!hasData)('ED/ES on the shared Sunnybrook data', () => {
  it('gives every one of the 30 patients an ED phase with the larger expert LV area than its ES phase', async () => {
    for (const split of ['training', 'validation']) {
      const samples: { name: string; patient: string; area: number }[] = [];
      for await (const s of readPngDataset(join(DATA, 'png', split)))
        samples.push({ name: s.name, patient: s.patient, area: foregroundArea(s.label) });
      const phases = cardiacPhases(samples);
      expect(phases.size).toBe(samples.length);
      const patients = new Set(samples.map((s) => s.patient));
      expect(patients.size).toBe(15);
      for (const patient of patients) {
        // Areas over the slice locations contoured at both phases, so extra basal ED slices do not count.
        const at = (phase: string) =>
          new Map(
            samples
              .filter((s) => s.patient === patient && phases.get(s.name) === phase)
              .map((s) => [cinePosition(s.name)!.location, s.area]),
          );
        const ed = at('ED');
        const es = at('ES');
        const both = [...ed.keys()].filter((l) => es.has(l));
        expect(both.length, patient).toBeGreaterThan(3);
        const sum = (m: Map<number, number>) => both.reduce((n, l) => n + m.get(l)!, 0);
        expect(sum(ed), patient).toBeGreaterThan(sum(es));
      }
    }
  });

  it("matches the DICOM headers: each name's instance number, ED late in the R–R interval, ES mid-cycle", async () => {
    const links = readLinkCsv(join(DATA, 'dicom'));
    expect(links).toHaveLength(5);
    for (const { folder, id: patient } of links) {
      const contours = readdirSync(join(DATA, 'dicom', 'contourfiles', patient, 'i-contours'));
      const names = contours.map((f) => ({ patient, name: `${patient}/${f.slice(0, f.indexOf('-icontour'))}` }));
      const phases = cardiacPhases(names);
      for (const { name } of names) {
        const instance = cinePosition(name)!.instance;
        const dicom = await readDicomSlice(join(DATA, 'dicom', 'dicoms', folder, `${instance}.dcm`));
        expect(dicom.instanceNumber).toBe(instance);
        // ED images were taken at 623–976 ms after the R wave, ES images at 224–315 ms.
        if (phases.get(name) === 'ED') expect(dicom.triggerTime!, name).toBeGreaterThan(600);
        else expect(dicom.triggerTime!, name).toBeLessThan(350);
      }
    }
  });
});
