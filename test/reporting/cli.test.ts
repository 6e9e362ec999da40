import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PNG } from 'pngjs';
import { main } from '../../src/cli/main.js';
import { writeFakeRun } from './fake-run.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'lvseg-cli-report-'));
  writeFakeRun(join(base, 'a'), { epochs: 3 });
  writeFakeRun(join(base, 'b'), { epochs: 5, lr: 0.01, finalDice: 0.6 });
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(base, { recursive: true, force: true });
});

describe('lvseg plot / report / plot-model', () => {
  it('plot writes the curves of several runs as SVG and as PNG', async () => {
    expect(await main(['plot', join(base, 'a'), join(base, 'b'), '--out', join(base, 'c.svg')])).toBe(0);
    expect(readFileSync(join(base, 'c.svg'), 'utf8')).toContain('b: validation Dice');
    expect(await main(['plot', join(base, 'a'), '--out', join(base, 'c.png')])).toBe(0);
    expect(PNG.sync.read(readFileSync(join(base, 'c.png'))).width).toBe(860);
  });

  it('plot refuses other formats and missing runs with one-line errors', async () => {
    expect(await main(['plot', join(base, 'a'), '--out', join(base, 'c.jpg')])).toBe(1);
    expect(console.error).toHaveBeenLastCalledWith(expect.stringMatching(/must end in \.svg or \.png/));
    expect(await main(['plot', '--out', join(base, 'c.svg')])).toBe(1);
    expect(await main(['plot', join(base, 'nope'), '--out', join(base, 'c.svg')])).toBe(1);
    expect(console.error).toHaveBeenLastCalledWith(expect.stringMatching(/nope not found/));
  });

  it('report writes RUN/report.html by default and a comparison with --out', async () => {
    expect(await main(['report', join(base, 'a')])).toBe(0);
    expect(existsSync(join(base, 'a', 'report.html'))).toBe(true);
    expect(await main(['report', join(base, 'a'), join(base, 'b'), '--out', join(base, 'both.html')])).toBe(0);
    expect(readFileSync(join(base, 'both.html'), 'utf8')).toContain('<b>a</b> won');
  });

  it('plot-model draws a JSON model spec with its output shapes', async () => {
    const spec = join(base, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        layers: [
          { type: 'Conv2D', args: { filters: 4, kernel_size: 3, strides: 2, padding: 'same', activation: 'relu' } },
          { type: 'Conv2DTranspose', args: { filters: 2, kernelSize: 3, strides: 2, padding: 'same' } },
        ],
      }),
    );
    expect(await main(['plot-model', '--model-spec', spec, '--input-size', '32', '--out', join(base, 'm.svg')])).toBe(
      0,
    );
    const svg = readFileSync(join(base, 'm.svg'), 'utf8');
    expect(svg).toContain('(None, 16, 16, 4)');
    expect(svg).toContain('(None, 32, 32, 2)');
    expect(await main(['plot-model', '--model', 'fcn-small', '--input-size', '64', '--out', join(base, 'm.png')])).toBe(
      0,
    );
    expect(PNG.sync.read(readFileSync(join(base, 'm.png'))).height).toBeGreaterThan(300);
    expect(await main(['plot-model', '--out', join(base, 'm.svg')])).toBe(1);
    expect(console.error).toHaveBeenLastCalledWith(
      expect.stringMatching(/exactly one of --model NAME and --model-spec FILE/),
    );
  });
});
