import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { readPngDataset } from '../../src/data/png-dataset.js';
import { exportOnnx, readOnnxMetadata } from '../../src/export/onnx.js';
import { buildModel } from '../../src/models/build.js';
import { inferenceModel } from '../../src/models/fold.js';
import { loadInferenceModel } from '../../src/models/io.js';
import { predictScores } from '../../src/models/predict.js';
import { getPreset } from '../../src/models/presets.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { preprocessSample } from '../../src/transforms/preprocess.js';
import { captureCli } from '../cli/run-cli.js';

let dir: string;
beforeAll(async () => {
  // lvseg's own inference as users run it: the native backend where it is built, else wasm
  await selectBackend('auto');
  dir = mkdtempSync(join(tmpdir(), 'lvseg-onnx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Seeded images in [0, 1), as many as `batch`, of `size`×`size`. */
function images(batch: number, size: number, seed = 7): Float32Array[] {
  return tf.tidy(() => {
    const all = tf.randomUniform([batch, size * size], 0, 1, 'float32', seed).dataSync() as Float32Array;
    return Array.from({ length: batch }, (_, i) => all.slice(i * size * size, (i + 1) * size * size));
  });
}

/** onnxruntime-node's output for the images (channels last, as lvseg gives them). */
async function runOnnx(
  bytes: Uint8Array,
  inputs: readonly Float32Array[],
  height: number,
  width: number,
): Promise<{ scores: Float32Array; dims: readonly number[]; outputName: string }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const data = new Float32Array(inputs.length * height * width);
    inputs.forEach((image, i) => {
      data.set(image, i * height * width);
    });
    const result = await session.run({
      [session.inputNames[0]!]: new ort.Tensor('float32', data, [inputs.length, height, width, 1]),
    });
    const out = result[session.outputNames[0]!]!;
    return { scores: out.data as Float32Array, dims: out.dims, outputName: session.outputNames[0]! };
  } finally {
    await session.release();
  }
}

/** Per pixel, the class with the highest score (channels last). */
function argmax(scores: Float32Array, classes: number): Uint8Array {
  const mask = new Uint8Array(scores.length / classes);
  for (let p = 0; p < mask.length; p++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[p * classes + k]! > scores[p * classes + best]!) best = k;
    mask[p] = best;
  }
  return mask;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Exports `model` (its inference form, as lvseg export does) and checks onnxruntime-node against
 * lvseg's predictScores on `inputs`: logits within 1e-4, the same argmax masks wherever the logits decide them.
 */
async function expectSameAsLvseg(
  model: tfl.LayersModel,
  inputs: Float32Array[],
  size: number,
): Promise<{ classes: number; foreground: number; bytes: Uint8Array }> {
  const folded = await inferenceModel(model);
  const bytes = exportOnnx(folded, { metadata: { scale: 'none' } });
  if (folded !== model) folded.dispose();
  const lvseg = await predictScores(model, inputs, size, size);
  const onnx = await runOnnx(bytes, inputs, size, size);
  expect(onnx.dims).toEqual([inputs.length, size, size, lvseg.classes]);
  expect(maxAbsDiff(onnx.scores, lvseg.scores)).toBeLessThan(1e-4);
  // A randomly initialised network has pixels whose two best logits tie to within float rounding, where
  // any two implementations may pick either class; the masks must agree wherever the choice is decided
  // at the logits' tolerance, and such ties must stay rare (a trained model's masks agree everywhere: below).
  const decided = decidedPixels(lvseg.scores, lvseg.classes, 2e-4);
  const mask = argmax(onnx.scores, lvseg.classes);
  const own = argmax(lvseg.scores, lvseg.classes);
  expect(mask.filter((_, p) => decided[p] === 1)).toEqual(own.filter((_, p) => decided[p] === 1));
  expect(decided.length - decided.reduce((n, v) => n + v, 0)).toBeLessThan(decided.length / 200);
  return { classes: lvseg.classes, foreground: mask.reduce((n, v) => n + (v > 0 ? 1 : 0), 0), bytes };
}

/** 1 where the highest score beats the second by more than `margin`. */
function decidedPixels(scores: Float32Array, classes: number, margin: number): Uint8Array {
  const out = new Uint8Array(scores.length / classes);
  for (let p = 0; p < out.length; p++) {
    const sorted = Array.from(scores.subarray(p * classes, (p + 1) * classes)).sort((a, b) => b - a);
    out[p] = sorted[0]! - sorted[1]! > margin ? 1 : 0;
  }
  return out;
}

/** Sets every weight (batch norms' statistics included) to seeded random values away from the initial ones. */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    tf.tidy(() =>
      layer.setWeights(
        layer.weights.map((w, i) => {
          const shape = weights[i]!.shape;
          const short = w.originalName.split('/').pop();
          if (short === 'moving_variance') return tf.randomUniform(shape, 0.5, 2, 'float32', seed + i);
          if (short === 'gamma') return tf.randomUniform(shape, 0.5, 1.5, 'float32', seed + i);
          if (short === 'kernel') {
            // seeded as Glorot's uniform initialiser draws them: an unseeded kernel made the share of tied pixels
            // differ from run to run
            const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
            const limit = Math.sqrt(6 / (receptive * (shape.at(-2)! + shape.at(-1)!)));
            return tf.randomUniform(shape, -limit, limit, 'float32', seed + i);
          }
          return tf.randomUniform(shape, -0.2, 0.2, 'float32', seed + i);
        }),
      ),
    );
  }
}

