import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { CheckpointError } from '../../src/errors.js';
import { loadLayersModel, saveModel } from '../../src/models/io.js';
import { thresholdModel } from '../evaluation/tiny-model.js';

let dir: string;
let good: string;

beforeAll(async () => {
  await selectBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'lvseg-weights-'));
  good = join(dir, 'good');
  await saveModel(thresholdModel(8, 8), good);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the good model with `change` applied to its files. */
function variant(name: string, change: (folder: string) => void): string {
  const folder = join(dir, name);
  cpSync(good, folder, { recursive: true });
  change(folder);
  return folder;
}

describe('loading weights', () => {
  it('loads a sound model', async () => {
    const model = await loadLayersModel(good);
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual([
      [0, 1],
      [0, -0.5],
    ]);
    model.dispose();
  });

  it('refuses NaN or infinite weights, naming the file and the weight', async () => {
    for (const value of [NaN, Infinity]) {
      const folder = variant(`bad-${value}`, (f) => {
        const bin = readFileSync(join(f, 'weights.bin'));
        new DataView(bin.buffer, bin.byteOffset).setFloat32(4, value, true);
        writeFileSync(join(f, 'weights.bin'), bin);
      });
      await expect(loadLayersModel(folder)).rejects.toThrow(
        `${join(folder, 'weights.bin')}: weight 'scores/kernel' holds NaN or infinite values (the training ` +
          `diverged); retrain, e.g. with a lower --lr, or use an earlier checkpoint`,
      );
    }
  });

  it('names a truncated weights file and what to do', async () => {
    const folder = variant('truncated', (f) =>
      writeFileSync(join(f, 'weights.bin'), readFileSync(join(f, 'weights.bin')).subarray(0, 5)),
    );
    await expect(loadLayersModel(folder)).rejects.toThrow(
      `${join(folder, 'weights.bin')}: holds 5 bytes but ${join(folder, 'model.json')} needs 16; the file is ` +
        `truncated (or from another model): copy or save the model again`,
    );
  });

  it('refuses weight paths outside the model folder', async () => {
    for (const path of ['../good/weights.bin', '/etc/passwd', '.', '']) {
      const folder = variant(`escape-${Math.random().toString(36).slice(2)}`, (f) => {
        const json = JSON.parse(readFileSync(join(f, 'model.json'), 'utf8'));
        json.weightsManifest[0].paths = [path];
        writeFileSync(join(f, 'model.json'), JSON.stringify(json));
      });
      const err = await loadLayersModel(folder).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toBe(
        `${join(folder, 'model.json')}: weights path ${JSON.stringify(path)} is not a file inside the model's ` +
          `folder; a model.json names its weights files beside it`,
      );
    }
  });
});
