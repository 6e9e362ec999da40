import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createOptimizer } from '../backends/optimizers.js';
import { selectBackend, type BackendName } from '../backends/select.js';
import type { Sample } from '../data/sample.js';
import { openSource, readAllSamples } from '../data/source.js';
import { parseScaling } from '../data/scaling.js';
import { CheckpointError, DataError, UsageError } from '../errors.js';
import { holdOutPatients, splitSamples } from '../data/split.js';
import { buildModel } from '../models/build.js';
import { checkModelFitsData, softmaxLogitsWarning } from '../models/fit.js';
import { saveModel } from '../models/io.js';
import { buildModelFromSpec, loadModelSpec, validateModelSpec } from '../models/spec.js';
import { summarizeModel } from '../models/summary.js';
import { VERSION } from '../version.js';
import { bestModelCallback } from '../training/callbacks/best-model.js';
import { checkpointCallback } from '../training/callbacks/checkpoint.js';
import { displayCallback } from '../reporting/callbacks/display.js';
import { earlyStoppingCallback } from '../training/callbacks/early-stopping.js';
import { historyCallback } from '../training/callbacks/history.js';
import { progressCallback, type ProgressOptions } from '../training/callbacks/progress.js';
import type { EpochLogs, TrainingCallback } from '../training/callbacks/types.js';
import { loadLatestCheckpoint } from '../training/checkpoint.js';
import { checkRunConfig, type RunConfig, type RunFacts, type TrainConfig } from '../training/config.js';
import { getLoss } from '../training/losses.js';
import { withSeededRandom } from '../training/seed.js';
import { fitModel } from '../training/train.js';
import { finishRun } from './finish.js';
import { TensorBoardCallback } from '../reporting/callbacks/tensorboard.js';
import type { EvaluationResult } from '../evaluation/evaluate.js';
import { readHistory, readRunFile, runPath, writeRunFile } from '../runs/run-dir.js';

export interface RunOptions {
  /** Where progress lines go (default stdout) and whether to draw the bar. */
  progress?: ProgressOptions;
  /** Notices and warnings (default: console.error). */
  warn?: (line: string) => void;
  /** Extra callbacks after lvseg's own (e.g. TensorBoard). */
  callbacks?: TrainingCallback[];
}

export interface RunResult {
  runDir: string;
  config: RunConfig;
  history: EpochLogs[];
  /** The last epoch's logs. */
  final?: EpochLogs;
  stopped?: string;
  model: tfl.LayersModel;
  val: Sample[];
  /** The final model on the validation set (RUN/evaluation.json). */
  evaluation?: EvaluationResult;
  /** RUN/report.html. */
  report: string;
}

/** The time part of run directory names, like 20261126-203015 (UTC). */
export function runStamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A run directory name like runs/fcn-20261126-203015. */
export function defaultRunDir(config: TrainConfig): string {
  return join('runs', `${config.preset ?? config.model ?? 'spec'}-${runStamp()}`);
}

/** Reads and checks the resolved config of an earlier run, to resume it. */
export function readRunConfig(runDir: string): RunConfig {
  const config = readRunFile(runDir, 'config');
  if (!config) throw new CheckpointError(`${runDir}: no config.json; --resume takes a run directory written by 'lvseg train'`);
  return checkRunConfig(config as unknown as Record<string, unknown>, runPath(runDir, 'config'));
}

/** Loads the training and validation samples of a config (splitting the training source when there is no --val). */
export async function loadTrainingData(config: TrainConfig): Promise<{ train: Sample[]; val: Sample[] }> {
  const scale = parseScaling(config.scale);
  let train = await readAllSamples(await openSource(config.train, { scale }));
  if (train.length === 0) throw new DataError(`${config.train}: no training samples`);
  let val: Sample[];
  if (config.val === null && config.valPatients !== null) {
    ({ train, val } = holdOutPatients(train, config.valPatients));
  } else if (config.val === null) {
    ({ train, val } = splitSamples(train, { by: config.split, valFraction: config.valFraction, seed: config.seed }));
  } else {
    val = await readAllSamples(await openSource(config.val, { scale }));
  }
  const { height, width } = train[0]!;
  for (const [what, set] of [['training', train], ['validation', val]] as const) {
    const odd = set.find((s) => s.height !== height || s.width !== width);
    if (odd) throw new DataError(`${what} sample '${odd.name}' is ${odd.height}x${odd.width} but the first training sample is ${height}x${width}; lvseg trains on one image size`);
  }
  if (height !== width) throw new DataError(`training images are ${height}x${width}; the built-in models take square images`);
  return { train, val };
}

