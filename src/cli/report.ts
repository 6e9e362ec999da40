import { RUN_PARTS, runPath } from '../runs/run-dir.js';
import { UsageError } from '../errors.js';
import { checkOutputFile } from '../io/output.js';
import { writeReport } from '../reporting/report.js';
import type { Command } from './command.js';

export const command: Command = {
  name: 'report',
  usage: 'report RUN... [--out FILE.html]',
  summary: 'one self-contained HTML report of one or more runs (config, curves, metrics, predictions, comparison)',
  description:
    'Writes one HTML file that opens from disk with no network: the resolved config, the model summary, the curves, ' +
    'the final metrics, sample predictions (best and worst by Dice), a histogram of per-image Dice and, with several ' +
    'runs, a table comparing them.',
  options: [
    {
      name: 'out',
      type: 'string',
      value: 'FILE',
      description: 'output file (empty: RUN/report.html for one run, report.html for several)',
      default: '',
    },
    {
      name: 'overwrite',
      type: 'boolean',
      description: "replace an existing --out file (a run's own report.html is always refreshed)",
      default: false,
    },
  ],
  async run(args) {
    const dirs = args.positionals;
    if (dirs.length === 0)
      throw new UsageError("lvseg report needs at least one run directory: 'lvseg report RUN... --out report.html'");
    const out = String(args.options.out) || (dirs.length === 1 ? runPath(dirs[0]!, 'report') : RUN_PARTS.report);
    if (!/\.html?$/i.test(out))
      throw new UsageError(`--out ${out}: the report is HTML, so the file name must end in .html`);
    // refreshing a run's own report is what the command is for; any other existing file needs --overwrite
    const ownReport = dirs.length === 1 && out === runPath(dirs[0]!, 'report');
    checkOutputFile(out, {
      flag: '--out',
      command: 'lvseg report',
      overwrite: ownReport || (args.options.overwrite as boolean),
    });
    await writeReport(dirs, out);
    console.log(`wrote ${out}`);
    return 0;
  },
};
