import { selectBackend, type BackendName } from '../backends/select.js';
import { formatScaling } from '../data/scaling.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { UsageError } from '../errors.js';
import {
  evaluationDocument,
  type EvaluationMetrics,
  type EvaluationResult,
  type PerImageResult,
} from '../evaluation/evaluate.js';
import { GOOD_CONTOUR_APD_MM, type GroupSummary } from '../evaluation/summaries.js';
import { dicomScalingWarning } from '../inference/run-config.js';
import { evaluateSavedModel } from '../evaluation/saved-model.js';
import { describeSegment } from '../inference/segment.js';
import { checkOutputFile, writeOutputFile } from '../io/output.js';
import { BUNDLED_MODEL } from '../models/io.js';
import { toCsv } from '../reporting/csv.js';
import { backendOption, type Command } from './command.js';

const METRIC_ROWS: [keyof EvaluationMetrics, string, boolean][] = [
  ['loss', 'sparse softmax cross-entropy per pixel', false],
  ['accuracy', 'pixel accuracy', false],
  ['dice', "the lab's Dice: batch-pooled, smooth 1, mean over batches", false],
  ['meanDice', 'mean per-image Dice', false],
  ['iou', 'mean per-image IoU', false],
  ['precision', 'mean per-image precision', false],
  ['recall', 'mean per-image recall', false],
  ['hd95', 'mean per-image Hausdorff 95', true],
  ['apd', 'mean per-image average perpendicular distance (Sunnybrook)', true],
];

