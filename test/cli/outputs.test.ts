/**
 * The one rule of every command that writes, through the CLI in a child process: a failed command
 * exits 1 with one line and leaves its output folder as it was; nothing is replaced without
 * --overwrite; a folder holding files lvseg did not write is refused.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { encodeLabExample } from '../../src/data/lab-schema.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { writeTfRecords } from '../../src/data/tfrecord.js';
import { encodePngGrey } from '../../src/imaging/png.js';
import { saveModel } from '../../src/models/io.js';
import { thresholdModel } from '../evaluation/tiny-model.js';
import { captureCli, ensureBuilt, runCli, type CliResult } from './run-cli.js';

const TINY = 'test/training/tiny-model.json';
const train = [
  'train',
  '--model-spec',
  TINY,
  '--train',
  'synthetic:8:1:32',
  '--val',
  'synthetic:4:100:32',
  '--epochs',
  '2',
  '--backend',
  'cpu',
  '--scale',
  '1/255',
  '--batch-size',
  '2',
  '--no-tensorboard',
];

let base: string;
let model: string;

/** Every file under `dir` with its bytes, to compare a folder before and after a command. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, entry);
    if (statSync(path).isFile()) out[entry] = readFileSync(path).toString('base64');
  }
  return out;
}

/** Exit 1 and exactly one line on stderr that starts with `lvseg: `, whatever else a command printed before. */
function expectOneLineFailure(r: CliResult, message: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const last = r.stderr.trimEnd().split('\n').at(-1)!;
  expect(last).toMatch(/^lvseg: /);
  expect(last).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at |lvseg-tmp|\.tmp-/);
}

/** `lvseg args…` in this process (where no signal or fresh process is needed: faster), as a CliResult. */
async function inProcess(args: string[]): Promise<CliResult> {
  const r = await captureCli(args);
  return { code: r.code, signal: null, stdout: r.out, stderr: r.err };
}

/** Hidden temporary names lvseg leaves beside an output when it fails to clean up. */
const leftovers = (dir: string): string[] => readdirSync(dir).filter((e) => /lvseg-(tmp|old)|\.tmp-/.test(e));

