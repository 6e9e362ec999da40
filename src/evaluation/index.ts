// The evaluation layer's public API.
export {
  confusionCounts, addCounts, diceFromCounts, diceCoefficient, labDice, iou, iouFromCounts, precision,
  precisionFromCounts, recall, recallFromCounts, pixelAccuracy, accuracyFromCounts, foregroundArea, argmaxLabels,
  type ConfusionCounts, type MaskLike,
} from '../imaging/mask-metrics.js';
export { largestComponent, boundaryPixels, extractContour, polygonArea, type Point as ContourPoint } from './contours.js';
export {
  distanceTransform, directedBoundaryDistances, hausdorff95, meanContourDistance, averagePerpendicularDistance,
  percentile, type Spacing as PixelSpacing,
} from './surface-distance.js';
export {
  evaluateModel, evaluationDocument, scoreImage,
  type EvaluationMetrics, type PerImageResult, type EvaluationResult, type EvaluateOptions,
} from './evaluate.js';
export {
  GOOD_CONTOUR_APD_MM, isGoodContour, summarizeGroup, challengeSummary, perPatientSummaries, perPhaseSummaries,
  type GroupSummary, type PatientSummary, type ChallengeSummary, type ScoredImage,
} from './summaries.js';
export {
  predictMask, predictSample, resizeBilinear, resizeNearest, renderContourOverlay, formatContourText, encodeMaskPng,
  PREDICTION_COLOUR, LABEL_COLOUR, measureMask, type ImagePrediction, type OverlayColour, type MaskMeasures,
} from './predict.js';
export { predictInputs, readPngImage, readDicomImage } from './predict-inputs.js';
export { evaluateSavedModel, type SavedModelEvaluation, type SavedModelOptions } from './saved-model.js';
export { findRunConfig, readRunScale, resolveInputScale, dicomScalingWarning, readRunInference, resolveModelSettings, type ModelSettings } from './run-config.js';
export {
  computeVolumes, measureMask as measureSliceMask, describeVolumeRule, DEFAULT_VOLUME_RULE, computeLvMass, MYOCARDIUM_DENSITY_G_PER_ML,
  type MassResult, type MassSlice, type VolumeRule, type VolumeResult, type VolumeOptions, type ImageMeasure, type SliceVolumes, type CellStatus,
} from './volumes.js';
export { findModelSettings } from './run-config.js';
export {
  seriesVolumes, measureCine, measureExpertContours, modelSegmenter,
  type Segmenter, type CineImage, type MaskGrid, type CineMeasurement, type ExpertMeasurement, type SeriesVolumes, type SeriesVolumesOptions,
} from './cine-volumes.js';
export { segmentSamples, foregroundProbabilities, describeSegment, type SegmentSettings, type Segmentation } from './segment.js';
export { fillHoles, postprocessMask } from './postprocess.js';
