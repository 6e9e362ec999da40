import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, loadModel, predict, resume, train } from '../../src/index.js';
import { tempDir } from '../temp.js';

describe("the library's entry points", () => {
  it('train, resume, loadModel, evaluate and predict work together on a tiny model', async () => {
    const out = join(tempDir('lvseg-api-'), 'run');
    const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };
    const run = await train(
      {
        modelSpec: 'test/training/tiny-model.json',
        train: 'synthetic:6:1:32',
        val: 'synthetic:3:100:32',
        epochs: 1,
        batchSize: 2,
        scale: '1/255',
        backend: 'cpu',
        out,
        tensorboard: false,
      },
      quiet,
    );
    expect(run.history).toHaveLength(1);
    expect(run.config).toMatchObject({
      epochs: 1,
      scale: '1/255',
      backend: 'cpu',
      inputSize: 32,
      trainSize: 6,
      valSize: 3,
    });

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

  it(
    'trains a deep-supervised U-Net: checkpoints keep its heads, the saved model is the segmentation ' + 'alone',
    async () => {
      const out = join(tempDir('lvseg-api-'), 'run');
      const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };
      const unet = { depth: 2, baseFilters: 4, deepSupervision: 1 };
      await train(
        {
          model: 'unet',
          unet,
          train: 'synthetic:6:1:32',
          val: 'synthetic:3:100:32',
          epochs: 1,
          batchSize: 2,
          lr: 0.01,
          scale: '1/255',
          backend: 'cpu',
          out,
          tensorboard: false,
        },
        quiet,
      );
      const outputs = (file: string): unknown[] =>
        JSON.parse(readFileSync(join(out, file), 'utf8')).modelTopology.config.output_layers;
      const auxKernel = async (epoch: string): Promise<Float32Array> => {
        const { loadLayersModel: loadLayers } = await import('../../src/models/io.js');
        const m = await loadLayers(join(out, 'checkpoints', epoch, 'model.json'));
        const values = m.getLayer('aux1_logits').getWeights()[0]!.dataSync() as Float32Array;
        m.dispose();
        return values;
      };
      expect(outputs('checkpoints/epoch-001/model.json')).toHaveLength(2);
      expect(outputs('model/model.json')).toHaveLength(1);
      const first = await auxKernel('epoch-001');

      const resumed = await resume(out, { epochs: 2 }, quiet);
      expect(resumed.history).toHaveLength(2);
      expect(readdirSync(join(out, 'checkpoints'))).toEqual(['epoch-001', 'epoch-002']);
      // the head got gradients in the resumed epoch: its kernel moved
      const second = await auxKernel('epoch-002');
      expect(second.some((v, i) => Math.abs(v - first[i]!) > 1e-6)).toBe(true);
      // a checkpoint, heads and all, runs as a one-output model
      const evaluation = await evaluate(join(out, 'checkpoints', 'epoch-002'), 'synthetic:3:100:32', {
        backend: 'cpu',
      });
      const final = await evaluate(join(out, 'model'), 'synthetic:3:100:32', { backend: 'cpu' });
      expect(evaluation.metrics.meanDice).toBeCloseTo(final.metrics.meanDice, 6);
    },
  );
});
