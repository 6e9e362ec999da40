import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classDices } from '../../src/training/metrics.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { runTraining } from '../../src/workflows/train-run.js';
import { viewRun } from '../../src/server/runs.js';
import { tempDir } from '../temp.js';

const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };

describe('per-class Dice of a K-class run', () => {
  it('classDices pools each class over the images that mark it, undefined where none does', () => {
    // two 4-pixel images, classes 0..2; the second marks only classes 0 and 1 (no wall drawn)
    const preds = [Uint8Array.from([1, 1, 2, 0]), Uint8Array.from([1, 2, 2, 0])];
    const labels = [Uint8Array.from([1, 2, 2, 0]), Uint8Array.from([1, 1, 0, 0])];
    // lv: image 1 tp 1 fp 1 fn 0, image 2 tp 1 fp 0 fn 1 -> (2·2 + 1) / (2·2 + 1 + 1 + 1) = 5/7
    // myocardium: image 1 only: tp 1 fp 0 fn 1 -> (2 + 1) / (2 + 0 + 1 + 1) = 3/4
    expect(classDices(preds, labels, 3, [undefined, [0, 1]])).toEqual([5 / 7, 3 / 4]);
    expect(
      classDices(preds, labels, 3, [
        [0, 1],
        [0, 1],
      ]),
    ).toEqual([5 / 7, undefined]);
  });

  it('logs val_dice per class in history.json, and the report and the dashboard show them', async () => {
    const dir = tempDir('lvseg-class-curves-');
    const spec = join(dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'tiny3',
        layers: [
          { type: 'Conv2D', args: { filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' } },
          { type: 'Conv2D', args: { filters: 3, kernelSize: 1 } },
        ],
      }),
    );
    const out = join(dir, 'run');
    const config = resolveTrainConfig({
      modelSpec: spec,
      train: 'synthetic:8:0:32',
      val: 'synthetic:4:500:32',
      classes: ['background', 'lv', 'myocardium'],
      epochs: 2,
      batchSize: 4,
      lr: 0.01,
      scale: '1/255',
      backend: 'cpu',
      out,
      tensorboard: false,
    });
    const result = await runTraining(config, undefined, quiet);
    result.model.dispose();

    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs as Record<string, number>[];
    expect(history).toHaveLength(2);
    for (const epoch of history) {
      expect(Object.keys(epoch)).toEqual(expect.arrayContaining(['val_dice', 'val_dice_lv', 'val_dice_myocardium']));
      // one validation batch marking both classes: val_dice is their mean
      expect(epoch.val_dice).toBeCloseTo((epoch.val_dice_lv! + epoch.val_dice_myocardium!) / 2, 10);
      expect(Object.keys(epoch).filter((k) => /^dice_/.test(k))).toEqual([]);
    }

    const report = readFileSync(join(out, 'report.html'), 'utf8');
    expect(report).toContain('<h3>Validation Dice per class</h3>');
    expect(report).toContain('validation Dice: lv');
    expect(report).toContain('validation Dice: myocardium');

    const view = viewRun(dir, 'run');
    expect(view.status).toBe('finished');
    expect(Object.keys(view.classes!)).toEqual(['lv', 'myocardium', 'epicardium']);
    expect(view.classes!.lv!.count).toBe(4);
    expect(view.history.at(-1)!.val_dice_myocardium).toBe(history.at(-1)!.val_dice_myocardium);
  }, 300_000);

  it('leaves a binary run as it was: no per-class keys', async () => {
    const dir = tempDir('lvseg-binary-curves-');
    const out = join(dir, 'run');
    const config = resolveTrainConfig({
      modelSpec: 'test/training/tiny-model.json',
      train: 'synthetic:4:0:32',
      val: 'synthetic:2:500:32',
      epochs: 1,
      batchSize: 2,
      scale: '1/255',
      backend: 'cpu',
      out,
      tensorboard: false,
    });
    const result = await runTraining(config, undefined, quiet);
    result.model.dispose();
    const [epoch] = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs as Record<string, number>[];
    expect(Object.keys(epoch!).filter((k) => k.startsWith('val_dice'))).toEqual(['val_dice']);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).not.toContain('Validation Dice per class');
    expect(viewRun(dir, 'run').classes).toBeUndefined();
  }, 300_000);
});
