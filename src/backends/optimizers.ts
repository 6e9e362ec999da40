import * as tf from '@tensorflow/tfjs-core';

export type OptimizerName = 'adam' | 'sgd';

/** The optimizer for training (first version: TensorFlow.js's own; the onednn backend adds a fused update). */
export function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  return name === 'sgd' ? tf.train.sgd(learningRate) : tf.train.adam(learningRate);
}
