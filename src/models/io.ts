import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../io/atomic.js';
import { CheckpointError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { buildEnsemble, ENSEMBLE_FILE, readEnsembleFile } from './ensemble.js';
import { checkModelMetadata, METADATA_FILE, type ModelMetadata } from './metadata.js';
import { concatWeightData, layersModelJson, WEIGHTS_FILE } from './layers-format.js';
import { inferenceModel } from './fold.js';
import { segmentationModel } from './build.js';

/** What saveModel writes beside the weights (lvseg.json), and whether as float16. */
export interface SaveOptions {
  /** Written as `lvseg.json` beside model.json (before it), so the folder alone is enough to use the model. */
  metadata?: ModelMetadata;
  /**
   * Store float32 weights as float16 (TF.js's `quantization: {dtype: 'float16'}`, read back as float32
   * by every TF.js loader): half the size, ~3 significant digits per weight.
   */
  float16?: boolean;
}

/**
 * Saves a model in the TensorFlow.js layers format (`model.json` + `weights.bin`), loadable by
 * `tf.loadLayersModel` in a browser. The weights are written before model.json, each atomically, so a
 * folder with a model.json always has its weights.
 */
export async function saveModel(model: tfl.LayersModel, dir: string, options: SaveOptions = {}): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      let weightData = artifacts.weightData ? concatWeightData(artifacts.weightData) : new Uint8Array(0);
      let weightSpecs = artifacts.weightSpecs ?? [];
      if (options.float16) ({ weightData, weightSpecs } = quantizeFloat16(weightData, weightSpecs));
      await writeFileAtomic(join(dir, WEIGHTS_FILE), weightData);
      if (options.metadata)
        await writeFileAtomic(join(dir, METADATA_FILE), JSON.stringify(options.metadata, null, 2) + '\n');
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(layersModelJson(artifacts, weightSpecs)));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** The nearest float16 (round half to even) of a float32, as its 16 bits. */
export function float16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // inf, NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mantissa |= 0x800000; // subnormal: shift the implicit 1 in
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let m = mantissa >>> shift;
    if (rest > half || (rest === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let bits = sign | (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (bits & 1) === 1)) bits++; // carries into the exponent correctly
  return bits;
}

/** float32 weights re-encoded as float16, with the manifest entries that say so. */
function quantizeFloat16(
  data: Uint8Array,
  specs: tf.io.WeightsManifestEntry[],
): { weightData: Uint8Array; weightSpecs: tf.io.WeightsManifestEntry[] } {
  const parts: Uint8Array[] = [];
  const out: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = count * (spec.dtype === 'float32' || spec.dtype === 'int32' ? 4 : spec.dtype === 'bool' ? 1 : 4);
    const chunk = data.subarray(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== 'float32' || spec.quantization) {
      parts.push(chunk);
      out.push(spec);
      continue;
    }
    const values = new Float32Array(chunk.slice().buffer);
    const halves = new Uint16Array(count);
    for (let i = 0; i < count; i++) halves[i] = float16Bits(values[i]!);
    parts.push(new Uint8Array(halves.buffer));
    out.push({ ...spec, quantization: { dtype: 'float16' } });
  }
  return {
    weightData: concatWeightData(
      parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer),
    ),
    weightSpecs: out,
  };
}

/**
 * loadLayersModel, then the model's inference form (batch norms folded into their convolutions, relus fused:
 * models/fold.ts): what predict, evaluate, volumes and the library's inference run. Not for training.
 */
export async function loadInferenceModel(path: string): Promise<tfl.LayersModel> {
  const loaded = await loadLayersModel(path);
  checkSegmentationInput(loaded, findModelFile(path));
  const saved = segmentationModel(loaded);
  const model = await inferenceModel(saved);
  if (model !== saved) saved.dispose();
  return model;
}

/**
 * Loads a TF.js layers model from a `model.json` path, a folder holding one, an ensemble, or the name
 * of a bundled model (bundledModelsDir). A run directory is resolved to its model.json first
 * (resolveModelJson in inference/run-config.ts).
 */
