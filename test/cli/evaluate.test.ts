import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCli as capture } from './run-cli.js';
import { selectBackend } from '../../src/backends/select.js';
import { syntheticSource, readAllSamples } from '../../src/data/source.js';
import { evaluateModel } from '../../src/evaluation/evaluate.js';
import { saveModel } from '../../src/models/io.js';
import { thresholdModel } from '../evaluation/tiny-model.js';
import { testModelMetadata } from '../models/metadata-fixture.js';

let dir: string;
let run: string;

beforeAll(async () => {
  await selectBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'lvseg-evaluate-'));
  // A run directory whose config says the model was trained on images scaled by 1/255.
  run = join(dir, 'run');
  await saveModel(thresholdModel(32, 32), join(run, 'model'));
  writeFileSync(join(run, 'config.json'), JSON.stringify({ scale: '1/255' }));
  mkdirSync(join(dir, 'bare'));
  await saveModel(thresholdModel(32, 32), join(dir, 'bare'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lvseg evaluate', () => {
  it('prints one JSON object with the metrics of evaluateModel, scaled as the run config says', async () => {
    const { code, out } = await capture([
      'evaluate',
      run,
      '--data',
      'synthetic:5:3:32',
      '--json',
      '--backend',
      'cpu',
      '--batch-size',
      '2',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    for (const key of [
      'loss',
      'accuracy',
      'dice',
      'meanDice',
      'iou',
      'precision',
      'recall',
      'hd95',
      'apd',
      'count',
      'unit',
    ]) {
      expect(result).toHaveProperty(key);
    }
    const samples = await readAllSamples(syntheticSource(5, 3, 32, 1 / 255));
    const expected = await evaluateModel(thresholdModel(32, 32), samples, { batchSize: 2 });
    expect(result.count).toBe(5);
    expect(result.scale).toBe('1/255');
    for (const key of ['loss', 'accuracy', 'dice', 'meanDice', 'iou'] as const) {
      expect(result[key]).toBeCloseTo(expected.metrics[key], 6);
    }
  });

  it('lets --scale override the run and writes the per-image CSV', async () => {
    const csv = join(dir, 'out', 'per-image.csv');
    const { code, out } = await capture([
      'evaluate',
      join(dir, 'bare', 'model.json'),
      '--data',
      'synthetic:3:0:32',
      '--scale',
      'minmax',
      '--per-image',
      csv,
      '--backend',
      'cpu',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/scale\s+minmax \(--scale\)/);
    expect(out).toMatch(/meanDice\s+\d\.\d{4}/);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'name,patient,phase,dice,iou,precision,recall,accuracy,hd95_px,apd_px,goodContour,lvAreaPx,labelAreaPx,lvAreaMm2',
    );
    expect(lines).toHaveLength(4);
  });

  it(
    'puts meanDice, apd and goodContourRate first in the JSON, with the challenge protocol, per patient and per ' +
      'phase',
    async () => {
      const { code, out } = await capture([
        'evaluate',
        run,
        '--data',
        'synthetic:6:3:32',
        '--json',
        '--backend',
        'cpu',
        '--spacing',
        '1.5',
      ]);
      expect(code).toBe(0);
      const result = JSON.parse(out);
      expect(Object.keys(result).slice(0, 3)).toEqual(['meanDice', 'apd', 'goodContourRate']);
      expect(result.unit).toBe('mm');
      expect(result.data).toMatch(/spacing 1\.5 mm where the source has none/);
      expect(result.goodContourRate).toBe(result.challenge.goodContourRate);
      expect(result.goodContourRate).toBeGreaterThanOrEqual(0);
      expect(result.challenge).toMatchObject({ rule: 'APD < 5 mm', thresholdMm: 5, count: 6 });
      expect(result.perPatient.map((p: { patient: string }) => p.patient)).toEqual([
        'synthetic-p000',
        'synthetic-p001',
      ]);
      expect(result.perPatient.reduce((n: number, p: { count: number }) => n + p.count, 0)).toBe(6);
      expect(result.perPhase).toEqual({});
      expect(result.perImage).toHaveLength(6);
    },
  );

  it('prints the challenge block and the per-patient table, or how to give a spacing', async () => {
    const mm = await capture(['evaluate', run, '--data', 'synthetic:4:3:32', '--backend', 'cpu', '--spacing', '1.5']);
    expect(mm.code).toBe(0);
    expect(mm.out).toMatch(/good contours\s+\d+ of 4 expert contours/);
    expect(mm.out).toMatch(/Dice over good .* what papers usually quote/);
    expect(mm.out).toMatch(/Dice over all .* meanDice: every image counts/);
    expect(mm.out).toMatch(/^\s+synthetic-p000\s+4\s+\d\.\d{4}/m);
    expect(mm.out).toMatch(/^\s+all\s+4\s/m);
    const px = await capture(['evaluate', run, '--data', 'synthetic:2:3:32', '--backend', 'cpu']);
    expect(px.out).toMatch(/not applicable: distances are in pixels\. Give the pixel spacing with --spacing MM/);
    const bad = await capture(['evaluate', run, '--data', 'synthetic:2:3:32', '--backend', 'cpu', '--spacing', 'wide']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--spacing: 'wide' is not a pixel spacing/);
  });

  it('fails with one line naming what is missing', async () => {
    const { code, err } = await capture(['evaluate', run, '--backend', 'cpu']);
    expect(code).toBe(1);
    expect(err).toMatch(/evaluate needs --data SRC/);
    const missing = await capture(['evaluate', join(dir, 'nope'), '--data', 'synthetic:1', '--backend', 'cpu']);
    expect(missing.err).toMatch(/no such model file or run directory, and not a bundled model/);
  });
  it('says which patients of the data the model was trained on, from its run or its lvseg.json', async () => {
    // synthetic:8:4 holds synthetic-p000 (seeds 4-7) and synthetic-p001 (seeds 8-11)
    const seen = join(dir, 'seen-run');
    await saveModel(thresholdModel(32, 32), join(seen, 'model'));
    writeFileSync(
      join(seen, 'config.json'),
      JSON.stringify({ scale: '1/255', trainPatients: ['synthetic-p000', 'SC-HF-I-01'] }),
    );
    const fromRun = await capture(['evaluate', seen, '--data', 'synthetic:8:4:32', '--json', '--backend', 'cpu']);
    expect(fromRun.code).toBe(0);
    expect(JSON.parse(fromRun.out).seenPatients).toEqual(['synthetic-p000']);
    expect(fromRun.err).toContain(
      "warning: 1 of the 2 patients in the data were in this model's training data (synthetic-p000): these numbers " +
        'are not of unseen patients',
    );

    const bundled = join(dir, 'bundled');
    await saveModel(thresholdModel(32, 32), bundled);
    const meta = {
      ...testModelMetadata('1/255'),
      training: { data: { trainPatients: ['synthetic-p000', 'synthetic-p001'] } },
    };
    writeFileSync(join(bundled, 'lvseg.json'), JSON.stringify(meta));
    const fromMeta = await capture(['evaluate', bundled, '--data', 'synthetic:8:4:32', '--backend', 'cpu']);
    expect(fromMeta.code).toBe(0);
    expect(fromMeta.err).toMatch(
      /all 2 patients in the data were in this model's training data \(synthetic-p000, synthetic-p001\)/,
    );

    // a run that does not record its patients says nothing either way
    const silent = await capture(['evaluate', run, '--data', 'synthetic:8:4:32', '--json', '--backend', 'cpu']);
    expect(JSON.parse(silent.out).seenPatients).toBeNull();
    expect(silent.err).not.toMatch(/training data/);
  });
});
