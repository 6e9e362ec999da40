/**
 * The TensorFlow.js layers format as lvseg writes it (model.json naming one weights.bin), with no `node:`
 * module: `saveModel` (io.ts) writes these files to disk, the lab page offers them as downloads.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The one weights file beside model.json. */
export const WEIGHTS_FILE = 'weights.bin';

/** TF.js weight data, one buffer or several, as one byte array. */
export function concatWeightData(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
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

/** model.json for `artifacts` whose weights, described by `weightSpecs`, are in WEIGHTS_FILE. */
export function layersModelJson(
  artifacts: tf.io.ModelArtifacts,
  weightSpecs: tf.io.WeightsManifestEntry[],
): Record<string, unknown> {
  return {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    trainingConfig: artifacts.trainingConfig,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightSpecs }],
  };
}
