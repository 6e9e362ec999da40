// The evaluation layer's public API.
export {
  confusionCounts, addCounts, diceFromCounts, diceCoefficient, labDice, iou, iouFromCounts, precision,
  precisionFromCounts, recall, recallFromCounts, pixelAccuracy, accuracyFromCounts, foregroundArea, argmaxLabels,
  type ConfusionCounts, type MaskLike,
} from '../imaging/mask-metrics.js';
export { largestComponent, boundaryPixels, extractContour, polygonArea, type Point as ContourPoint } from '../imaging/contours.js';
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
export { evaluateSavedModel, type SavedModelEvaluation, type SavedModelOptions } from './saved-model.js';
export {
  computeVolumes, measureSliceMask, describeVolumeRule, DEFAULT_VOLUME_RULE, computeLvMass, MYOCARDIUM_DENSITY_G_PER_ML,
  type MassResult, type MassSlice, type VolumeRule, type VolumeResult, type VolumeOptions, type ImageMeasure, type SliceVolumes, type CellStatus,
} from './volumes.js';
export {
  seriesVolumes, measureCine, measureExpertContours, modelSegmenter,
  type Segmenter, type CineImage, type MaskGrid, type CineMeasurement, type ExpertMeasurement, type SeriesVolumes, type SeriesVolumesOptions,
} from './cine-volumes.js';
