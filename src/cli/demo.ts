import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateSavedModel } from '../evaluation/saved-model.js';
import { resolveModelJson } from '../inference/run-config.js';
import { BUNDLED_MODEL, bundledModelNames, readModelMetadata } from '../models/io.js';
import { PACKAGE_ROOT } from '../paths.js';
import { resolveTrainConfig } from '../training/config.js';
import { runStamp, runTraining } from '../workflows/train-run.js';
import { runPath, type RunFile, type RunPart } from '../runs/run-dir.js';
import type { ModelSpec } from '../models/spec.js';
import { backendOption, type Command } from './command.js';
/**
 * The demo's network, as a JSON model spec: the lab's FCN pattern (convs, two pools, one transposed
 * conv) but narrower and upsampling 4× instead of 16×, so the small ventricles of 96×96 phantoms are
 * resolved; conv, pool and transposed conv are what the native backend runs fast.
 */
const DEMO_MODEL_SPEC: ModelSpec = {
  name: 'demo_fcn',
  layers: [
    { type: 'Conv2D', args: { filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'MaxPool2D', args: { poolSize: 2, strides: 2, padding: 'same' } },
    { type: 'Conv2D', args: { filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'MaxPool2D', args: { poolSize: 2, strides: 2, padding: 'same' } },
    { type: 'Conv2D', args: { filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 2, kernelSize: 3, padding: 'same' } },
    { type: 'Conv2DTranspose', args: { filters: 2, kernelSize: 8, strides: 4, padding: 'same' } },
  ],
};

/**
 * Real cardiac MRI that ships with lvseg: the central 128×128 of the short-axis slices and expert
 * masks of five Sunnybrook patients (CC0; data/sunnybrook-sample/README.md), three to train on and two
 * to validate on, with the pixel spacing of their DICOM series in spacing.csv.
 */
export const SUNNYBROOK_SAMPLE = join(PACKAGE_ROOT, 'data', 'sunnybrook-sample');

/**
 * The demo's settings, about a minute on the native backend. The sample and the phantoms: the small
 * FCN above with ce+dice. Other real data (--data DIR, 256×256 slices): the lab's own FCN and settings
 * (Task 3 reaches val Dice ~0.72 after 6 epochs), which learn real ventricles faster than the small
 * network at that size.
 */
const SMALL_FCN = {
  modelSpec: '(lvseg demo built-in spec)',
  modelSpecContent: DEMO_MODEL_SPEC,
  batchSize: 4,
  lr: 0.003,
  loss: 'ce+dice',
};
// Batch 2 at lr 0.002 gave validation Dice 0.61 after 15 epochs where batch 4 at 0.003 gave 0.40 (both ~34 s of CPU).
const SAMPLE = {
  ...SMALL_FCN,
  batchSize: 2,
  lr: 0.002,
  train: join(SUNNYBROOK_SAMPLE, 'training'),
  val: join(SUNNYBROOK_SAMPLE, 'validation'),
  epochs: 15,
};
const SYNTHETIC = { ...SMALL_FCN, train: 'synthetic:64:1:96', val: 'synthetic:12:5000:96', epochs: 15 };
const REAL = { model: 'fcn', epochs: 6, batchSize: 1, lr: 0.001, loss: 'sparse-ce' };

/** What `--data` asks for: the bundled sample (default), phantoms, or a source to split by patient. */
function demoSettings(data: string | undefined): {
  settings: Record<string, unknown>;
  what: 'sample' | 'synthetic' | 'real';
} {
  if (data === undefined) return { settings: SAMPLE, what: 'sample' };
  if (data === 'synthetic') return { settings: SYNTHETIC, what: 'synthetic' };
  // Phantoms of the user's choosing: validation is a patient-wise split of them.
  if (data.startsWith('synthetic:'))
    return { settings: { ...SMALL_FCN, epochs: SYNTHETIC.epochs, train: data, val: null }, what: 'synthetic' };
  return { settings: { ...REAL, train: data, val: null }, what: 'real' };
}

export const command: Command = {
  name: 'demo',
  usage: 'demo [--data DIR|synthetic[:N[:SEED[:SIZE]]]] [--out DIR] [--epochs N] [--backend NAME]',
  summary: 'train, evaluate and report a small model end to end on real cardiac MRI shipped with lvseg (or --data)',
  description: [
    'Without arguments and without a network: trains a small FCN on the Sunnybrook sample that ships with',
    'lvseg (real short-axis cardiac MRI of 3 patients, data/sunnybrook-sample), evaluates it on 2 other',
    'patients (Dice, APD in mm, the Sunnybrook challenge protocol), and writes a run directory (model,',
    `history, panels, evaluation, report.html). When the bundled model ${BUNDLED_MODEL} is installed, it is`,
    'evaluated on the sample too. --data synthetic: the synthetic phantoms (96x96) instead;',
    '--data synthetic:N[:SEED][:SIZE]: those phantoms, validated on a patient-wise split. --data DIR (a PNG',
    "dataset folder such as ../shared/data/sunnybrook/png/training, or any source lvseg train takes): the lab's",
    'FCN and settings on it for 6 epochs, validating on a patient-wise 10% split.',
  ].join('\n'),
  options: [
    {
      name: 'data',
      type: 'string',
      value: 'SRC',
      description: 'data instead of the bundled Sunnybrook sample: synthetic, synthetic:N[:SEED][:SIZE], or a source',
    },
    { name: 'out', type: 'string', value: 'DIR', description: 'run directory (default: runs/demo-<time>)' },
    {
      name: 'epochs',
      type: 'number',
      value: 'N',
      description: `epochs (default: ${SAMPLE.epochs} on the sample and phantoms, ${REAL.epochs} on other real data)`,
    },
    backendOption,
  ],
  async run(args) {
    const data = args.options.data as string | undefined;
    const out = (args.options.out as string | undefined) ?? join('runs', `demo-${runStamp()}`);
    const { settings, what } = demoSettings(data);
    const config = resolveTrainConfig({
      ...settings,
      epochs: (args.options.epochs as number | undefined) ?? settings.epochs,
      metrics: ['dice', 'accuracy'],
      scale: '1/255',
      split: 'patient',
      backend: args.options.backend,
      out,
    });
    const small = `a small FCN (${DEMO_MODEL_SPEC.layers.length} layers)`;
    const intro = {
      sample:
        `lvseg demo: training ${small} on real cardiac MRI, ${config.train} (3 Sunnybrook patients), ` +
        `validating on ${config.val} (2 other patients)`,
      synthetic:
        `lvseg demo: training ${small} on ${config.train} (synthetic phantoms), validating on ` +
        `${config.val ?? 'a patient-wise split'}`,
      real:
        `lvseg demo: training the lab's '${config.model}' on ${data}, validating on a patient-wise ` +
        `${config.valFraction * 100}% split`,
    };
    console.log(intro[what]);
    const result = await runTraining(config);
    const m = result.evaluation?.metrics;
    const challenge = result.evaluation?.challenge;
    console.log('');
    console.log(
      `Backend: ${String(result.config.backend)}; ${result.history.length} epochs; the run directory ` +
        `${result.runDir} holds:`,
    );
    for (const line of describeRun(result.runDir)) console.log(`  ${line}`);
    if (m) {
      console.log('');
      console.log(
        `Validation (${result.val.length} images): Dice ${m.dice.toFixed(4)} (lab, pooled), mean per-image Dice ` +
          `${m.meanDice.toFixed(4)}, IoU ${m.iou.toFixed(4)}, pixel accuracy ${m.accuracy.toFixed(4)}`,
      );
      if (m.unit === 'mm' && challenge) {
        console.log(
          `  APD ${m.apd.toFixed(2)} mm; Sunnybrook challenge protocol: ${challenge.goodContours} of ` +
            `${challenge.contours} contours good (APD < 5 mm), ` +
            `Dice over those ${Number.isFinite(challenge.diceOverGood) ? challenge.diceOverGood.toFixed(4) : 'n/a'}`,
        );
      }
    }
    if (what === 'sample') await reportBundledModel();
    console.log('');
    console.log(
      `Pictures: ${runPath(result.runDir, 'samples')}/ (the best and worst validation slices: image | expert | ` +
        `prediction),`,
    );
    console.log(
      `  ${runPath(result.runDir, 'panels')}/ (one per epoch) and ${runPath(result.runDir, 'report')} (open it in a ` +
        `browser).`,
    );
    console.log(
      `'tensorboard --logdir ${runPath(result.runDir, 'logs')}' shows the curves; 'lvseg predict ` +
        `${result.runDir} IMAGE.png --out DIR' segments new images.`,
    );
    return 0;
  },
};

/**
 * The bundled model on the sample's validation patients (SC-HF-I-05 and -06), when it is installed, and
 * whether it was trained on them (its lvseg.json lists its training patients). A failure here is
 * reported and does not fail the demo.
 */
async function reportBundledModel(): Promise<void> {
  console.log('');
  if (!bundledModelNames().includes(BUNDLED_MODEL)) {
    console.log(
      `(The bundled model ${BUNDLED_MODEL} is not installed; with it, the demo also shows what a fully trained model ` +
        `does here.)`,
    );
    return;
  }
  try {
    const { perImage, seenPatients } = await evaluateSavedModel(BUNDLED_MODEL, join(SUNNYBROOK_SAMPLE, 'validation'));
    const dice = perImage.reduce((n, r) => n + r.dice, 0) / perImage.length;
    const good = perImage.filter((r) => r.goodContour).length;
    const contours = perImage.filter((r) => r.labelAreaPx > 0).length;
    console.log(
      `The bundled model ${BUNDLED_MODEL} on the ${perImage.length} slices of the sample's validation patients: mean ` +
        `per-image Dice ${dice.toFixed(4)}, ` +
        `${good} of ${contours} contours good (APD < 5 mm). ` +
        (seenPatients && seenPatients.length > 0
          ? `It was trained on these patients too, so this is not a measure of unseen ones${unseenScore()}.`
          : `It has never seen these patients; 'lvseg evaluate ${BUNDLED_MODEL} --data SRC' measures it on others.`),
    );
  } catch (err) {
    console.log(`The bundled model ${BUNDLED_MODEL} could not be evaluated on the sample: ${(err as Error).message}`);
  }
}

/** What the bundled model's lvseg.json says its recipe scored on patients it had not seen, as a clause. */
function unseenScore(): string {
  const validation = readModelMetadata(resolveModelJson(BUNDLED_MODEL))?.training?.validation as
    | { pipeline?: { meanDice?: number; count?: number } }
    | undefined;
  const { meanDice, count } = validation?.pipeline ?? {};
  return typeof meanDice === 'number'
    ? `; its recipe trained without them scored a mean per-image Dice of ${meanDice.toFixed(3)} on ${count} slices ` +
        `of patients it had never seen (its lvseg.json)`
    : '';
}

const DESCRIPTIONS: Record<RunFile | RunPart, string> = {
  config: 'the resolved configuration, versions, seed and backend',
  summary: 'the model summary (layers, output shapes, parameters)',
  history: 'per-epoch loss and metrics, seconds and tensors alive',
  evaluation: 'the final model on the validation set (Dice, IoU, HD95, APD, per image)',
  report: 'the report: config, curves, metrics, sample predictions',
  model: 'the final model (TF.js layers format: model.json + weights.bin)',
  best: 'the model with the best validation Dice',
  checkpoints: 'the last checkpoints (model + optimizer state): --resume continues from them',
  panels: 'input | label | prediction after every epoch',
  samples: 'the best and worst validation images',
  logs: 'TensorBoard event files',
  volumes: 'LV volumes and EF of a cine series (lvseg volumes --out RUN/volumes)',
};

function describeRun(runDir: string): string[] {
  return (Object.entries(DESCRIPTIONS) as [RunFile | RunPart, string][])
    .map(([part, description]) => [runPath(runDir, part), description] as const)
    .filter(([path]) => existsSync(path))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, description]) => {
      const isDir = statSync(path).isDirectory();
      const count = isDir ? ` (${readdirSync(path).length} files)` : '';
      return `${`${path}${isDir ? '/' : ''}`.padEnd(40)} ${description}${count}`;
    });
}
