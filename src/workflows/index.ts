// The workflow layer's public API: whole runs (train, resume, finish) and the library's entry points.
export {
  train,
  resume,
  loadModel,
  evaluate,
  predict,
  type TrainOptions,
  type LoadedModel,
  type InferenceOptions,
  type Prediction,
} from './api.js';
export {
  runTraining,
  loadTrainingData,
  readRunConfig,
  defaultRunDir,
  runStamp,
  type RunOptions,
  type RunResult,
} from './train-run.js';
export { finishRun } from './finish.js';
// Searches, cross-validation and where their jobs run (this process, local workers, a Redis queue).
export { runSearch, type SearchOptions, type TrialRecord } from './search.js';
export { readSearchSpace, parseSearchSpace, sampleTrials, type SearchSpace } from './space.js';
export { runCrossValidation, type CvOptions, type CvResult, type FoldRecord } from './cv.js';
export { inProcessRunner, localPoolRunner, type JobRunner } from './runners.js';
export { queueRunner, startQueueWorker, type QueueWorker } from './queue.js';
export { runJob, type Job, type JobResult } from './jobs.js';
