/**
 * Partial labels through an nnU-Net dataset (issue 25): `data convert --classes background,lv,myocardium
 * --format nnunet` writes the Sunnybrook slices without an epicardial contour with nnU-Net's `ignore` label
 * where their class is unknown, and lvseg's reader gives back the source's samples, labels and partial-label
 * supervision (Sample.labelledClasses), so training on the dataset is training on the source. Also: any
 * dataset.json with an `ignore` label is read (ignore = the highest value, not a class).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { LV_MYO_CLASSES, LV_MYO_RV_CLASSES } from '../../src/data/classes.js';
import { encodeNifti, readNifti } from '../../src/data/nifti.js';
import { ignoredSlice, readDatasetJson, writeNnunetDataset } from '../../src/data/nnunet.js';
import type { Sample } from '../../src/data/sample.js';
import { openSource, readAllSamples, syntheticSource } from '../../src/data/source.js';
import { DataError } from '../../src/errors.js';
import { evaluate, train } from '../../src/index.js';
import { getLoss, knownClasses } from '../../src/losses/losses.js';
import { captureCli } from '../cli/run-cli.js';
import { tempDir } from '../temp.js';
import { SHARED, epochMetrics, pngSubset, quiet } from './sunnybrook-subset.js';

/** Both contours' masks: the wall is the epicardial mask minus the endocardial one. */
const EPI = ['endo', 'epi'] as const;

const root = tempDir('lvseg-nnunet-partial-');
beforeAll(async () => {
  await selectBackend('cpu');
});

const haveShared = existsSync(join(SHARED, 'png', 'training', 'masks', 'epi'));
if (!haveShared) console.warn(`[skip] partial labels through nnU-Net on the Sunnybrook data: ${SHARED} is absent`);

/**
 * What training takes from each pixel of a sample (losses.ts): the set of classes counted as right there, as a
 * bit mask. A labelled pixel accepts its class; a background pixel of a slice that leaves classes unmarked
 * accepts background or any of them.
 */
function supervision(s: Sample, classes: number): Uint8Array {
  const unmarked = Array.from({ length: classes }, (_, k) => k).filter((k) => s.labelledClasses?.includes(k) === false);
  const merged = unmarked.reduce((bits, k) => bits | (1 << k), 1);
  return s.label.map((v) => (v === 0 ? merged : 1 << v));
}

/** The parts of two sample lists that training and evaluation read must be equal (names differ: CASE/zNNN). */
function expectSameSupervision(back: Sample[], source: Sample[], classes: number): void {
  expect(back.map((s) => [s.patient, s.height, s.width, s.spacing, s.labelledClasses])).toEqual(
    source.map((s) => [s.patient, s.height, s.width, s.spacing, s.labelledClasses]),
  );
  back.forEach((s, i) => {
    expect(s.image).toEqual(source[i]!.image);
    expect(s.label).toEqual(source[i]!.label);
    expect(supervision(s, classes)).toEqual(supervision(source[i]!, classes));
  });
}

/** The losses lvseg trains with, on the same logits, for both sample lists: equal, and partial labels matter. */
function expectSameLosses(back: Sample[], source: Sample[], classes: number): void {
  const { height, width } = source[0]!;
  const logits = tf.randomNormal([source.length, height, width, classes], 0, 2, 'float32', 3) as tf.Tensor4D;
  const lossOf = (samples: Sample[], name: string, partial = true): number =>
    tf.tidy(() => {
      const labels = tf.tensor3d(
        Uint8Array.from(samples.flatMap((s) => [...s.label])),
        [samples.length, height, width],
        'int32',
      );
      const known = partial
        ? knownClasses(
            samples.map((s) => s.labelledClasses),
            classes,
          )
        : undefined;
      return getLoss(name)(logits, labels, known).dataSync()[0]!;
    });
  for (const name of ['sparse-ce', 'ce+dice', 'ce+image-dice']) {
    expect(lossOf(back, name)).toBe(lossOf(source, name));
    // the partial labels change the loss: the test would see them lost
    expect(lossOf(back, name, false)).not.toBe(lossOf(back, name));
  }
  logits.dispose();
}

