import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend, type BackendName } from '../backends/select.js';
import { resolveContourDir, describeSeries } from '../data/dicom-series.js';
import { isNiftiName } from '../data/nifti.js';
import { readCine } from '../data/nifti-cine.js';
import { formatScaling, parseScaling, type Scaling } from '../data/scaling.js';
import { CheckpointError, UsageError } from '../errors.js';
import {
  measureCine,
  measureExpertContours,
  modelSegmenter,
  NIFTI_CONTOURS,
  type SeriesVolumes,
} from '../evaluation/cine-volumes.js';
import { dicomScalingWarning, resolveInputScale, resolveModel, type ModelLocation } from '../inference/run-config.js';
import { checkOutputFolder, withOutputFolder, type OutputFolderOptions } from '../io/output.js';
import {
  BUNDLED_MODEL,
  bundledModelNames,
  bundledModelsDir,
  loadInferenceModel,
  resolveModelPath,
} from '../models/io.js';
import { renderReport } from '../reporting/report.js';
import {
  buildVolumesRecord,
  isVolumesOutput,
  VOLUMES_FILES,
  volumesFiles,
  type VolumesRecord,
} from '../reporting/volumes.js';

/** A model path, or the name of a model bundled under models/<name>/. */
export function resolveVolumesModel(name: string): string {
  if (name === BUNDLED_MODEL && !existsSync(name) && !bundledModelNames().includes(name)) {
    throw new CheckpointError(
      `the bundled model '${BUNDLED_MODEL}' is not installed (no ${join(bundledModelsDir(), name)}); pass --model ` +
        `RUN_DIR or a model.json, e.g. a run of 'lvseg train'`,
    );
  }
  return resolveModelPath(name);
}

/**
 * The scaling for raw DICOM pixels: --scale when given; else the model's own, except that a fixed factor
 * (a model trained on the 0–255 PNG/TFRecord data) becomes per-image min–max, which is what those images
 * were made with (see dicomScalingWarning).
 */
function dicomScale(model: ModelLocation, given: string): { scale: Scaling; note: string; warning?: string } {
  if (given) {
    const scale = parseScaling(given);
    return { scale, note: '--scale', warning: dicomScalingWarning(scale) };
  }
  const { scale, origin } = resolveInputScale(model, undefined);
  if (typeof scale === 'number') {
    return {
      scale: 'minmax',
      note:
        `the model's ${formatScaling(scale)} (${origin}) is for 0-255 images; DICOM pixels are scaled per image ` +
        `to 0-1 instead`,
    };
  }
  return { scale, note: origin };
}

/** What an earlier volumes wrote in `dir`: its files, and only where its volumes.json is there. */
function volumesOutputs(dir: string): (entry: string) => boolean {
  const own = new Set<string>(isVolumesOutput(dir) ? Object.values(VOLUMES_FILES) : []);
  return (entry) => own.has(entry);
}

export interface VolumesOptions {
  /** A run directory, a model.json, or a bundled model's name (default BUNDLED_MODEL). */
  model?: string;
  /** The SeriesInstanceUID to measure when the folder holds several. */
  series?: string;
  /** Expert contours in the Sunnybrook layout, measured by the same rule beside the model's. */
  contours?: string;
  /** Pixel scaling; default the model's, per image for DICOM. */
  scale?: string;
  backend?: BackendName;
  /** Folder for the JSON, CSVs, curve, mask grid and report, written all or nothing. */
  out?: string;
  /** Replace the output of an earlier volumes in `out` (a folder holding other files is refused even then). */
  overwrite?: boolean;
  /** What is done, a line at a time (the series, the model, the timing). */
  log?: (line: string) => void;
  /** The backend's notice. */
  notice?: (line: string) => void;
  /** Warnings about the scaling. */
  warn?: (line: string) => void;
}

/**
 * A short-axis cine series to LV volumes: reads the series (before a backend and model are loaded, so bad
 * input fails first), segments every image, measures per phase, adds the experts' numbers when
 * `contours` is given, and writes `out` (all or nothing). The volume workflow behind `lvseg volumes`.
 */
export async function measureSeriesVolumes(
  dir: string,
  options: VolumesOptions = {},
): Promise<{ record: VolumesRecord; analysis: SeriesVolumes }> {
  const log = options.log ?? (() => {});
  const { out } = options;
  const output: OutputFolderOptions = {
    flag: '--out',
    command: 'lvseg volumes',
    overwrite: options.overwrite ?? false,
    ownEntries: volumesOutputs,
  };
  // before the work: a folder that would be refused is refused now, not after minutes of segmenting
  if (out) checkOutputFolder(out, output);
  const resolved = resolveModel(resolveVolumesModel(options.model ?? BUNDLED_MODEL));
  const modelFile = resolved.modelJson;
  if (options.contours && isNiftiName(dir)) throw new UsageError(NIFTI_CONTOURS);
  const contourDir = options.contours ? resolveContourDir(options.contours, dir) : undefined;

  // The series first: bad input fails before a backend and a model are loaded.
  const { cine, groups, scan } = await readCine(dir, options.series || undefined);
  const found =
    groups.length === 1
      ? '1 series in the folder'
      : `${groups.length} series in the folder: ${groups.map(describeSeries).join('; ')}`;
  log(
    `series   ${cine.uid}${cine.description ? ` '${cine.description}'` : ''}: ${cine.slices.length} slices × ` +
      `${cine.phases} phases (${found})`,
  );
  if (scan.notDicom.length > 0)
    log(`         ${scan.notDicom.length} non-DICOM file(s) skipped, e.g. ${scan.notDicom[0]}`);

  const backend = await selectBackend(options.backend ?? 'auto');
  if (backend.notice) options.notice?.(backend.notice);
  const { scale, note, warning } = dicomScale(resolved, options.scale ?? '');
  log(`model    ${modelFile}; scale ${formatScaling(scale)} (${note}); backend ${backend.name}`);
  if (warning) options.warn?.(warning);
  const model = await loadInferenceModel(modelFile);
  const started = Date.now();
  const { segment, labels, classes } = resolved.settings;
  if (labels === 'contour-included')
    log("areas    to the contour line: the model draws its masks with the line's pixels, as its training masks were");
  const measured = await measureCine(cine, modelSegmenter(model, scale, segment), { labels, classes }).finally(() =>
    model.dispose(),
  );
  const analysis: SeriesVolumes = { scan, groups, cine, measured };
  if (contourDir) analysis.experts = await measureExpertContours(cine, contourDir);
  const record = buildVolumesRecord(analysis, {
    model: modelFile,
    scale: formatScaling(scale),
    backend: backend.name,
    labels,
  });
  log(`segmented ${cine.grid.flat().filter(Boolean).length} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  if (out) {
    const files = volumesFiles(analysis, record);
    files[VOLUMES_FILES.report] = renderReport([], {
      volumes: [{ dir: out, record, gridPng: files[VOLUMES_FILES.grid] as Buffer }],
    });
    await withOutputFolder(out, output, async (tmp) => {
      for (const [name, data] of Object.entries(files)) await writeFile(join(tmp, name), data);
    });
  }
  return { record, analysis };
}