/** The metrics as the readable table `lvseg evaluate` prints. */
export function formatMetricsTable(metrics: EvaluationMetrics): string {
  const lines = METRIC_ROWS.map(([key, what, distance]) => {
    const value = metrics[key] as number;
    const shown = Number.isFinite(value) ? value.toFixed(4) : 'n/a';
    const unit = distance ? ` ${metrics.unit}` : '';
    return `  ${key.padEnd(10)}${(shown + unit).padStart(12)}   ${what}`;
  });
  const left = metrics.count - metrics.distanceCount;
  if (left > 0) {
    lines.push(
      `  (hd95 and apd over ${metrics.distanceCount} of ${metrics.count} images; ${left} had exactly one empty mask)`,
    );
  }
  return lines.join('\n');
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** Per class (a model of more than two classes): Dice, APD, HD95 and the good-contour rate over the images that mark
 * it. */
export function formatClassTable(result: EvaluationResult): string | undefined {
  if (!result.classes) return undefined;
  const unit = result.metrics.unit;
  const lines = [
    `per class (over the images whose label marks it; the table above is the blood pool, lv):`,
    `  ${'class'.padEnd(12)}${'images'.padStart(7)}${'Dice'.padStart(9)}${(`APD ` + `${unit}`).padStart(
      10,
    )}${`HD95 ${unit}`.padStart(11)}${'good'.padStart(8)}`,
  ];
  for (const [name, c] of Object.entries(result.classes)) {
    lines.push(
      `  ${name.padEnd(12)}${String(c.count).padStart(7)}${fixed(c.meanDice, 4).padStart(9)}` +
        `${fixed(c.apd, 2).padStart(10)}${fixed(c.hd95, 2).padStart(11)}${percent(c.goodContourRate).padStart(8)}`,
    );
  }
  return lines.join('\n');
}
const percent = (value: number): string => (Number.isFinite(value) ? `${(100 * value).toFixed(1)}%` : 'n/a');

/**
 * The Sunnybrook challenge's protocol beside the plain means, saying which is which. Without a spacing
 * in mm the 5 mm rule cannot be applied, and the block says how to give one.
 */
export function formatChallengeBlock(result: EvaluationResult): string {
  const { challenge: c, metrics: m } = result;
  const lines = [
    `Sunnybrook challenge protocol (Radau et al. 2009): a contour is good when its APD < ${GOOD_CONTOUR_APD_MM} mm`,
  ];
  if (m.unit !== 'mm') {
    lines.push(
      '  not applicable: distances are in pixels. Give the pixel spacing with --spacing MM (the shared Sunnybrook',
      "  PNG/TFRecord sets: --spacing 1.367, the DICOM series' in-plane spacing) or a spacing.csv in the dataset " +
        'folder.',
    );
    return lines.join('\n');
  }
  lines.push(
    `  good contours        ${c.goodContours} of ${c.contours} expert contours (${percent(c.goodContourRate)})   ` +
      `goodContourRate`,
    `  Dice over good       ${fixed(c.diceOverGood, 4).padStart(8)}          what papers usually quote (failures ` +
      `left out)`,
    `  APD over good        ${fixed(c.apdOverGood, 2).padStart(8)} mm`,
    `  Dice over all        ${fixed(m.meanDice, 4).padStart(8)}          meanDice: every image counts`,
    `  APD over all         ${fixed(m.apd, 2).padStart(8)} mm       apd: every image with both contours`,
  );
  return lines.join('\n');
}

function groupRow(label: string, g: GroupSummary, unit: string): string {
  const good =
    unit === 'mm'
      ? `${String(g.goodContours).padStart(3)}/${String(g.contours).padEnd(3)} ` +
        percent(g.goodContourRate).padStart(6)
      : 'n/a'.padEnd(14);
  const dice = fixed(g.meanDice, 4).padStart(10);
  const distances = `${fixed(g.apd, 2).padStart(10)}${fixed(g.hd95, 2).padStart(10)}`;
  const overGood = fixed(g.diceOverGood, 4).padStart(10);
  return `  ${label.padEnd(14)}${String(g.count).padStart(6)}${dice}${distances}   ${good}${overGood}`;
}

/** ED/ES rows (where the names give the phase) and one row per patient, then the whole set. */
export function formatGroupTable(result: EvaluationResult): string {
  const unit = result.metrics.unit;
  const header = `  ${'patient'.padEnd(14)}${'images'.padStart(6)}${'meanDice'.padStart(10)}${(
    `apd ` + `${unit}`
  ).padStart(10)}${`hd95 ${unit}`.padStart(10)}   ${'good (<5 mm)'.padEnd(14)}${'Dice good'.padStart(10)}`;
  const lines = [header];
  for (const p of result.perPatient) lines.push(groupRow(p.patient, p, unit));
  lines.push(groupRow('all', result.challenge, unit));
  const phases = Object.entries(result.perPhase);
  if (phases.length > 0) {
    lines.push('', '  phase');
    for (const [phase, g] of phases) lines.push(groupRow(phase === 'ED' ? 'ED (diastole)' : 'ES (systole)', g, unit));
  }
  return lines.join('\n');
}

const CSV_COLUMNS: (keyof PerImageResult)[] = [
  'name',
  'patient',
  'phase',
  'dice',
  'iou',
  'precision',
  'recall',
  'accuracy',
  'hd95',
  'apd',
  'goodContour',
  'lvAreaPx',
  'labelAreaPx',
  'lvAreaMm2',
];

/** Per-image results as CSV, one row per image; empty cells where a value is undefined (NaN). */
export function perImageCsv(rows: readonly PerImageResult[], unit: string): string {
  const header = CSV_COLUMNS.map((c) => (c === 'hd95' || c === 'apd' ? `${c}_${unit}` : c));
  return toCsv(
    header,
    rows.map((r) => CSV_COLUMNS.map((c) => r[c])),
  );
}

export const command: Command = {
  name: 'evaluate',
  usage:
    'evaluate RUN|MODEL|NAME --data SRC [--json] [--per-image FILE.csv] [--scale S] [--spacing MM] [--backend NAME]',
  summary:
    'measure a model on labelled data: Dice, IoU, HD95, APD, per patient, ED/ES, the Sunnybrook challenge protocol',
  description:
    'Loads a model (a run directory, its best/ model first, a model.json, or a bundled model by name such as ' +
    `${BUNDLED_MODEL}) and measures it on labelled data: loss, pixel accuracy, the lab's Dice (per batch, smooth 1, ` +
    'averaged over batches), mean per-image Dice, IoU, precision, recall, Hausdorff 95 and the Sunnybrook average ' +
    'perpendicular distance (mm where the pixel spacing is known: DICOM, a spacing.csv, or --spacing); per patient, ' +
    "per phase (ED/ES) and by the Sunnybrook challenge's protocol (share of contours with APD < 5 mm, Dice and APD " +
    "over those). Images are scaled as in training (the run's config.json) unless --scale says otherwise. " +
    'A model with an lvseg.json is measured through its inference pipeline (preprocessing, test-time flips, ' +
    'post-processing), as `lvseg predict` runs it.',
  options: [
    {
      name: 'data',
      type: 'string',
      value: 'SRC',
      description: 'labelled data: TFRecord file, PNG or DICOM folder, or synthetic:N[:SEED][:SIZE]',
      default: '',
    },
    { name: 'json', type: 'boolean', description: 'print one JSON object instead of the table', default: false },
    {
      name: 'per-image',
      type: 'string',
      value: 'FILE.csv',
      description: 'also write per-image metrics to this CSV file',
      default: '',
    },
    { name: 'overwrite', type: 'boolean', description: 'replace an existing --per-image file', default: false },
    {
      name: 'scale',
      type: 'string',
      value: 'S',
      description: "pixel scaling (1/255, minmax, zscore, none); default: the run's",
      default: '',
    },
    {
      name: 'spacing',
      type: 'string',
      value: 'MM',
      description:
        'pixel spacing in mm (or ROW,COL) for data that does not carry one; the shared PNG/TFRecord sets: 1.367',
      default: '',
    },
    {
      name: 'batch-size',
      type: 'number',
      value: 'N',
      description: "images per batch (the lab's Dice depends on it)",
      default: 8,
    },
    {
      name: 'tta',
      type: 'boolean',
      description: "test-time flips, where the model's lvseg.json asks for them (--no-tta: off)",
      default: true,
    },
    {
      name: 'postprocess',
      type: 'boolean',
      description:
        "largest component and holes filled, where the model's lvseg.json asks for them (--no-postprocess: off)",
      default: true,
    },
    backendOption,
  ],
  async run(args) {
    const [modelPath, ...extra] = args.positionals;
    if (!modelPath || extra.length > 0) {
      throw new UsageError(
        "evaluate takes one RUN directory, model.json or bundled model name; e.g. 'lvseg evaluate runs/fcn --data " +
          "val.tfrecords'",
      );
    }
    const data = args.options.data as string;
    if (!data)
      throw new UsageError('evaluate needs --data SRC (a TFRecord file, a PNG or DICOM folder, or synthetic:N)');
    const batchSize = args.options['batch-size'] as number;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new UsageError(`--batch-size takes a positive integer, not ${batchSize}`);
    const json = args.options.json as boolean;
    const spacingText = args.options.spacing as string;
    const spacing = spacingText ? parsePixelSpacing(spacingText) : undefined;
    const perImageFile = args.options['per-image'] as string;
    const perImageOutput = {
      flag: '--per-image',
      command: 'lvseg evaluate',
      overwrite: args.options.overwrite as boolean,
    };
    // before the model runs: a folder or an existing file named by --per-image fails now, not after minutes
    if (perImageFile) checkOutputFile(perImageFile, perImageOutput);

    const backend = await selectBackend(args.options.backend as BackendName);
    if (backend.notice && !json) console.error(backend.notice);
    const result = await evaluateSavedModel(modelPath, data, {
      scale: args.options.scale as string,
      spacing,
      batchSize,
      tta: args.options.tta as boolean,
      postprocess: args.options.postprocess as boolean,
    });
    const { metrics, perImage, modelFile, scale, scaleOrigin: origin, source, segment, seenPatients } = result;
    const warning = source.kind === 'dicom' ? dicomScalingWarning(scale, segment) : undefined;
    if (warning) console.error(`warning: ${warning}`);
    if (seenPatients && seenPatients.length > 0) console.error(`warning: ${seenWarning(seenPatients, perImage)}`);

    if (perImageFile) await writeOutputFile(perImageFile, perImageCsv(perImage, metrics.unit), perImageOutput);
    if (json) {
      console.log(
        JSON.stringify({
          ...evaluationDocument(result),
          model: modelFile,
          data: source.description,
          scale: formatScaling(scale),
          backend: backend.name,
          inference: segment ?? null,
          seenPatients: seenPatients ?? null,
        }),
      );
      return 0;
    }
    console.log(`model    ${modelFile}`);
    console.log(`data     ${source.description}`);
    console.log(`scale    ${formatScaling(scale)} (${origin})`);
    console.log(`backend  ${backend.name}; ${metrics.count} images, batch size ${metrics.batchSize}`);
    if (segment) console.log(`${describeSegment(segment)}`);
    console.log(formatMetricsTable(metrics));
    const classTable = formatClassTable(result);
    if (classTable) console.log(`\n${classTable}`);
    console.log('');
    console.log(formatChallengeBlock(result));
    console.log('');
    console.log(formatGroupTable(result));
    if (perImageFile) console.log(`per-image metrics: ${perImageFile}`);
    return 0;
  },
};

/** Says which of the data's patients the model was trained on, so nobody quotes those numbers as unseen. */
function seenWarning(seen: string[], perImage: { patient: string }[]): string {
  const all = new Set(perImage.map((r) => r.patient)).size;
  const names = seen.length <= 4 ? seen.join(', ') : `${seen.slice(0, 3).join(', ')} and ${seen.length - 3} more`;
  const what = seen.length === all ? `all ${all} patients` : `${seen.length} of the ${all} patients`;
  return `${what} in the data were in this model's training data (${names}): these numbers are not of unseen patients`;
}
