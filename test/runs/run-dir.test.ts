import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, UsageError } from '../../src/errors.js';
import { checkRunDir, isRunDir, readHistory, readRunFile, runPath, writeRunFile } from '../../src/runs/run-dir.js';
import { readRunConfig } from '../../src/workflows/train-run.js';
import { tempDir } from '../temp.js';

const tmp = (): string => tempDir('lvseg-rundir-');

describe('the run-directory module', () => {
  it('lays a run out as config.json, history.json, best/, checkpoints/ …', () => {
    expect(runPath('r', 'config')).toBe(join('r', 'config.json'));
    expect(runPath('r', 'evaluation')).toBe(join('r', 'evaluation.json'));
    expect(runPath('r', 'report')).toBe(join('r', 'report.html'));
    expect(runPath('r', 'checkpoints')).toBe(join('r', 'checkpoints'));
  });

  it('writes JSON files atomically and reads them back; a missing file is undefined', async () => {
    const dir = tmp();
    expect(isRunDir(dir)).toBe(false);
    expect(readRunFile(dir, 'history')).toBeUndefined();
    expect(readHistory(dir)).toEqual({ epochs: [] });
    await writeRunFile(dir, 'history', { epochs: [{ epoch: 0, loss: 0.5 }] });
    expect(JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8'))).toEqual({ epochs: [{ epoch: 0, loss: 0.5 }] });
    expect(readHistory(dir).epochs[0]!.loss).toBe(0.5);
    expect(isRunDir(dir)).toBe(true);
    expect(() => checkRunDir(dir)).not.toThrow();
  });

  it('names the file when its JSON is broken or not of the file’s shape', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'history.json'), '{"epochs": 3}');
    expect(() => readRunFile(dir, 'history')).toThrow(/history\.json: field 'epochs' must be a list/);
    writeFileSync(join(dir, 'evaluation.json'), '{"metrics": ');
    expect(() => readRunFile(dir, 'evaluation')).toThrow(CheckpointError);
    expect(() => readRunFile(dir, 'evaluation')).toThrow(/evaluation\.json is not valid JSON/);
    expect(() => checkRunDir(join(dir, 'nope'))).toThrow(/not found/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() => checkRunDir(empty)).toThrow(/neither config\.json nor history\.json/);
  });

  it('checks a config.json again before a run is resumed from it', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: 'fcn', train: 'synthetic:4', epochs: -2 }));
    expect(() => readRunConfig(dir)).toThrow(UsageError);
    expect(() => readRunConfig(dir)).toThrow(/epochs must be a positive integer, got -2/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: 'fcn', train: 'synthetic:4' }));
    expect(() => readRunConfig(dir)).toThrow(
      /backendRequested, inputSize, trainSize, valSize, versions, startedAt missing/,
    );
  });
});