function buildConfiguredModel(config: RunConfig, inputSize: number): tfl.LayersModel {
  return withSeededRandom(config.seed, () => {
    if (config.modelSpec !== null) {
      // runTraining has copied the spec file into modelSpecContent by now
      return buildModelFromSpec(validateModelSpec(config.modelSpecContent, config.modelSpec), { inputSize });
    }
    return buildModel(config.model!, { inputSize, softmax: config.softmax });
  });
}

/**
 * A whole training run: backend, data, model (or the last checkpoint of `resumeDir`), optimizer,
 * callbacks, the loop, and the run directory (config, summary, history, checkpoints, best, panels,
 * final model).
 */
export async function runTraining(input: TrainConfig & Partial<RunFacts>, resumeDir?: string, options: RunOptions = {}): Promise<RunResult> {
  const warn = options.warn ?? ((l: string) => console.error(l));
  const runDir = resumeDir ?? input.out ?? defaultRunDir(input);
  if (!resumeDir && existsSync(runPath(runDir, 'config'))) {
    throw new UsageError(`${runDir} already holds a run; continue it with --resume ${runDir}, or pass another --out`);
  }
  const requested = input.backendRequested ?? input.backend;
  const backend = await selectBackend(requested as BackendName);
  if (backend.notice) warn(backend.notice);
  const { train, val } = await loadTrainingData(input);
  const inputSize = train[0]!.height;

  const config: RunConfig = {
    ...input,
    out: runDir,
    // `backend` is what ran (the shared run-directory contract); `backendRequested` what was asked (auto)
    backend: backend.name,
    backendRequested: requested,
    inputSize,
    trainSize: train.length,
    valSize: val.length,
    versions: { lvseg: VERSION, tfjs: tf.version_core, node: process.versions.node },
    startedAt: input.startedAt ?? new Date().toISOString(),
  };
  if (config.modelSpec !== null && config.modelSpecContent === undefined) config.modelSpecContent = loadModelSpec(config.modelSpec);

  const optimizer = createOptimizer(config.optimizer, config.lr);
  let model: tfl.LayersModel;
  let initialEpoch = 0;
  let samplePosition = 0;
  let previousEpochs: EpochLogs[] = [];
  const checkpoint = resumeDir ? await loadLatestCheckpoint(runPath(runDir, 'checkpoints')) : undefined;
  if (resumeDir && checkpoint) {
    model = checkpoint.model;
    await checkpoint.restoreOptimizer(optimizer);
    initialEpoch = checkpoint.state.epoch + 1;
    samplePosition = checkpoint.state.samplePosition;
    for (const e of readHistory(runDir).epochs) if (e.epoch < initialEpoch) previousEpochs[e.epoch] = e;
    warn(`resuming ${runDir} from ${checkpoint.dir} (epoch ${initialEpoch} of ${config.epochs} done)`);
  } else {
    if (resumeDir) warn(`${runDir}: no complete checkpoint yet; starting from epoch 1`);
    model = buildConfiguredModel(config, inputSize);
  }
  checkModelFitsData(model, inputSize, inputSize, config.modelSpec ?? config.model ?? model.name);
  const softmaxWarning = softmaxLogitsWarning(model, config.loss);
  if (softmaxWarning) warn(softmaxWarning);

  mkdirSync(runDir, { recursive: true });
  await writeRunFile(runDir, 'config', config);
  await writeRunFile(runDir, 'summary', summarizeModel(model));

  const stepsPerEpoch = config.stepsPerEpoch ?? Math.ceil(train.length / config.batchSize);
  const callbacks: TrainingCallback[] = [
    historyCallback(),
    checkpointCallback(),
    bestModelCallback(),
    displayCallback(),
    ...(config.earlyStopping !== null ? [earlyStoppingCallback({ patience: config.earlyStopping })] : []),
    ...(config.tensorboard ? [new TensorBoardCallback()] : []),
    ...(options.callbacks ?? []),
    // progress last, so the epoch line follows the files it reports on
    progressCallback(options.progress),
  ];
  const result = await fitModel({
    model,
    optimizer,
    train,
    val,
    epochs: config.epochs,
    initialEpoch,
    batchSize: config.batchSize,
    stepsPerEpoch,
    shuffleBuffer: config.shuffleBuffer,
    seed: config.seed,
    samplePosition,
    loss: getLoss(config.loss),
    metrics: config.metrics,
    callbacks,
    runDir,
    config,
    learningRate: config.lr,
    previousEpochs,
    displaySample: val[0] ?? train[0],
  });
  if (result.stopped) warn(result.stopped);
  await saveModel(model, runPath(runDir, 'model'));
  const { evaluation, report } = await finishRun(runDir, model, val);
  return { runDir, config, history: result.history, final: result.history.at(-1), stopped: result.stopped, model, val, evaluation, report };
}
