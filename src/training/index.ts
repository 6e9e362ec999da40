// The training layer's public API: the loop, its metrics, options, checkpoints and callbacks.
export { fitModel, predictLabels, evaluateLossAndMetrics, type FitOptions, type FitResult } from './train.js';
export {
  resolveTrainConfig,
  checkTrainConfig,
  checkRunConfig,
  flagName,
  TRAIN_DEFAULTS,
  TRAIN_OPTIONS,
  type TrainConfig,
  type RunConfig,
  type RunFacts,
  type TrainOptionName,
  type OptionDeclaration,
  type FlagType,
} from './config.js';
export {
  learningRateSchedule,
  SCHEDULE_NAMES,
  type LearningRateSchedule,
  type ScheduleName,
  type ScheduleOptions,
} from './schedule.js';
export { batchMetric, batchMetrics, checkMetricNames, RunningMeans, METRIC_NAMES, type MetricName } from './metrics.js';
export {
  writeCheckpoint,
  loadLatestCheckpoint,
  listCheckpoints,
  checkpointDirName,
  type CheckpointState,
  type LoadedCheckpoint,
} from './checkpoint.js';
export { withSeededRandom } from './seed.js';
export type { TrainingCallback, TrainingContext, EpochLogs } from './callbacks/types.js';
export { progressCallback, formatLogs, type ProgressOptions } from './callbacks/progress.js';
export { checkpointCallback } from './callbacks/checkpoint.js';
export { bestModelCallback } from './callbacks/best-model.js';
export { historyCallback } from './callbacks/history.js';
export { earlyStoppingCallback, type EarlyStoppingOptions } from './callbacks/early-stopping.js';
