import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fusedBatchNormTraining } from '../backends/fused-batch-norm.js';
import { replaceTrainingCall, type CallableLayer } from './training-call.js';

/** What lvseg reads of a tfjs-layers BatchNormalization layer (its fields are public in JavaScript). */
interface BatchNormLayer extends CallableLayer {
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

/** What lvseg reads of the layers around a batch norm (public fields of tfjs-layers' Layer in JavaScript). */
interface GraphLayer {
  getClassName(): string;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  outboundNodes: { outboundLayer: GraphLayer }[];
  activation?: { getClassName(): string };
}

/** Training-mode outputs of fused batch norms that are relu'd already (their relu layer passes them on). */
const reluApplied = new WeakSet<tf.Tensor>();

/**
 * The relu Activation layer that alone reads this layer's output, if so: the batch norm can apply the relu
 * itself. Every place the layer is used counts (another model built on the same layers adds its nodes).
 */
function soleReluAfter(layer: GraphLayer, model: tfl.LayersModel): GraphLayer | undefined {
  const next = layer.outboundNodes.map((node) => node.outboundLayer);
  const relu = next[0];
  if (next.length !== 1 || relu === undefined || relu.getClassName() !== 'Activation') return undefined;
  if (relu.activation?.getClassName() !== 'relu') return undefined;
  if ((model.outputLayers as unknown[]).includes(layer)) return undefined;
  return relu;
}

/** Lets a relu layer pass on, in training, an input that a fused batch norm relu'd already. */
function skipAppliedRelu(relu: GraphLayer): void {
  if ((relu as unknown as Record<symbol, boolean>)[FUSED]) return;
  (relu as unknown as Record<symbol, boolean>)[FUSED] = true;
  const original = relu.call.bind(relu);
  relu.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0]! : inputs;
    if (kwargs.training === true && !Array.isArray(x) && reluApplied.has(x)) return x;
    return original(inputs, kwargs);
  };
}

/**
 * Lets the model's channels-last BatchNormalization layers run their training-mode pass through the
 * backend's fused kernels (backends/fused-batch-norm.ts; onednn has them) instead of tfjs's tf.moments
 * composition. The arithmetic is the layer's own: batch mean and biased variance, `moving = moving −
 * (moving − batch)·(1 − momentum)`, the same output; inference, other backends and other layouts run the
 * layer as it is. A batch norm whose output only a relu Activation reads applies that relu in its kernel
 * (both ways), and the relu layer passes the result on. Only this model object changes: what is saved is
 * a plain Keras BatchNormalization and Activation.
 */
export function fuseBatchNormTraining(model: tfl.LayersModel): void {
  for (const layer of model.layers as unknown as BatchNormLayer[]) {
    if (layer.getClassName() !== 'BatchNormalization' || !layer.center || !layer.scale) continue;
    const relu = soleReluAfter(layer as unknown as GraphLayer, model);
    const replaced = replaceTrainingCall(layer, FUSED, (x, original) => {
      if (layer.axis !== -1 && layer.axis !== x.rank - 1) return original();
      return tf.tidy(() => {
        const fused = fusedBatchNormTraining(
          x,
          layer.gamma.read(),
          layer.beta.read(),
          layer.epsilon,
          relu !== undefined,
        );
        if (!fused) return original();
        const { y, mean, variance } = fused;
        if (relu) reluApplied.add(y);
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
    });
    if (replaced && relu) skipAppliedRelu(relu);
  }
}
