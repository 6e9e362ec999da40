import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTrainConfig, type TrainConfig } from '../../src/training/config.js';
import { runTraining } from '../../src/workflows/train-run.js';
import { loadLayersModel } from '../../src/models/io.js';
import { TrainingError } from '../../src/errors.js';
import type { TrainingCallback } from '../../src/training/callbacks/types.js';
import { tempDir } from '../temp.js';

const TINY = 'test/training/tiny-model.json';
const silent = { write: () => true };

function tinyConfig(out: string, extra: Partial<Record<keyof TrainConfig, unknown>> = {}): TrainConfig {
  return resolveTrainConfig({
    modelSpec: TINY,
    train: 'synthetic:8:1:32',
    val: 'synthetic:4:100:32',
    epochs: 3,
    backend: 'cpu',
    scale: '1/255',
    batchSize: 2,
    lr: 0.01,
    out,
    tensorboard: false,
    ...extra,
  });
}

const tmpRun = (): string => join(tempDir('lvseg-run-'), 'run');

describe('a tiny training run', () => {
  it('writes every run-directory file, one Keras-style line per epoch, and keeps tensors alive flat', async () => {
    const out = tmpRun();
    const lines: string[] = [];
    const result = await runTraining(tinyConfig(out, { tensorboard: true, spacing: '1.5' }), undefined, {
      progress: { stream: { write: (s: string) => lines.push(s) } },
      warn: () => {},
    });
    for (const f of [
      'config.json',
      'summary.json',
      'history.json',
      'model/model.json',
      'model/weights.bin',
      'best/model.json',
      'best/best.json',
      'panels/epoch-001.png',
      'panels/epoch-003.png',
      'evaluation.json',
      'report.html',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    for (const d of ['logs/train', 'logs/validation'])
      expect(
        readdirSync(join(out, d)).some((f) => f.startsWith('events.out.tfevents.')),
        d,
      ).toBe(true);
    const samples = readdirSync(join(out, 'samples'));
    expect(samples.filter((f) => f.startsWith('best-'))).toHaveLength(3);
    expect(samples.filter((f) => f.startsWith('worst-'))).toHaveLength(1);
    const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
    expect(evaluation.perImage).toHaveLength(4);
    expect(evaluation.dice).toBeCloseTo(result.evaluation!.metrics.dice, 10);
    expect(evaluation.meanDice).toBeCloseTo(result.evaluation!.metrics.meanDice, 10);
    // --spacing reached the validation data: distances in mm, so the challenge protocol applies.
    expect(evaluation.unit).toBe('mm');
    expect(evaluation.challenge.contours).toBe(4);
    expect(typeof evaluation.goodContourRate).toBe('number');
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['epoch-002', 'epoch-003']);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs;
    expect(history.map((e: { epoch: number }) => e.epoch)).toEqual([0, 1, 2]);
    for (const key of ['loss', 'dice', 'accuracy', 'val_loss', 'val_dice', 'val_accuracy', 'seconds', 'tensors'])
      expect(typeof history[0][key], key).toBe('number');
    // the same tensors are alive after every epoch: nothing leaks per step or per epoch
    expect(history.map((e: { tensors: number }) => e.tensors)).toEqual(Array(3).fill(history[0].tensors));
    // one prediction path and one loss: the final model's evaluation repeats the last epoch's validation
    expect(evaluation.batchSize).toBe(2);
    expect(evaluation.loss).toBeCloseTo(history[2].val_loss, 6);
    expect(evaluation.dice).toBeCloseTo(history[2].val_dice, 6);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      modelSpec: TINY,
      backend: 'cpu',
      backendRequested: 'cpu',
      seed: 42,
      epochs: 3,
      batchSize: 2,
      inputSize: 32,
      scale: '1/255',
      trainSize: 8,
      valSize: 4,
    });
    expect(cfg.versions.tfjs).toBe('4.22.0');
    expect(cfg.modelSpecContent.layers).toHaveLength(2);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.totalParams).toBe(3 * 3 * 4 + 4 + 3 * 3 * 4 * 2 + 2);
    const epochLines = lines.filter((l) =>
      new RegExp(
        String.raw`^Epoch \d\/3 - 4\/4 - [\d.]+s - loss: \d+\.\d{4} - dice: \d\.\d{4} - accuracy: \d\.\d{4} ` +
          String.raw`- val_loss: \d+\.\d{4} - val_dice: \d\.\d{4} - val_accuracy: \d\.\d{4}\n$`,
      ).test(l),
    );
    expect(epochLines).toHaveLength(3);
    const best = JSON.parse(readFileSync(join(out, 'best', 'best.json'), 'utf8'));
    expect(best.value).toBe(Math.max(...history.map((e: { val_dice: number }) => e.val_dice)));
    await expect(
      runTraining(tinyConfig(out), undefined, { progress: { stream: silent }, warn: () => {} }),
    ).rejects.toThrow(/already holds a run; continue it with --resume/);
    const reloaded = await loadLayersModel(join(out, 'model'));
    expect(reloaded.countParams()).toBe(result.model.countParams());
  });

  it('without --val, splits the training source by patient', async () => {
    const out = tmpRun();
    const result = await runTraining(
      tinyConfig(out, { val: null, train: 'synthetic:16:1:32', epochs: 1, valFraction: 0.25 }),
      undefined,
      { progress: { stream: silent }, warn: () => {} },
    );
    expect(result.val.length).toBeGreaterThan(0);
    expect((result.config.trainSize as number) + result.val.length).toBe(16);
    expect(result.config).toMatchObject({ val: null, split: 'patient', valFraction: 0.25 });
  });

  it('a NaN loss stops training with a TrainingError and keeps the last good checkpoint', async () => {
    const out = tmpRun();
    // after epoch 1 (and its checkpoint), poison one weight: the next step's loss is NaN
    const poison: TrainingCallback = {
      onEpochEnd(epoch, _logs, ctx) {
        if (epoch !== 0) return;
        const w = ctx.model.getWeights()[0]!;
        ctx.model.layers[0]!.setWeights([ctx.tf.fill(w.shape, NaN), ctx.model.layers[0]!.getWeights()[1]!]);
      },
    };
    const err = await runTraining(tinyConfig(out), undefined, {
      progress: { stream: silent },
      warn: () => {},
      callbacks: [poison],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingError);
    // the loop says where it stopped; the workflow, which knows the run, adds the checkpoint and --resume
    expect(err).toMatchObject({
      epoch: 2,
      step: 1,
      message:
        `loss became NaN at epoch 2, step 1: training stopped; the last good checkpoint (epoch 1) is kept in ` +
        `${join(out, 'checkpoints')}; lower --lr or check --scale and the data, then train again or --resume ${out}`,
    });
    expect((err as Error).cause).toMatchObject({
      message: 'loss became NaN at epoch 2, step 1: training stopped',
      epoch: 2,
      step: 1,
    });
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['epoch-001']);
    expect(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs).toHaveLength(1);
    expect(existsSync(join(out, 'model'))).toBe(false);
  });

  it('early stopping ends the run when val_dice stops improving', async () => {
    const out = tmpRun();
    const warnings: string[] = [];
    // a zero learning rate never improves: patience 1 stops after epoch 2
    const result = await runTraining(tinyConfig(out, { epochs: 5, lr: 1e-12, earlyStopping: 1 }), undefined, {
      progress: { stream: silent },
      warn: (l) => warnings.push(l),
    });
    expect(result.history).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/early stopping: val_dice has not improved for 1 epochs/);
  });
});

