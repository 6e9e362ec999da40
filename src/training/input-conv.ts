import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { replaceTrainingCall, type CallableLayer } from './training-call.js';

/** What lvseg reads of a tfjs-layers Conv2D layer (its fields are public in JavaScript). */
interface Conv2DLayer extends CallableLayer {
  inboundNodes: { inboundLayers: { getClassName(): string }[] }[];
  kernel: tfl.LayerVariable;
  bias: tfl.LayerVariable | null;
  strides: number[];
  padding: 'same' | 'valid';
  dataFormat: string;
  dilationRate: number | number[];
  activation: { apply(x: tf.Tensor): tf.Tensor };
}

const PLAIN = Symbol('lvseg.plainInputConv');

/**
 * Training never needs the gradient with respect to the images, yet a tfjs-layers Conv2D without an activation
 * (the U-Net's, before its batch norm) runs tfjs's fused conv2d in training too, whose custom gradient computes the
 * input's gradient together with the filter's. A Conv2D that reads the model's input runs, in training, the plain
 * ops instead (conv2d, the bias added, the activation: the same arithmetic), whose gradients tfjs computes only
 * where a variable needs them. For the preset's U-Net that drops a 128×128 backward-data convolution from every
 * step. Only this model object changes.
 */
export function skipInputGradient(model: tfl.LayersModel): void {
  for (const layer of model.layers as unknown as Conv2DLayer[]) {
    if (layer.getClassName() !== 'Conv2D' || layer.dataFormat !== 'channelsLast') continue;
    const readsInput = layer.inboundNodes.every((node) =>
      node.inboundLayers.every((l) => l.getClassName() === 'InputLayer'),
    );
    if (!readsInput) continue;
    const dilation = layer.dilationRate;
    const rate = (typeof dilation === 'number' ? [dilation, dilation] : dilation) as [number, number];
    replaceTrainingCall(layer, PLAIN, (x, original) => {
      if (x.rank !== 4) return original();
      return tf.tidy(() => {
        const kernel = layer.kernel.read() as tf.Tensor4D;
        let y: tf.Tensor = tf.conv2d(
          x as tf.Tensor4D,
          kernel,
          layer.strides as [number, number],
          layer.padding,
          'NHWC',
          rate,
        );
        if (layer.bias) y = tf.add(y, layer.bias.read());
        return layer.activation.apply(y);
      });
    });
  }
}