export async function loadLayersModel(path: string): Promise<tfl.LayersModel> {
  const file = findModelFile(path);
  const dir = join(file, '..');
  if (basename(file) === ENSEMBLE_FILE) {
    const { members } = readEnsembleFile(file);
    const models = await Promise.all(
      members.map((m) => loadLayersModel(isAbsolute(m.model) ? m.model : join(dir, m.model))),
    );
    return buildEnsemble(
      models.map(segmentationModel),
      members.map((m) => m.output),
    );
  }
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const bytes = readFileSync(file);
  const binary = binaryKind(bytes);
  if (binary)
    throw new CheckpointError(
      `${file}: not a TF.js model.json: it holds ${binary}; pass a model.json, a run directory or a bundled model's ` +
        `name`,
    );
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    // JSON.parse quotes the text it choked on: control characters would break the one-line message
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this replaces
    const reason = (err as Error).message.replace(/[\x00-\x1f\x7f]/g, '?');
    throw new CheckpointError(`${file}: not a readable TF.js model.json (${reason})`);
  }
  if (
    !Array.isArray(json.weightsManifest) ||
    json.weightsManifest.some((g) => !Array.isArray(g?.paths) || !Array.isArray(g?.weights))
  ) {
    throw new CheckpointError(`${file}: no weightsManifest [{paths, weights}]; is it a TF.js layers model.json?`);
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  checkWeightSpecs(weightSpecs, file);
  const weightFiles = json.weightsManifest.flatMap((g) => g.paths.map((p) => weightFilePath(dir, p, file)));
  const weightData = concatWeightData(
    weightFiles.map((f) => {
      if (!existsSync(f)) throw new CheckpointError(`${f}: weights file named by ${file} is missing`);
      if (!statSync(f).isFile())
        throw new CheckpointError(
          `${f}: weights file named by ${file} is a folder, not a file; copy or save the model again`,
        );
      checkWeightFileInside(dir, f, file);
      const b = readFileSync(f);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }),
  );
  checkWeightData(weightSpecs, weightData, weightFiles.join(' + '), file);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: weightData.buffer as ArrayBuffer,
      }),
    );
  } catch (err) {
    // TF.js names neither the file nor the fix ("Shape mismatch: [5,5,3,25] vs. [5,5,1,25]")
    throw new CheckpointError(
      `${file}: not a model lvseg can load: ${(err as Error).message.split('\n')[0]}; are model.json and its weights ` +
        `from the same saved model?`,
      { cause: err },
    );
  }
  return model;
}

/** What a file that is no JSON text holds, for a message (a PNG given as the model once printed its raw bytes), or
 * undefined. */
function binaryKind(bytes: Uint8Array): string | undefined {
  const starts = (...magic: number[]): boolean => magic.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'a PNG image';
  if (starts(0xff, 0xd8, 0xff)) return 'a JPEG image';
  if (starts(0x1f, 0x8b)) return 'gzip data';
  if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d)
    return 'a DICOM image';
  if (bytes.subarray(0, 4096).includes(0)) return 'binary data';
  return undefined;
}

/** Largest weight tensor a manifest may declare (elements): far above any segmentation network's. */
const MAX_WEIGHT_ELEMENTS = 2 ** 28;

/** Every manifest shape is a list of whole numbers of a plausible size (a negative or huge one once failed as "Invalid
 * typed array length"). */
function checkWeightSpecs(specs: readonly tf.io.WeightsManifestEntry[], file: string): void {
  for (const spec of specs) {
    const shape: unknown = spec?.shape;
    const ok =
      Array.isArray(shape) &&
      shape.every((d) => Number.isInteger(d) && d >= 0) &&
      (shape as number[]).reduce((n, d) => n * d, 1) <= MAX_WEIGHT_ELEMENTS;
    if (!ok)
      throw new CheckpointError(
        `${file}: weight '${String(spec?.name)}' has the shape ${JSON.stringify(shape)}, not a list of at most ` +
          `${MAX_WEIGHT_ELEMENTS} elements; the manifest is corrupt: copy or save the model again`,
      );
  }
}

