import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dicomScalingWarning,
  findRunConfig,
  resolveInputScale,
  resolveModel,
  resolveModelJson,
  resolveModelSettings,
} from '../../src/inference/run-config.js';
import { loadLayersModel } from '../../src/models/io.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvseg-run-config-'));
  for (const sub of ['run/best', 'run/model', 'run/checkpoints/epoch-003', 'loose/models'])
    mkdirSync(join(dir, sub), { recursive: true });
  for (const sub of ['run/best', 'run/model', 'run/checkpoints/epoch-003', 'loose/models'])
    writeFileSync(join(dir, sub, 'model.json'), '{}');
  writeFileSync(join(dir, 'run', 'config.json'), JSON.stringify({ scale: '1/255' }));
  writeFileSync(join(dir, 'loose', 'config.json'), JSON.stringify({ scale: 'zscore' }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the scaling a model was trained with', () => {
  it('comes from the run config.json for the run and its best, model and checkpoint folders', () => {
    for (const p of ['run', 'run/best', 'run/model/model.json', 'run/checkpoints/epoch-003']) {
      expect(findRunConfig(join(dir, p))).toBe(join(dir, 'run', 'config.json'));
      expect(resolveInputScale(join(dir, p), '').scale).toBeCloseTo(1 / 255, 12);
    }
  });

  it('is not taken from an unrelated config.json above a bare model', () => {
    expect(findRunConfig(join(dir, 'loose', 'models'))).toBeUndefined();
    expect(resolveInputScale(join(dir, 'loose', 'models'), '').scale).toBe('none');
  });

  it('yields to --scale', () => {
    expect(resolveInputScale(join(dir, 'run'), 'minmax')).toEqual({ scale: 'minmax', origin: '--scale' });
  });

  it('rejects a config whose scale is not a scaling, naming the file and field', () => {
    writeFileSync(join(dir, 'run', 'config.json'), JSON.stringify({ scale: 'loud' }));
    expect(() => resolveInputScale(join(dir, 'run'), '')).toThrow(/config\.json: field 'scale'/);
    writeFileSync(join(dir, 'run', 'config.json'), JSON.stringify({ scale: '1/255' }));
  });
});

describe('a model reference resolved once', () => {
  it("gives a run directory's best model.json and its settings in one value", () => {
    const run = join(dir, 'run');
    const resolved = resolveModel(run, { tta: false });
    expect(resolved.path).toBe(run);
    expect(resolved.modelJson).toBe(join(run, 'best', 'model.json'));
    expect(resolved.settings).toEqual(resolveModelSettings(run, { tta: false }));
    expect(resolved.settings).toMatchObject({ origin: join(run, 'config.json'), labels: 'inside' });
    expect(resolved.settings.scale).toBeCloseTo(1 / 255, 12);
  });

  it('is used as it is: the settings follow the model.json it holds, not a second lookup of its path', () => {
    const loose = join(dir, 'loose', 'models');
    expect(resolveInputScale(loose, '').scale).toBe('none');
    // the same path with the run's model.json: the run's config.json (1/255) is what counts
    const location = { path: loose, modelJson: join(dir, 'run', 'model', 'model.json') };
    expect(resolveModelSettings(location).origin).toBe(join(dir, 'run', 'config.json'));
    expect(resolveInputScale(location, '').scale).toBeCloseTo(1 / 255, 12);
  });

  it(
    'is a run-directory notion the model layer does not have: loading a run folder asks for its ' + 'model.json',
    async () => {
      const run = join(dir, 'run');
      expect(resolveModelJson(run)).toBe(join(run, 'best', 'model.json'));
      await expect(loadLayersModel(run)).rejects.toThrow(
        `${run}: no model.json or ensemble.json inside; pass a model.json, a folder holding one, or an ensemble`,
      );
    },
  );
});

describe('the DICOM scaling warning', () => {
  const pipeline = (intensity: boolean) => ({
    preprocessing: {
      spacing: null,
      roi: null,
      intensity: intensity ? { method: 'percentile-zscore' as const, low: 1, high: 99 } : null,
    },
    inference: { tta: 'none' as const, postprocess: { largestComponent: false, fillHoles: false } },
  });
  it('warns of a fixed factor on raw DICOM values, unless the model normalises each image itself', () => {
    expect(dicomScalingWarning(1 / 255)).toMatch(/--scale minmax/);
    expect(dicomScalingWarning(1 / 255, pipeline(false))).toMatch(/--scale minmax/);
    expect(dicomScalingWarning(1 / 255, pipeline(true))).toBeUndefined();
    expect(dicomScalingWarning('minmax')).toBeUndefined();
  });
});
