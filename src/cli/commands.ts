import type { Command } from './command.js';

/** Every `lvseg` subcommand, in the order `lvseg --help` lists them. */
export async function loadCommands(): Promise<Command[]> {
  const modules = await Promise.all([
    // one line per command module; each exports `command` or `commands`
    import('./demo.js'),
    import('./train.js'),
    import('./evaluate.js'),
    import('./predict.js'),
    import('./summary.js'),
    import('./plot-model.js'),
    import('./plot.js'),
    import('./report.js'),
    import('./data.js'),
    import('./volumes.js'),
    import('./serve.js'),
    import('./search.js'),
    import('./cv.js'),
    import('./worker.js'),
    import('./export.js'),
  ] as Promise<{ command?: Command; commands?: Command[] }>[]);
  return modules.flatMap((m) => m.commands ?? (m.command ? [m.command] : []));
}
