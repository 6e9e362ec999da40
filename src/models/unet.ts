import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { ModelSpecError } from '../errors.js';

export interface UnetOptions {
  /** Input height and width; must be a multiple of 2^depth. */
  inputSize?: number;
  /** Number of down-sampling steps. */
  depth?: number;
  /** Filters at the first level; doubled at each level down. */
  baseFilters?: number;
  batchNorm?: boolean;
  /** Batch norm's moving-average momentum (Keras' 0.99 by default; 0.9 settles within a short run). */
  batchNormMomentum?: number;
  /** Residual blocks (ResUNet): each level's two convs get a shortcut, a 1×1 conv where the width changes. */
  residual?: boolean;
  /**
   * Deep supervision: auxiliary logits from the k decoder levels below the output (1/2, 1/4, … of the
   * input size), each upsampled bilinearly to the input size. The model's outputs are then
   * [logits, aux1, …, auxk]; training weighs their losses (supervisedLoss) and inference uses
   * the first output only (segmentationModel). 0: off.
   */
  deepSupervision?: number;
  /** Output channels, one per class (background first); default 2. */
  classes?: number;
}

/**
 * A U-Net: per level two 3×3 convs (+ batch norm) with relu, 2×2 max pool down, 2×2 transposed conv up,
 * skip connections by concatenation, a 1×1 conv to one logit per class (2 by default). With `residual`, each level's
 * pair of
 * convs is a residual block (the second relu after the sum); with `deepSupervision`, auxiliary outputs
 * follow the logits (see UnetOptions).
 */
export function buildUnet({
  inputSize = 256,
  depth = 4,
  baseFilters = 16,
  batchNorm = false,
  batchNormMomentum = 0.99,
  residual = false,
  deepSupervision = 0,
  classes = 2,
}: UnetOptions = {}): tfl.LayersModel {
  if (!Number.isInteger(deepSupervision) || deepSupervision < 0 || deepSupervision > depth - 1) {
    throw new ModelSpecError(
      `unet deepSupervision ${deepSupervision}: a U-Net of depth ${depth} has ${depth - 1} decoder levels below its ` +
        `output; pass 0 to ${depth - 1}`,
    );
  }
  const input = tfl.input({ shape: [inputSize, inputSize, 1], name: 'image' });
  const block = (x: SymbolicTensor, filters: number, name: string): SymbolicTensor => {
    const inputOfBlock = x;
    for (const i of [1, 2]) {
      x = tfl.layers
        .conv2d({ filters, kernelSize: 3, padding: 'same', useBias: !batchNorm, name: `${name}_conv${i}` })
        .apply(x) as SymbolicTensor;
      if (batchNorm)
        x = tfl.layers
          .batchNormalization({ momentum: batchNormMomentum, name: `${name}_bn${i}` })
          .apply(x) as SymbolicTensor;
      if (residual && i === 2) {
        const channels = inputOfBlock.shape[3];
        const shortcut =
          channels === filters
            ? inputOfBlock
            : (tfl.layers
                .conv2d({ filters, kernelSize: 1, useBias: !batchNorm, name: `${name}_shortcut` })
                .apply(inputOfBlock) as SymbolicTensor);
        x = tfl.layers.add({ name: `${name}_add` }).apply([x, shortcut]) as SymbolicTensor;
      }
      x = tfl.layers.activation({ activation: 'relu', name: `${name}_relu${i}` }).apply(x) as SymbolicTensor;
    }
    return x;
  };
  const skips: SymbolicTensor[] = [];
  let x: SymbolicTensor = input;
  for (let level = 0; level < depth; level++) {
    x = block(x, baseFilters * 2 ** level, `down${level}`);
    skips.push(x);
    x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${level}` }).apply(x) as SymbolicTensor;
  }
  x = block(x, baseFilters * 2 ** depth, 'bottom');
  const auxiliary: SymbolicTensor[] = [];
  for (let level = depth - 1; level >= 0; level--) {
    const filters = baseFilters * 2 ** level;
    x = tfl.layers
      .conv2dTranspose({ filters, kernelSize: 2, strides: 2, padding: 'same', name: `up${level}` })
      .apply(x) as SymbolicTensor;
    x = tfl.layers.concatenate({ name: `skip${level}` }).apply([skips[level]!, x]) as SymbolicTensor;
    x = block(x, filters, `dec${level}`);
    if (level >= 1 && level <= deepSupervision) {
      const aux = tfl.layers
        .conv2d({ filters: classes, kernelSize: 1, name: `aux${level}_logits` })
        .apply(x) as SymbolicTensor;
      auxiliary.unshift(
        tfl.layers
          .upSampling2d({ size: [2 ** level, 2 ** level], interpolation: 'bilinear', name: `aux${level}_up` })
          .apply(aux) as SymbolicTensor,
      );
    }
  }
  const logits = tfl.layers.conv2d({ filters: classes, kernelSize: 1, name: 'logits' }).apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: auxiliary.length > 0 ? [logits, ...auxiliary] : logits, name: 'unet' });
}
