import { UsageError } from '../errors.js';
import { formatCvTable, runCrossValidation } from '../workflows/cv.js';
import { runStamp } from '../workflows/train-run.js';
import type { Command } from './command.js';
import { RUNNER_OPTIONS, runnerFromArgs } from './runner-options.js';
import { FLAG_OPTIONS, givenFlags, optionSpec } from './train.js';

// --out is the CV's folder; the folds set the validation data themselves
const FOLD_OPTIONS = FLAG_OPTIONS.filter(
  ([name]) => !['out', 'val', 'valPatients', 'valFraction', 'split'].includes(name),
);

export const command: Command = {
  name: 'cv',
  usage:
    'cv --folds K --train SRC (--model NAME | --model-spec FILE | --preset NAME) [--workers K | --queue ' +
    'redis://HOST:PORT] [--out DIR] [training options]',
  summary: 'K-fold cross-validation by patient: per-fold and mean ± sd metrics, and the K models as one ensemble',
  description: [
    "Splits the training source's patients into K folds (balanced by images, seeded by --seed; no patient on both",
    'sides) and trains one run per fold with that fold as validation. Prints the per-fold metrics of each final model',
    'and their mean ± sd, and writes OUT/cv.json, OUT/cv.csv, OUT/report.html and OUT/ensemble/ (ensemble.json: the K',
    "models as one, the mean of their softmax; 'lvseg evaluate OUT/ensemble --data SRC' and 'lvseg predict' take it).",
    "Folds run in this process, in --workers K local processes or on a Redis queue (--queue) served by 'lvseg worker'.",
  ].join('\n'),
  options: [
    { name: 'folds', type: 'number', value: 'K', description: 'number of folds', default: 5 },
    ...FOLD_OPTIONS.map(([name, d]) => optionSpec(name, d)),
    { name: 'out', type: 'string', value: 'DIR', description: 'the CV folder (default: runs/cv-<time>)', default: '' },
    {
      name: 'resume',
      type: 'boolean',
      description: 'continue the CV in --out, keeping its finished folds',
      default: false,
    },
    ...RUNNER_OPTIONS,
  ],
  async run(args) {
    if (args.positionals.length > 0)
      throw new UsageError(`cv takes no positional arguments (got ${args.positionals.join(' ')}); pass --train SRC`);
    const folds = args.options.folds as number;
    if (!Number.isInteger(folds) || folds < 2)
      throw new UsageError(`--folds takes an integer of at least 2, not ${folds}`);
    const resume = args.options.resume as boolean;
    const out = (args.options.out as string) || (resume ? '' : `runs/cv-${runStamp()}`);
    if (!out) throw new UsageError('--resume needs --out DIR: the CV folder to continue');
    const log = (line: string): void => console.error(line);
    const runner = await runnerFromArgs(args, log);
    const started = Date.now();
    try {
      const result = await runCrossValidation({ flags: givenFlags(args), folds, out, resume, runner, log });
      console.log(formatCvTable(result));
      console.log(
        `${result.folds.filter((f) => f.status === 'done').length} of ${result.folds.length} folds done in ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s; ${result.files.join(', ')}`,
      );
      if (result.ensemble)
        console.log(`ensemble of the fold models: ${result.ensemble} (lvseg evaluate ${result.ensemble} --data SRC)`);
      return result.folds.every((f) => f.status === 'done') ? 0 : 1;
    } finally {
      await runner.close();
    }
  },
};
