import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../cli/run-cli.js';

beforeAll(() => ensureBuilt());

describe('lvseg demo', () => {
  it('with no arguments trains on phantoms, writes a full run directory and reaches validation Dice > 0.7', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lvseg-demo-')), 'run');
    const r = await runCli(['demo', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['config.json', 'history.json', 'model/model.json', 'best/model.json', 'evaluation.json', 'report.html', 'panels/epoch-015.png']) expect(existsSync(join(out, f)), f).toBe(true);
    const dice = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')).metrics.dice;
    expect(dice).toBeGreaterThan(0.7);
    expect(r.stdout).toMatch(/Validation \(12 images\): Dice 0\.\d{4}/);
  });
});
