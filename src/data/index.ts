// The data layer's public API.
export type { Sample } from './sample.js';
export { generatePhantom, phantomPatient, PHANTOM_SLICES_PER_PATIENT } from './synthetic.js';
export {
  openSource,
  concatSources,
  syntheticSource,
  tfrecordSource,
  pngSource,
  dicomSource,
  readAllSamples,
  withDefaultSpacing,
  SOURCE_KINDS_HELP,
} from './source.js';
export type { SampleSource, SourceOptions } from './source.js';
export { applyScaling, parseScaling, formatScaling, LAB_SCALING } from './scaling.js';
export type { Scaling } from './scaling.js';
export { createRng } from './random.js';
export type { Rng } from './random.js';
export { crc32c, maskCrc32c, maskedCrc32c } from './crc32c.js';
export { readTfRecords, writeTfRecords, frameTfRecord, isGzip, MAX_RECORD_BYTES } from './tfrecord.js';
export type { WriteTfRecordsOptions } from './tfrecord.js';
export { readTfRecordBlob, tfRecordsFromChunks } from './tfrecord-stream.js';
export { loadProto, PROTO_DIR } from './proto.js';
export { encodeExample, decodeExample } from './example.js';
export type { ExampleFeatures, FeatureValue } from './example.js';
export { encodeLabExample, decodeLabExample } from './lab-schema.js';
export type { DecodeLabOptions } from './lab-schema.js';
export { readPngSlice, readPngDataset, isPngDataset, listPngDataset } from './png-dataset.js';
export type { PngSlice } from './png-dataset.js';
export { decodeDicom, readDicomSlice, SUPPORTED_TRANSFER_SYNTAXES } from './dicom.js';
export type { DicomSlice } from './dicom.js';
export { parseContour, readContourFile, rasterizeContour, PIXEL_CENTRE } from './contours.js';
export type { Contour, RasterizeOptions } from './contours.js';
export { readSunnybrookDicom, isSunnybrookDicom, normalizePatientId, readLinkCsv } from './sunnybrook.js';
export type { SourceReport } from './sunnybrook.js';
export { splitSamples } from './split.js';
export type { SplitOptions } from './split.js';
export { Dataset, stackSamples } from './pipeline.js';
export type { SampleBatch } from './pipeline.js';
export {
  cinePosition,
  cardiacPhases,
  phasesFromRWave,
  SUNNYBROOK_PHASES,
  ED_MAX_PHASES_FROM_R_WAVE,
} from './cardiac-phase.js';
export type { CardiacPhase, CinePosition } from './cardiac-phase.js';
export { parsePixelSpacing, parseSpacingCsv, readSpacingCsv, SPACING_FILE } from './spacing.js';
export {
  readDicomFolder,
  groupSeries,
  describeSeries,
  chooseSeries,
  buildCine,
  cineHeartRate,
  readCineSeries,
  sliceNormal,
  resolveContourDir,
  readCineContours,
} from './dicom-series.js';
export type { DicomFolderScan, SeriesGroup, CineSeries, CineSlice, CineContours } from './dicom-series.js';
export {
  readNifti,
  volumeSlice,
  encodeNifti,
  encodeLabelMapLike,
  isNiftiName,
  compactImageData,
  MAX_NIFTI_VOXELS,
} from './nifti.js';
export type { NiftiVolume, NiftiGeometry, NiftiHeader, NiftiData } from './nifti.js';
export {
  isNnunetDataset,
  readDatasetJson,
  listNnunetCases,
  readNnunetCase,
  volumeSamples,
  writeNnunetDataset,
  DATASET_JSON,
} from './nnunet.js';
export type { NnunetDataset, NnunetCase, WrittenDataset } from './nnunet.js';
export { cineToNifti, readNiftiCine, readCine } from './nifti-cine.js';
export { nnunetSource, niftiFileSource } from './source.js';
