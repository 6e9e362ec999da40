/**
 * What evaluate and predict need from a run directory or a bundled model's folder: the pixel scaling
 * the model was trained with, so that the same scaling is applied to new images without the original
 * command line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import { parseScaling, type Scaling } from '../data/scaling.js';
import { ENSEMBLE_FILE } from '../models/ensemble.js';
import { readModelMetadata, resolveModelPath } from '../models/io.js';
import { RUN_PARTS, runPath } from '../runs/run-dir.js';
import { LABEL_CONVENTIONS, METADATA_FILE, type LabelConvention } from '../models/metadata.js';
import { checkPreprocessing } from '../transforms/preprocess.js';
import type { SegmentSettings } from './segment.js';
import { BINARY_CLASSES } from '../data/classes.js';

/**
 * Finds the model.json a user means by `ref`: a model.json, a folder or run directory (its `best/` model
 * when present, else `model/`), an ensemble, or a bundled model's name.
 */
export function resolveModelJson(ref: string): string {
  const path = resolveModelPath(ref);
  if (statSync(path).isFile()) return path;
  for (const candidate of [
    'model.json',
    join(RUN_PARTS.best, 'model.json'),
    join(RUN_PARTS.model, 'model.json'),
    ENSEMBLE_FILE,
  ]) {
    const f = join(path, candidate);
    if (existsSync(f)) return f;
  }
  throw new CheckpointError(
    `${path}: no model.json, best/model.json, model/model.json or ${ENSEMBLE_FILE} inside; pass a run directory, a ` +
      `model.json or an ensemble`,
  );
}

/** A model reference found on disk once: the path it names (a bundled name resolved) and its model.json. */
export interface ModelLocation {
  path: string;
  modelJson: string;
}

/** A model reference resolved at the edge, passed down instead of the reference: where it is and how to run it. */
export interface ResolvedModel extends ModelLocation {
  settings: ModelSettings;
}

/**
 * Resolves a model reference (a run directory, a folder, a model.json, an ensemble or a bundled name) once:
 * its model.json and its settings (resolveModelSettings, with `given` overriding them).
 */
export function resolveModel(
  ref: string,
  given: { scale?: string; tta?: boolean; postprocess?: boolean } = {},
): ResolvedModel {
  const location = locateModel(ref);
  return { ...location, settings: resolveModelSettings(location, given) };
}

function locateModel(model: string | ModelLocation): ModelLocation {
  if (typeof model !== 'string') return model;
  const path = resolveModelPath(model);
  return { path, modelJson: resolveModelJson(path) };
}

/**
 * The file that records how a model's inputs were scaled: the run directory's config.json for a model
 * in a run (the run directory itself, or the run above a `model.json` in `RUN/model/`, `RUN/best/` or
 * `RUN/checkpoints/<name>/`), else the lvseg.json beside the model.json (bundled models). `modelRef`
 * may be a bundled model's name. Undefined for a bare model.
 */
export function findRunConfig(modelRef: string | ModelLocation): string | undefined {
  const { path: modelPath, modelJson: modelFile } = locateModel(modelRef);
  const candidates: string[] = [];
  if (existsSync(modelPath) && statSync(modelPath).isDirectory()) candidates.push(runPath(modelPath, 'config'));
  // an ensemble records its members' scaling in its own file
  if (basename(modelFile) === ENSEMBLE_FILE) return modelFile;
  // Only the run layout's own folders lead up to a run: an unrelated config.json above a bare model is not one.
  const dir = dirname(resolve(modelFile));
  if (basename(dir) === RUN_PARTS.model || basename(dir) === RUN_PARTS.best)
    candidates.push(runPath(join(dir, '..'), 'config'));
  if (basename(dirname(dir)) === RUN_PARTS.checkpoints) candidates.push(runPath(join(dir, '..', '..'), 'config'));
  // A model folder outside a run (a bundled model) describes itself in lvseg.json.
  candidates.push(join(dir, METADATA_FILE));
  return candidates.find((f) => existsSync(f));
}

/** The scaling recorded in a run's config.json or a model's lvseg.json (`scale`: a factor, `1/255`, minmax, zscore or
 * none). */
