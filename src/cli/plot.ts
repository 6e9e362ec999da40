import { extname } from 'node:path';
import { writeOutputFile } from '../io/output.js';
import { UsageError } from '../errors.js';
import { renderCurvesPng, renderCurvesSvg, type CurveRun } from '../reporting/charts.js';
import { readRun } from '../reporting/run.js';
import type { Command } from './command.js';

/** `.svg` or `.png` from an output file name; anything else is a usage error. */
export function figureFormat(out: string, option = '--out'): 'svg' | 'png' {
  const ext = extname(out).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext === '.svg' ? 'svg' : 'png';
  throw new UsageError(
    `${option} ${out}: the figure is written as SVG or PNG, so the file name must end in .svg or .png`,
  );
}

export const command: Command = {
  name: 'plot',
  usage: 'plot RUN... --out FILE.svg|FILE.png',
  summary: "training curves of one or more runs: the lab's loss, validation loss and validation Dice figure",
  description:
    "Draws the lab's figure from RUN/history.json: training loss, validation loss and validation Dice per epoch, " +
    'y from 0 to 1. Several runs share one figure (a colour per run, a line style per series) to compare them.',
  options: [
    { name: 'out', type: 'string', value: 'FILE', description: 'output file, .svg or .png', default: 'curves.svg' },
    {
      name: 'series',
      type: 'list',
      value: 'KEYS',
      description: 'history keys to draw',
      default: ['loss', 'val_loss', 'val_dice'],
    },
    { name: 'overwrite', type: 'boolean', description: 'replace an existing --out file', default: false },
    {
      name: 'title',
      type: 'string',
      value: 'TEXT',
      description: 'figure title (empty: derived from the runs)',
      default: '',
    },
  ],
  async run(args) {
    if (args.positionals.length === 0)
      throw new UsageError("lvseg plot needs at least one run directory: 'lvseg plot RUN... --out curves.svg'");
    const out = String(args.options.out);
    const format = figureFormat(out);
    const runs: CurveRun[] = args.positionals.map((dir) => {
      const run = readRun(dir);
      if (run.history.length === 0)
        throw new UsageError(`${dir} has no epochs in history.json yet; plot it after the first epoch`);
      return { name: run.name, epochs: run.history };
    });
    const output = { flag: '--out', command: 'lvseg plot', overwrite: args.options.overwrite as boolean };
    const options = { series: args.options.series as string[], title: String(args.options.title) || undefined };
    await writeOutputFile(
      out,
      format === 'svg' ? renderCurvesSvg(runs, options) : renderCurvesPng(runs, options),
      output,
    );
    console.log(
      `wrote ${out} (${runs.length} run${runs.length > 1 ? 's' : ''}, ` +
        `${Math.max(...runs.map((r) => r.epochs.length))} epochs)`,
    );
    return 0;
  },
};
