import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend, type BackendName } from '../backends/select.js';
import { readCineSeries, resolveContourDir, describeSeries } from '../data/dicom-series.js';
import { formatScaling, parseScaling, type Scaling } from '../data/scaling.js';
import { CheckpointError, UsageError } from '../errors.js';
import { measureCine, measureExpertContours, modelSegmenter, type SeriesVolumes } from '../evaluation/cine-volumes.js';
import { dicomScalingWarning, resolveInputScale, resolveModelSettings } from '../evaluation/run-config.js';
import { writeDirAtomic } from '../io/atomic.js';
import { bundledModelNames, bundledModelsDir, loadInferenceModel, resolveModelJson, resolveModelPath } from '../models/io.js';
import { renderReport } from '../reporting/report.js';
import { buildVolumesRecord, isVolumesOutput, VOLUMES_FILES, volumesFiles, type VolumesRecord } from '../reporting/volumes.js';
import { backendOption, type Command } from './command.js';

/** The model lvseg ships for this job (issue 6); until it is installed, --model must name one. */
export const BUNDLED_MODEL = 'lv-sunnybrook';

/** A model path, or the name of a model bundled under models/<name>/. */
export function resolveVolumesModel(name: string): string {
  if (name === BUNDLED_MODEL && !existsSync(name) && !bundledModelNames().includes(name)) {
    throw new CheckpointError(
      `the bundled model '${BUNDLED_MODEL}' is not installed (no ${join(bundledModelsDir(), name)}); pass --model RUN_DIR or a model.json, e.g. a run of 'lvseg train'`,
    );
  }
  return resolveModelPath(name);
}

/**
 * The scaling for raw DICOM pixels: --scale when given; else the model's own, except that a fixed factor
 * (a model trained on the 0–255 PNG/TFRecord data) becomes per-image min–max, which is what those images
 * were made with (see dicomScalingWarning).
 */
function dicomScale(modelPath: string, given: string): { scale: Scaling; note: string; warning?: string } {
  if (given) {
    const scale = parseScaling(given);
    return { scale, note: '--scale', warning: dicomScalingWarning(scale) };
  }
  const { scale, origin } = resolveInputScale(modelPath, undefined);
  if (typeof scale === 'number') {
    return { scale: 'minmax', note: `the model's ${formatScaling(scale)} (${origin}) is for 0-255 images; DICOM pixels are scaled per image to 0-1 instead` };
  }
  return { scale, note: origin };
}

const fixed = (v: number | null | undefined, digits = 1): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');

/** lvseg's numbers beside the experts' (where given), as printed. */
export function formatVolumesTable(r: VolumesRecord): string {
  const e = r.experts;
  const rows: [string, string, string | undefined][] = [
    ['EDV (mL)', fixed(r.edvMl), e && fixed(e.edvMl)],
    ['ESV (mL)', fixed(r.esvMl), e && fixed(e.esvMl)],
    ['SV (mL)', fixed(r.svMl), e && fixed(e.svMl)],
    ['EF (%)', fixed(r.efPct), e && fixed(e.efPct)],
    ...(r.lvMassG !== null || (e && e.lvMassG !== null)
      ? ([['LV mass (g)', fixed(r.lvMassG), e && fixed(e.lvMassG)], ['wall (mm)', fixed(r.wall?.meanWallThicknessMm), e && fixed(e.wall?.meanWallThicknessMm)]] as [string, string, string | undefined][])
      : []),
    ['ED phase', String(r.edPhase), e && String(e.edPhase)],
    ['ES phase', String(r.esPhase), e && String(e.esPhase)],
    ['slices', compactList(r.countedSlices), e && compactList(e.countedSlices)],
  ];
  const lines = [`  ${''.padEnd(10)}${'lvseg'.padStart(10)}${e ? 'experts'.padStart(12) : ''}`];
  for (const [label, ours, theirs] of rows) lines.push(`  ${label.padEnd(10)}${ours.padStart(10)}${e ? (theirs ?? '-').padStart(12) : ''}`);
  return lines.join('\n');
}

/** `2-10` or `2, 4-6` from sorted slice numbers. */
function compactList(numbers: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < numbers.length; i++) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    parts.push(j > i ? `${numbers[i]}-${numbers[j]}` : String(numbers[i]));
    i = j;
  }
  return parts.join(',') || 'none';
}

