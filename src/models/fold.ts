/**
 * A model's inference form: the same function in fewer passes. Each batch normalization that follows a
 * convolution is folded into the convolution's weights and bias (at inference it is a fixed per-channel
 * affine map), and a relu that follows a linear convolution becomes the convolution's own activation,
 * which the backends run fused (oneDNN: a post-op). The U-Net with batch norm runs each of its 18 conv →
 * BN → relu triples as one kernel instead of three passes over the activations; the batch norm and relu
 * layers, now identities, are dropped.
 *
 * Only what is certain to be equivalent is rewritten: functional models, channels-last batch norms,
 * convolutions and batch norms applied once whose output nothing else reads. Anything else is left as
 * it is, and a model with nothing to fold is returned itself. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** One layer of a functional model's JSON topology (Keras's snake_case keys). */
interface LayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[][][];
}

interface TopologyJson {
  class_name: string;
  config: { layers: LayerJson[]; output_layers: unknown[][] };
}

/** The layers whose output a layer reads, one entry per input, or null for a layer applied more than once. */
function inputsOf(layer: LayerJson): string[] | null {
  if (layer.inbound_nodes.length !== 1) return layer.inbound_nodes.length === 0 ? [] : null;
  return layer.inbound_nodes[0].map((entry) => String(entry[0]));
}

const CONVOLUTIONS = new Set(['Conv2D']);

function isLinear(config: Record<string, unknown>): boolean {
  return config.activation === undefined || config.activation === null || config.activation === 'linear';
}

/** BatchNormalization's per-channel scale and shift at inference: y = x · scale + shift. */
function batchNormAffine(layer: tfl.layers.Layer): { scale: Float32Array; shift: Float32Array } {
  const config = layer.getConfig();
  const epsilon = Number(config.epsilon ?? 1e-3);
  const values = layer.getWeights();
  const named = new Map(layer.weights.map((w, i) => [w.originalName.split('/').pop()!, values[i]]));
  const mean = named.get('moving_mean')!.dataSync() as Float32Array;
  const variance = named.get('moving_variance')!.dataSync() as Float32Array;
  const gamma = named.get('gamma')?.dataSync();
  const beta = named.get('beta')?.dataSync();
  const scale = new Float32Array(mean.length);
  const shift = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    scale[c] = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + epsilon);
    shift[c] = (beta ? beta[c] : 0) - mean[c] * scale[c];
  }
  return { scale, shift };
}

/**
 * Removes the `dropped` layers (each an identity with one input) from a topology: their readers and the
 * model's outputs read their input instead. tfjs-layers copies the tensor a layer returns unchanged
 * (wasm: one copy of the activations per layer, 1-3% of the U-Net's pass), so an identity is not free.
 */
function dropIdentities(topology: TopologyJson, dropped: ReadonlySet<string>): void {
  const source = new Map<string, unknown[]>();
  for (const layer of topology.config.layers)
    if (dropped.has(layer.name)) source.set(layer.name, layer.inbound_nodes[0]![0]!);
  const resolve = (entry: unknown[]): unknown[] => {
    let to = entry;
    while (source.has(String(to[0]))) to = source.get(String(to[0]))!;
    return to === entry ? entry : [...to.slice(0, 3), ...entry.slice(3)];
  };
  topology.config.layers = topology.config.layers.filter((layer) => !dropped.has(layer.name));
  for (const layer of topology.config.layers)
    layer.inbound_nodes = layer.inbound_nodes.map((node) => node.map(resolve));
  topology.config.output_layers = topology.config.output_layers.map(resolve);
}

/**
 * The inference form of `model` (see above), with its own copy of the weights; `model` itself when
 * nothing folds. Not for training: the folded batch norms no longer update their statistics.
 */
export async function inferenceModel(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  const topology = model.toJSON(null, false) as unknown as TopologyJson;
  if (topology.class_name !== 'Model' && topology.class_name !== 'Functional') return model;
  const layers = topology.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const readers = new Map<string, number>();
  for (const layer of layers) {
    for (const input of inputsOf(layer) ?? []) readers.set(input, (readers.get(input) ?? 0) + 1);
  }
  for (const out of topology.config.output_layers) readers.set(String(out[0]), (readers.get(String(out[0])) ?? 0) + 2);
  /** The convolution whose only reader `layer` is, when `layer` reads just that one. */
  const soleConvInput = (layer: LayerJson): LayerJson | undefined => {
    const inputs = inputsOf(layer);
    if (inputs?.length !== 1 || readers.get(inputs[0]) !== 1) return undefined;
    const conv = byName.get(inputs[0]);
    return conv && CONVOLUTIONS.has(conv.class_name) && inputsOf(conv) !== null && isLinear(conv.config)
      ? conv
      : undefined;
  };

  const folded = new Map<string, string>(); // batch norm → its convolution
  for (const layer of layers) {
    if (layer.class_name !== 'BatchNormalization') continue;
    const axis = layer.config.axis;
    const lastAxis =
      axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3));
    const conv = soleConvInput(layer);
    if (!lastAxis || !conv || conv.config.data_format === 'channels_first') continue;
    folded.set(layer.name, conv.name);
    conv.config.use_bias = true;
    layer.class_name = 'Activation';
    const { trainable, dtype } = layer.config;
    layer.config = {
      name: layer.name,
      activation: 'linear',
      ...(trainable === undefined ? {} : { trainable }),
      ...(dtype ? { dtype } : {}),
    };
  }
  // A relu read only from a linear convolution (directly, or through a batch norm folded just above).
  const fusedRelus: string[] = [];
  for (const layer of layers) {
    if (layer.class_name !== 'Activation' || layer.config.activation !== 'relu') continue;
    const inputs = inputsOf(layer);
    if (inputs?.length !== 1 || readers.get(inputs[0]) !== 1) continue;
    const source = byName.get(inputs[0]);
    const conv =
      source && folded.has(source.name) ? byName.get(folded.get(source.name)!) : source && soleConvInput(layer);
    if (!conv || !CONVOLUTIONS.has(conv.class_name) || !isLinear(conv.config)) continue;
    conv.config.activation = 'relu';
    layer.config = { ...layer.config, activation: 'linear' };
    fusedRelus.push(layer.name);
  }
  if (folded.size === 0 && fusedRelus.length === 0) return model;
  dropIdentities(topology, new Set([...folded.keys(), ...fusedRelus]));

  const inference = await tfl.models.modelFromJSON({
    modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'],
  });
  const convOf = new Map([...folded].map(([bn, conv]) => [conv, bn]));
  for (const layer of inference.layers) {
    if (layer.weights.length === 0) continue;
    const original = model.getLayer(layer.name);
    const bnName = convOf.get(layer.name);
    if (!bnName) {
      layer.setWeights(original.getWeights());
      continue;
    }
    const { scale, shift } = batchNormAffine(model.getLayer(bnName));
    const [kernel, bias] = original.getWeights();
    const w = kernel.dataSync().slice() as Float32Array;
    const channels = scale.length;
    for (let i = 0; i < w.length; i++) w[i] *= scale[i % channels];
    const b = new Float32Array(channels);
    const oldBias = bias?.dataSync();
    for (let c = 0; c < channels; c++) b[c] = (oldBias ? oldBias[c] : 0) * scale[c] + shift[c];
    tf.tidy(() => layer.setWeights([tf.tensor(w, kernel.shape), tf.tensor1d(b)]));
  }
  return inference;
}
