// The inference layer's public API: the predict pipeline, TTA, post-processing, a model's settings.
export {
  predictMask,
  predictSample,
  resizeBilinear,
  resizeNearest,
  renderContourOverlay,
  formatContourText,
  encodeMaskPng,
  PREDICTION_COLOUR,
  LABEL_COLOUR,
  measureMask,
  type ImagePrediction,
  type OverlayColour,
  type MaskMeasures,
} from './predict.js';
export { predictInputs, readPngImage, readDicomImage } from './predict-inputs.js';
export {
  resolveModel,
  resolveModelJson,
  findRunConfig,
  readRunScale,
  resolveInputScale,
  dicomScalingWarning,
  readRunInference,
  resolveModelSettings,
  type ModelSettings,
  type ModelLocation,
  type ResolvedModel,
} from './run-config.js';
export { findModelSettings } from './run-config.js';
export {
  segmentSamples,
  foregroundProbabilities,
  describeSegment,
  type SegmentSettings,
  type Segmentation,
} from './segment.js';
export { fillHoles, postprocessMask } from './postprocess.js';
