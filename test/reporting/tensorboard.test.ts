import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backends/select.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { displayCallback } from '../../src/reporting/callbacks/display.js';
import { TensorBoardCallback } from '../../src/reporting/callbacks/tensorboard.js';
import type { TrainingContext } from '../../src/training/callbacks/types.js';
import { computeHistogram } from '../../src/reporting/tensorboard.js';
import { readEvents, summaryValues as values } from './tfevents-reader.js';

describe('TensorBoardCallback', () => {
  let runDir: string;
  let model: tfl.LayersModel;
  let predictions = 0;
  const logs = [0, 1, 2].map((e) => ({
    loss: 0.5 / (e + 1),
    dice: 0.3 + 0.2 * e,
    accuracy: 0.9 + 0.01 * e,
    val_loss: 0.6 / (e + 1),
    val_dice: 0.25 + 0.2 * e,
    val_accuracy: 0.88 + 0.01 * e,
    seconds: 1.5,
  }));

  beforeAll(async () => {
    await selectBackend('cpu');
    runDir = mkdtempSync(join(tmpdir(), 'lvseg-tb-'));
    model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [16, 16, 1],
          filters: 3,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          name: 'conv_a',
        }),
        tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'logits' }),
      ],
    });
    const n = 16,
      image = new Float32Array(n * n),
      label = new Uint8Array(n * n);
    for (let i = 0; i < n * n; i++) {
      image[i] = (i % n) / n;
      label[i] = Math.hypot((i % n) - 8, Math.floor(i / n) - 8) < 4 ? 1 : 0;
    }
    // only what the TensorBoard callback reads (no optimizer, seed or resume state)
    const ctx = {
      model,
      config: { model: 'tiny', epochs: 3, lr: 0.001 },
      displaySample: { name: 'phantom-0', patient: 'p0', image, label, height: n, width: n },
      predictLabel: async (s: { label: Uint8Array }) => {
        predictions++;
        return s.label.map((v) => 1 - v);
      },
      learningRate: 0.001,
      totalEpochs: 3,
      stepsPerEpoch: 4,
      tf,
    } as unknown as TrainingContext;
    const cb = new TensorBoardCallback({ logDir: join(runDir, 'logs'), host: 'testhost' });
    const display = displayCallback({ dir: join(runDir, 'panels') });
    cb.onTrainBegin(ctx);
    for (const [epoch, l] of logs.entries()) {
      await display.onEpochEnd!(epoch, l, ctx);
      await cb.onEpochEnd(epoch, l, ctx);
    }
    cb.onTrainEnd();
  });
  afterAll(() => rmSync(runDir, { recursive: true, force: true }));

  it('starts each file with the brain.Event:2 file version and CRCs that an independent CRC32C accepts', () => {
    for (const sub of ['train', 'validation']) {
      const { file, events } = readEvents(join(runDir, 'logs', sub));
      expect(events[0]!.file_version).toBe('brain.Event:2');
      expect(events[0]!.summary).toBeUndefined();
      expect(Math.abs(events[0]!.wall_time - Number(file.split('.')[3]))).toBeLessThan(1);
    }
  });

  it('writes epoch_loss and epoch_<metric> per epoch, val_ values under the same tags in validation/', () => {
    const train = values(readEvents(join(runDir, 'logs', 'train')).events);
    const val = values(readEvents(join(runDir, 'logs', 'validation')).events);
    for (const [tag, key] of [
      ['epoch_loss', 'loss'],
      ['epoch_dice', 'dice'],
      ['epoch_accuracy', 'accuracy'],
    ] as const) {
      const t = train.filter((v) => v.tag === tag);
      expect(t.map((v) => v.step)).toEqual([0, 1, 2]);
      t.forEach((v, e) => {
        expect(v.simple_value).toBeCloseTo(logs[e]![key], 6);
      });
      const w = val.filter((v) => v.tag === tag);
      expect(w.map((v) => v.step)).toEqual([0, 1, 2]);
      w.forEach((v, e) => {
        expect(v.simple_value).toBeCloseTo(logs[e]![`val_${key}`], 6);
      });
    }
    expect(train.some((v) => v.tag === 'epoch_seconds' || v.tag.startsWith('epoch_val'))).toBe(false);
    expect(val.map((v) => v.tag).sort()).toEqual([
      ...Array(3).fill('epoch_accuracy'),
      ...Array(3).fill('epoch_dice'),
      ...Array(3).fill('epoch_loss'),
    ]);
    const lr = train.filter((v) => v.tag === 'epoch_learning_rate');
    expect(lr.map((v) => v.step)).toEqual([0, 1, 2]);
    for (const v of lr) expect(v.simple_value).toBeCloseTo(0.001, 9);
  });

  it('writes a histogram of every weight tensor each epoch with the true min, max, count and sum', () => {
    const train = values(readEvents(join(runDir, 'logs', 'train')).events);
    expect(model.weights.map((w) => w.name)).toEqual(['conv_a/kernel', 'conv_a/bias', 'logits/kernel', 'logits/bias']);
    for (const w of model.weights) {
      const data = w.read().dataSync();
      const h = train.filter((v) => v.tag === w.name);
      expect(h.map((v) => v.step)).toEqual([0, 1, 2]);
      const histo = h[0]!.histo!;
      expect(histo.num ?? 0).toBe(data.length);
      expect(histo.min ?? 0).toBeCloseTo(Math.min(...data), 6);
      expect(histo.max ?? 0).toBeCloseTo(Math.max(...data), 6);
      expect(histo.sum ?? 0).toBeCloseTo(
        Array.from(data as ArrayLike<number>).reduce((a, b) => a + b, 0),
        5,
      );
      expect(Array.from(histo.bucket as ArrayLike<number>).reduce((a, b) => a + b, 0)).toBe(data.length);
      expect(histo.bucket_limit).toHaveLength(histo.bucket.length);
    }
  });

  it('writes the display panel once per epoch as an image that decodes as a PNG', () => {
    const images = values(readEvents(join(runDir, 'logs', 'train')).events).filter((v) => v.image);
    expect(images.map((v) => [v.tag, v.step])).toEqual([
      ['display_panel', 0],
      ['display_panel', 1],
      ['display_panel', 2],
    ]);
    for (const v of images) {
      const img = v.image!;
      const bytes = img.encoded_image_string;
      expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const png = PNG.sync.read(Buffer.from(bytes));
      expect([png.width, png.height]).toEqual([img.width, img.height]);
      expect(img.colorspace).toBe(4);
    }
    // the panels folder's file, drawn once for both callbacks
    const epoch2 = readFileSync(join(runDir, 'panels', 'epoch-002.png'));
    expect(Buffer.from(images[1]!.image!.encoded_image_string).equals(epoch2)).toBe(true);
    expect(predictions).toBe(3);
  });

  it('writes the resolved config as a text summary for the text plugin', () => {
    const texts = values(readEvents(join(runDir, 'logs', 'train')).events).filter((v) => v.tensor);
    expect(texts).toHaveLength(1);
    expect(texts[0]!.tag).toBe('config');
    expect(texts[0]!.metadata?.plugin_data?.plugin_name).toBe('text');
    expect(texts[0]!.tensor!.dtype).toBe('DT_STRING');
    const text = new TextDecoder().decode(texts[0]!.tensor!.string_val[0]);
    expect(JSON.parse(text.replace(/^```json\n|\n```$/g, ''))).toEqual({ model: 'tiny', epochs: 3, lr: 0.001 });
  });
});

