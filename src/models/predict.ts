/**
 * The one way lvseg runs a model forward outside a training step: training's epoch-end validation and
 * display sample, `lvseg evaluate`, `lvseg predict`, the inference pipeline and the browser page all
 * call predictScores, and read what it gives with detectOutputKind.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ModelSpecError } from '../errors.js';

/** Whether a model's output is raw per-pixel scores (logits) or softmax probabilities. */
export type OutputKind = 'logits' | 'probabilities';

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  outputShape: unknown;
  inboundNodes?: { inboundLayers: LayerLike[] }[];
}

/** Layers that only move values around, so the activation that matters is further up. */
const SHAPE_ONLY = new Set(['Reshape', 'Flatten', 'Permute', 'Cropping2D', 'ZeroPadding2D', 'UpSampling2D', 'Dropout']);

const sameShape = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * `probabilities` when the model ends in a softmax over the class axis (a Softmax layer, an
 * Activation('softmax') or a layer with `activation: 'softmax'`, found through reshapes); `logits`
 * otherwise. A softmax over another axis, like the lab's Task 1 `Dense(H·W·2, softmax)` before its
 * Reshape, does not give per-pixel probabilities: its outputs are treated as logits, as the lab's
 * from-logits loss treated them (hence its stuck loss of ln 2).
 */
export function detectOutputKind(model: tfl.LayersModel): OutputKind {
  const finalShape = model.outputs[0]?.shape;
  let layer = model.layers[model.layers.length - 1] as unknown as LayerLike | undefined;
  while (layer) {
    const cls = layer.getClassName();
    const config = layer.getConfig();
    const softmax = cls === 'Softmax' || config.activation === 'softmax';
    if (softmax) {
      const axis = config.axis ?? -1;
      const overClasses =
        (axis === -1 || (Array.isArray(axis) && axis.length === 1 && axis[0] === -1)) &&
        sameShape(layer.outputShape, finalShape);
      return overClasses ? 'probabilities' : 'logits';
    }
    if (!SHAPE_ONLY.has(cls)) return 'logits';
    layer = layer.inboundNodes?.[0]?.inboundLayers[0];
  }
  return 'logits';
}

/** The model's fixed input height and width, or null where the model accepts any size. */
export function modelInputSize(model: tfl.LayersModel): { height: number | null; width: number | null } {
  const shape = model.inputs[0]?.shape;
  if (shape?.length !== 4 || (shape[3] !== 1 && shape[3] !== null)) {
    throw new ModelSpecError(
      `model input has shape [${shape?.map((d) => d ?? 'null').join(', ')}]; lvseg models take [batch, height, ` +
        `width, 1] grey images`,
    );
  }
  return { height: shape[1] ?? null, width: shape[2] ?? null };
}

/**
 * Runs the model on same-sized images and returns the per-pixel class scores, channel last
 * (`images.length · height · width · classes` values), and the number of classes. All tensors are
 * disposed before it returns.
 */
export async function predictScores(
  model: tfl.LayersModel,
  images: readonly Float32Array[],
  height: number,
  width: number,
): Promise<{ scores: Float32Array; classes: number }> {
  const pixels = height * width;
  const input = new Float32Array(images.length * pixels);
  images.forEach((image, i) => {
    input.set(image, i * pixels);
  });
  const output = tf.tidy(() => {
    const x = tf.tensor4d(input, [images.length, height, width, 1]);
    const y = model.predict(x);
    if (Array.isArray(y))
      throw new ModelSpecError(`model has ${y.length} outputs; lvseg models have one per-pixel output`);
    return y as tf.Tensor;
  });
  try {
    const scores = (await output.data()) as Float32Array;
    const perImage = scores.length / images.length;
    const classes = perImage / pixels;
    if (!Number.isInteger(classes) || classes < 2) {
      throw new ModelSpecError(
        `model output has ${perImage} values per ${height}×${width} image; expected ${pixels}·classes (classes ≥ 2, ` +
          `channel last)`,
      );
    }
    return { scores, classes };
  } finally {
    output.dispose();
  }
}
