import { selectBackend, type BackendName } from '../backends/select.js';
import { formatScaling } from '../data/scaling.js';
import { openSource } from '../data/source.js';
import { UsageError } from '../errors.js';
import { evaluateModel, type EvaluationMetrics, type PerImageResult } from '../evaluation/evaluate.js';
import { dicomScalingWarning, resolveInputScale } from '../evaluation/run-config.js';
import { checkOutputFile, writeOutputFile } from '../io/output.js';
import { loadModel, resolveModelJson } from '../models/io.js';
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
    lines.push(`  (hd95 and apd over ${metrics.distanceCount} of ${metrics.count} images; ${left} had exactly one empty mask)`);
  }
  return lines.join('\n');
}

const CSV_COLUMNS: (keyof PerImageResult)[] = [
  'name', 'patient', 'dice', 'iou', 'precision', 'recall', 'accuracy', 'hd95', 'apd', 'lvAreaPx', 'labelAreaPx', 'lvAreaMm2',
];

function csvField(value: unknown): string {
  if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Per-image results as CSV, one row per image; empty cells where a value is undefined (NaN). */
export function perImageCsv(rows: readonly PerImageResult[], unit: string): string {
  const header = CSV_COLUMNS.map((c) => (c === 'hd95' || c === 'apd' ? `${c}_${unit}` : c));
  return [header.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(r[c])).join(','))].join('\n') + '\n';
}

export const command: Command = {
  name: 'evaluate',
  usage: 'evaluate RUN|MODEL --data SRC [--json] [--per-image FILE.csv] [--scale S] [--backend NAME]',
  summary: 'measure a trained model on labelled data: loss, accuracy, Dice, IoU, HD95, APD',
  description:
    'Loads a model (a run directory, its best/ model first, or a model.json) and measures it on labelled data: ' +
    "loss, pixel accuracy, the lab's Dice (per batch, smooth 1, averaged over batches), mean per-image Dice, IoU, " +
    'precision, recall, Hausdorff 95 and the Sunnybrook average perpendicular distance (mm where the data has a ' +
    "pixel spacing). Images are scaled as in training (the run's config.json) unless --scale says otherwise.",
  options: [
    { name: 'data', type: 'string', value: 'SRC', description: 'labelled data: TFRecord file, PNG or DICOM folder, or synthetic:N[:SEED][:SIZE]', default: '' },
    { name: 'json', type: 'boolean', description: 'print one JSON object instead of the table', default: false },
    { name: 'per-image', type: 'string', value: 'FILE.csv', description: 'also write per-image metrics to this CSV file', default: '' },
    { name: 'overwrite', type: 'boolean', description: 'replace an existing --per-image file', default: false },
    { name: 'scale', type: 'string', value: 'S', description: "pixel scaling (1/255, minmax, zscore, none); default: the run's", default: '' },
    { name: 'batch-size', type: 'number', value: 'N', description: "images per batch (the lab's Dice depends on it)", default: 8 },
    backendOption,
  ],
  async run(args) {
    const [modelPath, ...extra] = args.positionals;
    if (!modelPath || extra.length > 0) {
      throw new UsageError("evaluate takes one RUN directory or model.json; e.g. 'lvseg evaluate runs/fcn --data val.tfrecords'");
    }
    const data = args.options.data as string;
    if (!data) throw new UsageError("evaluate needs --data SRC (a TFRecord file, a PNG or DICOM folder, or synthetic:N)");
    const batchSize = args.options['batch-size'] as number;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size takes a positive integer, not ${batchSize}`);
    const json = args.options.json as boolean;
    const perImageFile = args.options['per-image'] as string;
    const perImageOutput = { flag: '--per-image', command: 'lvseg evaluate', overwrite: args.options.overwrite as boolean };
    // before the model runs: a folder or an existing file named by --per-image fails now, not after minutes
    if (perImageFile) checkOutputFile(perImageFile, perImageOutput);

    const backend = await selectBackend(args.options.backend as BackendName);
    if (backend.notice && !json) console.error(backend.notice);
    const modelFile = resolveModelJson(modelPath);
    const { scale, origin } = resolveInputScale(modelPath, args.options.scale as string);
    const model = await loadModel(modelPath);
    const source = await openSource(data, { scale });
    const warning = source.kind === 'dicom' ? dicomScalingWarning(scale) : undefined;
    if (warning) console.error(`warning: ${warning}`);
    const { metrics, perImage } = await evaluateModel(model, source.samples(), { batchSize });
    model.dispose();

    if (perImageFile) await writeOutputFile(perImageFile, perImageCsv(perImage, metrics.unit), perImageOutput);
    if (json) {
      console.log(JSON.stringify({ ...metrics, model: modelFile, data: source.description, scale: formatScaling(scale), backend: backend.name }));
      return 0;
    }
    console.log(`model    ${modelFile}`);
    console.log(`data     ${source.description}`);
    console.log(`scale    ${formatScaling(scale)} (${origin})`);
    console.log(`backend  ${backend.name}; ${metrics.count} images, batch size ${metrics.batchSize}`);
    console.log(formatMetricsTable(metrics));
    if (perImageFile) console.log(`per-image metrics: ${perImageFile}`);
    return 0;
  },
};
