import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './run-cli.js';
import { tempDir } from '../temp.js';

const TINY = 'test/training/tiny-model.json';
const common = [
  'train',
  '--model-spec',
  TINY,
  '--train',
  'synthetic:12:1:32',
  '--val',
  'synthetic:4:100:32',
  '--epochs',
  '4',
  '--backend',
  'cpu',
  '--scale',
  '1/255',
  '--batch-size',
  '2',
  '--lr',
  '0.01',
  '--no-tensorboard',
];

function epochsOf(runDir: string): { epoch: number; loss: number; val_dice: number }[] {
  return JSON.parse(readFileSync(join(runDir, 'history.json'), 'utf8')).epochs;
}

beforeAll(() => ensureBuilt());

describe('lvseg train --resume after SIGKILL', () => {
  it('a run killed during epoch 3 resumes, finishes every epoch once, and matches an uninterrupted run', async () => {
    const base = tempDir('lvseg-cli-train-');
    const straight = join(base, 'straight');
    const killed = join(base, 'killed');
    const r0 = await runCli([...common, '--out', straight]);
    expect(r0.code, r0.stderr).toBe(0);

    const r1 = await runCli([...common, '--out', killed], (child) => {
      // the epoch line is the last thing an epoch does (after its checkpoint): once epoch 2's line is out, epoch 3 is
      // running
      let seen = '';
      child.stdout!.on('data', (d) => {
        seen += d;
        if (/^Epoch 2\/4 /m.test(seen)) child.kill('SIGKILL');
      });
    });
    expect(r1.signal).toBe('SIGKILL');
    expect(existsSync(join(killed, 'checkpoints', 'epoch-003'))).toBe(false);

    const r2 = await runCli(['train', '--resume', killed, '--backend', 'cpu']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(/resuming .* \(epoch 2 of 4 done\)/);
    expect(r2.stdout).toMatch(/^Epoch 3\/4 - 6\/6 - /m);
    expect(r2.stdout).not.toMatch(/^Epoch [12]\/4/m);

    const resumed = epochsOf(killed);
    expect(resumed.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    // same weights, optimizer moments and data order after the resume: the same losses as without the kill
    const reference = epochsOf(straight);
    resumed.forEach((e, i) => {
      expect(e.loss).toBeCloseTo(reference[i]!.loss, 5);
    });
    expect(existsSync(join(killed, 'model', 'model.json'))).toBe(true);
  });
});
