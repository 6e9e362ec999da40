/**
 * The training options, each declared once: its type and validation (a zod schema), its default, its
 * help text and how it is written on the command line. TrainConfig, TRAIN_DEFAULTS, the checks of
 * resolveTrainConfig and `lvseg train`'s flags and --help all derive from TRAIN_OPTIONS.
 */
import { z } from 'zod';
import { BACKEND_HELP, BACKEND_NAMES } from '../backends/select.js';
import { PRECISIONS } from '../backends/onednn/index.js';
import { UsageError } from '../errors.js';
import { MODEL_NAMES } from '../models/build.js';
import { getPreset, PRESETS } from '../models/presets.js';
import { validateModelSpec } from '../models/spec.js';
import { parseScaling, formatScaling } from '../data/scaling.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { LOSS_NAMES } from '../losses/losses.js';
import { METRIC_NAMES } from './metrics.js';
import { LABEL_CONVENTIONS } from '../models/metadata.js';
import { SCHEDULE_NAMES } from './schedule.js';
import { checkPreprocessing, type Preprocessing } from '../transforms/preprocess.js';
import { transformFromSpec, type TransformSpec } from '../transforms/compose.js';

/** How an option is written on the command line; null: set by a preset or in --config FILE only (a JSON value). */
export type FlagType = 'string' | 'number' | 'boolean' | 'list' | null;

export interface OptionDeclaration<S extends z.ZodType = z.ZodType> {
  /** The value's type and checks; its output type is the option's type in TrainConfig. */
  schema: S;
  default: z.output<S>;
  /** One line for --help. */
  help: string;
  /** What a valid value is, for the one-line error ("must be …"). */
  must: string;
  flag: FlagType;
  /** Placeholder in --help, like `N` or `DIR`. */
  value?: string;
  choices?: readonly string[];
  /** On the command line 0 stands for null (off, or one pass over the data). */
  zeroIsNull?: boolean;
}

const declare = <S extends z.ZodType>(d: OptionDeclaration<S>): OptionDeclaration<S> => d;
const positiveInt = z.number().int().positive();
const optionalPath = z.string().min(1).nullable();
/** A flag's `a, b,c` as ['a', 'b', 'c'] (empty items dropped); a value already parsed passes as it is. */
const commaList = (v: unknown): unknown =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v;

