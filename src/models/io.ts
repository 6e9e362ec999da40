import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../io/atomic.js';
import { CheckpointError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';

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
 * Loads a TF.js layers model from a `model.json` path, a folder holding one, a run directory (its
 * `best/` model when present, else `model/`), or the name of a bundled model (bundledModelsDir).
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
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const weightData = concatWeightData(
    json.weightsManifest.flatMap((g) =>
      g.paths.map((p) => {
        const f = join(dir, p);
        if (!existsSync(f)) throw new CheckpointError(`${f}: weights file named by ${file} is missing`);
        const b = readFileSync(f);
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      }),
    ),
  );
  return tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer as ArrayBuffer }),
  );
}

/**
 * Where bundled models live, one folder each (`lv-sunnybrook/` holds model.json): `<package root>/models/`,
 * or the folder in the environment variable LVSEG_MODELS_DIR (tests, or models kept elsewhere).
 */
export function bundledModelsDir(): string {
  return process.env.LVSEG_MODELS_DIR || join(PACKAGE_ROOT, 'models');
}

/** The names of the bundled models: the folders of `dir` that hold a model.json, sorted. */
export function bundledModelNames(dir = bundledModelsDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'model.json')))
    .map((e) => e.name)
    .sort();
}

/** A bundled model's name: one folder name, no path separators. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The path a user means by a model reference: an existing path as it is (a path always wins), else the
 * bundled model of that name (`lv-sunnybrook` → `<package root>/models/lv-sunnybrook`). A reference that
 * is neither gets a one-line error listing the bundled models.
 */
export function resolveModelPath(ref: string, modelsDir = bundledModelsDir()): string {
  if (existsSync(ref)) return ref;
  const bundled = join(modelsDir, ref);
  if (MODEL_NAME.test(ref) && existsSync(join(bundled, 'model.json'))) return bundled;
  const names = bundledModelNames(modelsDir);
  const listed = names.length > 0 ? `bundled models: ${names.join(', ')}` : `no bundled models in ${modelsDir}`;
  throw new CheckpointError(`${ref}: no such model file or run directory, and not a bundled model (${listed})`);
}

/** Finds the model.json a user means by `ref`: a model.json, a folder or run directory, or a bundled model's name. */
export function resolveModelJson(ref: string): string {
  const path = resolveModelPath(ref);
  if (statSync(path).isFile()) return path;
  for (const candidate of ['model.json', 'best/model.json', 'model/model.json']) {
    const f = join(path, candidate);
    if (existsSync(f)) return f;
  }
  throw new CheckpointError(`${path}: no model.json, best/model.json or model/model.json inside; pass a run directory or a model.json`);
}
