import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** What lvseg reads of a tfjs-layers Conv2D layer (its fields are public in JavaScript). */
interface Conv2DLayer {
  getClassName(): string;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
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
    if (layer.getClassName() !== 'Conv2D' || (layer as unknown as Record<symbol, boolean>)[PLAIN]) continue;
    const readsInput = layer.inboundNodes.every((node) =>
      node.inboundLayers.every((l) => l.getClassName() === 'InputLayer'),
    );
    if (!readsInput || layer.dataFormat !== 'channelsLast') continue;
    (layer as unknown as Record<symbol, boolean>)[PLAIN] = true;
    const original = layer.call.bind(layer);
    const dilation = layer.dilationRate;
    layer.call = (inputs, kwargs) => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (kwargs.training !== true || (Array.isArray(inputs) && inputs.length !== 1) || x.rank !== 4)
        return original(inputs, kwargs);
      return tf.tidy(() => {
        const strides = layer.strides as [number, number];
        const rate = (typeof dilation === 'number' ? [dilation, dilation] : dilation) as [number, number];
        let y: tf.Tensor = tf.conv2d(
          x as tf.Tensor4D,
          layer.kernel.read() as tf.Tensor4D,
          strides,
          layer.padding,
          'NHWC',
          rate,
        );
        if (layer.bias) y = tf.add(y, layer.bias.read());
        return layer.activation.apply(y);
      });
    };
  }
}
