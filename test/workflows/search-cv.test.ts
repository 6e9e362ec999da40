import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FoldRecord } from '../../src/workflows/cv.js';
import type { TrialRecord } from '../../src/workflows/search.js';
import { captureCli, ensureBuilt, runCli } from '../cli/run-cli.js';
import { tempDir } from '../temp.js';

const TINY = 'test/training/tiny-model.json';
const BASE = ['--model-spec', TINY, '--epochs', '1', '--backend', 'cpu', '--no-tensorboard'];

describe('lvseg search in this process, and --resume', () => {
  const dir = tempDir('lvseg-search-');
  const space = join(dir, 'space.json');
  const out = join(dir, 'search');

  it('trains every trial as a run directory and ranks them in results.json, results.csv and report.html', async () => {
    writeFileSync(space, JSON.stringify({ lr: [0.01, 0.001] }));
    const r = await captureCli(['search', space, '--train', 'synthetic:8:1:32', ...BASE, '--out', out]);
    expect(r.err).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as TrialRecord[];
    expect(results.map((t) => [t.rank, t.status])).toEqual([
      [1, 'done'],
      [2, 'done'],
    ]);
    expect(results.map((t) => t.config.lr).sort()).toEqual([0.001, 0.01]);
    expect(results[0]!.metrics.dice!).toBeGreaterThanOrEqual(results[1]!.metrics.dice!);
    for (const t of results) {
      const history = JSON.parse(readFileSync(join(out, t.name, 'history.json'), 'utf8'));
      expect(t.metrics.bestValDice).toBe(history.epochs[0].val_dice);
    }
    expect(readFileSync(join(out, 'results.csv'), 'utf8').split('\n')[1]).toMatch(/^1,\d,done,0\.0\d+,/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('trial-002');
    expect(r.out).toMatch(/2 of 2 trials done/);
  }, 120_000);

  it('--resume runs no finished trial again', async () => {
    const stamp = (f: string): number => statSync(join(out, f)).mtimeMs;
    const before = ['trial-001/history.json', 'trial-002/history.json'].map(stamp);
    const r = await captureCli(['search', space, '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/Epoch/);
    expect(['trial-001/history.json', 'trial-002/history.json'].map(stamp)).toEqual(before);
    expect(readdirSync(join(out, 'jobs'))).toHaveLength(2);
    const again = await captureCli(['search', space, '--train', 'synthetic:8', ...BASE, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`${out} already holds a search; continue it with --resume`);
  }, 120_000);
});

describe('lvseg cv with two local worker processes', () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it('trains one run per patient fold, reports per-fold and mean ± sd, and evaluates the folds as one ' +
    'ensemble', async () => {
    const out = join(tempDir('lvseg-cv-'), 'cv');
    // synthetic:24:1 holds 4 pseudo-patients of up to 8 slices
    const r = await runCli([
      'cv',
      '--folds',
      '3',
      '--train',
      'synthetic:24:1:32',
      ...BASE,
      '--workers',
      '2',
      '--out',
      out,
    ]);
    expect(r.stderr).toMatch(/on 2 local worker processes x 1 thread/);
    expect(r.code).toBe(0);
    const cv = JSON.parse(readFileSync(join(out, 'cv.json'), 'utf8')) as {
      folds: FoldRecord[];
      summary: Record<string, { mean: number; sd: number }>;
    };
    expect(cv.folds.map((f) => f.status)).toEqual(['done', 'done', 'done']);
    expect(cv.folds.flatMap((f) => f.valPatients).sort()).toEqual([
      'synthetic-p000',
      'synthetic-p001',
      'synthetic-p002',
      'synthetic-p003',
    ]);
    for (const f of cv.folds) {
      const config = JSON.parse(readFileSync(join(out, f.name, 'config.json'), 'utf8'));
      expect(config.valPatients).toEqual(f.valPatients);
      expect(config.trainSize + config.valSize).toBe(24);
    }
    const dice = cv.folds.map((f) => f.metrics.dice!);
    expect(cv.summary.dice!.mean).toBeCloseTo(dice.reduce((a, b) => a + b) / 3, 12);
    expect(r.stdout).toMatch(/mean ± sd\s+\d\.\d{4} ± \d\.\d{4}/);

    const ev = await runCli([
      'evaluate',
      join(out, 'ensemble'),
      '--data',
      'synthetic:4:200:32',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(ev.code).toBe(0);
    const metrics = JSON.parse(ev.stdout);
    expect(metrics.count).toBe(4);
    expect(metrics.scale).toBe('1/1024');
    expect(metrics.model).toBe(join(out, 'ensemble', 'ensemble.json'));
  }, 240_000);
});