/** Every training option, in the order `lvseg train --help` lists them. */
export const TRAIN_OPTIONS = {
  model: declare({
    schema: z.enum(MODEL_NAMES).nullable(),
    default: null,
    flag: 'string',
    value: 'NAME',
    choices: MODEL_NAMES,
    must: `be one of ${MODEL_NAMES.join(', ')}`,
    help: 'built-in network',
  }),
  modelSpec: declare({
    schema: optionalPath,
    default: null,
    flag: 'string',
    value: 'FILE',
    must: 'be the path of a JSON model spec',
    help: 'a JSON model spec ({"layers": [{"type": "Conv2D", "args": {...}}, ...]})',
  }),
  preset: declare({
    schema: z.string().nullable(),
    default: null,
    flag: 'string',
    value: 'NAME',
    choices: Object.keys(PRESETS),
    must: `be one of ${Object.keys(PRESETS).join(', ')}`,
    help: "the lab's settings",
  }),
  softmax: declare({
    schema: z.boolean(),
    default: false,
    flag: 'boolean',
    must: 'be true or false',
    help: "dense only: the lab's Task 1 softmax output (set by lab-task1)",
  }),
  train: declare({
    schema: z.string().min(1),
    default: '',
    flag: 'string',
    value: 'SRC',
    must: 'be a data source',
    help:
      'training data source: a TFRecord file, PNG or DICOM folder, or synthetic:N[:SEED][:SIZE]; several joined ' +
      'with commas',
  }),
  val: declare({
    schema: optionalPath,
    default: null,
    flag: 'string',
    value: 'SRC',
    must: 'be a data source',
    help: 'validation source; without it the training source is split',
  }),
  split: declare({
    schema: z.enum(['random', 'patient']),
    default: 'patient',
    flag: 'string',
    value: 'BY',
    choices: ['random', 'patient'],
    must: 'be random or patient',
    help: 'how to split off validation data without --val',
  }),
  valPatients: declare({
    schema: z.preprocess(commaList, z.array(z.string().min(1)).min(1).nullable()),
    default: null,
    flag: 'list',
    value: 'LIST',
    must: 'be a list of patient ids',
    help: 'without --val: these patients are the validation set, all others train (a cross-validation fold)',
  }),
  valFraction: declare({
    schema: z.number().gt(0).lt(1),
    default: 0.1,
    flag: 'number',
    value: 'F',
    must: 'be between 0 and 1',
    help: 'fraction split off for validation without --val',
  }),
  epochs: declare({
    schema: positiveInt,
    default: 10,
    flag: 'number',
    value: 'N',
    must: 'be a positive integer',
    help: 'epochs to train',
  }),
  batchSize: declare({
    schema: positiveInt,
    default: 1,
    flag: 'number',
    value: 'N',
    must: 'be a positive integer',
    help: 'images per step',
  }),
  stepsPerEpoch: declare({
    schema: positiveInt.nullable(),
    default: null,
    flag: 'number',
    value: 'N',
    zeroIsNull: true,
    must: 'be a positive integer',
    help: 'steps per epoch; 0: one pass over the training set',
  }),
  shuffleBuffer: declare({
    schema: positiveInt,
    default: 10,
    flag: 'number',
    value: 'N',
    must: 'be a positive integer',
    help: "shuffle buffer size (tf.data's shuffle)",
  }),
  lr: declare({
    schema: z.number().positive().max(1),
    default: 0.001,
    flag: 'number',
    value: 'RATE',
    must: 'be a positive number no larger than 1',
    help: 'learning rate',
  }),
  optimizer: declare({
    schema: z.enum(['adam', 'sgd']),
    default: 'adam',
    flag: 'string',
    value: 'NAME',
    choices: ['adam', 'sgd'],
    must: 'be adam or sgd',
    help: 'optimizer',
  }),
  loss: declare({
    schema: z.enum(LOSS_NAMES),
    default: 'sparse-ce',
    flag: 'string',
    value: 'NAME',
    choices: LOSS_NAMES,
    must: `be one of ${LOSS_NAMES.join(', ')}`,
    help: 'loss on the logits',
  }),
  metrics: declare({
    schema: z.preprocess(commaList, z.array(z.enum(METRIC_NAMES))),
    default: ['dice', 'accuracy'],
    flag: 'list',
    value: 'LIST',
    choices: METRIC_NAMES,
    must: `be a list of ${METRIC_NAMES.join(', ')}`,
    help: 'metrics on the argmax masks',
  }),
  seed: declare({
    schema: z.number().int(),
    default: 42,
    flag: 'number',
    value: 'N',
    must: 'be an integer',
    help: 'seed of the initial weights and the data order',
  }),
  backend: declare({
    schema: z.enum(BACKEND_NAMES),
    default: 'auto',
    flag: 'string',
    value: 'NAME',
    choices: BACKEND_NAMES,
    must: `be one of ${BACKEND_NAMES.join(', ')}`,
    help: BACKEND_HELP,
  }),
  precision: declare({
    schema: z.enum(PRECISIONS),
    default: 'float32',
    flag: 'string',
    value: 'NAME',
    choices: PRECISIONS,
    must: `be one of ${PRECISIONS.join(', ')}`,
    help:
      'what the onednn convolutions read while training: bfloat16 (mixed precision: float32 sums and weights; ' +
      'CPUs with AVX512_BF16 or AMX, float32 elsewhere) runs them ~1.5x faster; evaluation stays float32',
  }),
  scale: declare({
    schema: z.union([z.string(), z.number()]).transform((v, ctx) => {
      try {
        return formatScaling(parseScaling(v));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'bad scale' });
        return z.NEVER;
      }
    }),
    default: '1/1024',
    flag: 'string',
    value: 'S',
    must: 'be a factor like 1/255, or minmax, zscore, none',
    help: 'pixel scaling: a factor like 1/255, or minmax, zscore, none',
  }),
  spacing: declare({
    // a config file may write the spacing as a number; it is kept as written, checked
    schema: z
      .union([z.string(), z.number()])
      .transform((v, ctx) => {
        try {
          parsePixelSpacing(String(v), 'spacing');
          return String(v);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'bad spacing' });
          return z.NEVER;
        }
      })
      .nullable(),
    default: null,
    flag: 'string',
    value: 'MM',
    must: 'be a pixel spacing in mm like 1.367 or ROW,COL',
    help:
      'pixel spacing in mm (or ROW,COL) for data without one, so evaluation.json has APD in mm (shared PNG sets: ' +
      '1.367)',
  }),
  earlyStopping: declare({
    schema: positiveInt.nullable(),
    default: null,
    flag: 'number',
    value: 'PATIENCE',
    zeroIsNull: true,
    must: 'be a positive integer',
    help: 'stop when val_dice has not improved for PATIENCE epochs (0: off)',
  }),
  tensorboard: declare({
    schema: z.boolean(),
    default: true,
    flag: 'boolean',
    must: 'be true or false',
    help: 'write TensorBoard event files to RUN/logs (--no-tensorboard: off)',
  }),
  out: declare({
    schema: optionalPath,
    default: null,
    flag: 'string',
    value: 'DIR',
    must: 'be a folder path',
    help: 'run directory (default: runs/<preset-or-model>-<time>)',
  }),
  // The recipe for unseen patients (the sunnybrook-unet preset); the defaults keep the lab's behaviour.
  unet: declare({
    schema: z
      .strictObject({
        depth: positiveInt.optional(),
        baseFilters: positiveInt.optional(),
        batchNorm: z.boolean().optional(),
        batchNormMomentum: z.number().gt(0).lt(1).optional(),
        residual: z.boolean().optional(),
        deepSupervision: z.number().int().min(0).optional(),
      })
      .nullable(),
    default: null,
    flag: null,
    must: 'be an object {depth, baseFilters, batchNorm, batchNormMomentum, residual, deepSupervision}',
    help:
      'U-Net variant (models unet, unet-small): depth, baseFilters, batchNorm, batchNormMomentum, residual, ' +
      'deepSupervision (auxiliary outputs at that many decoder levels)',
  }),
  preprocessing: declare({
    schema: z.custom<Preprocessing>((v) => typeof v === 'object').nullable(),
    default: null,
    flag: null,
    must: 'be an object {spacing, roi, intensity}',
    help:
      'resampling, region of interest and intensity normalisation, for training and every later use of the model ' +
      '(lvseg.json)',
  }),
  augment: declare({
    schema: z.array(z.custom<TransformSpec>((v) => typeof v === 'object' && v !== null)).nullable(),
    default: null,
    flag: null,
    must: 'be a list of transforms like [{"type": "flip"}]',
    help:
      'augmentation applied to each training sample as drawn: a transform list (src/transforms); the region of ' +
      'interest is cut after its last spatial transform, so the intensity ones see the window',
  }),
  lrSchedule: declare({
    schema: z.enum(SCHEDULE_NAMES),
    default: 'constant',
    flag: 'string',
    value: 'NAME',
    choices: SCHEDULE_NAMES,
    must: `be one of ${SCHEDULE_NAMES.join(', ')}`,
    help: 'learning-rate schedule after the warm-up',
  }),
  warmupEpochs: declare({
    schema: z.number().int().nonnegative(),
    default: 0,
    flag: 'number',
    value: 'N',
    must: 'be a non-negative integer',
    help: 'epochs of linear learning-rate warm-up',
  }),
  weightDecay: declare({
    schema: z.number().nonnegative(),
    default: 0,
    flag: 'number',
    value: 'W',
    must: 'be a non-negative number',
    help: "AdamW's decoupled weight decay (0: plain Adam)",
  }),
  tta: declare({
    schema: z.boolean(),
    default: false,
    flag: 'boolean',
    must: 'be true or false',
    help: "test-time flips in the model's inference pipeline (needs preprocessing)",
  }),
  postprocess: declare({
    schema: z.boolean(),
    default: false,
    flag: 'boolean',
    must: 'be true or false',
    help: "largest component + holes filled in the model's inference pipeline (needs preprocessing)",
  }),
  classes: declare({
    schema: z.preprocess(commaList, z.array(z.string().min(1)).min(2).nullable()),
    default: null,
    flag: 'list',
    value: 'LIST',
    must: 'be a list of at least 2 class names, background first, like background,lv,myocardium',
    help:
      'class names by label value, background first; the Sunnybrook PNG and DICOM sets give background,lv (the ' +
      "default) or background,lv,myocardium (their epicardial masks or o-contours); a run records the source's",
  }),
  labels: declare({
    schema: z.enum(LABEL_CONVENTIONS),
    default: 'inside',
    flag: 'string',
    value: 'HOW',
    choices: LABEL_CONVENTIONS,
    must: `be one of ${LABEL_CONVENTIONS.join(', ')}`,
    help:
      "how the training masks were drawn: the pixels inside the contour line, or those and the line's own " +
      "(contour-included: the Sunnybrook masks); lvseg volumes measures the model's masks to the line",
  }),
};