/** Three-class phantoms whose every other slice lost its wall (as a Sunnybrook slice without an o-contour). */
async function partialPhantoms(count: number, seed: number, size: number): Promise<Sample[]> {
  const samples = await readAllSamples(syntheticSource(count, seed, size, 'none', LV_MYO_CLASSES));
  samples.forEach((s, i) => {
    if (i % 2 === 1) return;
    s.label = s.label.map((v) => (v === 2 ? 0 : v));
    s.labelledClasses = [0, 1];
  });
  return samples;
}

describe('partial labels as nnU-Net ignore voxels', () => {
  it('phantoms with hidden walls: ignore on their background, read back as the same supervision', async () => {
    const phantoms = await partialPhantoms(8, 8, 48);
    const dir = join(root, 'phantoms');
    const written = await writeNnunetDataset(dir, phantoms, {
      classes: LV_MYO_CLASSES,
      name: 'phantoms',
      description: 'partial',
    });
    expect(written).toMatchObject({ cases: 1, slices: 8, classes: LV_MYO_CLASSES, ignore: 3 });
    const json = JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8')) as { labels: Record<string, number> };
    expect(json.labels).toEqual({ background: 0, lv: 1, myocardium: 2, ignore: 3 });
    // in the file: a slice without its wall holds lv and ignore only, a whole slice holds 0, 1, 2
    const labels = await readNifti(join(dir, 'labelsTr', `${readdirSync(join(dir, 'labelsTr'))[0]}`));
    const slice = (z: number): Set<number> => new Set(labels.data.subarray(z * 48 * 48, (z + 1) * 48 * 48));
    expect(slice(0)).toEqual(new Set([1, 3]));
    expect(slice(1)).toEqual(new Set([0, 1, 2]));

    const source = await openSource(dir);
    expect(source.classes).toEqual(LV_MYO_CLASSES);
    const back = await readAllSamples(source);
    expect(back.map((s) => s.labelledClasses)).toEqual(phantoms.map((s) => s.labelledClasses));
    expectSameSupervision(back, phantoms, 3);
    expectSameLosses(back, phantoms, 3);
    expect(source.report?.warnings).toEqual([]);

    // a single volume of the dataset reads the same
    const one = await readAllSamples(await openSource(join(dir, 'imagesTr', readdirSync(join(dir, 'imagesTr'))[0]!)));
    expectSameSupervision(one, phantoms, 3);

    // four classes, the wall hidden, the right ventricle drawn: the slice marks background, lv and rv
    const four = await readAllSamples(syntheticSource(4, 9, 32, 'none', LV_MYO_RV_CLASSES));
    four[1]!.label = four[1]!.label.map((v) => (v === 2 ? 0 : v));
    four[1]!.labelledClasses = [0, 1, 3];
    const fourDir = join(root, 'four');
    expect(
      await writeNnunetDataset(fourDir, four, { classes: LV_MYO_RV_CLASSES, name: 'four', description: 'x' }),
    ).toMatchObject({ ignore: 4 });
    expectSameSupervision(await readAllSamples(await openSource(fourDir)), four, 4);

    // fully labelled samples get no ignore label
    const whole = join(root, 'whole');
    const plain = await readAllSamples(syntheticSource(2, 1, 32, 'none', LV_MYO_CLASSES));
    expect(
      await writeNnunetDataset(whole, plain, { classes: LV_MYO_CLASSES, name: 'w', description: 'x' }),
    ).not.toHaveProperty('ignore');
    expect(readDatasetJson(whole)).not.toHaveProperty('ignore');
  });

  it("reads any dataset.json's ignore label: the highest value, not a class; sparse slices and scribbles", () => {
    expect(ignoredSlice(Uint8Array.from([3, 3, 3]), 3, 3)).toEqual({
      label: Uint8Array.from([0, 0, 0]),
      labelledClasses: [0],
      mixed: false,
    });
    expect(ignoredSlice(Uint8Array.from([0, 1, 3, 2]), 3, 3)).toEqual({
      label: Uint8Array.from([0, 1, 0, 2]),
      labelledClasses: [0, 1, 2],
      mixed: true,
    });
    const plain = Uint8Array.from([0, 1, 2]);
    expect(ignoredSlice(plain, 3, 3)).toEqual({ label: plain, mixed: false });
  });

  it('a dataset of another tool with an ignore label: sparse slices unsupervised, scribbles warned of', async () => {
    const dir = join(root, 'foreign');
    await writeNnunetDataset(dir, await readAllSamples(syntheticSource(3, 5, 32)), { name: 'f', description: 'x' });
    const labelFile = join(dir, 'labelsTr', readdirSync(join(dir, 'labelsTr'))[0]!);
    const labels = await readNifti(labelFile);
    const data = Uint8Array.from(labels.data);
    data.fill(255, 0, 1024); // slice 0 not annotated at all (nnU-Net's sparse slices)
    data.fill(255, 1024 + 100, 1024 + 110); // slice 1: a scribble's gap beside drawn background
    writeFileSync(
      labelFile,
      encodeNifti(data, { shape: labels.shape.slice(0, 3), affine: labels.affine }, { gzip: true }),
    );
    const json = join(dir, 'dataset.json');
    const good = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    const withLabels = (labelsJson: Record<string, unknown>): void =>
      writeFileSync(json, JSON.stringify({ ...good, labels: labelsJson }));
    withLabels({ background: 0, lv: 1, ignore: 255 });
    expect(readDatasetJson(dir)).toMatchObject({ classes: ['background', 'lv'], ignore: 255 });
    const source = await openSource(dir);
    const back = await readAllSamples(source);
    expect(back[0]!.labelledClasses).toEqual([0]);
    expect(back[0]!.label.every((v) => v === 0)).toBe(true);
    expect(back[1]!.labelledClasses).toEqual([0, 1]);
    expect(back[2]!.labelledClasses).toBeUndefined();
    expect(source.report?.warnings).toHaveLength(1);
    expect(source.report?.warnings[0]).toMatch(
      /dataset\.json: 1 slice \(synthetic-p000\/z001\) holds ignore voxels beside background voxels or every class/,
    );

    const failure = async (labelsJson: Record<string, unknown>): Promise<string> => {
      withLabels(labelsJson);
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
    expect(await failure({ background: 0, ignore: 1, lv: 2 })).toMatch(
      /dataset\.json: the 'ignore' label is 1 but nnU-Net's ignore label has the highest value \(got 2 for 'lv'\)/,
    );
    expect(await failure({ background: 0, lv: 1, ignore: 1 })).toMatch(/labels 'lv' and 'ignore' share the value 1/);
    expect(await failure({ background: 0, lv: 1, ignore: 2 })).toMatch(
      /voxel 0 holds 255, not a class index 0\.\.1 of dataset\.json's labels nor its ignore label 2/,
    );
    expect(await failure({ background: 0, lv: 1 })).toMatch(/voxel 0 holds 255, not a class index 0\.\.1 of dataset/);
  });

  it('convert --classes: a usage error where it cannot be written or read', async () => {
    const tfrecord = await captureCli([
      'data',
      'convert',
      'synthetic:2:1:16',
      '--classes',
      'background,lv,myocardium',
      '--out',
      join(root, 'x.tfrecords'),
    ]);
    expect(tfrecord.code).not.toBe(0);
    expect(tfrecord.err).toMatch(
      /--classes background,lv,myocardium: the lab's TFRecord schema holds a blood-pool mask/,
    );
    const dir = join(root, 'foreign');
    const own = await captureCli([
      'data',
      'convert',
      dir,
      '--format',
      'nnunet',
      '--classes',
      'background,lv,myocardium',
      '--out',
      join(root, 'y'),
    ]);
    expect(own.code).not.toBe(0);
    expect(own.err).toMatch(/has its own classes background,lv; leave --classes out/);
    expect(existsSync(join(root, 'y'))).toBe(false);
  });
});

describe.skipIf(!haveShared)('the Sunnybrook sets as a three-class nnU-Net dataset', () => {
  it('convert --classes: the same samples, partial labels and training as the PNG source', async () => {
    const classes = ['--classes', 'background,lv,myocardium'];
    const png = {
      train: pngSubset('training', ['SC-HF-I-01', 'SC-HF-NI-03'], 4, join(root, 'png-train'), EPI),
      val: pngSubset('validation', ['SC-HF-I-05'], 2, join(root, 'png-val'), EPI),
    };
    const nii = { train: join(root, 'nii-train'), val: join(root, 'nii-val') };
    for (const part of ['train', 'val'] as const) {
      const r = await captureCli(['data', 'convert', png[part], '--format', 'nnunet', ...classes, '--out', nii[part]]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/labels 0 background, 1 lv, 2 myocardium, 3 ignore \(class unknown: partial labels\)/);
    }
    expect(readDatasetJson(nii.train)).toMatchObject({ classes: LV_MYO_CLASSES, ignore: 3 });
    const fromPng = await readAllSamples(await openSource(png.train, { classes: LV_MYO_CLASSES }));
    const fromNii = await readAllSamples(await openSource(nii.train));
    // half the slices lack an epicardial mask: they mark background and blood pool only
    expect(fromPng.map((s) => s.labelledClasses)).toEqual([0, 1].flatMap(() => [[0, 1], undefined, [0, 1], undefined]));
    expectSameSupervision(fromNii, fromPng, 3);
    expectSameLosses(fromNii, fromPng, 3);

    // training on the converted dataset is training on the PNG source: the same losses and metrics, per class too
    const spec = join(root, 'tiny3.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'tiny3',
        layers: [
          { type: 'Conv2D', args: { filters: 4, kernel_size: 3, padding: 'same', activation: 'relu' } },
          { type: 'Conv2D', args: { filters: 3, kernel_size: 3, padding: 'same' } },
        ],
      }),
    );
    const runs: Record<string, { history: Record<string, unknown>[]; runDir: string }> = {};
    for (const [kind, data] of Object.entries({ png, nii })) {
      runs[kind] = await train(
        {
          modelSpec: spec,
          train: data.train,
          val: data.val,
          ...(kind === 'png' ? { classes: [...LV_MYO_CLASSES] } : {}),
          loss: 'ce+dice',
          epochs: 1,
          batchSize: 4,
          seed: 7,
          scale: '1/255',
          backend: 'cpu',
          out: join(root, `run-${kind}`),
          tensorboard: false,
        },
        quiet,
      );
    }
    expect(epochMetrics(runs.nii!.history)).toEqual(epochMetrics(runs.png!.history));
    expect(epochMetrics(runs.png!.history)[0]).toHaveProperty('val_loss');

    // and evaluate scores each class over the same slices (the wall only where the slice marks it)
    const [viaPng, viaNii] = [
      await evaluate(runs.png!.runDir, png.val, { backend: 'cpu' }),
      await evaluate(runs.nii!.runDir, nii.val, { backend: 'cpu' }),
    ];
    expect(viaNii.classes).toEqual(viaPng.classes);
    expect(viaNii.classes?.myocardium?.count).toBe(1);
    expect(viaNii.classes?.lv?.count).toBe(2);
  }, 600_000);

  it('the DICOM+contours set (o-contours as the wall) converts to the same samples and partial labels', async () => {
    const dicom = join(SHARED, 'dicom');
    const out = join(root, 'dicom-nii');
    const r = await captureCli([
      'data',
      'convert',
      dicom,
      '--format',
      'nnunet',
      '--classes',
      'background,lv,myocardium',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote 5 cases \(96 slices; labels 0 background, 1 lv, 2 myocardium, 3 ignore /);
    const fromDicom = await readAllSamples(await openSource(dicom, { classes: LV_MYO_CLASSES }));
    const back = await readAllSamples(await openSource(out));
    // 50 slices without an o-contour, and SC-HF-I-6's 9 whose o-contours (SC-HF-I-1's) are not their wall
    expect(fromDicom.filter((s) => s.labelledClasses).length).toBe(59);
    expect(r.err.match(/is not this slice's wall/g)?.length).toBe(9);
    expectSameSupervision(back, fromDicom, 3);
  }, 300_000);
});
