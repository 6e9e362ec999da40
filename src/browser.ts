/**
 * lvseg's browser-safe core (`import … from 'lvseg/browser'`): everything a web page needs to run an lvseg
 * model the way `lvseg predict` does (scaling; the model's inference pipeline from its lvseg.json:
 * resampling, ROI, intensity normalisation, test-time flips, post-processing; argmax, contours, areas, mask
 * metrics, DICOM decoding, model metadata), to turn a cine series into LV volumes and EF as `lvseg volumes`
 * does, and to train a model the way `lvseg train` does (the lab's TFRecords, the data pipeline, the
 * networks, losses, metrics and the training loop itself), without any `node:` module. The CLI imports the
 * same modules, so there is one
 * implementation; test/web/browser-core.test.ts bundles this entry for the browser and checks it.
 *
 * An example, the module examples/browser/segment.mjs (test/web/browser-example.test.ts runs it):
 *
 * {@includeCode ../examples/browser/segment.mjs}
 * @module lvseg/browser
 */
export * from './errors.js';
export { applyScaling, parseScaling, formatScaling, LAB_SCALING, type Scaling } from './data/scaling.js';
export { decodeDicom, SUPPORTED_TRANSFER_SYNTAXES, type DicomSlice } from './data/dicom-decode.js';
export {
  parseContour,
  rasterizeContour,
  PIXEL_CENTRE,
  type Contour,
  type RasterizeOptions,
} from './imaging/contour-polygon.js';
export { toGrey8, lumaGrey, type RgbaImage } from './imaging/pixels.js';
export { resizeBilinear, resizeNearest } from './imaging/resample.js';
export {
  confusionCounts,
  addCounts,
  diceFromCounts,
  diceCoefficient,
  labDice,
  iou,
  iouFromCounts,
  precision,
  precisionFromCounts,
  recall,
  recallFromCounts,
  pixelAccuracy,
  accuracyFromCounts,
  foregroundArea,
  argmaxLabels,
  regionMask,
  type ConfusionCounts,
  type MaskLike,
} from './imaging/mask-metrics.js';
export {
  largestComponent,
  boundaryPixels,
  extractContour,
  polygonArea,
  type Point as ContourPoint,
} from './imaging/contours.js';
export {
  hausdorff95,
  averagePerpendicularDistance,
  type Spacing as PixelSpacing,
} from './evaluation/surface-distance.js';
export { detectOutputKind, modelInputSize, predictScores, type OutputKind } from './models/predict.js';
export { inferenceModel } from './models/fold.js';
export {
  predictMask,
  segmentImage,
  measureMask,
  formatContourText,
  renderContourOverlay,
  PREDICTION_COLOUR,
  LABEL_COLOUR,
  classColour,
  measureClasses,
  type ClassMeasures,
  type MaskMeasures,
  type OverlayColour,
} from './inference/predict-core.js';
export { BINARY_CLASSES, classRegions, type ClassRegion } from './data/classes.js';
export {
  encodeNifti,
  cineGeometry,
  stackable,
  stackGeometry,
  type NiftiData,
  type NiftiGeometry,
} from './data/nifti-write.js';
export {
  segmentSamples,
  foregroundProbabilities,
  describeSegment,
  type SegmentSettings,
  type Segmentation,
} from './inference/segment.js';
export {
  checkPreprocessing,
  preprocessSample,
  restoreProbabilities,
  type Preprocessing,
  type InputGeometry,
} from './transforms/preprocess.js';
export { postprocessMask, fillHoles } from './inference/postprocess.js';
export type { Sample } from './data/sample.js';
export {
  METADATA_FILE,
  checkModelMetadata,
  type ModelMetadata,
  type InferenceSettings,
  type LabelConvention,
} from './models/metadata.js';
export {
  groupSeries,
  describeSeries,
  chooseSeries,
  buildCine,
  cineHeartRate,
  sliceNormal,
  matchCineContours,
  ICONTOUR_FILE,
  CONTOUR_FILES,
  type SeriesGroup,
  type CineSeries,
  type CineSlice,
  type CineContours,
} from './data/cine-grid.js';
export {
  computeVolumes,
  describeVolumeRule,
  DEFAULT_VOLUME_RULE,
  type VolumeRule,
  type VolumeResult,
  type SliceVolumes,
  type CellStatus,
  computeLvMass,
  MYOCARDIUM_DENSITY_G_PER_ML,
  type MassResult,
  type MassSlice,
} from './evaluation/volumes.js';
export {
  measureCine,
  measureExperts,
  massSlices,
  type CineImage,
  type CineMeasurement,
  type ExpertMeasurement,
  type MaskGrid,
  type Segmenter,
} from './evaluation/cine-measure.js';
export { plainModelMetadata } from './models/metadata.js';
export { buildVolumesRecord, phasesCsv, type VolumesRecord, type VolumesAnalysis } from './reporting/volumes-record.js';
export { WEIGHTS_FILE, concatWeightData, layersModelJson } from './models/layers-format.js';
export { readTfRecordBlob, tfRecordsFromChunks, isGzip } from './data/tfrecord-stream.js';
export { decodeLabExample, encodeLabExample } from './data/lab-schema.js';
export { splitSamples } from './data/split.js';
export { buildModel, MODEL_NAMES, type ModelName } from './models/build.js';
export { checkModelFitsData } from './models/fit.js';
export { PRESETS, type Preset } from './models/presets.js';
export { fitModel, type FitOptions, type FitResult } from './training/train.js';
export { getLoss, LOSS_NAMES, type LossName } from './losses/losses.js';
export { METRIC_NAMES, type MetricName } from './training/metrics.js';
export { withSeededRandom } from './training/seed.js';
export { registerWasmTrainingKernels } from './backends/wasm-kernels.js';
export { prepareWasmSimdKernels } from './backends/wasm-simd.js';
export type { TrainingCallback, TrainingContext, EpochLogs } from './training/callbacks/types.js';
