// The evaluation layer's public API.
export {
  confusionCounts, addCounts, diceFromCounts, diceCoefficient, labDice, iou, iouFromCounts, precision,
  precisionFromCounts, recall, recallFromCounts, pixelAccuracy, accuracyFromCounts, foregroundArea, argmaxLabels,
  type ConfusionCounts, type MaskLike,
} from './mask-metrics.js';
export { largestComponent, boundaryPixels, extractContour, polygonArea, type Point as ContourPoint } from './contours.js';
export {
  distanceTransform, directedBoundaryDistances, hausdorff95, meanContourDistance, averagePerpendicularDistance,
  percentile, type Spacing as PixelSpacing,
} from './surface-distance.js';
export {
  evaluateModel, detectOutputKind, modelInputSize, predictScores, crossEntropySum, scoreImage,
  type EvaluationMetrics, type PerImageResult, type EvaluationResult, type EvaluateOptions, type OutputKind,
} from './evaluate.js';
export {
  predictMask, predictSample, resizeBilinear, resizeNearest, renderContourOverlay, formatContourText, encodeMaskPng,
  PREDICTION_COLOUR, LABEL_COLOUR, type ImagePrediction, type OverlayColour,
} from './predict.js';
export { predictInputs, readPngImage, readDicomImage } from './predict-inputs.js';
export { findRunConfig, readRunScale, resolveInputScale, dicomScalingWarning, readRunInference, resolveModelSettings, type ModelSettings } from './run-config.js';
export { segmentSamples, foregroundProbabilities, describeSegment, type SegmentSettings, type Segmentation } from './segment.js';
export { fillHoles, postprocessMask } from './postprocess.js';
