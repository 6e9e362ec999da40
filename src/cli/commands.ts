import type { Command } from './command.js';

/** Every `lvseg` subcommand, in the order `lvseg --help` lists them. */
export async function loadCommands(): Promise<Command[]> {
  const modules = await Promise.all([
    // one line per command module; each exports `command` or `commands`
    import('./data.js'),
    import('./evaluate.js'),
    import('./predict.js'),
    import('./train.js'),
    import('./summary.js'),
    import('./demo.js'),
    import('./plot.js'),
    import('./plot-model.js'),
    import('./report.js'),
  ] as Promise<{ command?: Command; commands?: Command[] }>[]);
  return modules.flatMap((m) => (m.commands ?? (m.command ? [m.command] : [])));
}
