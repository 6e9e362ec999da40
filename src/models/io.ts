import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../io/atomic.js';
import { CheckpointError } from '../errors.js';
import { RUN_PARTS } from '../runs/run-dir.js';
import { buildEnsemble, ENSEMBLE_FILE, readEnsembleFile } from './ensemble.js';

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
 * (its `best/` model when present, else `model/`); or an ensemble (ensemble.json, or a folder holding
 * one) as one model whose output is the mean of its members' softmax.
 */
export async function loadModel(path: string): Promise<tfl.LayersModel> {
  const file = resolveModelJson(path);
  const dir = join(file, '..');
  if (basename(file) === ENSEMBLE_FILE) {
    const { members } = readEnsembleFile(file);
    const models = await Promise.all(members.map((m) => loadModel(isAbsolute(m.model) ? m.model : join(dir, m.model))));
    return buildEnsemble(models, members.map((m) => m.output));
  }
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

/** Finds the model.json a user means by `path`. */
export function resolveModelJson(path: string): string {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such model file or run directory`);
  if (statSync(path).isFile()) return path;
  for (const candidate of ['model.json', join(RUN_PARTS.best, 'model.json'), join(RUN_PARTS.model, 'model.json'), ENSEMBLE_FILE]) {
    const f = join(path, candidate);
    if (existsSync(f)) return f;
  }
  throw new CheckpointError(`${path}: no model.json, best/model.json, model/model.json or ${ENSEMBLE_FILE} inside; pass a run directory, a model.json or an ensemble`);
}
