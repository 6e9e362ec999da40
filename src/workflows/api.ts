/**
 * The library's front door: what `lvseg train`, `evaluate` and `predict` do, as functions. Options are
 * the command-line options in camelCase; nothing is printed unless the caller passes a callback.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend, type BackendName, type SelectedBackend } from '../backends/select.js';
import type { Sample } from '../data/sample.js';
import type { Scaling } from '../data/scaling.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { predictInputs } from '../inference/predict-inputs.js';
import { predictSample, type ImagePrediction } from '../inference/predict.js';
import { resolveModel } from '../inference/run-config.js';
import { evaluateSavedModel, type SavedModelEvaluation } from '../evaluation/saved-model.js';
import type { SegmentSettings } from '../inference/segment.js';
import { loadInferenceModel } from '../models/io.js';
import { resolveTrainConfig, type TrainConfig } from '../training/config.js';
import { readRunConfig, runTraining, type RunOptions, type RunResult } from './train-run.js';

/** Training options: any of `lvseg train`'s, in camelCase; `train` (the data source) is required. */
export type TrainOptions = Partial<TrainConfig> & { train: string };

/**
 * Trains a model and writes its run directory (`out`, default `runs/<model>-<time>`): the library form
 * of `lvseg train`. Options resolve as on the command line: defaults < `preset` < the options given.
 */
export async function train(options: TrainOptions, run: RunOptions = {}): Promise<RunResult> {
  return runTraining(resolveTrainConfig(options), undefined, run);
}

/** Continues the run in `runDir` from its last checkpoint, optionally to more `epochs` or on another backend. */
export async function resume(
  runDir: string,
  overrides: { epochs?: number; backend?: string } = {},
  run: RunOptions = {},
): Promise<RunResult> {
  const config = readRunConfig(runDir);
  return runTraining(
    {
      ...config,
      epochs: overrides.epochs ?? config.epochs,
      backendRequested: overrides.backend ?? config.backendRequested,
    },
    runDir,
    run,
  );
}

/** A model ready to use: the network, its model.json, the input scaling it was trained with and its inference pipeline.
 * */
export interface LoadedModel {
  model: tfl.LayersModel;
  file: string;
  scale: Scaling;
  /** Where the scaling came from (lvseg.json, the run's config.json, or why none was found). */
  scaleOrigin: string;
  /** Preprocessing, test-time flips and post-processing, where the model has them (lvseg.json). */
  segment?: SegmentSettings;
  /** Its class names by output channel, background first (['background', 'lv'] for a binary model). */
  classes: readonly string[];
  /** The compute backend it runs on. */
  backend: SelectedBackend['name'];
}

/**
 * Loads a model from a run directory (its best/ model first), a folder holding model.json, a
 * model.json or a bundled model's name (`lv-sunnybrook`), with the input scaling and inference pipeline
 * it was trained with; the options override them. Like evaluate and predict it selects the backend
 * first (`backend`, default auto), so it works as a program's first lvseg call.
 */
export async function loadModel(
  path: string,
  options: Omit<InferenceOptions, 'batchSize' | 'spacing'> = {},
): Promise<LoadedModel> {
  const backend = await selectBackend(options.backend ?? 'auto');
  const { modelJson: file, settings } = resolveModel(path, options);
  const { scale, origin, segment, classes } = settings;
  return {
    model: await loadInferenceModel(file),
    file,
    scale,
    scaleOrigin: origin,
    ...(segment ? { segment } : {}),
    classes,
    backend: backend.name,
  };
}

/** Options of loadModel, evaluate and predict. */
export interface InferenceOptions {
  /** Pixel scaling (`1/255`, `minmax`, …); default: the model's run's. */
  scale?: string;
  /** The compute backend to select first (`auto`: webgpu on a real GPU, else onednn, else wasm). */
  backend?: BackendName;
  /** Images per forward pass (evaluate; the lab's Dice depends on it). Default 8. */
  batchSize?: number;
  /** Pixel spacing in mm (`1.367` or `ROW,COL`) for images that carry none. */
  spacing?: string;
  /** false: no test-time flips even where the model's pipeline asks for them. */
  tta?: boolean;
  /** false: no post-processing even where the model's pipeline asks for it. */
  postprocess?: boolean;
}

/** Measures a model (a path or name as loadModel takes it) on labelled data: the library form of `lvseg evaluate`. */
export async function evaluate(
  model: string,
  data: string,
  options: InferenceOptions = {},
): Promise<SavedModelEvaluation> {
  await selectBackend(options.backend ?? 'auto');
  const { spacing, ...rest } = options;
  return evaluateSavedModel(model, data, { ...rest, ...(spacing ? { spacing: parsePixelSpacing(spacing) } : {}) });
}

/** One image's prediction: the sample as read (scaled) and the mask, contour, areas and rendered files. */
export interface Prediction extends ImagePrediction {
  input: string;
  sample: Sample;
}

/**
 * Segments images (PNG or DICOM files, folders, TFRecord files, synthetic:N) with a model: the library
 * form of `lvseg predict`, without writing files.
 */
export async function predict(
  model: string,
  inputs: readonly string[],
  options: InferenceOptions = {},
): Promise<Prediction[]> {
  const loaded = await loadModel(model, options);
  const results: Prediction[] = [];
  try {
    const spacing = options.spacing ? parsePixelSpacing(options.spacing) : undefined;
    for await (const { sample, input } of predictInputs(inputs, loaded.scale)) {
      if (spacing && !sample.spacing) sample.spacing = [...spacing];
      results.push({ ...(await predictSample(loaded.model, sample, loaded.segment, loaded.classes)), input, sample });
    }
  } finally {
    loaded.model.dispose();
  }
  return results;
}
