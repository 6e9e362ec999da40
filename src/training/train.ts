import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Dataset, type SampleBatch } from '../data/pipeline.js';
import type { Sample } from '../data/sample.js';
import { TrainingError } from '../errors.js';
import { argmaxLabels } from '../imaging/mask-metrics.js';
import type { EpochLogs, TrainingCallback, TrainingContext } from './callbacks/types.js';
import type { RunConfig } from './config.js';
import { fuseBatchNormTraining } from './batch-norm.js';
import { skipInputGradient } from './input-conv.js';
import { knownClasses, scoresLoss, supervisedLoss, type LossFn } from '../losses/losses.js';
import { inferenceModel } from '../models/fold.js';
import { detectOutputKind, predictScores } from '../models/predict.js';
import { batchMetrics, classDices, RunningMeans, type MetricName } from './metrics.js';
import { setLearningRate } from '../backends/learning-rate.js';
import { rngAt, type Transform } from '../transforms/compose.js';
import type { LearningRateSchedule } from './schedule.js';

/** The training loop's inputs: the model, the data, the configuration and the callbacks. */
export interface FitOptions {
  /** The model that segments: validation, the display sample and the best model use it. */
  model: tfl.LayersModel;
  /**
   * What the steps train, when it is more than `model`: `model` with auxiliary outputs after its own
   * (a deep-supervised U-Net; see supervisedLoss), sharing its layers. Checkpoints save this one.
   */
  trainingModel?: tfl.LayersModel;
  /** From createOptimizer (src/backends/optimizers.ts). */
  optimizer: tf.Optimizer;
  train: readonly Sample[];
  val: readonly Sample[];
  /** Total epochs; training runs epochs initialEpoch … epochs−1. */
  epochs: number;
  initialEpoch?: number;
  batchSize: number;
  stepsPerEpoch: number;
  /** The lab's shuffle buffer; with `seed`, it fixes the data order. */
  shuffleBuffer: number;
  seed: number;
  /** Samples drawn before `initialEpoch` (a checkpoint's position in the sample stream). */
  samplePosition?: number;
  loss: LossFn;
  metrics: readonly MetricName[];
  callbacks?: TrainingCallback[];
  /** The run's configuration, for callbacks that record it (TensorBoard). */
  config?: RunConfig;
  learningRate: number;
  /** Logs of the epochs done before a resume. */
  previousEpochs?: EpochLogs[];
  displaySample?: Sample;
  /** Applied to every training sample as it is drawn (augmentation), seeded by (seed, position in the stream). */
  transform?: Transform;
  /** The learning rate per global step (epoch · stepsPerEpoch + step); without it `learningRate` throughout. */
  schedule?: LearningRateSchedule;
  /** Filled with one record per epoch trained: where its milliseconds went (the epoch bench reads it). */
  profile?: EpochProfile[];
  /** The number of classes K the model outputs (2 by default). */
  classes?: number;
  /**
   * The classes' names, background first: with K > 2 and the dice metric, validation also logs each foreground
   * class's Dice (`val_dice_<name>`).
   */
  classNames?: readonly string[];
}

/**
 * Milliseconds of one epoch by part: waiting for the next batch (augmentation and batching), the
 * optimisation steps (with reading back their loss and masks), the training metrics, the per-step
 * callbacks, validation, the epoch-end callbacks (checkpoint, best model, panel, history, progress).
 */
export interface EpochProfile {
  data: number;
  step: number;
  metrics: number;
  batchCallbacks: number;
  validation: number;
  epochCallbacks: number;
  total: number;
  /** CPU milliseconds of the whole process in the epoch, all threads (0 in a browser): on a shared machine steadier
   * than wall time. */
  cpu: number;
}

/** What the training loop returns: every epoch's logs and why it stopped early. */
export interface FitResult {
  /** Every epoch's logs, including those before a resume (index = epoch). */
  history: EpochLogs[];
  /** Why training ended before the last epoch, when a callback stopped it. */
  stopped?: string;
}

/**
 * The training loop: per step a tidy forward/backward/update through `optimizer.minimize`, metrics on
 * argmax masks, a NaN/inf check; per epoch validation, then the callbacks. Written by hand (not
 * `model.fit`) so lvseg controls checkpoints, resume, the data order and the NaN check.
 */
