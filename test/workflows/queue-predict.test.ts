import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { encodeNifti, readNifti } from '../../src/data/nifti.js';
import { saveModel } from '../../src/models/io.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { captureCli, ensureBuilt, LVSEG, runCli } from '../cli/run-cli.js';
import { fourLabelPhantoms } from '../data/four-label-phantoms.js';
import { tempDir } from '../temp.js';
import { HAVE_REDIS, startRedis, type RedisServer } from './redis.js';

const CLASSES = ['background', 'lv', 'myocardium'];
/** A 3-slice volume on an oblique grid (rotated, 0.8 x 0.9 x 6 mm). */
const OBLIQUE = [
  [0.8 * Math.cos(0.3), -0.9 * Math.sin(0.3), 0, -40],
  [0.8 * Math.sin(0.3), 0.9 * Math.cos(0.3), 0, 25],
  [0, 0, -6, 12],
];

const root = tempDir('lvseg-queue-predict-');
const run = join(root, 'run');
const volume = join(root, 'oblique.nii.gz');
/** A NIfTI volume, and 2D slices of one patient (stacked into a label map with --format nifti). */
const inputs = [volume, 'synthetic:2:5:32'];

/**
 * A run folder with a 3-class model of known outputs: a 1x1 convolution whose logits split the minmax-scaled
 * intensity into background (< 0.23), myocardium (0.23–0.5) and blood pool (> 0.5), as the four-label phantoms
 * are drawn (the right ventricle comes out as blood pool).
 */
async function writeThreeClassRun(): Promise<void> {
  const input = tfl.input({ shape: [null, null, 1] });
  const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: 'scores' });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
  conv.setWeights([tf.tensor4d([0, 30, 10], [1, 1, 1, 3]), tf.tensor1d([0, -12.3, -2.3])]);
  mkdirSync(run);
  await saveModel(model, join(run, 'model'));
  model.dispose();
  writeFileSync(join(run, 'config.json'), JSON.stringify({ scale: 'minmax', classes: CLASSES }));
}

function writeVolume(): void {
  const phantoms = fourLabelPhantoms(3, 7, 32);
  const image = new Float32Array(32 * 32 * 3);
  phantoms.forEach((s, z) => {
    image.set(s.image, z * 32 * 32);
  });
  writeFileSync(volume, encodeNifti(image, { shape: [32, 32, 3], affine: OBLIQUE }, { gzip: true }));
}

beforeAll(async () => {
  await selectBackend('cpu');
  await writeThreeClassRun();
  writeVolume();
});

interface Summary {
  classes?: string[];
  images: {
    name: string;
    lvAreaPx: number;
    labelMap?: string;
    classes?: Record<string, { areaPx: number; contour: string }>;
  }[];
  labelMaps: { file: string; shape: number[]; geometry: string }[];
  queue?: string;
}

const readSummary = (dir: string): Summary => JSON.parse(readFileSync(join(dir, 'predictions.json'), 'utf8'));

describe('lvseg predict with a 3-class model', () => {
  it('writes per-class contours and areas, and K-class label maps on the NIfTI input grid and stacked', async () => {
    const out = join(root, 'local');
    const r = await captureCli(['predict', run, ...inputs, '--out', out, '--backend', 'cpu', '--format', 'nifti']);
    expect(r.code, r.err).toBe(0);
    const summary = readSummary(out);
    expect(summary.classes).toEqual(CLASSES);
    expect(summary.labelMaps).toEqual([
      { file: 'oblique.nii.gz', input: volume, shape: [32, 32, 3, 1], geometry: 'input' },
      { file: 'synthetic-p000.nii.gz', input: 'synthetic:2:5:32', shape: [32, 32, 2], geometry: 'stacked' },
    ]);
    expect(summary.images.map((i) => i.labelMap)).toEqual([
      'oblique.nii.gz',
      'oblique.nii.gz',
      'oblique.nii.gz',
      'synthetic-p000.nii.gz',
      'synthetic-p000.nii.gz',
    ]);
    const first = summary.images[0]!;
    expect(Object.keys(first.classes!)).toEqual(['lv', 'myocardium', 'epicardium']);
    expect(first.classes!.lv!.areaPx).toBe(first.lvAreaPx);
    expect(first.classes!.epicardium!.contour).toBe('oblique_z000-ocontour-auto.txt');
    expect(first.classes!.myocardium!.contour).toBe('oblique_z000-myocardium-contour-auto.txt');
    expect(first.classes!.lv!.contour).toBe('oblique_z000-icontour-auto.txt');
    expect(readFileSync(join(out, 'oblique_z000-ocontour-auto.txt'), 'utf8').trim().split('\n').length).toBeGreaterThan(
      8,
    );

    const [scan, labels] = [await readNifti(volume), await readNifti(join(out, 'oblique.nii.gz'))];
    expect(labels.affine).toEqual(scan.affine);
    expect(labels.shape).toEqual(scan.shape);
    expect(new Set(labels.data)).toEqual(new Set([0, 1, 2]));
    for (let z = 0; z < 3; z++) {
      const slice = labels.data.subarray(z * 1024, (z + 1) * 1024);
      const count = (k: number): number => slice.reduce((n, v) => n + (v === k ? 1 : 0), 0);
      const { classes } = summary.images[z]!;
      expect([count(1), count(2)]).toEqual([classes!.lv!.areaPx, classes!.myocardium!.areaPx]);
    }
  });
});

describe.skipIf(!HAVE_REDIS)('lvseg predict --queue with a 3-class model and NIfTI input', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    ensureBuilt();
    redis = await startRedis();
  }, 300_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('writes the same files as a local predict: masks, overlays, per-class contours, label maps', async () => {
    const worker = spawn(process.execPath, [LVSEG, 'worker', '--queue', redis.url, '--out', join(root, 'worker')], {
      cwd: PACKAGE_ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise((r) => worker.once('exit', r));
    let queued: Awaited<ReturnType<typeof runCli>>;
    try {
      queued = await runCli([
        'predict',
        run,
        ...inputs,
        '--out',
        join(root, 'queued'),
        '--backend',
        'cpu',
        '--format',
        'nifti',
        '--queue',
        redis.url,
      ]);
    } finally {
      worker.kill('SIGTERM');
      await exited;
    }
    expect(queued.code, queued.stderr).toBe(0);
    const local = join(root, 'local-again');
    expect(
      (await captureCli(['predict', run, ...inputs, '--out', local, '--backend', 'cpu', '--format', 'nifti'])).code,
    ).toBe(0);

    const files = readdirSync(local).sort();
    expect(readdirSync(join(root, 'queued')).sort()).toEqual(files);
    expect(files).toEqual(
      expect.arrayContaining(['oblique.nii.gz', 'synthetic-p000.nii.gz', 'oblique_z002-ocontour-auto.txt']),
    );
    for (const f of files.filter((f) => f !== 'predictions.json'))
      expect(readFileSync(join(root, 'queued', f)), f).toEqual(readFileSync(join(local, f)));
    const { queue, ...summary } = readSummary(join(root, 'queued'));
    expect(queue).toBe(redis.url);
    expect(summary).toEqual(readSummary(local));
  }, 120_000);
});
