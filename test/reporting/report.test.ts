import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { differingSettings, renderReport, writeReport, writeRunReport } from '../../src/reporting/report.js';
import { readRun, type PerImageRecord } from '../../src/reporting/run.js';
import { writeFakeRun } from './fake-run.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'lvseg-report-'));
  writeFakeRun(join(base, 'fast'), { epochs: 3, lr: 0.001, finalDice: 0.83 });
  writeFakeRun(join(base, 'slow'), { epochs: 4, lr: 0.0001, finalDice: 0.71 });
  writeFakeRun(join(base, 'noeval'), { epochs: 2, withEvaluation: false });
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('readRun', () => {
  it('takes the metrics from the top level of evaluation.json, and reads the earlier {metrics, perImage} form', () => {
    const run = readRun(join(base, 'fast'));
    expect(run.evaluation?.metrics).toMatchObject({ meanDice: 0.82, goodContourRate: 0.92, dice: 0.83, unit: 'mm' });
    expect(run.evaluation?.metrics).not.toHaveProperty('challenge');
    const old = join(base, 'old-evaluation');
    writeFakeRun(old, { epochs: 2 });
    writeFileSync(
      join(old, 'evaluation.json'),
      JSON.stringify({ metrics: { dice: 0.5, meanDice: 0.4, unit: 'px' }, perImage: [] }),
    );
    expect(readRun(old).evaluation?.metrics).toEqual({ dice: 0.5, meanDice: 0.4, unit: 'px' });
  });

  it('reads config, history, summary, evaluation, sample panels and the last display panel', () => {
    const run = readRun(join(base, 'fast'));
    expect(run.name).toBe('fast');
    expect(run.config?.preset).toBe('lab-task3');
    expect(run.history.map((e) => e.epoch)).toEqual([0, 1, 2]);
    expect(run.summary?.totalParams).toBe(194824);
    expect(run.evaluation?.perImage).toHaveLength(26);
    expect(run.samples.map((s) => s.file.replace(/-SC.*/, ''))).toEqual([
      'samples/best-1',
      'samples/best-2',
      'samples/worst-1',
    ]);
    expect(run.lastPanel?.file).toBe('panels/epoch-003.png');
  });

  it('names the folder or file at fault', () => {
    expect(() => readRun(join(base, 'missing'))).toThrow(CheckpointError);
    expect(() => readRun(join(base, 'missing'))).toThrow(/run directory .*missing not found/);
    const empty = join(base, 'empty');
    mkdirSync(empty);
    expect(() => readRun(empty)).toThrow(/neither config.json nor history.json/);
    const broken = join(base, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'config.json'), '{"model": ');
    expect(() => readRun(broken)).toThrow(/broken\/config.json is not valid JSON/);
  });
});

