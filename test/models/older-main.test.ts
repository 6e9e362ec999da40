/**
 * Runs and models saved by main before K classes (commit 00205ce, the parent of 2bdaa4b): a plain run, and one with
 * an inference pipeline (percentile z-score, test-time flips, post-processing; its model/ carries an lvseg.json).
 * test/fixtures/main-before-classes holds them as that main wrote them, with what its `lvseg evaluate --json` and
 * `lvseg predict` gave (synthetic data, cpu backend); today's code must load them and give the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRun } from '../../src/reporting/run.js';
import { viewRun } from '../../src/server/runs.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { captureCli } from '../cli/run-cli.js';
import { tempDir } from '../temp.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'main-before-classes');
const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

describe.each(['run-plain', 'run-pipeline'])('a run saved by main before K classes (%s)', (name) => {
  const run = join(FIXTURES, name);

  it('loads as a finished binary run with its history and evaluation', () => {
    const record = readRun(run);
    expect(record.history).toHaveLength(5);
    expect(record.evaluation?.classes).toBeUndefined();
    expect(record.evaluation?.metrics.meanDice).toBe(json(join(run, 'evaluation.json')).meanDice);
    const view = viewRun(FIXTURES, name);
    expect(view.status).toBe('finished');
    expect(view.classes).toBeUndefined();
  });

  it('evaluates to the numbers that main gave, with no classes object', async () => {
    const r = await captureCli(['evaluate', run, '--data', 'synthetic:6:11:32', '--json', '--backend', 'cpu']);
    expect(r.code, r.err).toBe(0);
    const now = JSON.parse(r.out) as Record<string, unknown>;
    const then = json(join(FIXTURES, `${name}.evaluate.json`));
    expect(now.classes).toBeUndefined();
    for (const key of ['meanDice', 'dice', 'iou', 'apd', 'hd95', 'loss', 'accuracy', 'precision', 'recall', 'count'])
      expect(now[key], key).toBeCloseTo(then[key] as number, 9);
    expect(Object.keys(now)).toEqual(expect.arrayContaining(Object.keys(then)));
  }, 300_000);
});

describe.each([
  ['run-plain', 'run-plain.predict'],
  ['run-pipeline', 'run-pipeline.predict'],
  ['run-pipeline/model', 'run-pipeline-model.predict'],
])('a model saved by main before K classes (%s)', (model, expected) => {
  it('predicts the masks and areas that main predicted', async () => {
    const out = join(tempDir('lvseg-older-main-'), 'pred');
    const r = await captureCli([
      'predict',
      join(FIXTURES, model),
      'synthetic:3:9:32',
      '--out',
      out,
      '--backend',
      'cpu',
    ]);
    expect(r.code, r.err).toBe(0);
    type Images = { images: { name: string; lvAreaPx: number; mask: string; contourPoints: number }[] };
    const now = json(join(out, 'predictions.json')) as unknown as Images;
    const then = json(join(FIXTURES, expected, 'predictions.json')) as unknown as Images;
    const facts = (s: Images) => s.images.map((i) => [i.name, i.lvAreaPx, i.contourPoints, i.mask]);
    expect(facts(now)).toEqual(facts(then));
    expect(then.images.some((i) => i.lvAreaPx > 0)).toBe(true);
    expect(json(join(out, 'predictions.json')).classes).toBeUndefined();
    for (const image of then.images)
      expect(readFileSync(join(out, image.mask)), image.mask).toEqual(
        readFileSync(join(FIXTURES, expected, image.mask)),
      );
  });
});
