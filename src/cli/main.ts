import { LvsegError, UsageError } from '../errors.js';
import type { Command } from './command.js';
import { loadCommands } from './commands.js';
import { formatHelp, parseArgs } from './options.js';
import { VERSION } from '../version.js';
import { cleanUpOnSignals, runInterruptCleanups } from '../io/atomic.js';
import { explainWriteError } from '../io/output.js';

/** Runs `lvseg <command> …` and returns the exit code; errors print one line (`--debug` for the stack). */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const commands = await loadCommands();
  cleanUpOnSignals();
  try {
    if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
      console.log(globalHelp(commands));
      return 0;
    }
    if (args[0] === '--version' || args[0] === '-v') {
      console.log(VERSION);
      return 0;
    }
    const { command, rest } = findCommand(commands, args);
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(formatHelp(`lvseg ${command.usage}`, command.description ?? command.summary, command.options));
      return 0;
    }
    return await command.run(parseArgs(rest, command.options, command.name));
  } catch (caught) {
    // a failed command leaves no temporary output behind, and a write error names the real output
    const err = explainWriteError(caught);
    runInterruptCleanups();
    if (err instanceof LvsegError && !debug) {
      console.error(`lvseg: ${err.message}`);
      return 1;
    }
    if (!debug) {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`lvseg: ${message.split('\n')[0]} (run with --debug for the stack)`);
      return 1;
    }
    console.error(err);
    return 1;
  }
}

function findCommand(commands: Command[], args: string[]): { command: Command; rest: string[] } {
  // the longest command name that matches the leading words: `data inspect` before `data`
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((w, i) => args[i] === w)) return { command, rest: args.slice(words.length) };
  }
  const group = commands.filter((c) => c.name.startsWith(`${args[0]} `));
  const hint =
    group.length > 0 ? `; '${args[0]}' takes one of: ${group.map((c) => c.name.split(' ')[1]).join(', ')}` : '';
  throw new UsageError(`unknown command '${args.slice(0, 2).join(' ')}'${hint}; run 'lvseg --help' for the commands`);
}

function globalHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8) + 2;
  return [
    `lvseg ${VERSION}: left-ventricle segmentation on cardiac MRI with TensorFlow.js`,
    '',
    'Usage: lvseg <command> [options]      (lvseg <command> --help lists its options)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Global options: --help, --version, --debug (print the stack on errors)',
  ].join('\n');
}