describe('HTML report', () => {
  it('writes RUN/report.html as one self-contained page: no scripts, no network, images inline', async () => {
    const file = await writeRunReport(join(base, 'fast'));
    expect(file).toBe(join(base, 'fast', 'report.html'));
    const html = readFileSync(file, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    // The only URL is the SVG namespace name, which browsers never fetch.
    expect(html.match(/https?:\/\/[^"\s]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    const imgs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
    expect(imgs).toHaveLength(3 + 1);
    for (const src of imgs) expect(src.startsWith('data:image/png;base64,iVBORw0KGgo')).toBe(true);
  });

  it('shows the config, model summary, curves, final metrics, per-image Dice and best/worst images', () => {
    const html = renderReport([readRun(join(base, 'fast'))]);
    expect(html).toContain('<code>lab-task3</code>');
    expect(html).toContain('conv2d_transpose_1 (Conv2DTranspose)');
    expect(html).toContain('<code>(None, 256, 256, 2)</code>');
    expect(html).toContain('194,824');
    expect(html).toContain('Training curves: fast');
    expect(html).toMatch(/Dice \(lab: batch, smooth 1\)<\/td><td class="num">0\.8300</);
    expect(html).toContain('4.10 mm');
    expect(html).toContain('Per-image Dice (n = 25)');
    expect(html.match(/<tr><td>best<\/td>/g)).toHaveLength(5);
    expect(html.match(/<tr><td>worst<\/td>/g)).toHaveLength(5);
    // Sample panels are sorted best first and captioned with their image's Dice.
    const captions = [...html.matchAll(/<figcaption>([^<]*) — Dice ([\d.]+)<\/figcaption>/g)].map((m) => Number(m[2]));
    expect(captions).toHaveLength(3);
    expect(captions[0]).toBeGreaterThanOrEqual(captions[1]!);
    expect(captions[1]).toBeGreaterThan(captions[2]!);
  });

  it('compares several runs: the settings that differ, and which run won', async () => {
    const runs = ['fast', 'slow'].map((r) => readRun(join(base, r)));
    expect(differingSettings(runs)).toEqual(['epochs', 'lr']);
    const out = join(base, 'compare.html');
    await writeReport([join(base, 'slow'), join(base, 'fast')], out);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<b>fast</b> won with Dice 0.8300 (epochs = <code>3</code>, lr = <code>0.001</code>)');
    expect(html).toMatch(/<tr class="winner"><td>★ fast<\/td><td><code>3<\/code><\/td><td><code>0.001<\/code><\/td>/);
    expect(html).toContain('<td>slow</td><td><code>4</code></td><td><code>0.0001</code></td>');
    expect(html).toContain('fast: validation Dice');
    expect(html).toContain('slow: training loss');
  });

  it('falls back to the last epoch when a run has no evaluation.json', () => {
    const html = renderReport([readRun(join(base, 'noeval'))]);
    expect(html).toContain('No evaluation.json: the values of the last epoch (2).');
    expect(html).toContain('No sample panels');
  });

  it('splits a small validation set into a best and a worst half, and prints fractions and counts apart', () => {
    const run = readRun(join(base, 'fast'));
    run.evaluation!.perImage = [0.9, 0, 0.5, 0.2].map(
      (dice, i) => ({ name: `img${i}`, dice, lvAreaPx: 1200 + i }) as PerImageRecord,
    );
    run.summary!.layers[1]!.params = 0;
    const html = renderReport([run]);
    expect([...html.matchAll(/<tr><td>(best|worst)<\/td><td>(img\d)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`)).toEqual([
      'best img0',
      'best img2',
      'worst img1',
      'worst img3',
    ]);
    expect(html).toContain(
      '<td class="num">0.0000</td><td class="num">–</td><td class="num">–</td><td class="num">1,201</td>',
    );
    expect(html).toContain(
      'max_pooling2d_1 (MaxPooling2D)</td><td><code>(None, 64, 64, 100)</code></td><td class="num">0</td>',
    );
  });

  it("matches sample files to their image's Dice whether the name's slash became _ or -", () => {
    const run = readRun(join(base, 'fast'));
    run.evaluation!.perImage = [
      { name: 'synthetic/10', dice: 0.25 },
      { name: 'synthetic/100', dice: 0.75 },
      { name: 'SC-HF-I-01/IM-0048', dice: 0.5 },
    ] as PerImageRecord[];
    const png = run.samples[0]!.png;
    run.samples = [
      { file: 'samples/worst-01-synthetic-10.png', png },
      { file: 'samples/best-01-synthetic_100.png', png },
      { file: 'samples/best-02-SC-HF-I-01-IM-0048.png', png },
      { file: 'samples/extra.png', png },
    ];
    const captions = [...renderReport([run]).matchAll(/<figcaption>([^<]*)<\/figcaption>/g)].map((m) => m[1]);
    expect(captions.slice(0, 4)).toEqual([
      'synthetic/100 — Dice 0.7500',
      'SC-HF-I-01/IM-0048 — Dice 0.5000',
      'synthetic/10 — Dice 0.2500',
      'samples/extra.png',
    ]);
  });
});
