/** A tiny model whose outputs are known: per pixel, logits [0, x − 0.5], so the mask is x > 0.5. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export function thresholdModel(height: number | null, width: number | null, softmax = false): tfl.LayersModel {
  const input = tfl.input({ shape: [height, width, 1] });
  const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'scores' });
  let output = conv.apply(input) as tfl.SymbolicTensor;
  if (softmax) output = tfl.layers.activation({ activation: 'softmax' }).apply(output) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: output });
  conv.setWeights([tf.tensor4d([0, 1], [1, 1, 1, 2]), tf.tensor1d([0, -0.5])]);
  return model;
}
