import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { encodeNifti, readNifti } from '../../src/data/nifti.js';
import { readDatasetJson, writeNnunetDataset } from '../../src/data/nnunet.js';
import { openSource, readAllSamples, syntheticSource } from '../../src/data/source.js';
import { DataError } from '../../src/errors.js';
import { predict, train } from '../../src/index.js';
import { saveModel } from '../../src/models/io.js';
import type { VolumesRecord } from '../../src/reporting/volumes.js';
import { captureCli } from '../cli/run-cli.js';
import { FOUR_CLASSES, fourLabelPhantoms, writeFourLabelDataset } from './four-label-phantoms.js';
import { SHARED, epochMetrics, pngSubset, quiet } from './sunnybrook-subset.js';
import { thresholdModel } from '../evaluation/tiny-model.js';

const root = mkdtempSync(join(tmpdir(), 'lvseg-nifti-dataset-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await selectBackend('cpu');
});

const haveShared =
  existsSync(join(SHARED, 'png', 'training', 'images')) && existsSync(join(SHARED, 'dicom', 'dicoms', 'SCD0000101'));
if (!haveShared) console.warn(`[skip] NIfTI on the Sunnybrook data: ${SHARED} is absent`);

describe.skipIf(!haveShared)('Sunnybrook as an nnU-Net NIfTI dataset', () => {
  it("converts losslessly, and train then predict give the PNG path's losses and masks (same seed and " +
    'data)', async () => {
    const png = {
      train: pngSubset('training', ['SC-HF-I-01', 'SC-HF-NI-03'], 3, join(root, 'png-train')),
      val: pngSubset('validation', ['SC-HF-I-05'], 2, join(root, 'png-val')),
    };
    const nii = { train: join(root, 'nii-train'), val: join(root, 'nii-val') };
    for (const part of ['train', 'val'] as const) {
      const r = await captureCli(['data', 'convert', png[part], '--format', 'nnunet', '--out', nii[part]]);
      expect(r.code).toBe(0);
    }
    const dataset = readDatasetJson(nii.train);
    expect(dataset.classes).toEqual(['background', 'lv']);
    expect(readdirSync(join(nii.train, 'imagesTr')).sort()).toEqual([
      'SC-HF-I-01_0000.nii.gz',
      'SC-HF-NI-03_0000.nii.gz',
    ]);

    // The samples are the PNG dataset's, slice for slice: pixels, labels, patients (names are CASE/zNNN).
    const fromPng = await readAllSamples(await openSource(png.train));
    const fromNii = await readAllSamples(await openSource(nii.train));
    expect(fromNii.map((s) => s.name)).toEqual(
      ['SC-HF-I-01', 'SC-HF-NI-03'].flatMap((p) => [0, 1, 2].map((z) => `${p}/z00${z}`)),
    );
    expect(fromNii.map((s) => [s.patient, s.height, s.width, s.spacing])).toEqual(
      fromPng.map((s) => [s.patient, s.height, s.width, s.spacing]),
    );
    fromNii.forEach((s, i) => {
      expect(s.image).toEqual(fromPng[i]!.image);
      expect(s.label).toEqual(fromPng[i]!.label);
    });

    const runs: Record<string, { history: Record<string, unknown>[]; runDir: string }> = {};
    for (const [kind, data] of Object.entries({ png, nii })) {
      runs[kind] = await train(
        {
          modelSpec: 'test/training/tiny-model.json',
          train: data.train,
          val: data.val,
          epochs: 1,
          batchSize: 3,
          seed: 7,
          scale: '1/255',
          backend: 'cpu',
          out: join(root, `run-${kind}`),
          tensorboard: false,
        },
        quiet,
      );
    }
    // the same losses and metrics to the last bit (only the time taken and the tensor count may differ)
    expect(epochMetrics(runs.nii!.history)).toEqual(epochMetrics(runs.png!.history));
    expect(epochMetrics(runs.png!.history)[0]).toHaveProperty('val_loss');

    const viaPng = await predict(runs.png!.runDir, [png.val], { backend: 'cpu' });
    const viaNii = await predict(runs.nii!.runDir, [join(nii.val, 'imagesTr', 'SC-HF-I-05_0000.nii.gz')], {
      backend: 'cpu',
    });
    expect(viaNii).toHaveLength(2);
    expect(viaNii.map((p) => p.mask)).toEqual(viaPng.map((p) => p.mask));
    expect(viaNii.some((p) => p.lvAreaPx > 0) || viaPng.every((p) => p.lvAreaPx === 0)).toBe(true);
  }, 600_000);

  it('SCD0000101 converted to a 4D NIfTI gives the volumes of its DICOM series', async () => {
    const cine = join(root, 'scd101.nii.gz');
    const dicom = join(SHARED, 'dicom', 'dicoms', 'SCD0000101');
    const converted = await captureCli(['data', 'convert', dicom, '--out', cine]);
    expect(converted.code).toBe(0);
    expect(converted.out).toMatch(/256x256x12x20 \(x, y, slice, phase\), 1\.367188x1\.367188 mm pixels/);
    const volume = await readNifti(cine);
    expect(volume.shape).toEqual([256, 256, 12, 20]);
    expect(volume.spacing[0]).toBeCloseTo(1.367188, 5);

    const model = join(root, 'threshold');
    const tiny = thresholdModel(null, null);
    await saveModel(tiny, model);
    tiny.dispose();
    const measure = async (input: string): Promise<VolumesRecord> => {
      const r = await captureCli([
        'volumes',
        input,
        '--model',
        join(model, 'model.json'),
        '--scale',
        'minmax',
        '--backend',
        'cpu',
        '--json',
      ]);
      expect(r.code).toBe(0);
      return JSON.parse(r.out) as VolumesRecord;
    };
    const [fromDicom, fromNifti] = [await measure(dicom), await measure(cine)];
    expect(fromDicom.edvMl).toBeGreaterThan(0);
    for (const key of ['edvMl', 'esvMl', 'svMl', 'efPct', 'edPhase', 'esPhase', 'countedSlices'] as const) {
      expect(fromNifti[key]).toEqual(fromDicom[key]);
    }
    expect(fromNifti.phases.map((p) => p.volumeMl)).toEqual(fromDicom.phases.map((p) => p.volumeMl));
    // per slice the same rule and areas, positions within 0.01 mm: the NIfTI holds the mean step of slices
    // 10.000 ± 0.001 mm apart, and its 1.367188 mm pixels as float32 (areas may differ by a rounding step)
    const rule = (r: VolumesRecord): unknown[] => r.slices.map((s) => [s.slice, s.counted, s.reason, s.status]);
    expect(rule(fromNifti)).toEqual(rule(fromDicom));
    fromNifti.slices.forEach((s, k) => {
      const d = fromDicom.slices[k]!;
      expect(Math.abs(s.zMm - d.zMm)).toBeLessThan(0.01);
      expect(Math.abs((s.thicknessMm ?? 0) - (d.thicknessMm ?? 0))).toBeLessThan(0.01);
      s.areasMm2.forEach((a, p) => {
        expect(Math.abs((a ?? 0) - (d.areasMm2[p] ?? 0))).toBeLessThan(0.11);
      });
    });
    const contours = await captureCli([
      'volumes',
      cine,
      '--model',
      join(model, 'model.json'),
      '--contours',
      join(SHARED, 'dicom'),
    ]);
    expect(contours.code).not.toBe(0);
    expect(contours.err).toMatch(/--contours: the Sunnybrook contours name DICOM instance numbers/);
  }, 600_000);
});

