import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Sample } from '../../data/sample.js';
import type { RunConfig } from '../config.js';

/** Per-epoch values as Keras logs them: `loss`, `dice`, `accuracy`, `val_loss`, `val_dice`, … */
export type EpochLogs = Record<string, number>;

/** What every callback can see during training. */
export interface TrainingContext {
  model: LayersModel;
  /** What the training steps run: `model`, or `model` with auxiliary heads (deep supervision); checkpoints save this
   * one. */
  trainingModel: LayersModel;
  /** The run's configuration, for callbacks that record it (TensorBoard). */
  config?: RunConfig;
  /** The fixed sample the display callback shows after every epoch. */
  displaySample?: Sample;
  /**
   * Predicted label (argmax) for one sample with the current weights. During one epoch's onEpochEnd
   * callbacks each sample is predicted once and the same mask (read it, never modify it) handed to
   * every caller, so weights a callback changes there show only in predictions made after them.
   */
  predictLabel(sample: Sample): Promise<Uint8Array>;
  /** Learning rate in use. */
  learningRate: number;
  totalEpochs: number;
  stepsPerEpoch: number;
  tf: typeof tf;
  /** The first epoch this run trains (0, or the epoch after the checkpoint it resumed from). */
  initialEpoch: number;
  /** Logs of the epochs completed before a resume (index = epoch), so callbacks can rebuild their state. */
  previousEpochs: EpochLogs[];
  /** The optimizer, whose state a checkpoint saves (getWeights/setWeights). */
  optimizer: tf.Optimizer;
  /** Where the training sample stream stands (with the seed, it fixes the data order of the rest). */
  samplePosition(): number;
  seed: number;
  /** Set by a callback (early stopping) to end training after the current epoch, with the reason. */
  stopTraining?: string;
}

/**
 * The extension point of training, as in Keras: progress, display, checkpoint and TensorBoard are
 * separate callbacks that know nothing of each other.
 */
export interface TrainingCallback {
  onTrainBegin?(ctx: TrainingContext): Promise<void> | void;
  onEpochBegin?(epoch: number, ctx: TrainingContext): Promise<void> | void;
  onBatchEnd?(step: number, logs: EpochLogs, ctx: TrainingContext): Promise<void> | void;
  /** `epoch` counts from 0; `logs` holds the training and validation metrics of that epoch. */
  onEpochEnd?(epoch: number, logs: EpochLogs, ctx: TrainingContext): Promise<void> | void;
  onTrainEnd?(logs: EpochLogs | undefined, ctx: TrainingContext): Promise<void> | void;
}
