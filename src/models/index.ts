// The models layer's public API.
export {
  saveModel,
  loadLayersModel,
  loadInferenceModel,
  resolveModelPath,
  float16Bits,
  type SaveOptions,
  bundledModelsDir,
  bundledModelNames,
} from './io.js';
export { buildDense, type DenseOptions } from './dense.js';
export { buildFcn, type FcnOptions } from './fcn.js';
export { buildUnet, type UnetOptions } from './unet.js';
export { buildModel, MODEL_NAMES, type ModelName, type BuildOptions } from './build.js';
export { validateModelSpec, loadModelSpec, buildModelFromSpec, type ModelSpec, type LayerSpec } from './spec.js';
export { checkModelFitsData, lastActivation, softmaxLogitsWarning } from './fit.js';
export { summarizeModel, formatSummary, type ModelSummary, type LayerSummary } from './summary.js';
export { PRESETS, getPreset, type Preset } from './presets.js';
export {
  METADATA_FILE,
  checkModelMetadata,
  plainModelMetadata,
  NO_INFERENCE_EXTRAS,
  LABEL_CONVENTIONS,
  type ModelMetadata,
  type InferenceSettings,
  type LabelConvention,
} from './metadata.js';
export { WEIGHTS_FILE, concatWeightData, layersModelJson } from './layers-format.js';
export { readModelMetadata } from './io.js';
export { predictScores, detectOutputKind, modelInputSize, type OutputKind } from './predict.js';
export { inferenceModel } from './fold.js';
