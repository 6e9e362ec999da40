import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';

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
}

/**
 * A U-Net: per level two 3×3 convs (+ batch norm) with relu, 2×2 max pool down, 2×2 transposed conv up,
 * skip connections by concatenation, a 1×1 conv to 2 logits. With `residual`, each level's pair of
 * convs is a residual block (the second relu after the sum).
 */
export function buildUnet({ inputSize = 256, depth = 4, baseFilters = 16, batchNorm = false, batchNormMomentum = 0.99, residual = false }: UnetOptions = {}): tfl.LayersModel {
  const input = tfl.input({ shape: [inputSize, inputSize, 1], name: 'image' });
  const block = (x: SymbolicTensor, filters: number, name: string): SymbolicTensor => {
    const inputOfBlock = x;
    for (const i of [1, 2]) {
      x = tfl.layers
        .conv2d({ filters, kernelSize: 3, padding: 'same', useBias: !batchNorm, name: `${name}_conv${i}` })
        .apply(x) as SymbolicTensor;
      if (batchNorm) x = tfl.layers.batchNormalization({ momentum: batchNormMomentum, name: `${name}_bn${i}` }).apply(x) as SymbolicTensor;
      if (residual && i === 2) {
        const channels = inputOfBlock.shape[3];
        const shortcut = channels === filters
          ? inputOfBlock
          : (tfl.layers.conv2d({ filters, kernelSize: 1, useBias: !batchNorm, name: `${name}_shortcut` }).apply(inputOfBlock) as SymbolicTensor);
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
  for (let level = depth - 1; level >= 0; level--) {
    const filters = baseFilters * 2 ** level;
    x = tfl.layers
      .conv2dTranspose({ filters, kernelSize: 2, strides: 2, padding: 'same', name: `up${level}` })
      .apply(x) as SymbolicTensor;
    x = tfl.layers.concatenate({ name: `skip${level}` }).apply([skips[level]!, x]) as SymbolicTensor;
    x = block(x, filters, `dec${level}`);
  }
  const logits = tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'logits' }).apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: 'unet' });
}
