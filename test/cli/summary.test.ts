import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './run-cli.js';

beforeAll(() => ensureBuilt());

describe('lvseg summary', () => {
  it('--json reports 12,714,048 parameters for dense and 1,862,648 for fcn at 256x256', async () => {
    const dense = await runCli(['summary', '--model', 'dense', '--json']);
    expect(dense.code, dense.stderr).toBe(0);
    expect(JSON.parse(dense.stdout)).toMatchObject({ totalParams: 12_714_048, trainableParams: 12_714_048 });
    const fcn = await runCli(['summary', '--model', 'fcn', '--json']);
    const summary = JSON.parse(fcn.stdout);
    expect(summary.totalParams).toBe(1_862_648);
    expect(summary.layers.at(-1)).toEqual({
      name: 'upsample',
      type: 'Conv2DTranspose',
      outputShape: [null, 256, 256, 2],
      params: 3846,
    });
  });

  it('prints the Keras-style table for a spec, and a bad spec fails naming layer and field', async () => {
    const table = await runCli(['summary', '--model-spec', 'test/training/tiny-model.json', '--input-size', '32']);
    expect(table.stdout).toMatch(/conv2d_1 \(Conv2D\)\s+\(None, 32, 32, 4\)\s+40/);
    expect(table.stdout).toContain('Total params: 114');
    const bad = await runCli(['summary', '--model-spec', 'package.json']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^lvseg: package\.json: field '\w+': unknown; a spec has 'name' and 'layers'/);
  });
});
