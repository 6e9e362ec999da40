// The workflow layer's public API: whole runs (train, resume, finish) and the library's entry points.
export { train, resume, loadModel, evaluate, predict, type TrainOptions, type LoadedModel, type InferenceOptions, type Prediction } from './api.js';
export { runTraining, loadTrainingData, readRunConfig, defaultRunDir, runStamp, type RunOptions, type RunResult } from './train-run.js';
export { finishRun } from './finish.js';