export async function fitModel(opts: FitOptions): Promise<FitResult> {
  const { model, optimizer, train, val, batchSize, stepsPerEpoch, loss, metrics } = opts;
  const classes = opts.classes ?? 2;
  const trainingModel = opts.trainingModel ?? model;
  const callbacks = opts.callbacks ?? [];
  const initialEpoch = opts.initialEpoch ?? 0;
  const history = [...(opts.previousEpochs ?? [])].slice(0, initialEpoch);
  if (train.length === 0) throw new TrainingError('the training set is empty; check --train');
  const variables = trainingModel.trainableWeights.map((w) => w.read() as tf.Variable);
  fuseBatchNormTraining(trainingModel);
  skipInputGradient(trainingModel);
  // The lab's input pipeline, endless, started `position` samples in (see Dataset). No cache(): the
  // samples are in memory already (splitting needs them all).
  let position = opts.samplePosition ?? 0;
  const drawn = Dataset.from(train).shuffle(opts.shuffleBuffer, opts.seed).repeat().skip(position);
  const { transform } = opts;
  const start = position;
  const augmented = transform ? drawn.map((s, i) => transform(s, rngAt(opts.seed, start + i))) : drawn;
  const pipeline = augmented.batch(batchSize).prefetch();
  const batches = pipeline.iterate(0)[Symbol.asyncIterator]();

  // The display and TensorBoard callbacks both draw the display sample at each epoch end: while the
  // onEpochEnd callbacks run (no training step between them), a sample is predicted once and reused.
  let epochEndMasks: Map<Sample, Uint8Array> | undefined;
  const ctx: TrainingContext = {
    model,
    trainingModel,
    config: opts.config,
    displaySample: opts.displaySample,
    predictLabel: async (sample) => {
      const known = epochEndMasks?.get(sample);
      if (known) return known;
      const mask = (await predictLabels(model, [sample]))[0]!;
      epochEndMasks?.set(sample, mask);
      return mask;
    },
    learningRate: opts.learningRate,
    totalEpochs: opts.epochs,
    stepsPerEpoch,
    tf,
    initialEpoch,
    previousEpochs: history.slice(),
    optimizer,
    samplePosition: () => position,
    seed: opts.seed,
  };

  for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
  let lastLogs: EpochLogs | undefined = history.at(-1);
  for (let epoch = initialEpoch; epoch < opts.epochs; epoch++) {
    for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
    const started = Date.now();
    const part: EpochProfile = {
      data: 0,
      step: 0,
      metrics: 0,
      batchCallbacks: 0,
      validation: 0,
      epochCallbacks: 0,
      total: 0,
      cpu: 0,
    };
    // the browser's lab page trains with fitModel too: no process there
    const cpuStart = opts.profile && typeof process !== 'undefined' ? process.cpuUsage() : undefined;
    let mark = performance.now();
    const lap = (key: keyof EpochProfile): void => {
      const now = performance.now();
      part[key] += now - mark;
      mark = now;
    };
    const means = new RunningMeans();
    for (let step = 0; step < stepsPerEpoch; step++) {
      // back to the event loop once a step: awaits that resolve at once never get there, and a SIGINT or
      // SIGTERM listener (the CLI's clean-up) would wait for the whole epoch
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = ((await batches.next()) as IteratorYieldResult<SampleBatch>).value;
      lap('data');
      position += batch.size;
      if (opts.schedule) setLearningRate(optimizer, opts.schedule(epoch * stepsPerEpoch + step));
      const { lossValue, preds } = await trainStep(trainingModel, optimizer, variables, loss, batch, classes);
      lap('step');
      if (!Number.isFinite(lossValue)) {
        throw new TrainingError(`loss became ${lossValue} at epoch ${epoch + 1}, step ${step + 1}: training stopped`, {
          epoch: epoch + 1,
          step: step + 1,
        });
      }
      means.add('loss', lossValue, batch.size);
      const labels = batch.samples.map((s) => s.label);
      const values = batchMetrics(metrics, preds, labels, {
        classes,
        labelled: batch.samples.map((s) => s.labelledClasses),
      });
      metrics.forEach((m, k) => {
        means.add(m, values[k]!, batch.size);
      });
      lap('metrics');
      for (const cb of callbacks) await cb.onBatchEnd?.(step, means.values(), ctx);
      lap('batchCallbacks');
    }
    const logs: EpochLogs = { ...means.values() };
    if (val.length > 0) {
      // the model's inference form (batch norms folded into the convolutions, relus fused): the U-Net's
      // forward pass in one kernel per conv → BN → relu instead of three, rebuilt from this epoch's weights
      const net = await inferenceModel(model);
      try {
        Object.assign(
          logs,
          await evaluateLossAndMetrics(net, val, batchSize, loss, metrics, 'val_', classes, opts.classNames),
        );
      } finally {
        if (net !== model) net.dispose();
      }
    }
    lap('validation');
    logs.seconds = (Date.now() - started) / 1000;
    logs.tensors = tf.memory().numTensors;
    history[epoch] = logs;
    lastLogs = logs;
    epochEndMasks = new Map();
    try {
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, ctx);
    } finally {
      epochEndMasks = undefined;
    }
    lap('epochCallbacks');
    part.total = part.data + part.step + part.metrics + part.batchCallbacks + part.validation + part.epochCallbacks;
    if (cpuStart) {
      const cpu = process.cpuUsage(cpuStart);
      part.cpu = (cpu.user + cpu.system) / 1000;
    }
    opts.profile?.push(part);
    if (ctx.stopTraining) break;
  }
  for (const cb of callbacks) await cb.onTrainEnd?.(lastLogs, ctx);
  return { history, ...(ctx.stopTraining ? { stopped: ctx.stopTraining } : {}) };
}

function imagesTensor(batch: SampleBatch): tf.Tensor4D {
  return tf.tensor4d(batch.images, [batch.size, batch.height, batch.width, 1]);
}

