/** What a training run checks before it writes, and what it leaves when it fails early. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputError, TrainingError, UsageError } from '../../src/errors.js';
import { resolveTrainConfig, type TrainConfig } from '../../src/training/config.js';
import type { TrainingCallback } from '../../src/training/callbacks/types.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { checkMemoryFits, runTraining } from '../../src/workflows/train-run.js';

const base = mkdtempSync(join(tmpdir(), 'lvseg-guards-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };

function config(out: string, extra: Partial<Record<keyof TrainConfig, unknown>> = {}): TrainConfig {
  return resolveTrainConfig({
    modelSpec: 'test/training/tiny-model.json',
    train: 'synthetic:8:1:32',
    val: 'synthetic:4:100:32',
    epochs: 2,
    backend: 'cpu',
    scale: '1/255',
    batchSize: 2,
    lr: 0.01,
    out,
    tensorboard: false,
    ...extra,
  });
}

/** Poisons the first layer before the first step: the loss is NaN at once, before any checkpoint. */
const poisonAtStart: TrainingCallback = {
  onEpochBegin(epoch, ctx) {
    if (epoch !== 0) return;
    const [kernel, bias] = ctx.model.layers[0]!.getWeights();
    ctx.model.layers[0]!.setWeights([ctx.tf.fill(kernel!.shape, NaN), bias!]);
  },
};

describe('a new run that fails before its first checkpoint', () => {
  it('removes the folder it created', async () => {
    const out = join(base, 'nan');
    await expect(runTraining(config(out), undefined, { ...quiet, callbacks: [poisonAtStart] })).rejects.toThrow(
      TrainingError,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('leaves an empty folder it was given empty, ready to be used again', async () => {
    const out = join(base, 'given');
    mkdirSync(out);
    await expect(runTraining(config(out), undefined, { ...quiet, callbacks: [poisonAtStart] })).rejects.toThrow(
      TrainingError,
    );
    expect(readdirSync(out)).toEqual([]);
    const result = await runTraining(config(out, { epochs: 1 }), undefined, quiet);
    expect(result.history).toHaveLength(1);
    result.model.dispose();
  });
});

describe('checks before anything is written', () => {
  it('a batch larger than the training set', async () => {
    const out = join(base, 'batch');
    const err = await runTraining(config(out, { batchSize: 100000 }), undefined, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      '--batch-size 100000 is larger than the training set (8 samples); pass at most 8',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('a batch whose activations cannot fit in memory', () => {
    // two layers of 256x256x32 floats: 16 MiB of activations per image, twice that with their gradients
    const model = {
      name: 'wide',
      layers: [{ outputShape: [null, 256, 256, 32] }, { outputShape: [null, 256, 256, 32] }],
    } as unknown as LayersModel;
    expect(() => checkMemoryFits(model, 64, 256, 2 * 2 ** 30)).not.toThrow();
    expect(() => checkMemoryFits(model, 65, 256, 2 * 2 ** 30)).toThrow(
      '--batch-size 65 needs about 2.0 GB for the activations of wide at 256x256, more than the 2.0 GB this machine ' +
        'can give; pass a smaller --batch-size',
    );
  });

  it('a folder with files lvseg did not write', async () => {
    const out = join(base, 'foreign');
    mkdirSync(out);
    writeFileSync(join(out, 'history.json'), '{"loss": []}');
    await expect(runTraining(config(out), undefined, quiet)).rejects.toThrow(OutputError);
    expect(readdirSync(out)).toEqual(['history.json']);
  });
});
