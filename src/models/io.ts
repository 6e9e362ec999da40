import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../io/atomic.js';
import { CheckpointError } from '../errors.js';
import { RUN_PARTS } from '../runs/run-dir.js';

/**
 * Saves a model in the TensorFlow.js layers format (`model.json` + `weights.bin`), loadable by
 * `tf.loadLayersModel` in a browser. The weights are written before model.json, each atomically, so a
 * folder with a model.json always has its weights.
 */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ? concatWeightData(artifacts.weightData) : new Uint8Array(0);
      await writeFileAtomic(join(dir, 'weights.bin'), weightData);
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

function concatWeightData(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const buffers = Array.isArray(data) ? data : [data];
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out;
}

/**
 * Loads a TF.js layers model from a `model.json` path, a folder holding one, or a run directory
 * (its `best/` model when present, else `model/`).
 */
export async function loadModel(path: string): Promise<tfl.LayersModel> {
  const file = resolveModelJson(path);
  const dir = join(file, '..');
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${file}: not a readable TF.js model.json (${(err as Error).message})`);
  }
  if (!Array.isArray(json.weightsManifest) || json.weightsManifest.some((g) => !Array.isArray(g?.paths) || !Array.isArray(g?.weights))) {
    throw new CheckpointError(`${file}: no weightsManifest [{paths, weights}]; is it a TF.js layers model.json?`);
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const weightFiles = json.weightsManifest.flatMap((g) => g.paths.map((p) => weightFilePath(dir, p, file)));
  const weightData = concatWeightData(
    weightFiles.map((f) => {
      if (!existsSync(f)) throw new CheckpointError(`${f}: weights file named by ${file} is missing`);
      const b = readFileSync(f);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }),
  );
  checkWeightData(weightSpecs, weightData, weightFiles.join(' + '), file);
  return tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer as ArrayBuffer }),
  );
}

/** A weights file named in a manifest, kept inside the model's folder (a `../` path once read files outside it). */
function weightFilePath(dir: string, name: unknown, file: string): string {
  const path = typeof name === 'string' ? resolve(dir, name) : '';
  const rel = relative(resolve(dir), path);
  if (typeof name !== 'string' || name === '' || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new CheckpointError(`${file}: weights path ${JSON.stringify(name)} is not a file inside the model's folder; a model.json names its weights files beside it`);
  }
  return join(dir, name);
}

const BYTES_PER: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Checks the weights' bytes against their manifest before TF.js reads them: a truncated file gets a
 * message naming it (TF.js only says "should have 36864 values but has 1704"), and NaN or infinite
 * weights (a diverged run) are refused instead of giving confident wrong answers.
 */
export function checkWeightData(specs: readonly tf.io.WeightsManifestEntry[], data: Uint8Array, weightsFile: string, manifestFile: string): void {
  let offset = 0;
  const floats: { name: string; offset: number; count: number }[] = [];
  for (const spec of specs) {
    const count = spec.shape.reduce((n, d) => n * d, 1);
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = count * (BYTES_PER[dtype] ?? 4);
    if (spec.dtype === 'float32' && !spec.quantization) floats.push({ name: spec.name, offset, count });
    offset += bytes;
  }
  if (data.byteLength < offset) {
    throw new CheckpointError(`${weightsFile}: holds ${data.byteLength} bytes but ${manifestFile} needs ${offset}; the file is truncated (or from another model): copy or save the model again`);
  }
  for (const { name, offset: at, count } of floats) {
    // a copy when unaligned: Float32Array needs a multiple of 4 as its offset
    const values = (data.byteOffset + at) % 4 === 0 ? new Float32Array(data.buffer, data.byteOffset + at, count) : new Float32Array(data.slice(at, at + count * 4).buffer);
    for (let i = 0; i < count; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new CheckpointError(`${weightsFile}: weight '${name}' holds NaN or infinite values (the training diverged); retrain, e.g. with a lower --lr, or use an earlier checkpoint`);
      }
    }
  }
}

/** Finds the model.json a user means by `path`. */
export function resolveModelJson(path: string): string {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such model file or run directory`);
  if (statSync(path).isFile()) return path;
  for (const candidate of ['model.json', join(RUN_PARTS.best, 'model.json'), join(RUN_PARTS.model, 'model.json')]) {
    const f = join(path, candidate);
    if (existsSync(f)) return f;
  }
  throw new CheckpointError(`${path}: no model.json, best/model.json or model/model.json inside; pass a run directory or a model.json`);
}
