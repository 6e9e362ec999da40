import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, loadModel, predict, resume, train } from '../../src/index.js';

describe("the library's entry points", () => {
  it('train, resume, loadModel, evaluate and predict work together on a tiny model', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lvseg-api-')), 'run');
    const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };
    const run = await train(
      { modelSpec: 'test/training/tiny-model.json', train: 'synthetic:6:1:32', val: 'synthetic:3:100:32', epochs: 1, batchSize: 2, scale: '1/255', backend: 'cpu', out, tensorboard: false },
      quiet,
    );
    expect(run.history).toHaveLength(1);
    expect(run.config).toMatchObject({ epochs: 1, scale: '1/255', backend: 'cpu', inputSize: 32, trainSize: 6, valSize: 3 });

    const resumed = await resume(out, { epochs: 2 }, quiet);
    expect(resumed.history.map((e) => e.epoch ?? 0)).toHaveLength(2);

    const loaded = await loadModel(out);
    expect(loaded.scale).toBeCloseTo(1 / 255);
    expect(loaded.file).toMatch(/model\.json$/);
    loaded.model.dispose();

    const evaluation = await evaluate(join(out, 'model'), 'synthetic:3:100:32', { backend: 'cpu' });
    expect(evaluation.metrics.count).toBe(3);
    // the same model on the same data as the run's own final evaluation
    expect(evaluation.metrics.meanDice).toBeCloseTo(resumed.evaluation!.metrics.meanDice, 6);

    const predictions = await predict(out, ['synthetic:2:7:32'], { backend: 'cpu' });
    expect(predictions.map((p) => p.sample.height)).toEqual([32, 32]);
    expect(predictions[0]!.mask).toHaveLength(32 * 32);
    expect(predictions[0]!.lvAreaPx).toBe(predictions[0]!.mask.reduce((n, v) => n + (v > 0 ? 1 : 0), 0));
  });
});
