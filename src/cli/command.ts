import { BACKEND_HELP, BACKEND_NAMES } from '../backends/select.js';
import type { OptionSpec, ParsedArgs } from './options.js';

/** A `lvseg` subcommand. Each lives in its own file under src/cli/ and is listed in commands.ts. */
export interface Command {
  /** The words after `lvseg`, e.g. `train` or `data inspect`. */
  name: string;
  usage: string;
  summary: string;
  description?: string;
  options: OptionSpec[];
  /** Returns the process exit code. */
  run(args: ParsedArgs): Promise<number>;
}

/** Options every command that computes takes. */
export const backendOption: OptionSpec = {
  name: 'backend',
  type: 'string',
  value: 'NAME',
  description: BACKEND_HELP,
  default: 'auto',
  choices: BACKEND_NAMES,
};
