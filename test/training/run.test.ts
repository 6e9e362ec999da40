import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/training/config.js';
import { runTraining } from '../../src/training/run.js';
import { loadModel } from '../../src/models/io.js';

const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };

describe('a tiny training run', () => {
  it('writes every run-directory file and keeps tensors alive flat from epoch to epoch', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lvseg-run-')), 'run');
    const lines: string[] = [];
    const config = resolveTrainConfig({
      model: 'unet-small',
      train: 'synthetic:8:1:32',
      val: 'synthetic:4:100:32',
      epochs: 3,
      backend: 'cpu',
      scale: 'none',
      batchSize: 2,
      out,
      tensorboard: false,
    });
    const result = await runTraining(config, undefined, { progress: { stream: { write: (s: string) => lines.push(s) } }, warn: () => {} });
    for (const f of ['config.json', 'summary.json', 'history.json', 'model/model.json', 'model/weights.bin', 'best/model.json', 'best/best.json', 'panels/epoch-001.png', 'panels/epoch-003.png']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['epoch-002', 'epoch-003']);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs;
    expect(history.map((e: { epoch: number }) => e.epoch)).toEqual([0, 1, 2]);
    for (const key of ['loss', 'dice', 'accuracy', 'val_loss', 'val_dice', 'val_accuracy', 'seconds', 'tensors']) expect(typeof history[0][key], key).toBe('number');
    // flat memory: the same tensors are alive after every epoch
    expect(new Set(history.map((e: { tensors: number }) => e.tensors)).size).toBe(1);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model: 'unet-small', backendUsed: 'cpu', seed: 42, epochs: 3, batchSize: 2, inputSize: 32 });
    expect(cfg.versions.tfjs).toBe('4.22.0');
    expect(lines.filter((l) => /^Epoch \d\/3 - 4\/4 - [\d.]+s - loss: \d\.\d{4} - dice: .* - val_dice: /.test(l))).toHaveLength(3);
    const reloaded = await loadModel(join(out, 'model'));
    expect(reloaded.countParams()).toBe(result.model.countParams());
  });
});
