import type * as tfl from '@tensorflow/tfjs-layers';
import { ModelSpecError } from '../errors.js';

/**
 * Throws a ModelSpecError unless `model` maps an [H, W, 1] image to [H, W, K] logits (K = `classes`, 2 by
 * default), saying what it takes and gives instead and what to change.
 */
export function checkModelFitsData(
  model: tfl.LayersModel,
  height: number,
  width: number,
  modelLabel = model.name,
  classes = 2,
): void {
  const inShape = model.inputs[0]!.shape;
  const outShape = model.outputs[0]!.shape;
  const show = (s: (number | null)[]): string =>
    `[${s
      .slice(1)
      .map((d) => d ?? '?')
      .join(', ')}]`;
  if (
    inShape.length !== 4 ||
    (inShape[1] !== null && inShape[1] !== height) ||
    (inShape[2] !== null && inShape[2] !== width) ||
    inShape[3] !== 1
  ) {
    throw new ModelSpecError(
      `model '${modelLabel}' takes input ${show(inShape)} but the data is [${height}, ${width}, 1]; build it for the ` +
        `data's size`,
    );
  }
  if (outShape.length !== 4 || outShape[1] !== height || outShape[2] !== width || outShape[3] !== classes) {
    const what = classes === 2 ? 'two classes per pixel' : `${classes} classes per pixel, as the data has`;
    throw new ModelSpecError(
      `model '${modelLabel}' outputs ${show(outShape)} for input [${height}, ${width}, 1]; a segmentation model must ` +
        `output [${height}, ${width}, ${classes}] (${what}): check the strides, pools and the last layer's filters`,
    );
  }
}

/** The activation of the last layer that has one (Reshape, Flatten and Dropout pass it through). */
export function lastActivation(model: tfl.LayersModel): string | undefined {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i]!;
    const cls = layer.getClassName();
    if (cls === 'Reshape' || cls === 'Flatten' || cls === 'Dropout') continue;
    if (cls === 'Softmax') return 'softmax';
    const activation = (layer.getConfig() as { activation?: unknown }).activation;
    return typeof activation === 'string' ? activation : 'linear';
  }
  return undefined;
}

/** The warning lvseg prints when a model's output is a softmax and the loss expects logits (the lab's Task 1 flaw). */
export function softmaxLogitsWarning(model: tfl.LayersModel, loss: string): string | undefined {
  if (lastActivation(model) !== 'softmax' || !/ce/.test(loss)) return undefined;
  return (
    `warning: the model's last activation is softmax but the loss '${loss}' expects logits: the loss will sit ` +
    `near ln 2 = 0.6931 and the model cannot learn (the lab's Task 1 flaw); end the model in a linear layer`
  );
}
