import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { TrainingError } from '../errors.js';
import { argmaxLabels } from '../evaluation/mask-metrics.js';
import type { EpochLogs, TrainingCallback, TrainingContext } from './callbacks/types.js';
import type { SampleOrder } from './data-order.js';
import type { LossFn } from './losses.js';
import { batchMetric, RunningMeans, type MetricName } from './metrics.js';

export interface FitOptions {
  model: tfl.LayersModel;
  /** From createOptimizer (src/backends/optimizers.ts). */
  optimizer: tf.Optimizer;
  train: readonly Sample[];
  val: readonly Sample[];
  /** Total epochs; training runs epochs initialEpoch … epochs−1. */
  epochs: number;
  initialEpoch?: number;
  batchSize: number;
  stepsPerEpoch: number;
  /** The training sample stream (resumable: see SampleOrder). */
  order: SampleOrder;
  loss: LossFn;
  metrics: readonly MetricName[];
  callbacks?: TrainingCallback[];
  runDir: string;
  config: Record<string, unknown>;
  learningRate: number;
  /** Logs of the epochs done before a resume. */
  previousEpochs?: EpochLogs[];
  displaySample?: Sample;
}

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
  const { model, optimizer, train, val, batchSize, stepsPerEpoch, order, loss, metrics } = opts;
  const callbacks = opts.callbacks ?? [];
  const initialEpoch = opts.initialEpoch ?? 0;
  const history = [...(opts.previousEpochs ?? [])].slice(0, initialEpoch);
  if (train.length === 0) throw new TrainingError('the training set is empty; check --train');
  const { height, width } = train[0]!;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);

  const ctx: TrainingContext = {
    model,
    runDir: opts.runDir,
    config: opts.config,
    displaySample: opts.displaySample,
    predictLabel: (sample) => predictLabels(model, [sample])[0]!,
    learningRate: opts.learningRate,
    totalEpochs: opts.epochs,
    stepsPerEpoch,
    tf,
    initialEpoch,
    previousEpochs: history.slice(),
    optimizer,
    samplePosition: () => order.position,
    seed: order.seed,
  };

  for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
  let lastLogs: EpochLogs | undefined = history.at(-1);
  for (let epoch = initialEpoch; epoch < opts.epochs; epoch++) {
    for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
    const started = Date.now();
    const means = new RunningMeans();
    for (let step = 0; step < stepsPerEpoch; step++) {
      const batch = order.take(batchSize).map((i) => train[i]!);
      const { lossValue, preds } = trainStep(model, optimizer, variables, loss, batch, height, width);
      if (!Number.isFinite(lossValue)) {
        const kept = epoch > 0 ? `the last good checkpoint (epoch ${epoch}) is kept in ${opts.runDir}/checkpoints; ` : '';
        throw new TrainingError(
          `loss became ${lossValue} at epoch ${epoch + 1}, step ${step + 1}: training stopped; ${kept}lower --lr or check --scale and the data, then train again${epoch > 0 ? ` or --resume ${opts.runDir}` : ''}`,
        );
      }
      means.add('loss', lossValue, batch.length);
      const labels = batch.map((s) => s.label);
      for (const m of metrics) means.add(m, batchMetric(m, preds, labels), batch.length);
      for (const cb of callbacks) await cb.onBatchEnd?.(step, means.values(), ctx);
    }
    const logs: EpochLogs = { ...means.values() };
    if (val.length > 0) Object.assign(logs, evaluateLossAndMetrics(model, val, batchSize, loss, metrics, 'val_'));
    logs.seconds = (Date.now() - started) / 1000;
    logs.tensors = tf.memory().numTensors;
    history[epoch] = logs;
    lastLogs = logs;
    for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, ctx);
    if (ctx.stopTraining) break;
  }
  for (const cb of callbacks) await cb.onTrainEnd?.(lastLogs, ctx);
  return { history, ...(ctx.stopTraining ? { stopped: ctx.stopTraining } : {}) };
}

function imagesTensor(batch: readonly Sample[], height: number, width: number): tf.Tensor4D {
  const pixels = height * width;
  const data = new Float32Array(batch.length * pixels);
  batch.forEach((s, i) => data.set(s.image, i * pixels));
  return tf.tensor4d(data, [batch.length, height, width, 1]);
}

function labelsTensor(batch: readonly Sample[], height: number, width: number): tf.Tensor3D {
  const pixels = height * width;
  const data = new Int32Array(batch.length * pixels);
  batch.forEach((s, i) => data.set(s.label, i * pixels));
  return tf.tensor3d(data, [batch.length, height, width], 'int32');
}

function splitMasks(flat: Uint8Array, count: number): Uint8Array[] {
  const n = flat.length / count;
  return Array.from({ length: count }, (_, i) => flat.subarray(i * n, (i + 1) * n));
}

/** One optimisation step; returns the loss and the argmax masks of the batch as predicted in that step. */
function trainStep(
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  loss: LossFn,
  batch: readonly Sample[],
  height: number,
  width: number,
): { lossValue: number; preds: Uint8Array[] } {
  let argmax: tf.Tensor | undefined;
  const lossTensor = tf.tidy(() => {
    const xs = imagesTensor(batch, height, width);
    const ys = labelsTensor(batch, height, width);
    return optimizer.minimize(() => {
      const logits = model.apply(xs, { training: true }) as tf.Tensor4D;
      argmax = tf.keep(tf.argMax(logits, -1));
      return loss(logits, ys);
    }, true, variables)!;
  });
  const lossValue = lossTensor.dataSync()[0]!;
  const flat = Uint8Array.from(argmax!.dataSync());
  lossTensor.dispose();
  argmax!.dispose();
  return { lossValue, preds: splitMasks(flat, batch.length) };
}

/** Argmax masks of `samples` with the current weights (inference mode). */
export function predictLabels(model: tfl.LayersModel, samples: readonly Sample[]): Uint8Array[] {
  if (samples.length === 0) return [];
  const { height, width } = samples[0]!;
  const probs = tf.tidy(() => (model.predict(imagesTensor(samples, height, width)) as tf.Tensor).dataSync() as Float32Array);
  return splitMasks(argmaxLabels(probs, height * width), samples.length);
}

/** Mean loss and metrics over `samples` in batches, in inference mode; keys get `prefix`. */
export function evaluateLossAndMetrics(
  model: tfl.LayersModel,
  samples: readonly Sample[],
  batchSize: number,
  loss: LossFn,
  metrics: readonly MetricName[],
  prefix = '',
): EpochLogs {
  const means = new RunningMeans();
  for (let start = 0; start < samples.length; start += batchSize) {
    const batch = samples.slice(start, start + batchSize);
    const { height, width } = batch[0]!;
    const [lossValue, flat] = tf.tidy(() => {
      const logits = model.predict(imagesTensor(batch, height, width)) as tf.Tensor4D;
      const l = loss(logits, labelsTensor(batch, height, width)).dataSync()[0]!;
      return [l, Uint8Array.from(tf.argMax(logits, -1).dataSync())] as const;
    });
    means.add('loss', lossValue, batch.length);
    const preds = splitMasks(flat, batch.length);
    const labels = batch.map((s) => s.label);
    for (const m of metrics) means.add(m, batchMetric(m, preds, labels), batch.length);
  }
  return means.values(prefix);
}