describe('lvseg export --format onnx: onnxruntime-node gives what lvseg gives', () => {
  it('the lab FCN (Conv2DTranspose 31x31/16 cropped to 256): logits within 1e-4, same masks', async () => {
    const model = buildModel('fcn');
    randomizeWeights(model, 3);
    const { classes } = await expectSameAsLvseg(model, images(2, 256), 256);
    expect(classes).toBe(2);
    model.dispose();
  });

  it("the lab's dense network (flatten order channels last): logits within 1e-4, same masks", async () => {
    const model = buildModel('dense');
    randomizeWeights(model, 4);
    await expectSameAsLvseg(model, images(2, 256, 3), 256);
    model.dispose();
  });

  it("the sunnybrook-unet preset's U-Net with batch norm folded into its convolutions", async () => {
    const unet = getPreset('sunnybrook-unet').recipe!.unet!;
    const model = buildModel('unet', { inputSize: 128, ...unet });
    randomizeWeights(model, 11);
    const { bytes } = await expectSameAsLvseg(model, images(3, 128, 5), 128);
    // folded: no BatchNormalization node is left in the graph
    expect(Buffer.from(bytes).includes('BatchNormalization')).toBe(false);
    model.dispose();
  });

  it.each(['fcn-small', 'fcn-deep', 'unet-small'])('the %s network at 64x64', async (name) => {
    const model = buildModel(name, { inputSize: 64 });
    randomizeWeights(model, 17);
    await expectSameAsLvseg(model, images(2, 64, 13), 64);
    model.dispose();
  });

  it('a network of the other exported layers with 3 classes and a softmax output', async () => {
    const input = tfl.input({ shape: [32, 32, 1] });
    const c1 = tfl.layers
      .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' })
      .apply(input) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization().apply(
      tfl.layers
        .zeroPadding2d({
          padding: [
            [1, 0],
            [0, 1],
          ],
        })
        .apply(c1),
    ) as tfl.SymbolicTensor;
    const cropped = tfl.layers
      .cropping2D({
        cropping: [
          [1, 0],
          [0, 1],
        ],
      })
      .apply(bn) as tfl.SymbolicTensor;
    const avg = tfl.layers
      .averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' })
      .apply(cropped) as tfl.SymbolicTensor;
    const near = tfl.layers.upSampling2d({ size: [2, 2] }).apply(avg) as tfl.SymbolicTensor;
    const bilinear = tfl.layers
      .upSampling2d({ size: [2, 2], interpolation: 'bilinear' })
      .apply(avg) as tfl.SymbolicTensor;
    const sum = tfl.layers.add().apply([near, bilinear, cropped]) as tfl.SymbolicTensor;
    const up = tfl.layers
      .conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid' })
      .apply(sum) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate().apply([
      tfl.layers
        .cropping2D({
          cropping: [
            [0, 1],
            [0, 1],
          ],
        })
        .apply(up) as tfl.SymbolicTensor,
      input,
    ]) as tfl.SymbolicTensor;
    const out = tfl.layers
      .conv2d({ filters: 3, kernelSize: 1, activation: 'softmax' })
      .apply(tfl.layers.dropout({ rate: 0.5 }).apply(cat)) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    randomizeWeights(model, 21);
    const { classes, bytes } = await expectSameAsLvseg(model, images(2, 32, 9), 32);
    expect(classes).toBe(3);
    expect((await runOnnx(bytes, images(1, 32), 32, 32)).outputName).toBe('probabilities');
    model.dispose();
  });

  it('refuses a layer it has no ONNX form for, naming it', async () => {
    const input = tfl.input({ shape: [8, 8, 1] });
    const out = tfl.layers
      .conv2d({ filters: 2, kernelSize: 3, activation: 'selu', name: 'odd_conv' })
      .apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    expect(() => exportOnnx(model)).toThrow(/layer 'odd_conv': activation 'selu' has no ONNX form/);
    model.dispose();
  });

  it(
    'the bundled model through the CLI: same logits and masks on preprocessed Sunnybrook slices, its settings in ' +
      'metadata_props',
    async () => {
      const out = join(dir, 'lv-sunnybrook.onnx');
      const first = await captureCli(['export', 'lv-sunnybrook', '--format', 'onnx', '--out', out]);
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      expect(first.out).toMatch(
        /wrote .*lv-sunnybrook\.onnx .*output logits \[batch, 128, 128, 3\]: background, lv, myocardium/,
      );
      const bytes = new Uint8Array(readFileSync(out));

      const lvsegJson = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'models', 'lv-sunnybrook', 'lvseg.json'), 'utf8'));
      const meta = readOnnxMetadata(bytes);
      expect(JSON.parse(meta.preprocessing!)).toEqual(lvsegJson.preprocessing);
      expect(JSON.parse(meta.inference!)).toEqual(lvsegJson.inference);
      expect(meta.scale).toBe('1/255');
      expect(meta.labels).toBe('contour-included');
      expect(JSON.parse(meta.class_names!)).toEqual(['background', 'lv', 'myocardium']);
      expect(meta.layout).toMatch(/NHWC/);

      const inputs: Float32Array[] = [];
      for await (const sample of readPngDataset(
        join(PACKAGE_ROOT, 'data', 'sunnybrook-sample', 'validation'),
        1 / 255,
      )) {
        inputs.push(preprocessSample(sample, lvsegJson.preprocessing).input.image);
        if (inputs.length === 4) break;
      }
      // the CLI selected the cpu backend for itself; lvseg's inference runs as in beforeAll
      await selectBackend('auto');
      const model = await loadInferenceModel('lv-sunnybrook');
      const lvseg = await predictScores(model, inputs, 128, 128);
      model.dispose();
      const onnx = await runOnnx(bytes, inputs, 128, 128);
      expect(maxAbsDiff(onnx.scores, lvseg.scores)).toBeLessThan(1e-4);
      const mask = argmax(onnx.scores, 3);
      expect(mask).toEqual(argmax(lvseg.scores, 3));
      // the slices hold ventricles and their walls: masks with both classes
      expect(mask.filter((v) => v === 1).length).toBeGreaterThan(100);
      expect(mask.filter((v) => v === 2).length).toBeGreaterThan(100);

      // an existing output is kept unless --overwrite
      writeFileSync(out, 'keep');
      const refused = await captureCli(['export', 'lv-sunnybrook', '--format', 'onnx', '--out', out]);
      expect(refused.code).not.toBe(0);
      expect(refused.err).toMatch(/--out .*lv-sunnybrook\.onnx already exists; pass --overwrite/);
      expect(readFileSync(out, 'utf8')).toBe('keep');
      expect((await captureCli(['export', 'lv-sunnybrook', '--out', out, '--overwrite'])).code).toBe(0);
      expect(readFileSync(out).byteLength).toBe(bytes.byteLength);
    },
  );

  it('refuses class names that do not match the output channels, writing nothing', async () => {
    const out = join(dir, 'classes.onnx');
    const result = await captureCli(['export', 'lv-sunnybrook', '--out', out, '--classes', 'a,b']);
    expect(result.code).not.toBe(0);
    expect(result.err).toMatch(/--classes names 2 classes but .*outputs 3/);
    expect(existsSync(out)).toBe(false);
  });
});