describe('the lab Task 1 flaw (lab-task1 preset)', () => {
  it(
    'softmax over the whole dense output fed to a from-logits loss: the loss sits at ln 2 and lvseg ' + 'warns',
    async () => {
      const out = tmpRun();
      const warnings: string[] = [];
      const lines: string[] = [];
      const config = resolveTrainConfig({
        preset: 'lab-task1',
        train: 'synthetic:3:1:64',
        val: 'synthetic:2:50:64',
        epochs: 2,
        backend: 'cpu',
        scale: '1/255',
        out,
        tensorboard: false,
      });
      expect(config).toMatchObject({
        model: 'dense',
        softmax: true,
        batchSize: 1,
        shuffleBuffer: 10,
        lr: 0.001,
        loss: 'sparse-ce',
      });
      const result = await runTraining(config, undefined, {
        progress: { stream: { write: (s: string) => lines.push(s) } },
        warn: (l) => warnings.push(l),
      });
      expect(warnings.join('\n')).toMatch(
        /last activation is softmax but the loss 'sparse-ce' expects logits.*0\.6931/,
      );
      for (const e of result.history) {
        expect(Math.abs(e.loss - Math.LN2)).toBeLessThan(1e-4);
        expect(Math.abs(e.val_loss - Math.LN2)).toBeLessThan(1e-4);
      }
      expect(lines.filter((l) => l.includes('loss: 0.6931 -'))).toHaveLength(2);
    },
  );
});