describe('NIfTI through predict and data inspect', () => {
  /** A 3-slice volume on an oblique grid (rotated, 0.8 x 0.9 x 6 mm), phantoms in its slices. */
  const OBLIQUE = [
    [0.8 * Math.cos(0.3), -0.9 * Math.sin(0.3), 0, -40],
    [0.8 * Math.sin(0.3), 0.9 * Math.cos(0.3), 0, 25],
    [0, 0, -6, 12],
  ];

  it('predict writes the masks of a NIfTI volume as a label map with its dims, pixdim, qform and sform', async () => {
    const phantoms = await readAllSamples(syntheticSource(3, 4, 48));
    const image = new Float32Array(48 * 48 * 3);
    phantoms.forEach((s, z) => {
      image.set(s.image, z * 48 * 48);
    });
    const input = join(root, 'oblique.nii.gz');
    writeFileSync(input, encodeNifti(image, { shape: [48, 48, 3], affine: OBLIQUE }, { gzip: true }));
    const model = join(root, 'threshold-predict');
    const tiny = thresholdModel(null, null);
    await saveModel(tiny, model);
    tiny.dispose();
    const out = join(root, 'pred');
    const r = await captureCli([
      'predict',
      join(model, 'model.json'),
      input,
      '--out',
      out,
      '--scale',
      'minmax',
      '--backend',
      'cpu',
    ]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')) as {
      images: { name: string; labelMap: string; lvAreaMm2: number; lvAreaPx: number }[];
      labelMaps: { file: string }[];
    };
    expect(summary.labelMaps.map((m) => m.file)).toEqual(['oblique.nii.gz']);
    expect(summary.images.map((i) => [i.name, i.labelMap])).toEqual(
      [0, 1, 2].map((z) => [`oblique/z00${z}`, 'oblique.nii.gz']),
    );
    // areas in mm² from the header's voxel size
    expect(summary.images[0]!.lvAreaMm2).toBeCloseTo(summary.images[0]!.lvAreaPx * 0.8 * 0.9, 3);
    const [scan, labels] = [await readNifti(input), await readNifti(join(out, 'oblique.nii.gz'))];
    expect(labels.shape).toEqual(scan.shape);
    expect(labels.affine).toEqual(scan.affine);
    expect(labels.header.pixDims.slice(0, 4)).toEqual(scan.header.pixDims.slice(0, 4));
    expect([
      labels.header.qform_code,
      labels.header.sform_code,
      labels.header.quatern_b,
      labels.header.quatern_c,
      labels.header.quatern_d,
    ]).toEqual([
      scan.header.qform_code,
      scan.header.sform_code,
      scan.header.quatern_b,
      scan.header.quatern_c,
      scan.header.quatern_d,
    ]);
    // slice z of the label map is the mask predicted for slice z
    for (let z = 0; z < 3; z++) {
      const mask = readFileSync(join(out, `oblique_z00${z}.mask.png`));
      expect(mask.length).toBeGreaterThan(0);
      const area = labels.data.subarray(z * 48 * 48, (z + 1) * 48 * 48).reduce((n, v) => n + v, 0);
      expect(area).toBe(summary.images[z]!.lvAreaPx);
    }
    // a second predict into the same folder is refused without --overwrite, and replaces it with
    const again = ['predict', join(model, 'model.json'), input, '--out', out, '--scale', 'minmax', '--backend', 'cpu'];
    expect((await captureCli(again)).code).not.toBe(0);
    expect((await captureCli([...again, '--overwrite'])).code).toBe(0);
  });

  it('a four-label phantom dataset (background, lv, myocardium, rv) round-trips with its class names', async () => {
    // The NIfTI side of issue 25's four-label test: the multi-class work trains and evaluates per class on it.
    const dir = join(root, 'four');
    mkdirSync(dir);
    const written = await writeFourLabelDataset(dir, 8, 1, 32);
    expect(written).toEqual({ cases: 2, slices: 8, classes: [...FOUR_CLASSES] });
    const source = await openSource(dir);
    expect(source.kind).toBe('nifti');
    expect(source.classes).toEqual(['background', 'lv', 'myocardium', 'rv']);
    const back = await readAllSamples(source);
    const phantoms = fourLabelPhantoms(8, 1, 32);
    expect(back.map((s) => [s.patient, s.spacing])).toEqual(phantoms.map((s) => [s.patient, s.spacing]));
    expect(back.map((s) => s.label)).toEqual(phantoms.map((s) => s.label));
    expect(back.map((s) => s.image)).toEqual(phantoms.map((s) => s.image));
    for (const s of back) expect(new Set(s.label)).toEqual(new Set([0, 1, 2, 3]));
    const inspect = await captureCli(['data', 'inspect', dir, '--json']);
    expect(JSON.parse(inspect.out)).toMatchObject({
      kind: 'nifti',
      count: 8,
      patients: 2,
      height: 32,
      width: 32,
      spacing: [1.5, 1.5],
    });

    // imagesTs (no labels) as predict's input folder: one label map per case, named as nnU-Net names them
    mkdirSync(join(dir, 'imagesTs'));
    for (const f of readdirSync(join(dir, 'imagesTr')))
      copyFileSync(join(dir, 'imagesTr', f), join(dir, 'imagesTs', f));
    const model = join(root, 'threshold-ts');
    const tiny = thresholdModel(null, null);
    await saveModel(tiny, model);
    tiny.dispose();
    const r = await captureCli([
      'predict',
      join(model, 'model.json'),
      join(dir, 'imagesTs'),
      '--out',
      join(root, 'pred-ts'),
      '--scale',
      'minmax',
      '--backend',
      'cpu',
    ]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(root, 'pred-ts', 'predictions.json'), 'utf8')) as {
      labelMaps: { file: string; shape: number[] }[];
    };
    expect(summary.labelMaps.map((m) => [m.file, m.shape])).toEqual([
      ['four-p000.nii.gz', [32, 32, 4, 1]],
      ['four-p001.nii.gz', [32, 32, 4, 1]],
    ]);
  });

  it(
    'convert writes an nnU-Net folder all or nothing, replaced only with --overwrite; predict --format nifti stacks ' +
      '2D inputs per patient',
    async () => {
      const out = join(root, 'phantoms-nnunet');
      const convert = (...extra: string[]): Promise<{ code: number; out: string; err: string }> =>
        captureCli(['data', 'convert', 'synthetic:3:1:32', '--format', 'nnunet', '--out', out, ...extra]);
      expect((await convert()).out).toMatch(
        /wrote 1 cases \(3 slices; labels 0 background, 1 lv\) to .* as an nnU-Net dataset/,
      );
      expect((await convert()).err).toMatch(
        /already holds the output of an earlier 'lvseg data convert'; pass --overwrite/,
      );
      expect((await convert('--overwrite')).code).toBe(0);
      writeFileSync(join(out, 'notes.txt'), 'mine');
      expect((await convert('--overwrite')).err).toMatch(
        /holds files 'lvseg data convert' did not write \(notes\.txt\)/,
      );
      expect(
        (
          await captureCli([
            'data',
            'convert',
            'synthetic:3:1:32',
            '--format',
            'nnunet',
            '--split',
            'patient',
            '--out',
            join(root, 'x'),
          ])
        ).err,
      ).toMatch(/--split writes TFRecords; leave it out with --format nnunet/);

      const model = join(root, 'threshold-stack');
      const tiny = thresholdModel(null, null);
      await saveModel(tiny, model);
      tiny.dispose();
      const pred = join(root, 'pred-stack');
      const r = await captureCli([
        'predict',
        join(model, 'model.json'),
        'synthetic:3:1:32',
        '--out',
        pred,
        '--scale',
        'minmax',
        '--backend',
        'cpu',
        '--format',
        'nifti',
      ]);
      expect(r.code).toBe(0);
      const summary = JSON.parse(readFileSync(join(pred, 'predictions.json'), 'utf8')) as {
        images: { lvAreaPx: number; labelMap: string }[];
        labelMaps: { file: string; shape: number[]; geometry: string }[];
      };
      expect(summary.labelMaps).toEqual([
        { file: 'synthetic-p000.nii.gz', input: 'synthetic:3:1:32', shape: [32, 32, 3], geometry: 'stacked' },
      ]);
      const stacked = await readNifti(join(pred, 'synthetic-p000.nii.gz'));
      summary.images.forEach((image, z) => {
        expect(stacked.data.subarray(z * 1024, (z + 1) * 1024).reduce((n, v) => n + v, 0)).toBe(image.lvAreaPx);
      });
    },
  );

  it('a dataset.json or label map that does not fit gives one line naming the file', async () => {
    const dir = join(root, 'bad');
    mkdirSync(dir);
    await writeNnunetDataset(dir, await readAllSamples(syntheticSource(2, 1, 16)), { name: 'bad', description: 'x' });
    const json = join(dir, 'dataset.json');
    const good = readFileSync(json, 'utf8');
    const failure = async (edit: (d: Record<string, unknown>) => void): Promise<string> => {
      const d = JSON.parse(good) as Record<string, unknown>;
      edit(d);
      writeFileSync(json, JSON.stringify(d));
      const err = await openSource(dir)
        .then(readAllSamples)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).not.toContain('\n');
      return (err as Error).message;
    };
    expect(await failure((d) => (d.channel_names = { 0: 'T1', 1: 'T2' }))).toMatch(
      /dataset\.json: 'channel_names' lists 2 channels .* keep channel "0" only/,
    );
    expect(await failure((d) => (d.labels = { background: 0, lv: 2 }))).toMatch(
      /dataset\.json: 'labels' must number the classes 0, 1, \.\.\. without gaps/,
    );
    expect(await failure((d) => (d.labels = { background: 0, lv: [1, 2] }))).toMatch(
      /label 'lv' is \[1,2\]; .*region-based labels are not supported/,
    );
    // a label map with a value past the classes of dataset.json
    writeFileSync(json, good);
    const labelFile = join(dir, 'labelsTr', `${readdirSync(join(dir, 'labelsTr'))[0]}`);
    const labels = await readNifti(labelFile);
    const bad = Uint8Array.from(labels.data);
    bad[5] = 4;
    writeFileSync(
      labelFile,
      encodeNifti(bad, { shape: labels.shape.slice(0, 3), affine: labels.affine }, { gzip: true }),
    );
    const err = await openSource(dir)
      .then(readAllSamples)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as Error).message).toBe(
      `${labelFile}: voxel 5 holds 4, not a class index 0..1 of dataset.json's labels`,
    );
    rmSync(join(dir, 'labelsTr'), { recursive: true });
    await expect(openSource(dir).then(readAllSamples)).rejects.toThrow(
      /_0000\.nii\.gz: no label map at .*labelsTr.*; every case of imagesTr needs its labelsTr file/,
    );
  });
});
