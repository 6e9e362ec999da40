// The training layer's public API.
export { fitModel, predictLabels, evaluateLossAndMetrics, type FitOptions, type FitResult } from './train.js';
export { runTraining, loadTrainingData, readRunConfig, defaultRunDir, runSegmentSettings, modelMetadata, type RunOptions, type RunResult } from './run.js';
export { learningRateSchedule, SCHEDULE_NAMES, type LearningRateSchedule, type ScheduleName, type ScheduleOptions } from './schedule.js';
export { finishRun } from './finish.js';
export { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig, type UnetVariant } from './config.js';
export { getLoss, sparseCrossEntropy, softDiceLoss, LOSS_NAMES, type LossName, type LossFn } from './losses.js';
export { batchMetric, batchMetrics, checkMetricNames, RunningMeans, METRIC_NAMES, type MetricName } from './metrics.js';
export { writeCheckpoint, loadLatestCheckpoint, listCheckpoints, checkpointDirName, type CheckpointState, type LoadedCheckpoint } from './checkpoint.js';
export { withSeededRandom } from './seed.js';
export type { TrainingCallback, TrainingContext, EpochLogs } from './callbacks/types.js';
export { progressCallback, formatLogs, type ProgressOptions } from './callbacks/progress.js';
export { displayCallback } from './callbacks/display.js';
export { checkpointCallback } from './callbacks/checkpoint.js';
export { bestModelCallback } from './callbacks/best-model.js';
export { historyCallback, readHistory, type HistoryFile } from './callbacks/history.js';
export { earlyStoppingCallback, type EarlyStoppingOptions } from './callbacks/early-stopping.js';
export { TensorBoardCallback, type TensorBoardOptions } from './callbacks/tensorboard.js';