export type TrainOptionName = keyof typeof TRAIN_OPTIONS;

/** Everything a training run needs, as resolved from defaults < preset < config file < flags. */
export type TrainConfig = { -readonly [K in TrainOptionName]: z.output<(typeof TRAIN_OPTIONS)[K]['schema']> } & {
  /** The model spec itself (copied from the `modelSpec` file): what a resumed run builds from. */
  modelSpecContent?: unknown;
};

/** What a run records in config.json besides its options. */
export interface RunFacts {
  /** The backend that ran (`backend` then names it too); what was asked for, like `auto`. */
  backendRequested: string;
  inputSize: number;
  trainSize: number;
  valSize: number;
  /** The training samples' patients, sorted: what `evaluate` checks other data against (absent in older runs). */
  trainPatients?: string[];
  versions: { lvseg: string; tfjs: string; node: string };
  startedAt: string;
}

/** RUN/config.json: the resolved options and the facts of the run. */
export type RunConfig = TrainConfig & RunFacts;

/** Every training option's default, from its declaration in TRAIN_OPTIONS. */
export const TRAIN_DEFAULTS = Object.fromEntries(
  Object.entries(TRAIN_OPTIONS).map(([k, d]) => [k, d.default]),
) as unknown as TrainConfig;

const OPTION_NAMES = Object.keys(TRAIN_OPTIONS) as TrainOptionName[];
const RUN_FACT_NAMES = [
  'backendRequested',
  'inputSize',
  'trainSize',
  'valSize',
  'trainPatients',
  'versions',
  'startedAt',
  'modelSpecContent',
];
const OPTIONAL_FACTS = ['trainPatients', 'modelSpecContent'];