function labelsTensor(batch: SampleBatch): tf.Tensor3D {
  return tf.tensor3d(Int32Array.from(batch.labels), [batch.size, batch.height, batch.width], 'int32');
}

function splitMasks(flat: Uint8Array, count: number): Uint8Array[] {
  const n = flat.length / count;
  return Array.from({ length: count }, (_, i) => flat.subarray(i * n, (i + 1) * n));
}

/**
 * One optimisation step; returns the loss (of every output, supervisedLoss) and the argmax masks of the
 * batch as predicted in that step (the first output).
 */
async function trainStep(
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  loss: LossFn,
  batch: SampleBatch,
  classes: number,
): Promise<{ lossValue: number; preds: Uint8Array[] }> {
  let argmax: tf.Tensor | undefined;
  const lossTensor = tf.tidy(() => {
    const xs = imagesTensor(batch);
    const ys = labelsTensor(batch);
    const known = knownClasses(
      batch.samples.map((s) => s.labelledClasses),
      classes,
    );
    return optimizer.minimize(
      () => {
        const out = model.apply(xs, { training: true }) as tf.Tensor4D | tf.Tensor4D[];
        const outputs = Array.isArray(out) ? out : [out];
        argmax = tf.keep(tf.argMax(outputs[0]!, -1));
        return supervisedLoss(loss, outputs, ys, known);
      },
      true,
      variables,
    )!;
  });
  const lossValue = (await readAndDispose(lossTensor))[0]!;
  const flat = Uint8Array.from(await readAndDispose(argmax!));
  return { lossValue, preds: splitMasks(flat, batch.size) };
}

/**
 * A tensor's values, then the tensor disposed. Read asynchronously: the webgpu backend cannot read
 * synchronously in Node (its readSync draws through an OffscreenCanvas).
 */
async function readAndDispose(t: tf.Tensor): Promise<tf.TypedArray> {
  try {
    return (await t.data()) as tf.TypedArray;
  } finally {
    t.dispose();
  }
}

/** Argmax masks of `samples` with the current weights (inference mode). */
export async function predictLabels(model: tfl.LayersModel, samples: readonly Sample[]): Promise<Uint8Array[]> {
  if (samples.length === 0) return [];
  const { height, width } = samples[0]!;
  const { scores, classes } = await predictScores(
    model,
    samples.map((s) => s.image),
    height,
    width,
  );
  return splitMasks(argmaxLabels(scores, height * width, classes), samples.length);
}

/**
 * Mean loss and metrics over `samples` in batches, in inference mode; keys get `prefix`. The loss is
 * scoresLoss, the one evaluation computes, on what predictScores gives. With K > 2 `classNames` and the dice
 * metric, also `dice_<name>` per foreground class (classDices, over the batches whose images mark it).
 */
export async function evaluateLossAndMetrics(
  model: tfl.LayersModel,
  samples: readonly Sample[],
  batchSize: number,
  loss: LossFn,
  metrics: readonly MetricName[],
  prefix = '',
  classes = 2,
  classNames?: readonly string[],
): Promise<EpochLogs> {
  const means = new RunningMeans();
  const kind = detectOutputKind(model);
  const perClass = classes > 2 && classNames?.length === classes && metrics.includes('dice') ? classNames : undefined;
  if (samples.length === 0) return means.values(prefix);
  const { height, width } = samples[0]!;
  const pixels = height * width;
  // The forward passes take several batches at once (fewer, larger calls, which oneDNN runs faster per
  // image); loss and metrics are still those of each batch, so val_dice stays the batches' pooled Dice.
  const perForward = batchSize * Math.max(1, Math.floor(FORWARD_PIXELS / (batchSize * pixels)));
  for (let chunk = 0; chunk < samples.length; chunk += perForward) {
    const images = samples.slice(chunk, chunk + perForward);
    const { scores, classes: outputs } = await predictScores(
      model,
      images.map((s) => s.image),
      height,
      width,
    );
    for (let start = 0; start < images.length; start += batchSize) {
      const batch = images.slice(start, start + batchSize);
      const labels = batch.map((s) => s.label);
      const labelled = batch.map((s) => s.labelledClasses);
      const batchScores = scores.subarray(start * pixels * outputs, (start + batch.length) * pixels * outputs);
      means.add('loss', await scoresLoss(loss, batchScores, labels, height, width, kind, labelled), batch.length);
      const masks = splitMasks(argmaxLabels(batchScores, pixels, outputs), batch.length);
      const values = batchMetrics(metrics, masks, labels, { classes, labelled });
      metrics.forEach((m, k) => {
        means.add(m, values[k]!, batch.length);
      });
      if (perClass)
        classDices(masks, labels, classes, labelled).forEach((dice, j) => {
          if (dice !== undefined) means.add(`dice_${perClass[j + 1]}`, dice, batch.length);
        });
    }
  }
  return means.values(prefix);
}

/** Input pixels per validation forward pass: 32 images of 128×128 (8 of the lab's 256×256). */
const FORWARD_PIXELS = 32 * 128 * 128;
