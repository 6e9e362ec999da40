import { UsageError } from '../errors.js';
import { MODEL_NAMES } from '../models/build.js';
import { getPreset } from '../models/presets.js';
import { validateModelSpec } from '../models/spec.js';
import { parseScaling, formatScaling } from '../data/scaling.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { LOSS_NAMES, type LossName } from './losses.js';
import { checkMetricNames, type MetricName } from './metrics.js';

/** Everything a training run needs, as resolved from defaults < preset < config file < flags. */
export interface TrainConfig {
  model: string | null;
  /** Path of a JSON model spec (its content is copied into `modelSpecContent`), or a label when the content is given. */
  modelSpec: string | null;
  /** The spec itself: what a resumed run builds from. */
  modelSpecContent?: unknown;
  /** The lab's Task 1 softmax output (dense only; set by the lab-task1 preset). */
  softmax: boolean;
  preset: string | null;
  train: string;
  val: string | null;
  split: 'random' | 'patient';
  valFraction: number;
  epochs: number;
  batchSize: number;
  /** null: one pass over the training set per epoch (ceil(n / batch)). */
  stepsPerEpoch: number | null;
  shuffleBuffer: number;
  lr: number;
  optimizer: 'adam' | 'sgd';
  loss: LossName;
  metrics: MetricName[];
  seed: number;
  backend: string;
  /** As written: `1/1024`, `1/255`, `minmax`, `zscore`, `none`. */
  scale: string;
  /** Pixel spacing in mm (`1.367` or `ROW,COL`) for data that carries none; null: the data's own. */
  spacing: string | null;
  earlyStopping: number | null;
  tensorboard: boolean;
  out: string | null;
}

export const TRAIN_DEFAULTS: Omit<TrainConfig, 'train'> & { train: string | null } = {
  model: null,
  modelSpec: null,
  softmax: false,
  preset: null,
  train: null,
  val: null,
  split: 'patient',
  valFraction: 0.1,
  epochs: 10,
  batchSize: 1,
  stepsPerEpoch: null,
  shuffleBuffer: 10,
  lr: 0.001,
  optimizer: 'adam',
  loss: 'sparse-ce',
  metrics: ['dice', 'accuracy'],
  seed: 42,
  backend: 'auto',
  scale: '1/1024',
  spacing: null,
  earlyStopping: null,
  tensorboard: true,
  out: null,
};

const KEYS = Object.keys(TRAIN_DEFAULTS) as (keyof TrainConfig)[];

/**
 * Resolves a training configuration: defaults, then the preset's settings, then `file` (a JSON config
 * with the same keys), then `flags`. Checks every value and names the key at fault.
 */
export function resolveTrainConfig(flags: Partial<Record<keyof TrainConfig, unknown>>, file: Record<string, unknown> = {}, fileName = 'config'): TrainConfig {
  for (const key of Object.keys(file)) {
    if (!(KEYS as string[]).includes(key) && key !== 'modelSpecContent') throw new UsageError(`${fileName}: unknown key '${key}'; a training config takes ${KEYS.join(', ')}`);
  }
  const presetName = (flags.preset ?? file.preset ?? null) as string | null;
  const merged: Record<string, unknown> = { ...TRAIN_DEFAULTS };
  if (presetName !== null) {
    const p = getPreset(presetName);
    Object.assign(merged, {
      model: p.model,
      softmax: p.softmax ?? false,
      epochs: p.epochs,
      batchSize: p.batchSize,
      shuffleBuffer: p.shuffleBuffer,
      lr: p.lr,
      optimizer: p.optimizer,
      loss: p.loss,
      scale: formatScaling(p.scale),
      stepsPerEpoch: p.stepsPerEpoch,
    });
  }
  for (const [k, v] of Object.entries(file)) if (v !== undefined) merged[k] = v;
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
  if (flags.modelSpec != null && flags.model === undefined) merged.model = null;
  if (merged.modelSpecContent !== undefined) merged.modelSpecContent = validateModelSpec(merged.modelSpecContent, String(merged.modelSpec));
  if (flags.model != null && flags.modelSpec === undefined) merged.modelSpec = null;
  return checkTrainConfig(merged, fileName);
}

function checkTrainConfig(c: Record<string, unknown>, source: string): TrainConfig {
  const bad = (key: string, what: string): never => {
    throw new UsageError(`${key} ${what}, got ${JSON.stringify(c[key])} (from ${source} or the flags)`);
  };
  const posInt = (key: string): void => {
    if (!(typeof c[key] === 'number' && Number.isInteger(c[key]) && (c[key] as number) > 0)) bad(key, 'must be a positive integer');
  };
  if (typeof c.train !== 'string' || c.train === '') throw new UsageError('no training data: pass --train SRC (a TFRecord file, PNG or DICOM folder, or synthetic:N), or a preset with a config file that has "train"');
  if (c.model === null && c.modelSpec === null) throw new UsageError('no model: pass --model NAME, --model-spec FILE or --preset');
  if (c.model !== null && c.modelSpec !== null) throw new UsageError('--model and --model-spec are exclusive: pass one');
  if (c.model !== null && !(MODEL_NAMES as readonly string[]).includes(c.model as string)) bad('model', `must be one of ${MODEL_NAMES.join(', ')}`);
  for (const k of ['epochs', 'batchSize', 'shuffleBuffer', 'seed'] as const) if (k !== 'seed') posInt(k);
  if (!Number.isInteger(c.seed)) bad('seed', 'must be an integer');
  if (c.stepsPerEpoch !== null) posInt('stepsPerEpoch');
  if (!(typeof c.lr === 'number' && c.lr > 0)) bad('lr', 'must be a positive number');
  if (!(typeof c.valFraction === 'number' && c.valFraction > 0 && c.valFraction < 1)) bad('valFraction', 'must be between 0 and 1');
  if (c.split !== 'random' && c.split !== 'patient') bad('split', 'must be random or patient');
  if (c.optimizer !== 'adam' && c.optimizer !== 'sgd') bad('optimizer', 'must be adam or sgd');
  if (!(LOSS_NAMES as readonly string[]).includes(c.loss as string)) bad('loss', `must be one of ${LOSS_NAMES.join(', ')}`);
  if (typeof c.metrics === 'string') c.metrics = c.metrics.split(',').map((s) => s.trim()).filter(Boolean);
  if (!Array.isArray(c.metrics)) bad('metrics', 'must be a list like dice,accuracy');
  checkMetricNames(c.metrics as string[]);
  if (c.earlyStopping !== null) posInt('earlyStopping');
  c.scale = formatScaling(parseScaling(c.scale as string | number));
  // A config file may write the spacing as a number; keep it as written, checked.
  if (c.spacing !== null) c.spacing = String(c.spacing);
  if (c.spacing !== null) parsePixelSpacing(c.spacing as string, 'spacing');
  if (typeof c.tensorboard !== 'boolean') bad('tensorboard', 'must be true or false');
  return c as unknown as TrainConfig;
}
