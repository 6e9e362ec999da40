import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from '../training/config.js';
import { readRunConfig, runTraining } from '../training/run.js';
import { MODEL_NAMES } from '../models/build.js';
import { PRESETS } from '../models/presets.js';
import { LOSS_NAMES } from '../training/losses.js';
import { METRIC_NAMES } from '../training/metrics.js';
import { formatLogs } from '../training/callbacks/progress.js';
import { backendOption, type Command } from './command.js';
import type { ParsedArgs } from './options.js';

/** Flag name → config key, for the flags that are config keys. */
const FLAG_KEYS: Record<string, keyof TrainConfig> = {
  model: 'model',
  'model-spec': 'modelSpec',
  preset: 'preset',
  train: 'train',
  val: 'val',
  split: 'split',
  'val-fraction': 'valFraction',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  'steps-per-epoch': 'stepsPerEpoch',
  'shuffle-buffer': 'shuffleBuffer',
  lr: 'lr',
  loss: 'loss',
  metrics: 'metrics',
  seed: 'seed',
  backend: 'backend',
  out: 'out',
  'early-stopping': 'earlyStopping',
  scale: 'scale',
  spacing: 'spacing',
  tensorboard: 'tensorboard',
};

export const command: Command = {
  name: 'train',
  usage: 'train (--model NAME | --model-spec FILE | --preset NAME) --train SRC [--val SRC] [options]',
  summary: 'train a segmentation network; writes a run directory (model, checkpoints, history, panels)',
  description: [
    'Trains a network on a source (TFRecord file, PNG or DICOM folder, synthetic:N[:SEED][:SIZE]) and writes',
    'a run directory: config.json, summary.json, history.json, checkpoints/, best/, panels/, model/.',
    'Settings come from defaults < --preset < --config FILE < flags. Presets are the lab\'s exact settings',
    '(batch 1, shuffle buffer 10, Adam 0.001, steps per epoch = training-set size, scale 1/1024; the shared',
    'TFRecords, whose pixels run 0-255, want --scale 1/255). --resume RUN continues a killed run from its last',
    'completed epoch with the same data order.',
  ].join('\n'),
  options: [
    { name: 'model', type: 'string', value: 'NAME', description: 'built-in network', choices: MODEL_NAMES },
    { name: 'model-spec', type: 'string', value: 'FILE', description: 'a JSON model spec ({"layers": [{"type": "Conv2D", "args": {...}}, ...]})' },
    { name: 'preset', type: 'string', value: 'NAME', description: "the lab's settings", choices: Object.keys(PRESETS) },
    { name: 'config', type: 'string', value: 'FILE', description: 'JSON config with the same keys in camelCase (batchSize, lr, ...); flags win' },
    { name: 'train', type: 'string', value: 'SRC', description: 'training data source' },
    { name: 'val', type: 'string', value: 'SRC', description: 'validation source; without it the training source is split' },
    { name: 'split', type: 'string', value: 'BY', description: 'how to split off validation data without --val', default: TRAIN_DEFAULTS.split, choices: ['random', 'patient'] },
    { name: 'val-fraction', type: 'number', value: 'F', description: 'fraction split off for validation without --val', default: TRAIN_DEFAULTS.valFraction },
    { name: 'epochs', type: 'number', value: 'N', description: 'epochs to train', default: TRAIN_DEFAULTS.epochs },
    { name: 'batch-size', type: 'number', value: 'N', description: 'images per step', default: TRAIN_DEFAULTS.batchSize },
    { name: 'steps-per-epoch', type: 'number', value: 'N', description: 'steps per epoch; 0: one pass over the training set', default: 0 },
    { name: 'shuffle-buffer', type: 'number', value: 'N', description: "shuffle buffer size (tf.data's shuffle)", default: TRAIN_DEFAULTS.shuffleBuffer },
    { name: 'lr', type: 'number', value: 'RATE', description: 'learning rate', default: TRAIN_DEFAULTS.lr },
    { name: 'loss', type: 'string', value: 'NAME', description: 'loss on the logits', default: TRAIN_DEFAULTS.loss, choices: LOSS_NAMES },
    { name: 'metrics', type: 'list', value: 'LIST', description: 'metrics on the argmax masks', default: TRAIN_DEFAULTS.metrics, choices: METRIC_NAMES },
    { name: 'seed', type: 'number', value: 'N', description: 'seed of the initial weights and the data order', default: TRAIN_DEFAULTS.seed },
    backendOption,
    { name: 'out', type: 'string', value: 'DIR', description: 'run directory (default: runs/<preset-or-model>-<time>)' },
    { name: 'resume', type: 'string', value: 'RUN', description: 'continue the run in RUN from its last checkpoint (other flags are ignored but --epochs and --backend)' },
    { name: 'early-stopping', type: 'number', value: 'PATIENCE', description: 'stop when val_dice has not improved for PATIENCE epochs (0: off)', default: 0 },
    { name: 'scale', type: 'string', value: 'S', description: 'pixel scaling: a factor like 1/255, or minmax, zscore, none', default: TRAIN_DEFAULTS.scale },
    { name: 'spacing', type: 'string', value: 'MM', description: 'pixel spacing in mm (or ROW,COL) for data without one, so evaluation.json has APD in mm (shared PNG sets: 1.367)' },
    { name: 'tensorboard', type: 'boolean', description: 'write TensorBoard event files to RUN/logs (--no-tensorboard: off)', default: TRAIN_DEFAULTS.tensorboard },
  ],
  async run(args) {
    const resume = args.options.resume as string | undefined;
    let config: TrainConfig & { backendRequested?: string };
    if (resume !== undefined) {
      config = readRunConfig(resume);
      if (args.given.has('epochs')) config = { ...config, epochs: args.options.epochs as number };
      if (args.given.has('backend')) config = { ...config, backendRequested: args.options.backend as string };
    } else {
      config = resolveTrainConfig(givenFlags(args), readConfigFile(args.options.config as string | undefined), (args.options.config as string | undefined) ?? 'config');
    }
    const result = await runTraining(config, resume);
    const m = result.evaluation?.metrics;
    console.log(`Run directory: ${result.runDir} (model/, best/, checkpoints/, panels/, history.json, report.html)`);
    if (result.final) console.log(`Last epoch: ${formatLogs(result.final)}`);
    if (m) console.log(`Final model on the ${result.val.length} validation images: Dice ${m.dice.toFixed(4)} (lab), mean Dice ${m.meanDice.toFixed(4)}, IoU ${m.iou.toFixed(4)}`);
    return 0;
  },
};

/** Only the flags the user gave: defaults must not override a preset or a config file. */
function givenFlags(args: ParsedArgs): Partial<Record<keyof TrainConfig, unknown>> {
  const out: Partial<Record<keyof TrainConfig, unknown>> = {};
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    if (!args.given.has(flag)) continue;
    const v = args.options[flag];
    // 0 means "off" / "one pass" on the command line
    out[key] = (flag === 'steps-per-epoch' || flag === 'early-stopping') && v === 0 ? null : v;
  }
  return out;
}

function readConfigFile(file: string | undefined): Record<string, unknown> {
  if (file === undefined) return {};
  try {
    const json = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
    return json;
  } catch (err) {
    throw new UsageError(`${file}: cannot read the training config (${(err as Error).message})`);
  }
}
