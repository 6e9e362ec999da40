import { mkdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createOptimizer } from '../backends/optimizers.js';
import { selectBackend, type BackendName } from '../backends/select.js';
import { ONEDNN_BACKEND, setOnednnPrecision } from '../backends/onednn/index.js';
import type { Sample } from '../data/sample.js';
import { openSource, readAllSamples, sourceClasses } from '../data/source.js';
import { BINARY_CLASSES, sameClasses } from '../data/classes.js';
import { parseScaling } from '../data/scaling.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { CheckpointError, DataError, TrainingError, UsageError } from '../errors.js';
import { onInterrupt } from '../io/atomic.js';
import { holdOutPatients, splitSamples } from '../data/split.js';
import { buildModel, segmentationModel } from '../models/build.js';
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
import { listCheckpoints, loadLatestCheckpoint } from '../training/checkpoint.js';
import { checkRunConfig, type RunConfig, type RunFacts, type TrainConfig } from '../training/config.js';
import { getLoss } from '../losses/losses.js';
import { withSeededRandom } from '../training/seed.js';
import { fitModel, type EpochProfile } from '../training/train.js';
import { finishRun } from './finish.js';
import { TensorBoardCallback } from '../reporting/callbacks/tensorboard.js';
import { learningRateSchedule } from '../training/schedule.js';
import { preprocessSample, resampleForModel, trainingTransform } from '../transforms/preprocess.js';
import type { ModelMetadata } from '../models/metadata.js';
import type { SegmentSettings } from '../inference/segment.js';
import type { EvaluationResult } from '../evaluation/evaluate.js';
import { checkNewRunDir, discardNewRun, readHistory, readRunFile, runPath, writeRunFile } from '../runs/run-dir.js';

/** Where a run's progress lines and warnings go, and extra callbacks. */
export interface RunOptions {
  /** Where progress lines go (default stdout) and whether to draw the bar. */
  progress?: ProgressOptions;
  /** Notices and warnings (default: console.error). */
  warn?: (line: string) => void;
  /** Extra callbacks after lvseg's own (e.g. TensorBoard). */
  callbacks?: TrainingCallback[];
  /** Filled with where each epoch's milliseconds went (see EpochProfile). */
  profile?: EpochProfile[];
}

/** A finished run: its folder, resolved configuration, history and final evaluation. */
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
  if (!config)
    throw new CheckpointError(`${runDir}: no config.json; --resume takes a run directory written by 'lvseg train'`);
  return checkRunConfig(config as unknown as Record<string, unknown>, runPath(runDir, 'config'));
}

/**
 * Loads the training and validation samples of a config (splitting the training source when there is no
 * --val), with the training source's class names (`config.classes` asks a source for them where it can
 * give several).
 */
export async function loadTrainingData(
  config: TrainConfig,
): Promise<{ train: Sample[]; val: Sample[]; classes: readonly string[] }> {
  const scale = parseScaling(config.scale);
  const spacing = config.spacing ? parsePixelSpacing(config.spacing, 'spacing') : undefined;
  const asked = config.classes ?? undefined;
  const trainSource = await openSource(config.train, { scale, spacing, ...(asked ? { classes: asked } : {}) });
  const classes = sourceClasses(trainSource);
  let train = await readAllSamples(trainSource);
  if (train.length === 0) throw new DataError(`${config.train}: no training samples`);
  let val: Sample[];
  if (config.val === null && config.valPatients !== null) {
    ({ train, val } = holdOutPatients(train, config.valPatients));
  } else if (config.val === null) {
    ({ train, val } = splitSamples(train, { by: config.split, valFraction: config.valFraction, seed: config.seed }));
  } else {
    const valSource = await openSource(config.val, { scale, spacing, classes });
    if (!sameClasses(sourceClasses(valSource), classes)) {
      throw new DataError(
        `${config.val}: has classes ${JSON.stringify(sourceClasses(valSource))} but the training data ` +
          `${JSON.stringify(classes)}; validate on data with the same classes`,
      );
    }
    val = await readAllSamples(valSource);
  }
  const { height, width } = train[0]!;
  for (const [what, set] of [
    ['training', train],
    ['validation', val],
  ] as const) {
    const odd = set.find((s) => s.height !== height || s.width !== width);
    if (odd)
      throw new DataError(
        `${what} sample '${odd.name}' is ${odd.height}x${odd.width} but the first training sample is ` +
          `${height}x${width}; lvseg trains on one image size`,
      );
  }
  if (height !== width)
    throw new DataError(`training images are ${height}x${width}; the built-in models take square images`);
  return { train, val, classes };
}