beforeAll(async () => {
  ensureBuilt();
  base = mkdtempSync(join(tmpdir(), 'lvseg-outputs-'));
  await selectBackend('cpu');
  model = join(base, 'model-run');
  await saveModel(thresholdModel(32, 32), join(model, 'model'));
  writeFileSync(join(model, 'config.json'), JSON.stringify({ scale: '1/255' }));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('lvseg train', () => {
  it("refuses a folder holding the user's own report.html and summary.json, and leaves them as they were", async () => {
    const out = join(base, 'users-files');
    mkdirSync(out);
    writeFileSync(join(out, 'report.html'), '<p>my notes</p>');
    writeFileSync(join(out, 'summary.json'), '{"mine": true}');
    const before = snapshot(out);
    const r = await runCli([...train, '--out', out]);
    expectOneLineFailure(
      r,
      new RegExp(
        String.raw`--out .*users-files holds files 'lvseg train' did not write \(report\.html, summary\.json` +
          String.raw`\); pass an empty or new folder$`,
      ),
    );
    expect(snapshot(out)).toEqual(before);
  });

  it("refuses a folder with another program's history.json instead of crashing on it", async () => {
    const out = join(base, 'other-history');
    mkdirSync(out);
    writeFileSync(join(out, 'history.json'), '{"loss": [0.5, 0.4]}');
    const r = await runCli([...train, '--out', out]);
    expectOneLineFailure(r, /holds files 'lvseg train' did not write \(history\.json\)/);
    expect(readdirSync(out)).toEqual(['history.json']);
  });

  it('checks --batch-size against the data and --lr before anything is written', async () => {
    const out = join(base, 'early');
    const big = await runCli([...train, '--out', out, '--batch-size', '100000']);
    expectOneLineFailure(big, /--batch-size 100000 is larger than the training set \(8 samples\); pass at most 8$/);
    const lr = await runCli([...train, '--out', out, '--lr', '1e30']);
    expectOneLineFailure(lr, /lr must be a positive number no larger than 1, got 1e\+30/);
    expect(existsSync(out)).toBe(false);
  });

  it('a run stopped before its first checkpoint leaves no folder behind', async () => {
    const out = join(base, 'stopped');
    // one very long epoch: the signal always comes before the first checkpoint
    const r = await runCli([...train, '--out', out, '--steps-per-epoch', '100000'], (child) => {
      const poll = setInterval(() => {
        if (existsSync(join(out, 'config.json'))) {
          clearInterval(poll);
          child.kill('SIGTERM');
        }
      }, 20);
      child.on('close', () => clearInterval(poll));
    });
    expect(r.signal).toBe('SIGTERM');
    expect(existsSync(out)).toBe(false);
    expect(leftovers(base)).toEqual([]);
  });

  it('--resume --epochs 1 after 2 epochs is an error that changes nothing', async () => {
    const out = join(base, 'two-epochs');
    expect((await runCli([...train, '--out', out])).code).toBe(0);
    const before = snapshot(out);
    const r = await runCli(['train', '--resume', out, '--epochs', '1', '--backend', 'cpu']);
    expectOneLineFailure(
      r,
      new RegExp(
        'two-epochs has finished 2 epochs and --epochs 1 asks for no more; to train it longer pass' +
          ' --resume .*two-epochs --epochs N with N > 2$',
      ),
    );
    expect((await runCli(['train', '--resume', out, '--backend', 'cpu'])).stderr).toMatch(
      /has finished 2 epochs and --epochs 2 asks for no more/,
    );
    expect(snapshot(out)).toEqual(before);
  });
});

describe('lvseg predict', () => {
  const inputs = (): string[] => {
    const dir = join(base, 'inputs');
    if (!existsSync(dir)) {
      mkdirSync(dir);
      for (const name of ['a', 'b'])
        writeFileSync(join(dir, `${name}.png`), encodePngGrey(32, 32, new Uint8Array(32 * 32).fill(200)));
      writeFileSync(join(dir, 'c.png'), encodePngGrey(32, 32, new Uint8Array(32 * 32)).subarray(0, 60));
    }
    return ['a', 'b', 'c'].map((n) => join(dir, `${n}.png`));
  };

  it(
    'run twice into one folder: the second is refused without --overwrite, and replaces the first with ' + 'it',
    async () => {
      const out = join(base, 'predictions');
      const [a, b] = inputs();
      expect((await runCli(['predict', model, a!, b!, '--out', out, '--backend', 'cpu'])).code).toBe(0);
      const before = snapshot(out);
      const again = await runCli(['predict', model, a!, '--out', out, '--backend', 'cpu']);
      expectOneLineFailure(
        again,
        new RegExp(
          "--out .*predictions already holds the output of an earlier 'lvseg predict'; pass --over" +
            'write to replace it, or another --out$',
        ),
      );
      expect(snapshot(out)).toEqual(before);
      expect((await runCli(['predict', model, a!, '--out', out, '--backend', 'cpu', '--overwrite'])).code).toBe(0);
      expect(
        JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')).images.map((i: { name: string }) => i.name),
      ).toEqual(['inputs/a']);
      expect(readdirSync(out).sort()).toEqual([
        'inputs_a-icontour-auto.txt',
        'inputs_a.mask.png',
        'inputs_a.overlay.png',
        'predictions.json',
      ]);
      writeFileSync(join(out, 'notes.txt'), 'mine');
      const foreign = await runCli(['predict', model, a!, '--out', out, '--backend', 'cpu', '--overwrite']);
      expectOneLineFailure(
        foreign,
        /holds files 'lvseg predict' did not write \(notes\.txt\); pass an empty or new folder$/,
      );
    },
  );

  it('a corrupt third input leaves no output at all', async () => {
    const out = join(base, 'half');
    const r = await runCli(['predict', model, ...inputs(), '--out', out, '--backend', 'cpu']);
    expectOneLineFailure(r, /c\.png: not a readable PNG/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers(base)).toEqual([]);
  });

  it('a 300-character record name gives bounded, distinct file names', async () => {
    const records = join(base, 'long-names.tfrecords');
    const samples = [0, 1].map((i) => ({ ...generatePhantom(i, 32), name: `${'x'.repeat(299)}${i}` }));
    await writeTfRecords(records, samples.map(encodeLabExample));
    const out = join(base, 'long-out');
    const r = await runCli(['predict', model, records, '--out', out, '--backend', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(out);
    expect(files).toHaveLength(7);
    expect(Math.max(...files.map((f) => Buffer.byteLength(f)))).toBeLessThanOrEqual(160);
    const stems = files
      .filter((f) => f !== 'predictions.json')
      .map((f) => f.replace(/(\.mask\.png|\.overlay\.png|-icontour-auto\.txt)$/, ''));
    expect(new Set(stems).size).toBe(2);
    expect(stems[0]).toMatch(/^x{111}-[0-9a-f]{8}$/);
  });

  it('NaN weights are refused with the file named', async () => {
    const bad = join(base, 'nan-run');
    cpSync(model, bad, { recursive: true });
    const bin = readFileSync(join(bad, 'model', 'weights.bin'));
    new DataView(bin.buffer, bin.byteOffset).setFloat32(0, NaN, true);
    writeFileSync(join(bad, 'model', 'weights.bin'), bin);
    const out = join(base, 'nan-out');
    const [a] = inputs();
    expectOneLineFailure(
      await runCli(['predict', bad, a!, '--out', out, '--backend', 'cpu']),
      /nan-run\/model\/weights\.bin: weight 'scores\/kernel' holds NaN or infinite values/,
    );
    expectOneLineFailure(
      await runCli(['evaluate', bad, '--data', 'synthetic:2:0:32', '--backend', 'cpu']),
      /nan-run\/model\/weights\.bin: weight 'scores\/kernel' holds NaN or infinite values/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('lvseg evaluate --per-image', () => {
  it('a folder, an existing file or a path under a file get one line naming --per-image', async () => {
    const run = (file: string, ...extra: string[]): Promise<CliResult> =>
      inProcess(['evaluate', model, '--data', 'synthetic:2:0:32', '--backend', 'cpu', '--per-image', file, ...extra]);
    expectOneLineFailure(await run(base), /--per-image .* is a folder; pass a file name$/);
    const csv = join(base, 'per-image.csv');
    writeFileSync(csv, 'mine');
    expectOneLineFailure(
      await run(csv),
      /--per-image .*per-image\.csv already exists; pass --overwrite to replace it, or another file name$/,
    );
    expect(readFileSync(csv, 'utf8')).toBe('mine');
    expect((await run(csv, '--overwrite')).code).toBe(0);
    expect(readFileSync(csv, 'utf8')).toMatch(/^name,patient,phase,dice,/);
    expectOneLineFailure(
      await run(join(csv, 'x.csv')),
      /cannot write --per-image .*x\.csv: .*per-image\.csv is a file, not a folder/,
    );
  });
});

describe('lvseg data', () => {
  it('convert refuses to replace a file without --overwrite', async () => {
    const out = join(base, 'c.tfrecords');
    expect((await inProcess(['data', 'convert', 'synthetic:2:0:16', '--out', out])).code).toBe(0);
    const before = readFileSync(out);
    expectOneLineFailure(
      await inProcess(['data', 'convert', 'synthetic:3:0:16', '--out', out]),
      /--out .*c\.tfrecords already exists; pass --overwrite/,
    );
    expect(readFileSync(out).equals(before)).toBe(true);
    expect((await inProcess(['data', 'convert', 'synthetic:3:0:16', '--out', out, '--overwrite'])).stdout).toMatch(
      /wrote 3 samples/,
    );
  });

  it('an interrupted convert leaves no hidden temporary file', async () => {
    const dir = join(base, 'interrupted');
    mkdirSync(dir);
    const r = await runCli(
      ['data', 'convert', 'synthetic:5000:0:128', '--out', join(dir, 'big.tfrecords')],
      (child) => {
        const poll = setInterval(() => {
          if (readdirSync(dir).length > 0) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        }, 20);
        child.on('close', () => clearInterval(poll));
      },
    );
    expect(r.signal).toBe('SIGINT');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('synth refuses an existing dataset, and a folder it did not write even with --overwrite', async () => {
    const out = join(base, 'phantoms');
    expect((await inProcess(['data', 'synth', '--count', '2', '--size', '16', '--out', out])).code).toBe(0);
    const before = snapshot(out);
    expectOneLineFailure(
      await inProcess(['data', 'synth', '--count', '2', '--size', '24', '--out', out]),
      /already holds the output of an earlier 'lvseg data synth'; pass --overwrite/,
    );
    expect(snapshot(out)).toEqual(before);
    expect((await inProcess(['data', 'synth', '--count', '1', '--size', '24', '--out', out, '--overwrite'])).code).toBe(
      0,
    );
    expect(JSON.parse(readFileSync(join(out, 'synth.json'), 'utf8'))).toMatchObject({ count: 1, size: 24 });
    const real = join(base, 'real-dataset');
    cpSync(join(out, 'images'), join(real, 'images'), { recursive: true });
    expectOneLineFailure(
      await inProcess(['data', 'synth', '--count', '1', '--out', real, '--overwrite']),
      /--out .*real-dataset holds files 'lvseg data synth' did not write \(images\)/,
    );
  });
});

// Root writes anywhere, so a read-only folder is tried as the unprivileged user 'nobody' when the tests run as root.
const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
const canTryReadOnly = process.getuid?.() !== 0 || asNobody;

/** Runs a program without blocking the test worker, like runCli. */
function run(program: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe.skipIf(!canTryReadOnly)('read-only folders', () => {
  it('give one line naming the output, not a hidden temporary file', async () => {
    const ro = join(base, 'read-only');
    mkdirSync(ro);
    const argv = [
      join(process.cwd(), 'bin', 'lvseg.js'),
      'data',
      'synth',
      '--count',
      '1',
      '--size',
      '16',
      '--out',
      join(ro, 'phantoms'),
    ];
    chmodSync(base, 0o755);
    chmodSync(ro, 0o555);
    const r = asNobody
      ? await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...argv])
      : await run(process.execPath, argv);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toBe(
      `lvseg: cannot write --out ${join(ro, 'phantoms')}: ${ro} is not writable; pass another --out or fix the ` +
        `folder's permissions`,
    );
    expect(readdirSync(ro)).toEqual([]);
  });
});
