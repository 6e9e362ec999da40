import type * as tf from '@tensorflow/tfjs-core';

/** A tfjs-layers layer's call (public in JavaScript), which lvseg replaces for training. */
export interface CallableLayer {
  getClassName(): string;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/**
 * Has `layer` run `train(x, original)` in place of its own call when it is called in training on one tensor `x`;
 * other calls (inference, several inputs) and `original()` run the layer as it is. `mark` names the replacement: a
 * layer that carries it is left alone and false is returned, so a model passed twice changes once. Only this model
 * object changes; what is saved is the plain layer.
 */
export function replaceTrainingCall(
  layer: CallableLayer,
  mark: symbol,
  train: (x: tf.Tensor, original: () => tf.Tensor | tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): boolean {
  const marks = layer as unknown as Record<symbol, boolean>;
  if (marks[mark]) return false;
  marks[mark] = true;
  const call = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const original = (): tf.Tensor | tf.Tensor[] => call(inputs, kwargs);
    if (kwargs.training !== true || (Array.isArray(inputs) && inputs.length !== 1)) return original();
    return train(Array.isArray(inputs) ? inputs[0]! : inputs, original);
  };
  return true;
}
