import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/training/config.js';
import { runTraining } from '../../src/workflows/train-run.js';
import { evaluateSavedModel } from '../../src/evaluation/saved-model.js';
import { LV_MYO_RV_CLASSES } from '../../src/data/classes.js';
import { segmentImage } from '../../src/inference/predict-core.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { loadInferenceModel } from '../../src/models/io.js';
import { resolveModelJson, resolveModelSettings } from '../../src/inference/run-config.js';

const runs: string[] = [];
afterAll(() => {
  for (const d of runs) rmSync(d, { recursive: true, force: true });
});

describe('a synthetic dataset with four labels', () => {
  it('trains a four-class U-Net that records its classes, and evaluates per class', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lvseg-four-')), 'run');
    runs.push(dirname(out));
    const config = resolveTrainConfig({
      model: 'unet-small',
      train: 'synthetic:64:0:64',
      val: 'synthetic:4:500:64',
      classes: [...LV_MYO_RV_CLASSES],
      unet: { batchNorm: true, batchNormMomentum: 0.9 },
      epochs: 12,
      batchSize: 4,
      lr: 0.003,
      loss: 'ce+image-dice',
      scale: '1/255',
      backend: 'auto',
      out,
      tensorboard: false,
      shuffleBuffer: 64,
      preprocessing: { spacing: null, roi: null, intensity: { method: 'percentile-zscore', low: 1, high: 99 } },
    });
    const result = await runTraining(config, undefined, {
      progress: { stream: { write: () => true } },
      warn: () => {},
    });
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).classes).toEqual([
      'background',
      'lv',
      'myocardium',
      'rv',
    ]);
    expect(JSON.parse(readFileSync(join(out, 'model', 'lvseg.json'), 'utf8')).classes).toEqual([
      'background',
      'lv',
      'myocardium',
      'rv',
    ]);
    expect(result.model.outputs[0]!.shape).toEqual([null, 64, 64, 4]);
    expect(existsSync(join(out, 'report.html'))).toBe(true);

    const evaluation = await evaluateSavedModel(out, 'synthetic:8:900:64');
    console.log(
      Object.entries(evaluation.classes!)
        .map(([k, c]) => `${k} ${c.meanDice.toFixed(3)}`)
        .join(', '),
    );
    expect(Object.keys(evaluation.classes!)).toEqual(['lv', 'myocardium', 'rv', 'epicardium']);
    for (const name of ['lv', 'myocardium', 'rv', 'epicardium']) {
      const c = evaluation.classes![name]!;
      expect(c.count, name).toBe(8);
      expect(Object.keys(c)).toEqual(expect.arrayContaining(['meanDice', 'apd', 'hd95', 'goodContourRate', 'count']));
    }
    // the top level is the blood pool's alone, as the per-class lv
    expect(evaluation.metrics.meanDice).toBeCloseTo(evaluation.classes!.lv!.meanDice, 10);
    expect(evaluation.classes!.lv!.meanDice).toBeGreaterThan(0.8);
    expect(evaluation.classes!.epicardium!.meanDice).toBeGreaterThan(0.8);
    expect(evaluation.classes!.myocardium!.meanDice).toBeGreaterThan(0.7);
    expect(evaluation.classes!.rv!.meanDice).toBeGreaterThan(0.7);

    // predict's mask holds the four classes
    const model = await loadInferenceModel(resolveModelJson(out));
    const phantom = generatePhantom(901, 64, { classes: 4 });
    phantom.image = phantom.image.map((v) => v / 255);
    const { mask } = await segmentImage(model, phantom, resolveModelSettings(out).segment);
    expect(new Set(mask)).toEqual(new Set([0, 1, 2, 3]));
    model.dispose();
  }, 600_000);
});
