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
    const { code, out } = await capture(['evaluate', run, '--data', 'synthetic:5:3:32', '--json', '--backend', 'cpu', '--batch-size', '2']);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    for (const key of ['loss', 'accuracy', 'dice', 'meanDice', 'iou', 'precision', 'recall', 'hd95', 'apd', 'count', 'unit']) {
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
    const { code, out } = await capture(['evaluate', join(dir, 'bare', 'model.json'), '--data', 'synthetic:3:0:32', '--scale', 'minmax', '--per-image', csv, '--backend', 'cpu']);
    expect(code).toBe(0);
    expect(out).toMatch(/scale\s+minmax \(--scale\)/);
    expect(out).toMatch(/meanDice\s+\d\.\d{4}/);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('name,patient,dice,iou,precision,recall,accuracy,hd95_px,apd_px,lvAreaPx,labelAreaPx,lvAreaMm2');
    expect(lines).toHaveLength(4);
  });

  it('fails with one line naming what is missing', async () => {
    const { code, err } = await capture(['evaluate', run, '--backend', 'cpu']);
    expect(code).toBe(1);
    expect(err).toMatch(/evaluate needs --data SRC/);
    const missing = await capture(['evaluate', join(dir, 'nope'), '--data', 'synthetic:1', '--backend', 'cpu']);
    expect(missing.err).toMatch(/no such model file or run directory/);
  });
});
