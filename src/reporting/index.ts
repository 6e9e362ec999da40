// The reporting layer's public API.
export { renderPanel, composePanel, type PanelInput, type PanelOptions } from './panels.js';
export {
  layoutCurves,
  renderCurvesSvg,
  renderCurvesPng,
  layoutHistogram,
  seriesLabel,
  type CurveRun,
  type CurveOptions,
  type HistoryEpoch,
} from './charts.js';
export {
  renderModelDiagram,
  renderModelDiagramPng,
  layoutModelDiagram,
  modelGraph,
  formatShape,
  type DiagramNode,
} from './model-diagram.js';
export { sceneToSvg, sceneToPng, rasterizeScene, type Scene, type Shape } from './scene.js';
export {
  EventFileWriter,
  computeHistogram,
  FILE_VERSION,
  type Histogram,
  type EventFileWriterOptions,
} from './tensorboard.js';
export { readRun, type RunRecord, type RunImage, type PerImageRecord } from './run.js';
export { renderReport, writeReport, writeRunReport, bestEpoch, runScore, differingSettings } from './report.js';
export { writeSamplePanels, safeImageName } from './samples.js';
export { displayCallback } from './callbacks/display.js';
export { TensorBoardCallback, type TensorBoardOptions } from './callbacks/tensorboard.js';
export {
  buildVolumesRecord,
  phasesCsv,
  areasCsv,
  layoutVolumeCurve,
  renderVolumeCurveSvg,
  renderVolumeCurvePng,
  composeVolumeGrid,
  renderVolumeGridPng,
  volumesFiles,
  readVolumesOutput,
  isVolumesOutput,
  VOLUMES_FILES,
  type VolumesRecord,
  type SliceRecord,
  type ExpertRecord,
  type VolumesOutput,
} from './volumes.js';
export { composeOutlineTile } from './panels.js';
