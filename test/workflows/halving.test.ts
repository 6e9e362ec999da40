import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrialRecord } from '../../src/workflows/search.js';
import { captureCli } from '../cli/run-cli.js';
import { tempDir } from '../temp.js';

describe('lvseg search with successive halving', () => {
  it('trains every trial one epoch, continues the better half to the full epochs and marks the rest ' +
    'pruned', async () => {
    const dir = tempDir('lvseg-halving-');
    const space = join(dir, 'space.json');
    writeFileSync(space, JSON.stringify({ halving: { eta: 2, minEpochs: 1 }, params: { lr: [0.03, 0.01, 0.0001] } }));
    const out = join(dir, 'search');
    const r = await captureCli([
      'search',
      space,
      '--train',
      'synthetic:8:1:32',
      '--model-spec',
      'test/training/tiny-model.json',
      '--epochs',
      '2',
      '--backend',
      'cpu',
      '--no-tensorboard',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('halving: after 1 epoch(s) 2 of 3 trials go on to 2 epochs');
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as TrialRecord[];
    expect(results.map((t) => t.status)).toEqual(['done', 'done', 'pruned']);
    expect(results.map((t) => t.metrics.epochs)).toEqual([2, 2, 1]);
    // the pruned trial had the lowest best val_dice after the first rung
    const pruned = results[2]!;
    const firstEpoch = (t: TrialRecord): number =>
      JSON.parse(readFileSync(join(out, t.name, 'history.json'), 'utf8')).epochs[0].val_dice;
    for (const t of results.slice(0, 2)) expect(firstEpoch(t)).toBeGreaterThanOrEqual(pruned.metrics.bestValDice!);
    // the continued trials resumed their runs: one history of two epochs each
    for (const t of results.slice(0, 2))
      expect(
        JSON.parse(readFileSync(join(out, t.name, 'history.json'), 'utf8')).epochs.map(
          (e: { epoch: number }) => e.epoch,
        ),
      ).toEqual([0, 1]);
  }, 180_000);
});