describe('computeHistogram', () => {
  it('counts values into TensorFlow-style buckets and merges runs of empty buckets', () => {
    const h = computeHistogram([0, 1, 1, -2, 0.5]);
    expect([h.min, h.max, h.num, h.sum, h.sum_squares]).toEqual([-2, 1, 5, 0.5, 6.25]);
    expect(h.bucket.reduce((a, b) => a + b, 0)).toBe(5);
    // Non-empty buckets hold -2, 0, 0.5 and the two 1s, in that order; every empty run is one bucket.
    expect(h.bucket.filter((c) => c > 0)).toEqual([1, 1, 1, 2]);
    for (let i = 1; i < h.bucket.length; i++) expect(h.bucket[i - 1]! > 0 || h.bucket[i]! > 0).toBe(true);
    expect(h.bucket_limit[h.bucket_limit.length - 1]).toBe(Number.MAX_VALUE);
  });

  it('puts every value in the bucket of the first limit above it, on and beside the limits', () => {
    const grid: number[] = [];
    for (let v = 1e-12; v < 1e20; v *= 1.1) grid.push(v);
    const values = [0, 1e-15, 1e25, Number.MAX_VALUE, 0.0123, 3.7];
    for (const v of grid.filter((_, i) => i % 7 === 0 || i < 3 || i > grid.length - 3))
      values.push(v, v * (1 + 1e-15), v * (1 - 1e-15));
    for (const v of [...values, ...values.map((x) => -x)]) {
      const h = computeHistogram([v]);
      const k = h.bucket.indexOf(1);
      expect(h.bucket_limit[k]! > v || h.bucket_limit[k] === Number.MAX_VALUE).toBe(true);
      if (k > 0) expect(h.bucket_limit[k - 1]! <= v).toBe(true);
      // a float32 array is read by its bits: its value's bucket all the same
      const v32 = Math.fround(v);
      if (Number.isFinite(v32)) expect(computeHistogram(Float32Array.of(v32))).toEqual(computeHistogram([v32]));
    }
  });

  it('gives zero counts for an empty tensor', () => {
    expect(computeHistogram([])).toMatchObject({ num: 0, min: 0, max: 0 });
  });
});