export const command: Command = {
  name: 'volumes',
  usage: 'volumes SERIES_DIR [--model NAME] [--out DIR] [--json] [--contours DIR] [--series UID]',
  summary: 'a short-axis cine series to LV volumes per phase, EDV, ESV, SV, EF and the heart rate',
  description:
    'Reads every DICOM file under SERIES_DIR, groups them by SeriesInstanceUID (several series: the short-axis cine with ' +
    'the most images, or --series UID), orders the slices along the slice normal and the phases by trigger time, ' +
    'segments every image with the model and sums discs (area × distance between slice centres) per phase under a ' +
    'stated slice rule (docs/volumes.md). ED and ES are the largest and smallest volumes. With --contours, the experts\' ' +
    'EDV/ESV/EF by the same rule are printed beside. --out DIR gets volumes.json, phases.csv, areas.csv, ' +
    'volume-curve.svg/.png, masks-ed-es.png and volumes.html, all or nothing.',
  options: [
    { name: 'model', type: 'string', value: 'NAME', description: 'a run directory, a model.json, or a bundled model name', default: BUNDLED_MODEL },
    { name: 'out', type: 'string', value: 'DIR', description: 'folder for the JSON, CSVs, curve, mask grid and report (replaced whole)', default: '' },
    { name: 'json', type: 'boolean', description: 'print one JSON object (volumes.json) instead of the table', default: false },
    { name: 'contours', type: 'string', value: 'DIR', description: 'expert contours in the Sunnybrook layout (contourfiles/<ID>/i-contours/…)', default: '' },
    { name: 'series', type: 'string', value: 'UID', description: 'the SeriesInstanceUID to measure when the folder holds several', default: '' },
    { name: 'scale', type: 'string', value: 'S', description: "pixel scaling (minmax, zscore, none, a factor); default: the model's, per image for DICOM", default: '' },
    backendOption,
  ],
  async run(args) {
    const [dir, ...extra] = args.positionals;
    if (!dir || extra.length > 0) throw new UsageError("volumes takes one SERIES_DIR; e.g. 'lvseg volumes dicoms/SCD0000101 --out vol101'");
    const json = args.options.json as boolean;
    const out = args.options.out as string;
    if (out && existsSync(out) && statSync(out).isDirectory() && readdirSync(out).length > 0 && !isVolumesOutput(out)) {
      throw new UsageError(`--out ${out} exists and is not an lvseg volumes folder (no ${VOLUMES_FILES.record}); it would be replaced whole: pick a new folder`);
    }
    const say = (line: string): void => {
      if (!json) console.log(line);
    };
    const modelPath = resolveVolumesModel(args.options.model as string);
    const modelFile = resolveModelJson(modelPath);
    const contoursArg = args.options.contours as string;
    const contourDir = contoursArg ? resolveContourDir(contoursArg, dir) : undefined;

    // The series first: bad input fails before a backend and a model are loaded.
    const { cine, groups, scan } = await readCineSeries(dir, (args.options.series as string) || undefined);
    const found = groups.length === 1 ? '1 series in the folder' : `${groups.length} series in the folder: ${groups.map(describeSeries).join('; ')}`;
    say(`series   ${cine.uid}${cine.description ? ` '${cine.description}'` : ''}: ${cine.slices.length} slices × ${cine.phases} phases (${found})`);
    if (scan.notDicom.length > 0) say(`         ${scan.notDicom.length} non-DICOM file(s) skipped, e.g. ${scan.notDicom[0]}`);

    const backend = await selectBackend(args.options.backend as BackendName);
    if (backend.notice && !json) console.error(backend.notice);
    const { scale, note, warning } = dicomScale(modelPath, args.options.scale as string);
    say(`model    ${modelFile}; scale ${formatScaling(scale)} (${note}); backend ${backend.name}`);
    if (warning) console.error(`warning: ${warning}`);
    const model = await loadInferenceModel(modelPath);
    const started = Date.now();
    const { segment, labels, classes } = resolveModelSettings(modelPath);
    if (labels === 'contour-included') say("areas    to the contour line: the model draws its masks with the line's pixels, as its training masks were");
    const measured = await measureCine(cine, modelSegmenter(model, scale, segment), { labels, classes }).finally(() => model.dispose());
    const analysis: SeriesVolumes = { scan, groups, cine, measured };
    if (contourDir) analysis.experts = await measureExpertContours(cine, contourDir);
    const record = buildVolumesRecord(analysis, { model: modelFile, scale: formatScaling(scale), backend: backend.name, labels });
    say(`segmented ${cine.grid.flat().filter(Boolean).length} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    if (out) {
      const files = volumesFiles(analysis, record);
      files[VOLUMES_FILES.report] = renderReport([], { volumes: [{ dir: out, record, gridPng: files[VOLUMES_FILES.grid] as Buffer }] });
      await writeDirAtomic(out, files);
    }
    for (const w of [...record.warnings, ...(record.experts?.warnings ?? [])]) console.error(`warning: ${w}`);
    if (json) {
      console.log(JSON.stringify(record));
      return 0;
    }
    const left = record.slices.filter((s) => !s.counted).map((s) => `${s.slice} (${s.reason})`);
    say(`slices   ${record.countedSlices.length} of ${record.slices.length} counted${left.length > 0 ? `; left out: ${left.join('; ')}` : ''}`);
    say(formatVolumesTable(record));
    if (record.heartRateBpm !== null) {
      say(`heart rate ${fixed(record.heartRateBpm, 0)} bpm (${record.heartRateSource}); cardiac output ${fixed(record.cardiacOutputLMin, 2)} L/min`);
    }
    if (out) say(`wrote ${out}/: ${Object.values(VOLUMES_FILES).join(', ')}`);
    return 0;
  },
};
