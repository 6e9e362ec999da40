import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dicomScalingWarning, findRunConfig, resolveInputScale } from '../../src/inference/run-config.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvseg-run-config-'));
  for (const sub of ['run/best', 'run/model', 'run/checkpoints/epoch-003', 'loose/models']) mkdirSync(join(dir, sub), { recursive: true });
  for (const sub of ['run/best', 'run/model', 'run/checkpoints/epoch-003', 'loose/models']) writeFileSync(join(dir, sub, 'model.json'), '{}');
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

describe('the DICOM scaling warning', () => {
  const pipeline = (intensity: boolean) => ({
    preprocessing: { spacing: null, roi: null, intensity: intensity ? { method: 'percentile-zscore' as const, low: 1, high: 99 } : null },
    inference: { tta: 'none' as const, postprocess: { largestComponent: false, fillHoles: false } },
  });
  it('warns of a fixed factor on raw DICOM values, unless the model normalises each image itself', () => {
    expect(dicomScalingWarning(1 / 255)).toMatch(/--scale minmax/);
    expect(dicomScalingWarning(1 / 255, pipeline(false))).toMatch(/--scale minmax/);
    expect(dicomScalingWarning(1 / 255, pipeline(true))).toBeUndefined();
    expect(dicomScalingWarning('minmax')).toBeUndefined();
  });
});
