import { UsageError } from '../errors.js';
import { readSearchSpace } from '../workflows/space.js';
import { formatResultsTable, runSearch } from '../workflows/search.js';
import { runStamp } from '../workflows/train-run.js';
import type { Command } from './command.js';
import { RUNNER_OPTIONS, runnerFromArgs } from './runner-options.js';
import { FLAG_OPTIONS, givenFlags, optionSpec } from './train.js';

// --out is the search's folder here, not a trial's run directory
const TRIAL_OPTIONS = FLAG_OPTIONS.filter(([name]) => name !== 'out');

export const command: Command = {
  name: 'search',
  usage:
    'search SPACE.json --train SRC [--val SRC] [--trials N] [--workers K | --queue redis://HOST:PORT] [--out DIR] ' +
    '[--resume] [training options]',
  summary: 'parameter search: train every trial of a search space, rank them (results.json, results.csv, report.html)',
  description: [
    'Trains one run per trial of a search space (docs/search.md: training options and spec.PATH fields of the model',
    'spec; choices, int and float ranges, log scales; grid or random; successive halving) and ranks the trials by the',
    "lab's validation Dice in OUT/results.json, OUT/results.csv and OUT/report.html. Every training flag given here is",
    'the base of each trial. Trials run in this process, in --workers K local processes, or on a Redis queue',
    "(--queue) served by 'lvseg worker' processes on any machine. --resume continues a search in --out: finished",
    'trials are never run again.',
  ].join('\n'),
  options: [
    ...TRIAL_OPTIONS.map(([name, d]) => optionSpec(name, d)),
    {
      name: 'trials',
      type: 'number',
      value: 'N',
      description: "how many trials (random: draws; grid: the first N); default: the space's",
      default: 0,
    },
    {
      name: 'out',
      type: 'string',
      value: 'DIR',
      description: 'the search folder (default: runs/search-<time>)',
      default: '',
    },
    {
      name: 'resume',
      type: 'boolean',
      description: 'continue the search in --out, keeping its finished trials',
      default: false,
    },
    ...RUNNER_OPTIONS,
  ],
  async run(args) {
    const [spaceFile, ...extra] = args.positionals;
    if (!spaceFile || extra.length > 0)
      throw new UsageError(
        "search takes one SPACE.json; e.g. 'lvseg search examples/search/lr-batch.json --train synthetic:16 --model " +
          "fcn-small'",
      );
    const trials = args.options.trials as number;
    if (!Number.isInteger(trials) || trials < 0)
      throw new UsageError(`--trials takes a positive integer, not ${trials}`);
    const resume = args.options.resume as boolean;
    const out = (args.options.out as string) || (resume ? '' : `runs/search-${runStamp()}`);
    if (!out) throw new UsageError('--resume needs --out DIR: the search folder to continue');
    const space = readSearchSpace(spaceFile);
    const flags = givenFlags(args);
    delete flags.out;
    const log = (line: string): void => console.error(line);
    const runner = await runnerFromArgs(args, log);
    const started = Date.now();
    try {
      const { results, files } = await runSearch({
        space,
        source: spaceFile,
        flags,
        out,
        trials: trials || undefined,
        resume,
        runner,
        log,
      });
      console.log(formatResultsTable(results));
      console.log(
        `${results.filter((r) => r.status === 'done').length} of ${results.length} trials done in ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s; ${files.join(', ')}`,
      );
      return results.some((r) => r.status === 'done') ? 0 : 1;
    } finally {
      await runner.close();
    }
  },
};
