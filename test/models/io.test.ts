import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { CheckpointError } from '../../src/errors.js';
import { buildModel } from '../../src/models/build.js';
import { float16Bits, loadLayersModel, saveModel } from '../../src/models/io.js';
import type { ModelMetadata } from '../../src/models/metadata.js';
import { readModelMetadata } from '../../src/models/io.js';
import { withSeededRandom } from '../../src/training/seed.js';

const METADATA: ModelMetadata = {
  format: 'lvseg-model',
  version: 1,
  input: { height: 32, width: 32, channels: 1 },
  scale: '1/255',
  preprocessing: {
    spacing: 1.367,
    roi: { method: 'centre-crop', size: 32 },
    intensity: { method: 'percentile-zscore', low: 1, high: 99 },
  },
  inference: { tta: 'flips', postprocess: { largestComponent: true, fillHoles: true } },
  training: { command: 'lvseg train --preset sunnybrook-unet' },
};

let dir: string;
beforeAll(async () => {
  await selectBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'lvseg-io-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('float16 weights', () => {
  it('encodes float32 values to their nearest float16', () => {
    expect(float16Bits(1)).toBe(0x3c00);
    expect(float16Bits(-2)).toBe(0xc000);
    expect(float16Bits(65504)).toBe(0x7bff);
    expect(float16Bits(1e6)).toBe(0x7c00);
    expect(float16Bits(1e-9)).toBe(0);
    expect(float16Bits(2 ** -24)).toBe(1); // the smallest subnormal
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('halves the weights file and loads back within float16 precision', async () => {
    const model = withSeededRandom(1, () => buildModel('unet-small', { inputSize: 32, batchNorm: true }));
    await saveModel(model, join(dir, 'f32'));
    await saveModel(model, join(dir, 'f16'), { float16: true, metadata: METADATA });
    const size = (d: string) => statSync(join(dir, d, 'weights.bin')).size;
    expect(size('f16')).toBe(size('f32') / 2);
    const back = await loadLayersModel(join(dir, 'f16'));
    const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 3);
    const [a, b] = [model.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor];
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    expect(diff).toBeLessThan(0.05);
    expect(diff).toBeGreaterThan(0);
  });
});

describe('lvseg.json', () => {
  it('is written beside model.json and read back', async () => {
    await saveModel(buildModel('unet-small', { inputSize: 32 }), join(dir, 'meta'), { metadata: METADATA });
    expect(readModelMetadata(join(dir, 'meta', 'model.json'))).toEqual(METADATA);
    expect(readModelMetadata(join(dir, 'f32', 'model.json'))).toBeUndefined();
  });

  it('names the file and the field when it is malformed', () => {
    const file = join(dir, 'meta', 'lvseg.json');
    writeFileSync(file, JSON.stringify({ ...METADATA, inference: { tta: 'rotations' } }));
    expect(() => readModelMetadata(join(dir, 'meta', 'model.json'))).toThrow(CheckpointError);
    expect(() => readModelMetadata(join(dir, 'meta', 'model.json'))).toThrow(/lvseg.json: field 'inference'/);
    writeFileSync(file, JSON.stringify({ ...METADATA, preprocessing: { ...METADATA.preprocessing, spacing: 0 } }));
    expect(() => readModelMetadata(join(dir, 'meta', 'model.json'))).toThrow(/spacing must be a positive number/);
    expect(readFileSync(file, 'utf8')).toMatch(/lvseg-model/);
  });
});