export function readRunScale(configFile: string): Scaling | undefined {
  let config: { scale?: unknown };
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${configFile}: not readable JSON (${(err as Error).message}); pass --scale to skip it`);
  }
  if (config.scale === undefined || config.scale === null) return undefined;
  if (typeof config.scale !== 'number' && typeof config.scale !== 'string') {
    throw new CheckpointError(
      `${configFile}: field 'scale' is ${JSON.stringify(config.scale)}, not a number or name; pass --scale`,
    );
  }
  try {
    return parseScaling(config.scale);
  } catch (err) {
    throw new CheckpointError(`${configFile}: field 'scale': ${(err as Error).message}; pass --scale`);
  }
}

/** `lvseg.json` beside a model.json: a bare (bundled) model's own settings, such as its `scale`. */
export function findModelSettings(modelPath: string | ModelLocation): string | undefined {
  const file = join(dirname(resolve(locateModel(modelPath).modelJson)), 'lvseg.json');
  return existsSync(file) ? file : undefined;
}

/**
 * The scaling to apply to a model's inputs: `--scale` when given, else the model's lvseg.json's, else
 * the run's, else none (with the reason, for the user).
 */
export function resolveInputScale(
  modelPath: string | ModelLocation,
  given: string | undefined,
): { scale: Scaling; origin: string } {
  if (given !== undefined && given !== '') return { scale: parseScaling(given), origin: '--scale' };
  const location = locateModel(modelPath);
  const config = findModelSettings(location) ?? findRunConfig(location);
  const fromRun = config ? readRunScale(config) : undefined;
  if (fromRun !== undefined) return { scale: fromRun, origin: config! };
  return {
    scale: 'none',
    origin: config
      ? `${config} has no scale`
      : 'no run config.json found; pass --scale if the model was trained on scaled images',
  };
}

/**
 * A warning when raw DICOM intensities meet a fixed scaling factor: the shared PNG and TFRecord data were
 * min–max rescaled to 0–255 per slice by their publisher, so a model trained on them with 1/255 expects
 * per-image 0–1 values, which `minmax` gives for DICOM input. Undefined when there is nothing to warn of.
 */
export function dicomScalingWarning(scale: Scaling, segment?: SegmentSettings): string | undefined {
  // a pipeline that normalises each image (percentile clipping + z-score) cancels any linear scaling
  if (typeof scale !== 'number' || segment?.preprocessing.intensity) return undefined;
  return (
    `DICOM pixels are raw scanner intensities, not the 0-255 of the PNG/TFRecord data; a model trained on those ` +
    `with a fixed factor expects per-image 0-1 values: pass --scale minmax`
  );
}

/** What a run's config.json says about inference, for models of the run that have no lvseg.json (best/, checkpoints).
 * */
export function readRunInference(configFile: string): SegmentSettings | undefined {
  let config: { preprocessing?: unknown; tta?: unknown; postprocess?: unknown };
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${configFile}: not readable JSON (${(err as Error).message})`);
  }
  if (config.preprocessing === undefined || config.preprocessing === null) return undefined;
  const preprocessing = checkPreprocessing(config.preprocessing, `${configFile}: preprocessing`);
  const post = config.postprocess === true;
  return {
    preprocessing,
    inference: {
      tta: config.tta === true ? 'flips' : 'none',
      postprocess: { largestComponent: post, fillHoles: post },
    },
  };
}

export interface ModelSettings {
  scale: Scaling;
  /** Where the scale came from, for the user. */
  origin: string;
  /** The inference pipeline's settings; undefined for models without preprocessing metadata (the plain path). */
  segment?: SegmentSettings;
  /** How the model's training masks were drawn (lvseg.json or the run's config.json; default inside). */
  labels: LabelConvention;
  /** The patients it was trained on, where its lvseg.json or run records them. */
  trainPatients?: string[];
  /** Its class names by output channel, background first (lvseg.json or the run's config.json `classes`; default
   * ['background', 'lv']). */
  classes: readonly string[];
}

/**
 * How to run a model: its lvseg.json first, else its run's config.json, else nothing but `--scale`.
 * `--scale` wins over both; `tta: false` / `postprocess: false` switch those off (to measure without).
 */
export function resolveModelSettings(
  model: string | ModelLocation,
  given: { scale?: string; tta?: boolean; postprocess?: boolean } = {},
): ModelSettings {
  const location = locateModel(model);
  const { modelJson } = location;
  const metadata = readModelMetadata(modelJson);
  let segment: SegmentSettings | undefined;
  let fromMetadata: { scale: Scaling; origin: string } | undefined;
  let facts: Pick<ModelSettings, 'labels' | 'trainPatients' | 'classes'> = {
    labels: 'inside',
    classes: BINARY_CLASSES,
  };
  if (metadata) {
    segment = { preprocessing: metadata.preprocessing, inference: metadata.inference };
    fromMetadata = { scale: parseScaling(metadata.scale), origin: join(dirname(modelJson), METADATA_FILE) };
    facts = trainingFacts(metadata);
  } else {
    const config = findRunConfig(location);
    segment = config ? readRunInference(config) : undefined;
    if (config && basename(config) !== ENSEMBLE_FILE) facts = trainingFacts(readJsonQuietly(config));
  }
  if (segment) {
    segment = {
      preprocessing: segment.preprocessing,
      inference: {
        tta: given.tta === false ? 'none' : segment.inference.tta,
        postprocess:
          given.postprocess === false ? { largestComponent: false, fillHoles: false } : segment.inference.postprocess,
      },
    };
  }
  const scaled =
    given.scale !== undefined && given.scale !== ''
      ? resolveInputScale(location, given.scale)
      : (fromMetadata ?? resolveInputScale(location, undefined));
  return { ...scaled, ...(segment ? { segment } : {}), ...facts };
}

/** A JSON file's content; {} where it cannot be read (the scale's reading of the same file reports that). */
function readJsonQuietly(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * What an lvseg.json (`labels`, `classes`, `training.data.trainPatients`) or a run's config.json (`labels`,
 * `classes`, `trainPatients`) says of the training data; runs and models without `classes` are binary.
 */
function trainingFacts(record: {
  labels?: unknown;
  classes?: unknown;
  trainPatients?: unknown;
  training?: { data?: { trainPatients?: unknown } };
}): Pick<ModelSettings, 'labels' | 'trainPatients' | 'classes'> {
  const labels = (LABEL_CONVENTIONS as readonly unknown[]).includes(record.labels)
    ? (record.labels as LabelConvention)
    : 'inside';
  const classes =
    Array.isArray(record.classes) && record.classes.length >= 2 && record.classes.every((c) => typeof c === 'string')
      ? (record.classes as string[])
      : BINARY_CLASSES;
  const list = record.training?.data?.trainPatients ?? record.trainPatients;
  return Array.isArray(list) && list.every((p) => typeof p === 'string')
    ? { labels, classes, trainPatients: list }
    : { labels, classes };
}

/**
 * The patients a model was trained on, from its lvseg.json (`training.data.trainPatients`) or its run's
 * config.json (`trainPatients`); undefined where neither records them (older runs, other models).
 */
export function readTrainPatients(modelPath: string): string[] | undefined {
  return resolveModelSettings(modelPath).trainPatients;
}
