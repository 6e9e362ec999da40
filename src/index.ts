/**
 * lvseg's library API (`import … from 'lvseg'`): the names users may rely on. The workflow entry points
 * (train, resume, evaluate, predict, loadModel, searches, cross-validation, volumes) take the command
 * line's options in camelCase; a few building blocks (data sources, networks, the training loop, mask
 * metrics, figures) are here for programs that compose their own. Everything else is internal, reached
 * by module path inside the repository; test/package/api.test.ts holds the reviewed list of these names
 * and docs/api is generated from this file. The browser-safe core is `lvseg/browser` (src/browser.ts).
 * @module lvseg
 */

// The workflows: what the CLI's commands do, as functions.
export {
  train,
  resume,
  evaluate,
  predict,
  loadModel,
  type TrainOptions,
  type InferenceOptions,
  type LoadedModel,
  type Prediction,
} from './workflows/api.js';
export { readRunConfig, type RunOptions, type RunResult } from './workflows/train-run.js';
export { runSearch, type SearchOptions, type TrialRecord } from './workflows/search.js';
export { readSearchSpace, type SearchSpace } from './workflows/space.js';
export { runCrossValidation, type CvOptions, type CvResult, type FoldRecord } from './workflows/cv.js';
export {
  seriesVolumes,
  modelSegmenter,
  type SeriesVolumes,
  type SeriesVolumesOptions,
  type Segmenter,
} from './evaluation/cine-volumes.js';
export type { SavedModelEvaluation } from './evaluation/saved-model.js';

// The errors: one class per domain, each message naming the file or field and what to do.
export {
  LvsegError,
  DataError,
  ModelSpecError,
  CheckpointError,
  BackendError,
  UsageError,
  TrainingError,
  OutputError,
  QueueError,
} from './errors.js';

// Building blocks.
export { selectBackend, BACKEND_NAMES, type BackendName, type SelectedBackend } from './backends/select.js';
export type { Sample } from './data/sample.js';
export { openSource, readAllSamples, type SampleSource, type SourceOptions } from './data/source.js';
export { generatePhantom } from './data/synthetic.js';
export { parseScaling, applyScaling, type Scaling } from './data/scaling.js';
export { parsePixelSpacing } from './data/spacing.js';
export { readTfRecords, writeTfRecords } from './data/tfrecord.js';
export { decodeLabExample, encodeLabExample } from './data/lab-schema.js';
export { readDicomSlice } from './data/dicom.js';
export { splitSamples, type SplitOptions } from './data/split.js';
export { buildModel, MODEL_NAMES, type ModelName, type BuildOptions } from './models/build.js';
export { PRESETS, type Preset } from './models/presets.js';
export { saveModel, bundledModelNames, readModelMetadata, type SaveOptions } from './models/io.js';
export type { ModelMetadata } from './models/metadata.js';
export { summarizeModel, formatSummary, type ModelSummary } from './models/summary.js';
export { fitModel, type FitOptions, type FitResult } from './training/train.js';
export { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from './training/config.js';
export { getLoss, LOSS_NAMES, type LossName } from './losses/losses.js';
export { METRIC_NAMES, type MetricName } from './training/metrics.js';
export type { TrainingCallback, TrainingContext, EpochLogs } from './training/callbacks/types.js';
export { diceCoefficient, iou } from './imaging/mask-metrics.js';
export { hausdorff95, averagePerpendicularDistance } from './evaluation/surface-distance.js';
export { extractContour } from './imaging/contours.js';
export { measureMask, type MaskMeasures } from './inference/predict-core.js';
export { computeVolumes, type VolumeResult } from './evaluation/volumes.js';
export {
  evaluateModel,
  type EvaluateOptions,
  type EvaluationResult,
  type EvaluationMetrics,
} from './evaluation/evaluate.js';
export { renderCurvesSvg } from './reporting/charts.js';
export { renderModelDiagram } from './reporting/model-diagram.js';
export { writeRunReport } from './reporting/report.js';
export { VERSION } from './version.js';
