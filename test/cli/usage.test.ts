/** The command line itself: help, unknown commands and options, option values, and `train --config`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCommands } from '../../src/cli/commands.js';
import { VERSION } from '../../src/version.js';
import { captureCli } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvseg-usage-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A failure: exit 1 and the one line on stderr. */
async function fails(argv: string[]): Promise<string> {
  const r = await captureCli(argv);
  expect(r.code, r.out).toBe(1);
  expect(r.err.split('\n')).toHaveLength(1);
  return r.err;
}

describe('lvseg --help and --version', () => {
  it('lists every command with its summary, with no command, --help, -h or help', async () => {
    const commands = await loadCommands();
    for (const argv of [[], ['--help'], ['-h'], ['help']]) {
      const r = await captureCli(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^lvseg .*: left-ventricle segmentation/);
      for (const c of commands) expect(r.out).toContain(`  ${c.name}`);
    }
    expect((await captureCli(['--version'])).out).toBe(VERSION);
  });

  it("every command's --help lists all its options, and --overwrite where it writes", async () => {
    for (const c of await loadCommands()) {
      const r = await captureCli([...c.name.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: lvseg ${c.usage}`);
      for (const o of c.options) expect(r.out, `${c.name} --${o.name}`).toContain(`--${o.name}`);
    }
    for (const name of [
      'predict',
      'evaluate',
      'plot',
      'plot-model',
      'report',
      'data convert',
      'data synth',
      'data inspect',
    ]) {
      expect((await captureCli([...name.split(' '), '--help'])).out, name).toContain('--overwrite');
    }
  });
});

describe('usage errors', () => {
  it('an unknown command names itself, and a group lists its subcommands', async () => {
    expect(await fails(['trian'])).toBe("lvseg: unknown command 'trian'; run 'lvseg --help' for the commands");
    expect(await fails(['data', 'frobnicate'])).toBe(
      "lvseg: unknown command 'data frobnicate'; 'data' takes one of: inspect, convert, synth; run 'lvseg --help' " +
        'for the commands',
    );
  });

  it('an unknown option, a missing value, a wrong type or choice each get one line', async () => {
    expect(await fails(['train', '--epoch', '3'])).toBe(
      "lvseg: unknown option --epoch for 'lvseg train'; run 'lvseg train --help' for the options",
    );
    expect(await fails(['train', '--epochs'])).toBe('lvseg: --epochs needs a value (N)');
    expect(await fails(['train', '--epochs', '--lr', '0.1'])).toBe('lvseg: --epochs needs a value (N)');
    expect(await fails(['train', '--epochs', 'ten'])).toBe("lvseg: --epochs takes a number, not 'ten'");
    expect(await fails(['train', '--optimizer', 'rmsprop'])).toBe(
      "lvseg: --optimizer takes one of adam, sgd, not 'rmsprop'",
    );
    expect(await fails(['train', '--tensorboard=maybe'])).toBe("lvseg: --tensorboard takes true or false, not 'maybe'");
    expect(await fails(['evaluate', 'run', '--data', 'synthetic:2', '--batch-size', '0'])).toBe(
      'lvseg: --batch-size takes a positive integer, not 0',
    );
  });

  it('train checks its values and says what is missing', async () => {
    expect(await fails(['train', '--model', 'fcn'])).toMatch(/^lvseg: no training data: pass --train SRC/);
    expect(await fails(['train', '--train', 'synthetic:4'])).toBe(
      'lvseg: no model: pass --model NAME, --model-spec FILE or --preset',
    );
    expect(await fails(['train', '--model', 'fcn', '--train', 'synthetic:4', '--epochs', '0'])).toBe(
      'lvseg: epochs must be a positive integer, got 0 (from config or the flags)',
    );
    expect(await fails(['train', '--model', 'fcn', '--train', 'synthetic:4', '--lr', '1e30'])).toBe(
      'lvseg: lr must be a positive number no larger than 1, got 1e+30 (from config or the flags)',
    );
  });
});

describe('lvseg train --config', () => {
  it('reads the options from a JSON file, and flags win over it', async () => {
    const file = join(tmp, 'config.json');
    writeFileSync(file, JSON.stringify({ model: 'fcn', train: 'synthetic:4', epochs: 0 }));
    // the file's bad value is named with the file; a flag over it wins and the next problem shows
    expect(await fails(['train', '--config', file])).toBe(
      `lvseg: epochs must be a positive integer, got 0 (from ${file} or the flags)`,
    );
    expect(await fails(['train', '--config', file, '--epochs', '1', '--lr', '2'])).toBe(
      `lvseg: lr must be a positive number no larger than 1, got 2 (from ${file} or the flags)`,
    );
  });

  it('refuses an unknown key, a file that is not a JSON object, and a missing file', async () => {
    const typo = join(tmp, 'typo.json');
    writeFileSync(typo, JSON.stringify({ model: 'fcn', batch_size: 4 }));
    expect(await fails(['train', '--config', typo])).toMatch(
      new RegExp(`^lvseg: ${typo}: unknown key 'batch_size'; a training config takes model, modelSpec, `),
    );
    const list = join(tmp, 'list.json');
    writeFileSync(list, '[1, 2]');
    expect(await fails(['train', '--config', list])).toBe(
      `lvseg: ${list}: cannot read the training config (not a JSON object)`,
    );
    expect(await fails(['train', '--config', join(tmp, 'absent.json')])).toMatch(
      /^lvseg: .*absent\.json: cannot read the training config \(ENOENT/,
    );
  });
});