function buildConfiguredModel(config: RunConfig, inputSize: number): tfl.LayersModel {
  return withSeededRandom(config.seed, () => {
    if (config.modelSpec !== null) {
      // runTraining has copied the spec file into modelSpecContent by now
      return buildModelFromSpec(validateModelSpec(config.modelSpecContent, config.modelSpec), { inputSize });
    }
    return buildModel(config.model!, {
      inputSize,
      softmax: config.softmax,
      ...(config.unet ?? {}),
      classes: (config.classes ?? BINARY_CLASSES).length,
    });
  });
}

/**
 * A whole training run: backend, data, model (or the last checkpoint of `resumeDir`), optimizer,
 * callbacks, the loop, and the run directory (config, summary, history, checkpoints, best, panels,
 * final model).
 */
export async function runTraining(
  input: TrainConfig & Partial<RunFacts>,
  resumeDir?: string,
  options: RunOptions = {},
): Promise<RunResult> {
  const warn = options.warn ?? ((l: string) => console.error(l));
  const runDir = resumeDir ?? input.out ?? defaultRunDir(input);
  // a new run goes only into a new or empty folder: nothing of the user's is replaced or mixed in
  const existed = resumeDir ? true : checkNewRunDir(runDir);
  const requested = input.backendRequested ?? input.backend;
  const backend = await selectBackend(requested as BackendName);
  if (backend.notice) warn(backend.notice);
  const loaded = await loadTrainingData(input);
  const { val } = loaded;
  const prep = input.preprocessing ?? null;
  // Resampling once, up front; the ROI crop and normalisation within each draw's augmentation (trainingTransform).
  const train = prep ? loaded.train.map((s) => resampleForModel(s, prep)) : loaded.train;
  const valInputs = prep ? val.map((s) => preprocessSample(s, prep).input) : val;
  const inputSize = prep?.roi?.size ?? train[0]!.height;
  const augment = input.augment ?? [];
  const transform = prep || augment.length > 0 ? trainingTransform(augment, prep, 'augment') : undefined;
  if (input.batchSize > train.length) {
    throw new UsageError(
      `--batch-size ${input.batchSize} is larger than the training set (${train.length} samples); pass at most ` +
        `${train.length}`,
    );
  }

  // bfloat16 convolutions need the onednn backend on a CPU with AVX512_BF16 or AMX; float32 otherwise
  const precision =
    input.precision === 'bfloat16' && backend.name === ONEDNN_BACKEND
      ? (setOnednnPrecision('bfloat16') ?? 'float32')
      : 'float32';
  setOnednnPrecision('float32');
  if (precision !== input.precision) {
    const why =
      backend.name === ONEDNN_BACKEND
        ? 'this CPU has neither AVX512_BF16 nor AMX'
        : `the ${backend.name} backend computes in float32`;
    warn(`--precision ${input.precision}: ${why}; training in float32`);
  }
  const config: RunConfig = {
    ...input,
    // what ran, as `backend` below
    precision,
    out: runDir,
    classes: [...loaded.classes],
    // `backend` is what ran (the shared run-directory contract); `backendRequested` what was asked (auto)
    backend: backend.name,
    backendRequested: requested,
    inputSize,
    trainSize: train.length,
    valSize: val.length,
    trainPatients: [...new Set(loaded.train.map((s) => s.patient))].sort(),
    versions: { lvseg: VERSION, tfjs: tf.version_core, node: process.versions.node },
    startedAt: input.startedAt ?? new Date().toISOString(),
  };
  if (config.modelSpec !== null && config.modelSpecContent === undefined)
    config.modelSpecContent = loadModelSpec(config.modelSpec);

  const optimizer = createOptimizer(config.optimizer, config.lr, { weightDecay: config.weightDecay ?? 0 });
  // with deep supervision the steps train a graph with auxiliary outputs; the model is its first output
  let trainingModel: tfl.LayersModel;
  let initialEpoch = 0;
  let samplePosition = 0;
  const previousEpochs: EpochLogs[] = [];
  const checkpoint = resumeDir ? await loadLatestCheckpoint(runPath(runDir, 'checkpoints')) : undefined;
  if (resumeDir && checkpoint) {
    trainingModel = checkpoint.model;
    await checkpoint.restoreOptimizer(optimizer);
    initialEpoch = checkpoint.state.epoch + 1;
    samplePosition = checkpoint.state.samplePosition;
    for (const e of readHistory(runDir).epochs) if (e.epoch < initialEpoch) previousEpochs[e.epoch] = e;
    if (initialEpoch >= config.epochs) {
      throw new UsageError(
        `${runDir} has finished ${initialEpoch} epochs and --epochs ${config.epochs} asks for no more; to train it ` +
          `longer pass --resume ${runDir} --epochs N with N > ${initialEpoch}`,
      );
    }
    warn(`resuming ${runDir} from ${checkpoint.dir} (epoch ${initialEpoch} of ${config.epochs} done)`);
  } else {
    if (resumeDir) warn(`${runDir}: no complete checkpoint yet; starting from epoch 1`);
    trainingModel = buildConfiguredModel(config, inputSize);
  }
  const model = segmentationModel(trainingModel);
  checkModelFitsData(
    model,
    inputSize,
    inputSize,
    config.modelSpec ?? config.model ?? model.name,
    loaded.classes.length,
  );
  const softmaxWarning = softmaxLogitsWarning(model, config.loss);
  if (softmaxWarning) warn(softmaxWarning);
  checkMemoryFits(trainingModel, config.batchSize, inputSize);

  // Until its first checkpoint a new run cannot be resumed: a failure or a signal before then (a NaN
  // loss at step 2) removes what it wrote, so the folder is as it was and can be used again.
  const hasCheckpoint = (): boolean => listCheckpoints(runPath(runDir, 'checkpoints')).length > 0;
  const discard = (): void => {
    if (!resumeDir && !hasCheckpoint()) discardNewRun(runDir, existed);
  };
  const untrack = onInterrupt(discard);
  // from the first checkpoint on there is nothing to discard, and signals end the process as usual
  const releaseAfterCheckpoint: TrainingCallback = { onEpochEnd: () => (hasCheckpoint() ? untrack() : undefined) };
  try {
    return await trainAndFinish();
  } catch (err) {
    discard();
    throw withResumeAdvice(err, runDir);
  } finally {
    untrack();
  }

  async function trainAndFinish(): Promise<RunResult> {
    mkdirSync(runDir, { recursive: true });
    await writeRunFile(runDir, 'config', config);
    await writeRunFile(runDir, 'summary', summarizeModel(model));

    const stepsPerEpoch = config.stepsPerEpoch ?? Math.ceil(train.length / config.batchSize);
    const scheduled = config.lrSchedule !== 'constant' || config.warmupEpochs > 0;
    const schedule = scheduled
      ? learningRateSchedule({
          name: config.lrSchedule,
          lr: config.lr,
          totalSteps: config.epochs * stepsPerEpoch,
          warmupSteps: config.warmupEpochs * stepsPerEpoch,
        })
      : undefined;
    const callbacks: TrainingCallback[] = [
      historyCallback({ file: runPath(runDir, 'history') }),
      checkpointCallback({ dir: runPath(runDir, 'checkpoints') }),
      releaseAfterCheckpoint,
      bestModelCallback({ dir: runPath(runDir, 'best') }),
      displayCallback({ dir: runPath(runDir, 'panels') }),
      ...(config.earlyStopping !== null ? [earlyStoppingCallback({ patience: config.earlyStopping })] : []),
      ...(config.tensorboard ? [new TensorBoardCallback({ logDir: runPath(runDir, 'logs') })] : []),
      ...(options.callbacks ?? []),
      // progress last, so the epoch line follows the files it reports on
      progressCallback(options.progress),
    ];
    setOnednnPrecision(config.precision);
    const result = await fitModel({
      model,
      trainingModel,
      optimizer,
      train,
      val: valInputs,
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
      config,
      learningRate: config.lr,
      previousEpochs,
      displaySample: valInputs[0] ?? (transform ? undefined : train[0]),
      ...(transform ? { transform } : {}),
      ...(schedule ? { schedule } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
      classes: loaded.classes.length,
      classNames: loaded.classes,
    }).finally(() => setOnednnPrecision('float32'));
    if (result.stopped) warn(result.stopped);
    const segment = runSegmentSettings(config);
    await saveModel(model, runPath(runDir, 'model'), segment ? { metadata: modelMetadata(config, segment) } : {});
    const { evaluation, report } = await finishRun(runDir, model, val, {
      loss: getLoss(config.loss),
      batchSize: config.batchSize,
      ...(segment ? { segment } : {}),
      classes: loaded.classes,
    });
    return {
      runDir,
      config,
      history: result.history,
      final: result.history.at(-1),
      stopped: result.stopped,
      model,
      val,
      evaluation,
      report,
    };
  }
}

/**
 * The loop's TrainingError at an epoch and step (a NaN loss), with what to do in this run: the last good
 * checkpoint it keeps, and --resume from it.
 */
function withResumeAdvice(err: unknown, runDir: string): unknown {
  if (!(err instanceof TrainingError) || err.epoch === undefined) return err;
  const done = err.epoch - 1;
  const kept =
    done > 0 ? `the last good checkpoint (epoch ${done}) is kept in ${runPath(runDir, 'checkpoints')}; ` : '';
  const advice =
    `${kept}lower --lr or check --scale and the data, then train ` + `again${done > 0 ? ` or --resume ${runDir}` : ''}`;
  return new TrainingError(`${err.message}; ${advice}`, {
    cause: err,
    epoch: err.epoch,
    ...(err.step !== undefined ? { step: err.step } : {}),
  });
}

/** Share of the machine's memory a run may plan to use for activations, leaving room for the data and the rest. */
const MEMORY_SHARE = 0.75;

/**
 * Fails before anything is written when one training step cannot fit in memory: every layer's output
 * is kept for the backward pass and gets a gradient of the same size (float32), per image of the batch.
 * A batch of 100000 once ran 17 s and took 5.7 GB before failing with a Node buffer error.
 */
export function checkMemoryFits(
  model: tfl.LayersModel,
  batchSize: number,
  inputSize: number,
  available = totalmem() * MEMORY_SHARE,
): void {
  let perImage = 0;
  for (const layer of model.layers) {
    const shapes = (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as (
      | number
      | null
    )[][];
    for (const shape of shapes) perImage += shape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1);
  }
  const needed = perImage * 4 * 2 * batchSize;
  if (needed > available) {
    const gb = (b: number): string => (b / 2 ** 30).toFixed(1);
    throw new UsageError(
      `--batch-size ${batchSize} needs about ${gb(needed)} GB for the activations of ${model.name} at ` +
        `${inputSize}x${inputSize}, more than the ${gb(available)} GB this machine can give; pass a smaller ` +
        `--batch-size`,
    );
  }
}

/** The inference pipeline a run's model is used with: its preprocessing, TTA and post-processing. */
export function runSegmentSettings(config: TrainConfig): SegmentSettings | undefined {
  if (!config.preprocessing) return undefined;
  const post = config.postprocess === true;
  return {
    preprocessing: config.preprocessing,
    inference: { tta: config.tta ? 'flips' : 'none', postprocess: { largestComponent: post, fillHoles: post } },
  };
}

/** The lvseg.json of a run's model: how to use it, and what it was trained on and how. */
export function modelMetadata(config: RunConfig, segment: SegmentSettings): ModelMetadata {
  const size = config.inputSize;
  return {
    format: 'lvseg-model',
    version: 1,
    input: { height: size, width: size, channels: 1 },
    scale: config.scale,
    preprocessing: segment.preprocessing,
    inference: segment.inference,
    ...(config.labels && config.labels !== 'inside' ? { labels: config.labels } : {}),
    ...(config.classes ? { classes: config.classes } : {}),
    training: {
      preset: config.preset,
      model: config.model,
      unet: config.unet,
      data: {
        train: config.train,
        val: config.val,
        trainSize: config.trainSize,
        valSize: config.valSize,
        ...(config.trainPatients ? { trainPatients: config.trainPatients } : {}),
      },
      augment: config.augment,
      epochs: config.epochs,
      batchSize: config.batchSize,
      lr: config.lr,
      lrSchedule: config.lrSchedule,
      warmupEpochs: config.warmupEpochs,
      weightDecay: config.weightDecay,
      loss: config.loss,
      seed: config.seed,
      backend: config.backend,
      versions: config.versions,
      startedAt: config.startedAt,
    },
  };
}
