import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { NO_INFERENCE_EXTRAS } from '../../src/models/metadata.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { resolveModelJson, findRunConfig } from '../../src/inference/run-config.js';
import {
  bundledModelNames,
  bundledModelsDir,
  loadLayersModel,
  resolveModelPath,
  saveModel,
} from '../../src/models/io.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { captureCli } from '../cli/run-cli.js';
import { thresholdModel } from '../evaluation/tiny-model.js';

let dir: string;
let models: string;
const saved = process.env.LVSEG_MODELS_DIR;

beforeAll(async () => {
  await selectBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'lvseg-bundled-'));
  // A test-only models root: lv-tiny is a bundled model with its metadata, not-a-model has no model.json.
  models = join(dir, 'models');
  await saveModel(thresholdModel(32, 32), join(models, 'lv-tiny'));
  const metadata = {
    format: 'lvseg-model',
    version: 1,
    input: { height: 32, width: 32, channels: 1 },
    scale: '1/255',
    preprocessing: {},
    inference: NO_INFERENCE_EXTRAS,
  };
  writeFileSync(join(models, 'lv-tiny', 'lvseg.json'), JSON.stringify(metadata));
  mkdirSync(join(models, 'not-a-model'));
  process.env.LVSEG_MODELS_DIR = models;
});

afterAll(() => {
  if (saved === undefined) delete process.env.LVSEG_MODELS_DIR;
  else process.env.LVSEG_MODELS_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('bundled model names', () => {
  it('live in <package root>/models unless LVSEG_MODELS_DIR says otherwise', () => {
    expect(bundledModelsDir()).toBe(models);
    delete process.env.LVSEG_MODELS_DIR;
    expect(bundledModelsDir()).toBe(join(PACKAGE_ROOT, 'models'));
    process.env.LVSEG_MODELS_DIR = models;
  });

  it('resolve to the folder of that name, lists only folders holding a model.json, and a path wins', () => {
    expect(bundledModelNames()).toEqual(['lv-tiny']);
    expect(resolveModelPath('lv-tiny')).toBe(join(models, 'lv-tiny'));
    expect(resolveModelJson('lv-tiny')).toBe(join(models, 'lv-tiny', 'model.json'));
    const local = join(dir, 'elsewhere', 'lv-tiny');
    mkdirSync(local, { recursive: true });
    expect(resolveModelPath(local)).toBe(local);
  });

  it('fail in one line listing the bundled models when unknown', () => {
    for (const ref of ['lv-nope', 'not-a-model', '../lv-tiny']) {
      expect(() => resolveModelPath(ref)).toThrow(
        `${ref}: no such model file or run directory, and not a bundled model (bundled models: lv-tiny)`,
      );
    }
    expect(() => resolveModelPath('x', join(dir, 'no-models'))).toThrow(
      /not a bundled model \(no bundled models in .*no-models\)/,
    );
  });

  it('load, and take their scaling from lvseg.json', async () => {
    const model = await loadLayersModel('lv-tiny');
    expect(model.inputs[0]!.shape).toEqual([null, 32, 32, 1]);
    model.dispose();
    expect(findRunConfig('lv-tiny')).toBe(join(models, 'lv-tiny', 'lvseg.json'));
  });

  it('work in lvseg evaluate and lvseg predict', async () => {
    const evaluated = await captureCli([
      'evaluate',
      'lv-tiny',
      '--data',
      'synthetic:3:0:32',
      '--json',
      '--backend',
      'cpu',
    ]);
    expect(evaluated.code, evaluated.err).toBe(0);
    const doc = JSON.parse(evaluated.out);
    expect(doc.model).toBe(join(models, 'lv-tiny', 'model.json'));
    expect(doc.scale).toBe('1/255');
    const out = join(dir, 'predicted');
    const predicted = await captureCli(['predict', 'lv-tiny', 'synthetic:2:0:32', '--out', out, '--backend', 'cpu']);
    expect(predicted.code, predicted.err).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')).images).toHaveLength(2);
    const unknown = await captureCli(['evaluate', 'lv-nope', '--data', 'synthetic:1', '--backend', 'cpu']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe(
      'lvseg: lv-nope: no such model file or run directory, and not a bundled model (bundled models: lv-tiny)',
    );
  });

  it('yield to a folder of the same name in the working directory', async () => {
    const cwd = join(dir, 'cwd');
    await saveModel(thresholdModel(32, 32), join(cwd, 'lv-tiny'));
    const evaluateIn = async (where: string): Promise<string> => {
      const before = process.cwd();
      // The forks pool runs each test file in its own process, so changing directory is safe here.
      process.chdir(where);
      try {
        const { code, out, err } = await captureCli([
          'evaluate',
          'lv-tiny',
          '--data',
          'synthetic:2:0:32',
          '--json',
          '--backend',
          'cpu',
        ]);
        expect(code, err).toBe(0);
        return JSON.parse(out).model;
      } finally {
        process.chdir(before);
      }
    };
    expect(await evaluateIn(cwd)).toBe(join('lv-tiny', 'model.json'));
    expect(await evaluateIn(dir)).toBe(join(models, 'lv-tiny', 'model.json'));
  });
});
