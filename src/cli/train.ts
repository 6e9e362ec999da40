import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import {
  flagName,
  resolveTrainConfig,
  TRAIN_OPTIONS,
  type OptionDeclaration,
  type TrainConfig,
  type TrainOptionName,
} from '../training/config.js';
import { formatLogs } from '../training/callbacks/progress.js';
import { readRunConfig, runTraining } from '../workflows/train-run.js';
import type { Command } from './command.js';
import type { OptionSpec, ParsedArgs } from './options.js';

/** The options that are flags; the others (JSON values) come from a preset or --config FILE. */
export const FLAG_OPTIONS = (Object.entries(TRAIN_OPTIONS) as [TrainOptionName, OptionDeclaration][]).filter(
  (entry): entry is [TrainOptionName, OptionDeclaration & { flag: NonNullable<OptionDeclaration['flag']> }] =>
    entry[1].flag !== null,
);

/** A training option as a flag: `batchSize` → `--batch-size N`, with its default for --help. */
export function optionSpec(
  name: TrainOptionName,
  d: OptionDeclaration & { flag: NonNullable<OptionDeclaration['flag']> },
): OptionSpec {
  const fallback = d.default === null ? (d.zeroIsNull ? 0 : undefined) : d.default;
  return {
    name: flagName(name),
    type: d.flag,
    value: d.value,
    description: d.help,
    choices: d.choices,
    ...(fallback === undefined || fallback === '' ? {} : { default: fallback as OptionSpec['default'] }),
  };
}

export const command: Command = {
  name: 'train',
  usage: 'train (--model NAME | --model-spec FILE | --preset NAME) --train SRC [--val SRC] [options]',
  summary: 'train a segmentation network; writes a run directory (model, checkpoints, history, panels)',
  description: [
    'Trains a network on a source (TFRecord file, PNG or DICOM folder, synthetic:N[:SEED][:SIZE]) and writes',
    'a run directory: config.json, summary.json, history.json, checkpoints/, best/, panels/, model/.',
    "Settings come from defaults < --preset < --config FILE < flags. Presets are the lab's exact settings",
    '(batch 1, shuffle buffer 10, Adam 0.001, steps per epoch = training-set size, scale 1/1024; the shared',
    'TFRecords, whose pixels run 0-255, want --scale 1/255). --resume RUN continues a killed run from its last',
    'completed epoch with the same data order.',
    'The sunnybrook-unet preset is the recipe for unseen patients: a U-Net with batch norm on a centred 128x128',
    'region of interest, per-image normalisation, strong augmentation, CE + per-image Dice, 30 epochs of AdamW',
    'with warm-up and cosine decay, no mirror flips; its model/ gets an lvseg.json (preprocessing, --tta flips,',
    `post-processing) that predict and evaluate follow. ${Object.entries(TRAIN_OPTIONS)
      .filter(([, d]) => d.flag === null)
      .map(([k]) => k)
      .join(', ')} are set by a preset or in --config FILE.`,
  ].join('\n'),
  options: [
    ...FLAG_OPTIONS.map(([name, d]) => optionSpec(name, d)),
    {
      name: 'config',
      type: 'string',
      value: 'FILE',
      description: 'JSON config with the same keys in camelCase (batchSize, lr, ...); flags win',
    },
    {
      name: 'resume',
      type: 'string',
      value: 'RUN',
      description:
        'continue the run in RUN from its last checkpoint (other flags are ignored but --epochs and --backend)',
    },
  ],
  async run(args) {
    const resume = args.options.resume as string | undefined;
    let config: Parameters<typeof runTraining>[0];
    if (resume !== undefined) {
      config = readRunConfig(resume);
      if (args.given.has('epochs')) config = { ...config, epochs: args.options.epochs as number };
      if (args.given.has('backend')) config = { ...config, backendRequested: args.options.backend as string };
    } else {
      config = resolveTrainConfig(
        givenFlags(args),
        readConfigFile(args.options.config as string | undefined),
        (args.options.config as string | undefined) ?? 'config',
      );
    }
    const result = await runTraining(config, resume);
    const m = result.evaluation?.metrics;
    console.log(`Run directory: ${result.runDir} (model/, best/, checkpoints/, panels/, history.json, report.html)`);
    if (result.final) console.log(`Last epoch: ${formatLogs(result.final)}`);
    if (m)
      console.log(
        `Final model on the ${result.val.length} validation images: Dice ${m.dice.toFixed(4)} (lab), mean Dice ` +
          `${m.meanDice.toFixed(4)}, IoU ${m.iou.toFixed(4)}`,
      );
    return 0;
  },
};

/** Only the flags the user gave: defaults must not override a preset or a config file. */
export function givenFlags(args: ParsedArgs): Partial<Record<keyof TrainConfig, unknown>> {
  const out: Partial<Record<keyof TrainConfig, unknown>> = {};
  for (const [name, d] of FLAG_OPTIONS) {
    const flag = flagName(name);
    if (!args.given.has(flag)) continue;
    const v = args.options[flag];
    out[name] = d.zeroIsNull && v === 0 ? null : v;
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
