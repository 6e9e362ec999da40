import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CheckpointError } from '../errors.js';
import { trackTemp, writeFileAtomic } from '../io/atomic.js';
import { loadLayersModel, saveModel } from '../models/io.js';

/** What a checkpoint records besides the weights: enough to continue exactly where training stopped. */
export interface CheckpointState {
  /** The last completed epoch (from 0). */
  epoch: number;
  /** Samples drawn from the training stream so far; fitModel resumes the stream there. */
  samplePosition: number;
  seed: number;
  savedAt: string;
}

interface OptimizerManifest {
  weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; length: number }[];
}

export function checkpointDirName(epoch: number): string {
  return `epoch-${String(epoch + 1).padStart(3, '0')}`;
}

/**
 * Writes model + optimizer state + training state into `checkpointsDir/epoch-NNN/` atomically: all files
 * go to a temporary folder that is renamed into place when complete, so a kill leaves either the whole
 * checkpoint or none. Keeps the `keep` newest checkpoints.
 */
export async function writeCheckpoint(
  checkpointsDir: string,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  state: CheckpointState,
  keep = 2,
): Promise<string> {
  mkdirSync(checkpointsDir, { recursive: true });
  const name = checkpointDirName(state.epoch);
  const tmp = join(checkpointsDir, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const untrack = trackTemp(tmp);
  mkdirSync(tmp);
  await saveModel(model, tmp);
  const named = await optimizer.getWeights();
  const manifest: OptimizerManifest = { weights: [] };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name: wName, tensor } of named) {
    const data = await tensor.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    manifest.weights.push({
      name: wName,
      shape: tensor.shape,
      dtype: tensor.dtype as 'float32' | 'int32',
      offset,
      length: bytes.byteLength,
    });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  // getWeights hands out fresh tensors for counters (Adam's `iter`) next to its own variables: free only the fresh
  // ones.
  for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
  await writeFileAtomic(join(tmp, 'optimizer.bin'), Buffer.concat(chunks, offset));
  await writeFileAtomic(
    join(tmp, 'optimizer.json'),
    JSON.stringify({ optimizer: optimizer.getClassName(), ...manifest }),
  );
  await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 2));
  const final = join(checkpointsDir, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  untrack();
  for (const old of listCheckpoints(checkpointsDir).slice(0, -keep))
    rmSync(join(checkpointsDir, old), { recursive: true, force: true });
  return final;
}

/** Complete checkpoints (those with a state.json), oldest first. */
export function listCheckpoints(checkpointsDir: string): string[] {
  if (!existsSync(checkpointsDir)) return [];
  return readdirSync(checkpointsDir)
    .filter((d) => /^epoch-\d{3,}$/.test(d) && existsSync(join(checkpointsDir, d, 'state.json')))
    .sort();
}

export interface LoadedCheckpoint {
  dir: string;
  model: tfl.LayersModel;
  state: CheckpointState;
  /** Restores the optimizer's state (moments, iteration count) into `optimizer`. */
  restoreOptimizer(optimizer: tf.Optimizer): Promise<void>;
}

/** Loads the newest complete checkpoint under `checkpointsDir`. */
export async function loadLatestCheckpoint(checkpointsDir: string): Promise<LoadedCheckpoint | undefined> {
  const latest = listCheckpoints(checkpointsDir).at(-1);
  if (!latest) return undefined;
  const dir = join(checkpointsDir, latest);
  let state: CheckpointState;
  let manifest: OptimizerManifest;
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    manifest = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8'));
  } catch (err) {
    throw new CheckpointError(
      `${dir}: unreadable checkpoint state (${(err as Error).message}); delete this folder to resume from the one ` +
        `before`,
    );
  }
  const unusable = (why: string): CheckpointError =>
    new CheckpointError(`${dir}: unusable checkpoint (${why}); delete this folder to resume from the one before`);
  let model: tfl.LayersModel;
  try {
    model = await loadLayersModel(join(dir, 'model.json'));
  } catch (err) {
    throw err instanceof CheckpointError ? unusable(err.message) : err;
  }
  const binFile = join(dir, 'optimizer.bin');
  const bin = existsSync(binFile) ? readFileSync(binFile) : Buffer.alloc(0);
  for (const w of manifest.weights ?? []) {
    const need = w.shape.reduce((n, d) => n * d, 1) * 4;
    if (w.length !== need || w.offset + w.length > bin.length) {
      model.dispose();
      throw unusable(
        `${binFile} holds ${bin.length} bytes, too few for optimizer weight '${w.name}' at ${w.offset}+${need}; ` +
          `truncated`,
      );
    }
  }
  return {
    dir,
    model,
    state,
    async restoreOptimizer(optimizer) {
      if (manifest.weights.length === 0) return;
      const weights = manifest.weights.map((w) => {
        const bytes = bin.buffer.slice(bin.byteOffset + w.offset, bin.byteOffset + w.offset + w.length);
        const values = w.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
        return { name: w.name, tensor: tf.tensor(values, w.shape, w.dtype) };
      });
      await optimizer.setWeights(weights);
      for (const w of weights) w.tensor.dispose();
    },
  };
}
