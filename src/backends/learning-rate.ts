import type * as tf from '@tensorflow/tfjs-core';

/**
 * Sets the rate a (fused or tfjs) Adam or SGD optimizer uses from its next step on. Apart from
 * optimizers.ts (which loads the native addon) so the training loop bundles for the browser.
 */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  // tfjs's optimizers read the field at every applyGradients; it is protected only in the typings
  (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}