/** lvseg's models take images: a batch of HxWx1 (a 1-D or 3-channel input fails only deep in TF.js). */
function checkSegmentationInput(model: tfl.LayersModel, file: string): void {
  const shape = model.inputs[0]?.shape ?? [];
  if (model.inputs.length !== 1 || shape.length !== 4 || shape[3] !== 1) {
    model.dispose();
    throw new CheckpointError(
      `${file}: the model's input is ${JSON.stringify(shape)}; lvseg's models take one grey image, [batch, height, ` +
        `width, 1]: pass a segmentation model saved by lvseg or converted to that input`,
    );
  }
}

/** A weights file named in a manifest, kept inside the model's folder (a `../` path once read files outside it). */
function weightFilePath(dir: string, name: unknown, file: string): string {
  const path = typeof name === 'string' ? resolve(dir, name) : '';
  const rel = relative(resolve(dir), path);
  if (typeof name !== 'string' || name === '' || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new CheckpointError(
      `${file}: weights path ${JSON.stringify(name)} is not a file inside the model's folder; a model.json names its ` +
        `weights files beside it`,
    );
  }
  return join(dir, name);
}

/**
 * A weights file reached through a symbolic link must still lie inside the model's folder: the same
 * confinement as the manifest's paths (and the server's files), so a model folder from elsewhere cannot
 * make lvseg read a file outside it. A link inside the folder is fine.
 */
function checkWeightFileInside(dir: string, weights: string, _file: string): void {
  const realDir = realpathSync(dir);
  const rel = relative(realDir, realpathSync(weights));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new CheckpointError(
      `${weights}: a link to a file outside the model's folder (${realpathSync(weights)}); lvseg reads weights only ` +
        `from inside the folder: copy the file there instead of linking it`,
    );
  }
}

const BYTES_PER: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Checks the weights' bytes against their manifest before TF.js reads them: a truncated file gets a
 * message naming it (TF.js only says "should have 36864 values but has 1704"), and NaN or infinite
 * weights (a diverged run) are refused instead of giving confident wrong answers.
 */
export function checkWeightData(
  specs: readonly tf.io.WeightsManifestEntry[],
  data: Uint8Array,
  weightsFile: string,
  manifestFile: string,
): void {
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
    throw new CheckpointError(
      `${weightsFile}: holds ${data.byteLength} bytes but ${manifestFile} needs ${offset}; the file is truncated (or ` +
        `from another model): copy or save the model again`,
    );
  }
  for (const { name, offset: at, count } of floats) {
    // a copy when unaligned: Float32Array needs a multiple of 4 as its offset
    const values =
      (data.byteOffset + at) % 4 === 0
        ? new Float32Array(data.buffer, data.byteOffset + at, count)
        : new Float32Array(data.slice(at, at + count * 4).buffer);
    for (let i = 0; i < count; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new CheckpointError(
          `${weightsFile}: weight '${name}' holds NaN or infinite values (the training diverged); retrain, e.g. with ` +
            `a lower --lr, or use an earlier checkpoint`,
        );
      }
    }
  }
}

/** The model lvseg ships (trained on the Sunnybrook patients): `lvseg volumes`' default and the demo's second act. */
export const BUNDLED_MODEL = 'lv-sunnybrook';

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

/**
 * The model file `ref` names: a model.json or ensemble file, a folder holding one, or a bundled model's
 * name. A run directory is resolved above this layer (resolveModelJson in inference/run-config.ts).
 */
export function findModelFile(ref: string): string {
  const path = resolveModelPath(ref);
  if (statSync(path).isFile()) return path;
  for (const candidate of ['model.json', ENSEMBLE_FILE]) {
    const f = join(path, candidate);
    if (existsSync(f)) return f;
  }
  throw new CheckpointError(
    `${path}: no model.json or ${ENSEMBLE_FILE} inside; pass a model.json, a folder holding one, or an ensemble`,
  );
}

/** The lvseg.json beside a model.json, or undefined when there is none (models saved before it existed). */
export function readModelMetadata(modelJson: string): ModelMetadata | undefined {
  const file = join(dirname(modelJson), METADATA_FILE);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${file}: not readable JSON (${(err as Error).message}); fix or delete the file`);
  }
  return checkModelMetadata(json, file);
}
