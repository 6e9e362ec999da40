/**
 * Evaluation of a saved model, as `lvseg evaluate` and the demo do it: the model by path or bundled
 * name, its inputs scaled as it was trained, the data from any source.
 */
import { openSource, type SampleSource, type SourceOptions } from '../data/source.js';
import { DataError } from '../errors.js';
import type { Scaling } from '../data/scaling.js';
import type { PixelSpacing } from '../data/spacing.js';
import { loadInferenceModel } from '../models/io.js';
import { evaluateModel, type EvaluationResult } from './evaluate.js';
import { resolveModel } from '../inference/run-config.js';
import type { SegmentSettings } from '../inference/segment.js';

/** What evaluate returns: the evaluation, the model file and the scaling and pipeline it ran with. */
export interface SavedModelEvaluation extends EvaluationResult {
  /** The model.json evaluated. */
  modelFile: string;
  scale: Scaling;
  /** Where the scaling came from (`--scale`, a config file, or why none). */
  scaleOrigin: string;
  source: SampleSource;
  /** The inference pipeline the model was measured through (its lvseg.json or its run's), if any. */
  segment?: SegmentSettings;
  /**
   * The data's patients that the model was trained on (its lvseg.json or run records them): its numbers
   * on those are not of unseen patients. Empty when none was; undefined when the model does not say.
   */
  seenPatients?: string[];
}

export interface SavedModelOptions {
  /** A scaling as written (`1/255`, `minmax`, …); default: the one the model was trained with. */
  scale?: string;
  /** Pixel spacing for data that carries none. */
  spacing?: PixelSpacing;
  batchSize?: number;
  /** false: no test-time flips even where the model's pipeline asks for them. */
  tta?: boolean;
  /** false: no post-processing even where the model's pipeline asks for it. */
  postprocess?: boolean;
}

/**
 * The source `data` read with a model's classes: a multi-class model on data that gives the blood pool
 * only (a TFRecord, a binary PNG set) is scored on that: its samples mark classes 0 and 1 alone.
 */
export async function openSourceForClasses(
  data: string,
  options: SourceOptions,
  classes: readonly string[],
): Promise<SampleSource> {
  if (classes.length <= 2) return openSource(data, options);
  try {
    return await openSource(data, { ...options, classes });
  } catch (err) {
    if (!(err instanceof DataError && / gives classes /.test(err.message))) throw err;
  }
  const binary = await openSource(data, options);
  return {
    ...binary,
    classes,
    async *samples() {
      for await (const s of binary.samples()) yield { ...s, labelledClasses: [0, 1] };
    },
  };
}

/** Evaluates the model `modelRef` (a run, model folder, model.json or bundled name) on the source `data`. */
export async function evaluateSavedModel(
  modelRef: string,
  data: string,
  options: SavedModelOptions = {},
): Promise<SavedModelEvaluation> {
  const { modelJson: modelFile, settings } = resolveModel(modelRef, options);
  const { scale, origin, segment, trainPatients: trained, classes } = settings;
  const source = await openSourceForClasses(data, { scale, spacing: options.spacing }, classes);
  const model = await loadInferenceModel(modelFile);
  try {
    const result = await evaluateModel(model, source.samples(), {
      batchSize: options.batchSize ?? 8,
      ...(segment ? { segment } : {}),
      classes,
    });
    const seenPatients =
      trained && [...new Set(result.perImage.map((r) => r.patient))].filter((p) => trained.includes(p)).sort();
    return {
      ...result,
      modelFile,
      scale,
      scaleOrigin: origin,
      source,
      ...(segment ? { segment } : {}),
      ...(seenPatients ? { seenPatients } : {}),
    };
  } finally {
    model.dispose();
  }
}
