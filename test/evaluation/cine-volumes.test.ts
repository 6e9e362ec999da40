import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCineSeries } from '../../src/data/dicom-series.js';
import { DataError } from '../../src/errors.js';
import { measureCine, seriesVolumes, type Segmenter } from '../../src/evaluation/cine-volumes.js';
import { buildVolumesRecord } from '../../src/reporting/volumes-record.js';
import { makeDicom } from '../data/dicom-fixture.js';
import { writePhantomCine, type PhantomCine } from '../data/cine-phantom.js';

const root = mkdtempSync(join(tmpdir(), 'lvseg-cine-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `case-${n++}`);

/** The phantom's own masks, looked up by where the image sits in the series. */
const truthSegmenter =
  (phantom: PhantomCine): Segmenter =>
  async ({ slice, phase }) =>
    phantom.mask(slice, phase);

const relError = (a: number, b: number): number => Math.abs(a - b) / b;

describe('seriesVolumes on a phantom cine', () => {
  it('orders 12 oblique slices along the normal and 20 phases by trigger time, and reads the heart rate', async () => {
    const phantom = writePhantomCine(fresh());
    const { cine, groups } = await readCineSeries(phantom.dir);
    expect(groups).toHaveLength(1);
    expect(cine.slices).toHaveLength(12);
    expect(cine.phases).toBe(20);
    expect(cine.spacingSource).toBe('ImagePositionPatient');
    const gaps = cine.slices.slice(1).map((s, i) => s.zMm - cine.slices[i]!.zMm);
    for (const g of gaps) expect(g).toBeCloseTo(8, 3);
    // Instances count down along the normal, so the first slice holds the highest ones.
    expect(cine.grid[0]![0]!.instanceNumber).toBe(221);
    expect(cine.grid[0]!.map((i) => i!.triggerTime!)).toEqual(
      [...cine.grid[0]!.map((i) => i!.triggerTime!)].sort((a, b) => a - b),
    );
    expect(cine.heartRate).toEqual({ bpm: 75, source: 'HeartRate (0018,1088)' });
    expect(cine.warnings).toEqual([]);
  });

  it('gives EDV, ESV and EF within 2% of the phantom ventricle, slices beyond the LV left out', async () => {
    const phantom = writePhantomCine(fresh());
    const { measured } = await seriesVolumes(phantom.dir, { segmenter: truthSegmenter(phantom) });
    const r = measured.result;
    expect(r.ed).toBe(phantom.edPhase);
    expect(r.es).toBe(phantom.esPhase);
    expect(relError(r.edvMl, phantom.volumesMl[phantom.edPhase]!)).toBeLessThan(0.02);
    expect(relError(r.esvMl, phantom.volumesMl[phantom.esPhase]!)).toBeLessThan(0.02);
    const trueEf = 100 * (1 - phantom.volumesMl[phantom.esPhase]! / phantom.volumesMl[phantom.edPhase]!);
    expect(Math.abs(r.efPct - trueEf)).toBeLessThan(1);
    for (let p = 0; p < 20; p++) expect(relError(r.volumesMl[p]!, phantom.volumesMl[p]!)).toBeLessThan(0.02);
    expect(r.slices.map((s) => s.counted)).toEqual([false, ...new Array(10).fill(true), false]);
    expect(r.slices[0]!.reason).toBe('no LV in any phase');
    expect(r.warnings).toEqual([]);
  });

  it(
    'leaves out a slice beyond the base that the valve plane crosses (ventricle in diastole, atrium in ' + 'systole)',
    async () => {
      const phantom = writePhantomCine(fresh(), { atrium: true, edPhase: 2 });
      const { measured } = await seriesVolumes(phantom.dir, { segmenter: truthSegmenter(phantom) });
      const r = measured.result;
      expect(r.slices.map((s) => s.counted)).toEqual([false, ...new Array(10).fill(true), false]);
      // Ventricle to atrium a quarter cycle after ED (0-based phase 7 → 8), by a third of the ventricle's largest area.
      expect(r.slices[11]!.reason).toMatch(
        new RegExp(
          String.raw`^its area steps by 3\d% of its largest from phase 8 to 9 \(\d+ to \d+ mm²; a slice insi` +
            String.raw`de the ventricle changes by at most 20%\): the valve plane crosses it`,
        ),
      );
      expect(relError(r.edvMl, phantom.volumesMl[2]!)).toBeLessThan(0.02);
      expect(relError(r.esvMl, phantom.volumesMl[12]!)).toBeLessThan(0.02);
      // Without the rule the atrial slice counts and the volumes are off by 4% or more.
      const loose = (
        await seriesVolumes(phantom.dir, { segmenter: truthSegmenter(phantom), rule: { maxPhaseStep: Infinity } })
      ).measured.result;
      expect(loose.slices[11]!.counted).toBe(true);
      expect(relError(loose.edvMl, phantom.volumesMl[2]!)).toBeGreaterThan(0.04);
      expect(relError(loose.esvMl, phantom.volumesMl[12]!)).toBeGreaterThan(0.04);
    },
  );

  it(
    'measures a coarse cine of a strongly beating ventricle within 2%, its ES images not taken for ' + 'jumps',
    async () => {
      for (const phases of [6, 8]) {
        const phantom = writePhantomCine(fresh(), { phases, esRadiusMm: 15 });
        const r = (await seriesVolumes(phantom.dir, { segmenter: truthSegmenter(phantom) })).measured.result;
        expect(relError(r.edvMl, phantom.volumesMl[phantom.edPhase]!), `${phases} phases`).toBeLessThan(0.02);
        expect(relError(r.esvMl, phantom.volumesMl[phantom.esPhase]!), `${phases} phases`).toBeLessThan(0.02);
        expect(r.warnings).toEqual([]);
      }
    },
  );

  it('repairs a segmentation that jumps at one image, and still measures within 2%', async () => {
    const phantom = writePhantomCine(fresh(), { edPhase: 3 });
    const segmenter: Segmenter = async ({ slice, phase }) => {
      const mask = phantom.mask(slice, phase);
      if (slice === 5 && phase === 9) {
        // A blob in the corner instead of the LV.
        mask.fill(0);
        for (let r = 0; r < 30; r++) for (let c = 0; c < 30; c++) mask[r * phantom.columns + c] = 1;
      }
      return mask;
    };
    const { measured } = await seriesVolumes(phantom.dir, { segmenter });
    const r = measured.result;
    expect(r.slices[5]!.status[9]).toBe('repaired');
    expect(r.ed).toBe(3);
    expect(relError(r.edvMl, phantom.volumesMl[3]!)).toBeLessThan(0.02);
    expect(relError(r.esvMl, phantom.volumesMl[13]!)).toBeLessThan(0.02);
    expect(r.warnings.join('\n')).toMatch(/slice 6: implausible mask at phase 10/);
  });
});

describe('seriesVolumes on bad input', () => {
  const segmentNothing: Segmenter = async ({ image }) => new Uint8Array(image.rows * image.columns);

  it('picks the cine with the most images among several series and says what else it found', async () => {
    const dir = fresh();
    writePhantomCine(dir);
    // A localiser: three single images of another series.
    for (let k = 0; k < 3; k++) {
      writeFileSync(
        join(dir, `loc${k}.dcm`),
        makeDicom({
          rows: 8,
          columns: 8,
          bits: 16,
          values: [],
          spacing: [1, 1],
          seriesUid: '9.9',
          position: [0, 0, k * 10],
          orientation: [1, 0, 0, 0, 1, 0],
          instanceNumber: k + 1,
        }),
      );
    }
    writeFileSync(join(dir, 'README.txt'), 'not an image');
    const { cine, groups, scan } = await readCineSeries(dir);
    expect(cine.uid).toBe('1.2.826.0.1.3680043.2.1125.1.1');
    expect(groups.map((g) => [g.uid, g.images.length, g.problem ?? null])).toEqual([
      ['1.2.826.0.1.3680043.2.1125.1.1', 240, null],
      ['9.9', 3, 'not a cine: each of its 3 slice positions holds one image (no cardiac phases)'],
    ]);
    expect(scan.notDicom).toEqual([join(dir, 'README.txt')]);
    await expect(readCineSeries(dir, '9.9')).rejects.toThrow(/series 9\.9 cannot be measured: not a cine/);
    await expect(readCineSeries(dir, '1.2.3')).rejects.toThrow(/--series 1\.2\.3: not in/);
  });

  it('refuses non-cine DICOMs, a single slice and a folder without DICOM, in one line each', async () => {
    const still = fresh();
    writePhantomCine(still, { phases: 1 });
    await expect(readCineSeries(still)).rejects.toThrow(
      /no short-axis cine stack .* not a cine: each of its 12 slice positions holds one image/,
    );
    const single = fresh();
    writePhantomCine(single, { slices: 1 });
    const err = await readCineSeries(single).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /a single slice position \(20 images\): a volume needs a stack of short-axis slices/,
    );
    expect((err as Error).message).not.toMatch(/\n/);
    const empty = fresh();
    writePhantomCine(empty, { slices: 2, phases: 2 });
    for (const f of ['1.dcm', '2.dcm', '3.dcm', '4.dcm']) unlinkSync(join(empty, f));
    writeFileSync(join(empty, 'notes.txt'), 'x');
    await expect(readCineSeries(empty)).rejects.toThrow(/no readable DICOM images \(1 other files\)/);
  });

  it('refuses a series whose images lie in two orientations, and two acquisitions at one position', async () => {
    const mixed = fresh();
    writePhantomCine(mixed, { slices: 3, phases: 4 });
    writeFileSync(
      join(mixed, 'x.dcm'),
      makeDicom({
        rows: 96,
        columns: 96,
        bits: 16,
        values: [],
        spacing: [1.25, 1.25],
        seriesUid: '1.2.826.0.1.3680043.2.1125.1.1',
        position: [0, 0, 0],
        orientation: [1, 0, 0, 0, 1, 0],
        triggerTime: 0,
        instanceNumber: 99,
      }),
    );
    await expect(readCineSeries(mixed)).rejects.toThrow(/mixed orientations \(2 different ImageOrientationPatient\)/);
    const twice = fresh();
    writePhantomCine(twice, { slices: 3, phases: 4 });
    writePhantomCine(join(twice, 'again'), { slices: 3, phases: 4, firstInstance: 101 });
    await expect(readCineSeries(twice)).rejects.toThrow(
      /slice 1 \(at .* mm\) holds 8 images, at only 4 different trigger times: two acquisitions at one position/,
    );
  });

  it('degrades with a warning when a phase is missing on a slice: that phase has no volume', async () => {
    const phantom = writePhantomCine(fresh(), { omit: [[4, 7]] });
    const { cine, measured } = await seriesVolumes(phantom.dir, { segmenter: truthSegmenter(phantom) });
    expect(cine.warnings).toEqual(['slice 5 has no image at phase 8']);
    expect(cine.grid[4]![7]).toBeUndefined();
    expect(cine.grid[4]![8]!.instanceNumber).toBe(149);
    const r = measured.result;
    expect(r.volumesMl[7]).toBeNull();
    expect(r.warnings.join('\n')).toMatch(/no volume at phase 8/);
    expect(relError(r.edvMl, phantom.volumesMl[0]!)).toBeLessThan(0.02);
  });

  it('says so when the segmenter finds no LV anywhere', async () => {
    const phantom = writePhantomCine(fresh(), { slices: 3, phases: 4 });
    await expect(seriesVolumes(phantom.dir, { segmenter: segmentNothing })).rejects.toThrow(
      /no slice has a plausible LV mask in every phase \(no LV in any phase\)/,
    );
  });

  it('orders phases by instance number without trigger times, and says so', async () => {
    const phantom = writePhantomCine(fresh(), { noTriggerTime: true });
    const { cine, measured } = await seriesVolumes(phantom.dir, { segmenter: truthSegmenter(phantom) });
    expect(cine.phaseOrder).toBe('instance number');
    expect(cine.warnings).toEqual(['no TriggerTime (0018,1060) on every image: phases ordered by InstanceNumber']);
    expect(relError(measured.result.edvMl, phantom.volumesMl[0]!)).toBeLessThan(0.02);
  });
});

describe('measureCine with a myocardium class on a phantom cine', () => {
  const classes = ['background', 'lv', 'myocardium'];

  /** The phantom's label maps, the wall of `slice` kept only over the first `share` of the turn around its pool. */
  const openRing =
    (phantom: PhantomCine, slice = -1, share = 1): Segmenter =>
    async ({ slice: s, phase }) => {
      const labels = phantom.labels(s, phase);
      if (s !== slice) return labels;
      const N = phantom.columns;
      let sumR = 0,
        sumC = 0,
        n = 0;
      labels.forEach((v, i) => {
        if (v !== 1) return;
        sumR += Math.floor(i / N);
        sumC += i % N;
        n++;
      });
      return labels.map((v, i) => {
        if (v !== 2) return v;
        const turn = Math.atan2(Math.floor(i / N) - sumR / n, (i % N) - sumC / n) / (2 * Math.PI) + 0.5;
        return turn < share ? 2 : 0;
      });
    };

  it('rings every blood pool of the phantom fully and gives the blood-pool volumes of the binary masks', async () => {
    const phantom = writePhantomCine(fresh());
    const { cine, groups } = await readCineSeries(phantom.dir);
    const three = await measureCine(cine, openRing(phantom), { classes });
    const binary = await measureCine(cine, truthSegmenter(phantom));
    // volumes.json gives the ring per phase with a myocardium class, and no such key without
    const record = buildVolumesRecord({ cine, groups, measured: three }, {});
    expect(record.slices[10]!.myocardialRing).toEqual(new Array(20).fill(1));
    expect(record.slices[0]!.myocardialRing).toBeUndefined();
    expect(buildVolumesRecord({ cine, groups, measured: binary }, {}).slices.some((s) => 'myocardialRing' in s)).toBe(
      false,
    );
    for (const s of three.result.slices.slice(1, 11)) expect(s.myocardialRing).toEqual(new Array(20).fill(1));
    expect(binary.result.slices.every((s) => s.myocardialRing === undefined)).toBe(true);
    expect(three.result.edvMl).toBe(binary.result.edvMl);
    expect(three.result.esvMl).toBe(binary.result.esvMl);
    expect(three.result.slices.map((s) => s.counted)).toEqual(binary.result.slices.map((s) => s.counted));
    expect(three.mass!.lvMassG).toBeGreaterThan(0);
  });

  it('drops the basal end slice whose wall covers less than half of its pool, keeps it from half up', async () => {
    const phantom = writePhantomCine(fresh());
    const { cine } = await readCineSeries(phantom.dir);
    // the phantom's ends mirror each other; the last counts as the base
    const open = await measureCine(cine, openRing(phantom, 10, 0.375), { classes });
    const base = open.result.slices[10]!;
    expect(base.myocardialRing!.every((f) => f !== null && f > 0.3 && f < 0.45)).toBe(true);
    expect(base.counted).toBe(false);
    expect(base.reason).toMatch(
      /^myocardium rings only 3\d% of its blood pool at ED, 3\d% at ES \(a basal slice counts/,
    );
    expect(open.result.slices.filter((s) => s.counted).map((s) => s.slice)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const half = await measureCine(cine, openRing(phantom, 10, 0.625), { classes });
    expect(half.result.slices[10]!.myocardialRing!.every((f) => f !== null && f > 0.55 && f < 0.7)).toBe(true);
    expect(half.result.slices[10]!.counted).toBe(true);
    // the apical end's open ring is not the rule's business
    const apex = await measureCine(cine, openRing(phantom, 1, 0.375), { classes });
    expect(apex.result.slices[1]!.counted).toBe(true);
  });
});