/** `batchSize` → `batch-size`. */
export function flagName(option: string): string {
  return option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Resolves a training configuration: defaults, then the preset's settings, then `file` (a JSON config
 * with the same keys), then `flags`. Checks every value and names the key at fault.
 */
export function resolveTrainConfig(
  flags: Partial<Record<TrainOptionName, unknown>>,
  file: Record<string, unknown> = {},
  fileName = 'config',
): TrainConfig {
  for (const key of Object.keys(file)) {
    if (!(OPTION_NAMES as string[]).includes(key) && key !== 'modelSpecContent')
      throw new UsageError(`${fileName}: unknown key '${key}'; a training config takes ${OPTION_NAMES.join(', ')}`);
  }
  const presetName = (flags.preset ?? file.preset ?? null) as string | null;
  const merged: Record<string, unknown> = { ...TRAIN_DEFAULTS };
  if (presetName !== null) {
    const { recipe, ...settings } = getPreset(presetName);
    Object.assign(merged, settings, recipe);
  }
  for (const [k, v] of Object.entries(file)) if (v !== undefined) merged[k] = v;
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
  if (flags.modelSpec != null && flags.model === undefined) merged.model = null;
  if (flags.model != null && flags.modelSpec === undefined) merged.modelSpec = null;
  return checkTrainConfig(merged, `${fileName} or the flags`);
}

/**
 * Checks the options of a config (every other key is kept as it is) and returns it with the options'
 * values normalised (`scale` as `1/255`, `metrics` as a list).
 */
export function checkTrainConfig<T extends Record<string, unknown>>(config: T, source: string): TrainConfig & T {
  const c: Record<string, unknown> = { ...config };
  if (typeof c.train !== 'string' || c.train === '')
    throw new UsageError(
      'no training data: pass --train SRC (a TFRecord file, PNG or DICOM folder, or synthetic:N), or a preset with a ' +
        'config file that has "train"',
    );
  for (const name of OPTION_NAMES) {
    const declaration: OptionDeclaration = TRAIN_OPTIONS[name];
    const parsed = declaration.schema.safeParse(c[name] === undefined ? declaration.default : c[name]);
    if (!parsed.success)
      throw new UsageError(`${name} must ${declaration.must}, got ${JSON.stringify(c[name])} (from ${source})`);
    c[name] = parsed.data;
  }
  if (c.model === null && c.modelSpec === null)
    throw new UsageError('no model: pass --model NAME, --model-spec FILE or --preset');
  if (c.model !== null && c.modelSpec !== null)
    throw new UsageError('--model and --model-spec are exclusive: pass one');
  if (c.preset !== null) getPreset(c.preset as string);
  if (c.unet !== null && c.model !== 'unet' && c.model !== 'unet-small')
    throw new UsageError('unet applies to --model unet or unet-small only');
  if (c.preprocessing !== null) c.preprocessing = checkPreprocessing(c.preprocessing, 'preprocessing');
  if (c.augment !== null) transformFromSpec(c.augment as TransformSpec[], 'augment');
  if (c.weightDecay !== 0 && c.optimizer !== 'adam')
    throw new UsageError('weightDecay applies to the adam optimizer (AdamW) only');
  if ((c.tta || c.postprocess) && c.preprocessing === null)
    throw new UsageError(
      `${c.tta ? 'tta' : 'postprocess'} needs preprocessing (the inference pipeline of lvseg.json); set ` +
        `preprocessing too`,
    );
  if (c.modelSpecContent !== undefined) c.modelSpecContent = validateModelSpec(c.modelSpecContent, String(c.modelSpec));
  return c as TrainConfig & T;
}

/** Checks a run's config.json as read back (to resume it): its options as above, its facts present. */
export function checkRunConfig(config: Record<string, unknown>, file: string): RunConfig {
  const checked = checkTrainConfig(config, file);
  const missing = RUN_FACT_NAMES.filter((k) => !OPTIONAL_FACTS.includes(k) && checked[k] === undefined);
  if (missing.length > 0)
    throw new UsageError(`${file}: ${missing.join(', ')} missing; is it a config.json that 'lvseg train' wrote?`);
  return checked as unknown as RunConfig;
}
