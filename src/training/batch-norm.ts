import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fusedBatchNormTraining } from '../backends/fused-batch-norm.js';

/** What lvseg reads of a tfjs-layers BatchNormalization layer (its fields are public in JavaScript). */
interface BatchNormLayer {
  getClassName(): string;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

const FUSED = Symbol('lvseg.fusedBatchNorm');

/**
 * Lets the model's channels-last BatchNormalization layers run their training-mode pass through the
 * backend's fused kernels (backends/fused-batch-norm.ts; onednn has them) instead of tfjs's tf.moments
 * composition. The arithmetic is the layer's own: batch mean and biased variance, `moving = moving −
 * (moving − batch)·(1 − momentum)`, the same output; inference, other backends and other layouts run the
 * layer as it is. Only this model object changes: what is saved is a plain Keras BatchNormalization.
 */
export function fuseBatchNormTraining(model: tfl.LayersModel): void {
  for (const layer of model.layers as unknown as BatchNormLayer[]) {
    if (layer.getClassName() !== 'BatchNormalization' || (layer as unknown as Record<symbol, boolean>)[FUSED]) continue;
    if (!layer.center || !layer.scale) continue;
    const original = layer.call.bind(layer);
    (layer as unknown as Record<symbol, boolean>)[FUSED] = true;
    layer.call = (inputs, kwargs) => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (
        kwargs.training !== true ||
        (Array.isArray(inputs) && inputs.length !== 1) ||
        (layer.axis !== -1 && layer.axis !== x.rank - 1)
      ) {
        return original(inputs, kwargs);
      }
      return tf.tidy(() => {
        const fused = fusedBatchNormTraining(x, layer.gamma.read(), layer.beta.read(), layer.epsilon);
        if (!fused) return original(inputs, kwargs);
        const { y, mean, variance } = fused;
        const decay = 1 - layer.momentum;
        for (const [variable, batch] of [
          [layer.movingMean, mean],
          [layer.movingVariance, variance],
        ] as const) {
          tf.tidy(() => {
            const moving = variable.read();
            variable.write(tf.sub(moving, tf.mul(tf.sub(moving, batch), decay)));
          });
        }
        mean.dispose();
        variance.dispose();
        return y;
      });
    };
  }
}
