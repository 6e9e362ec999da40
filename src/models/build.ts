import * as tfl from '@tensorflow/tfjs-layers';
import { ModelSpecError } from '../errors.js';
import { buildDense } from './dense.js';
import { buildFcn } from './fcn.js';
import { buildUnet, type UnetOptions } from './unet.js';

/** The built-in networks `buildModel` and `--model` take. */
export const MODEL_NAMES = ['dense', 'fcn', 'fcn-deep', 'unet', 'fcn-small', 'unet-small'] as const;
/** One of MODEL_NAMES. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** How buildModel sizes a built-in network. */
export interface BuildOptions {
  /** Input height and width (square); from the data, default 256. */
  inputSize?: number;
  /** dense only: the lab's Task 1 softmax output (see buildDense). */
  softmax?: boolean;
  /** unet only. */
  depth?: number;
  baseFilters?: number;
  batchNorm?: boolean;
  batchNormMomentum?: number;
  residual?: boolean;
  deepSupervision?: number;
  /** Output channels, one per class (background first); default 2. */
  classes?: number;
}

/**
 * Builds a named network. `fcn-small` (the FCN at a quarter of the width) and `unet-small` (depth 3,
 * 8 base filters) are the demo's quick models.
 */
export function buildModel(name: ModelName | string, options: BuildOptions = {}): tfl.LayersModel {
  const { inputSize = 256, classes = 2 } = options;
  switch (name) {
    case 'dense':
      return buildDense({ inputSize, softmax: options.softmax ?? false, classes });
    case 'fcn':
      return buildFcn({ inputSize, classes });
    case 'fcn-deep':
      return buildFcn({ inputSize, deep: true, classes });
    case 'fcn-small':
      return buildFcn({ inputSize, widthFactor: 0.25, classes });
    case 'unet':
      return buildUnet({ depth: 4, baseFilters: 16, ...unetVariant(options), inputSize, classes });
    case 'unet-small':
      return buildUnet({ depth: 3, baseFilters: 8, ...unetVariant(options), inputSize, classes });
    default:
      throw new ModelSpecError(
        `unknown model '${name}'; use one of ${MODEL_NAMES.join(', ')}, or --model-spec FILE for a JSON spec`,
      );
  }
}

/** The U-Net options that were given (an undefined one must not hide the named model's default). */
function unetVariant(options: BuildOptions): Partial<UnetOptions> {
  const { depth, baseFilters, batchNorm, batchNormMomentum, residual, deepSupervision } = options;
  return Object.fromEntries(
    Object.entries({ depth, baseFilters, batchNorm, batchNormMomentum, residual, deepSupervision }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

/**
 * The model that segments: `model` itself, or for a model with auxiliary outputs (a deep-supervised
 * U-Net's training graph) its first output alone, sharing the layers and weights. What is saved as a
 * run's model and what predict runs.
 */
export function segmentationModel(model: tfl.LayersModel): tfl.LayersModel {
  if (model.outputs.length < 2) return model;
  return tfl.model({ inputs: model.inputs, outputs: model.outputs[0]!, name: model.name });
}
