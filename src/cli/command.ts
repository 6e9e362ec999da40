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
  description: 'compute backend: auto picks onednn when the native addon loads, else wasm',
  default: 'auto',
  choices: ['auto', 'onednn', 'wasm', 'cpu'],
};
