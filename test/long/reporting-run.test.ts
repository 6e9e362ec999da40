import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { TensorBoardCallback } from '../../src/reporting/callbacks/tensorboard.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { runTraining } from '../../src/workflows/train-run.js';
import { readEvents, summaryValues } from '../reporting/tfevents-reader.js';
import { tempDir } from '../temp.js';

// A real 3-epoch run with the TensorBoard callback, and the evaluation, sample panels and report that
// the end of the run produces. LVSEG_REPORT_OUT keeps the run directory (for the docs screenshots).
describe('TensorBoard files and report of a real 3-epoch run', () => {
  it('decode with an independent reader and give a complete report', async () => {
    const out = process.env.LVSEG_REPORT_OUT ?? join(tempDir('lvseg-long-report-'), 'run');
    const config = resolveTrainConfig({
      model: 'unet-small',
      train: 'synthetic:8:1:32',
      val: 'synthetic:4:100:32',
      epochs: 3,
      backend: 'cpu',
      scale: 'none',
      batchSize: 2,
      out,
      tensorboard: false,
    });
    const result = await runTraining(config, undefined, {
      progress: { stream: { write: () => true } },
      warn: () => {},
      callbacks: [new TensorBoardCallback({ logDir: join(out, 'logs'), host: 'e2ehost' })],
    });

    // The end of the run wrote the evaluation, the sample panels (the 3 best and, of the 4 validation
    // images, the 1 left as worst) and the report.
    const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')) as { perImage: unknown[] };
    expect(evaluation.perImage).toHaveLength(4);
    expect(readdirSync(join(out, 'samples'))).toHaveLength(4);
    const report = result.report;

    const train = summaryValues(readEvents(join(out, 'logs', 'train'), 'e2ehost').events);
    const validation = readEvents(join(out, 'logs', 'validation'), 'e2ehost');
    expect(validation.events[0]!.file_version).toBe('brain.Event:2');
    const val = summaryValues(validation.events);
    const history = result.history;
    for (const tag of ['epoch_loss', 'epoch_dice', 'epoch_accuracy']) {
      expect(train.filter((v) => v.tag === tag).map((v) => v.step)).toEqual([0, 1, 2]);
      const v = val.filter((x) => x.tag === tag);
      expect(v.map((x) => x.step)).toEqual([0, 1, 2]);
      v.forEach((x, e) => {
        expect(x.simple_value).toBeCloseTo(history[e]![`val_${tag.slice(6)}`]!, 5);
      });
    }
    const images = train.filter((v) => v.image);
    expect(images.map((v) => v.step)).toEqual([0, 1, 2]);
    for (const v of images)
      expect(PNG.sync.read(Buffer.from(v.image!.encoded_image_string)).width).toBe(v.image!.width);
    const weights = result.model.weights.map((w) => w.name);
    expect(weights.length).toBeGreaterThan(10);
    for (const name of weights)
      expect(train.filter((v) => v.tag === name && v.histo).map((v) => v.step)).toEqual([0, 1, 2]);
    expect(train.filter((v) => v.tag === 'config')).toHaveLength(1);

    const html = readFileSync(report, 'utf8');
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(html).toContain(`Training curves: ${basename(out)}`);
    expect(html).toContain(`${result.model.countParams().toLocaleString('en-US')}`);
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(4 + 1);
  });
});
