import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors.js';
import { runInterruptCleanups } from '../../src/io/atomic.js';
import {
  checkOutputFile,
  explainWriteError,
  openOutputFolder,
  outputWriteError,
  withOutputFiles,
  withOutputFolder,
  type OutputFolderOptions,
} from '../../src/io/output.js';

const base = mkdtempSync(join(tmpdir(), 'lvseg-output-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A command whose own outputs are the files named out-*.txt. */
const options = (overwrite = false): OutputFolderOptions => ({
  flag: '--out',
  command: 'lvseg test',
  overwrite,
  ownEntries: () => (e) => e.startsWith('out-'),
});
const fresh = (name: string): string => join(base, name);

describe('output folders', () => {
  it('appear under their name only on commit, with nothing left beside them', async () => {
    const dir = fresh('a');
    const folder = await openOutputFolder(dir, options());
    writeFileSync(join(folder.path, 'out-1.txt'), 'one');
    expect(existsSync(dir)).toBe(false);
    await folder.commit();
    expect(readdirSync(dir)).toEqual(['out-1.txt']);
    expect(readdirSync(base).filter((e) => e.includes('lvseg-'))).toEqual([]);
  });

  it('leave no trace when the writing fails, and the error is passed on', async () => {
    const dir = fresh('b');
    await expect(
      withOutputFolder(dir, options(), async (tmp) => {
        writeFileSync(join(tmp, 'out-1.txt'), 'one');
        throw new Error('input 3 is corrupt');
      }),
    ).rejects.toThrow('input 3 is corrupt');
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(base).filter((e) => e.includes('lvseg-'))).toEqual([]);
  });

  it('refuse an earlier output without --overwrite and replace it with', async () => {
    const dir = fresh('c');
    await withOutputFolder(dir, options(), async (tmp) => writeFileSync(join(tmp, 'out-1.txt'), 'first'));
    await expect(withOutputFolder(dir, options(), async () => {})).rejects.toThrow(
      /--out .*c already holds the output of an earlier 'lvseg test'; pass --overwrite to replace it/,
    );
    expect(readFileSync(join(dir, 'out-1.txt'), 'utf8')).toBe('first');
    await withOutputFolder(dir, options(true), async (tmp) => writeFileSync(join(tmp, 'out-2.txt'), 'second'));
    expect(readdirSync(dir)).toEqual(['out-2.txt']);
  });

  it('refuse a folder holding anything else, even with --overwrite, naming only what is foreign', async () => {
    const dir = fresh('d');
    mkdirSync(dir);
    writeFileSync(join(dir, 'out-1.txt'), 'ours');
    writeFileSync(join(dir, 'labels.csv'), 'theirs');
    const err = await withOutputFolder(dir, options(true), async () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(
      /--out .*d holds files 'lvseg test' did not write \(labels\.csv\); pass an empty or new folder$/,
    );
    expect(readdirSync(dir).sort()).toEqual(['labels.csv', 'out-1.txt']);
  });

  it('fill an existing empty folder, and refuse a file or a path under a file', async () => {
    const dir = fresh('e');
    mkdirSync(dir);
    await withOutputFolder(dir, options(), async (tmp) => writeFileSync(join(tmp, 'out-1.txt'), 'x'));
    expect(readdirSync(dir)).toEqual(['out-1.txt']);
    const file = fresh('f.txt');
    writeFileSync(file, 'x');
    await expect(openOutputFolder(file, options())).rejects.toThrow(/--out .*f\.txt is a file; pass a folder/);
    await expect(openOutputFolder(join(file, 'sub'), options())).rejects.toThrow(
      /cannot write --out .*sub: .*f\.txt is a file, not a folder/,
    );
  });

  it('are removed by the interrupt clean-up (what SIGINT and SIGTERM run)', async () => {
    const dir = fresh('g');
    const folder = await openOutputFolder(dir, options());
    writeFileSync(join(folder.path, 'out-1.txt'), 'half');
    expect(existsSync(folder.path)).toBe(true);
    runInterruptCleanups();
    expect(existsSync(folder.path)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('output files', () => {
  it('are refused when they exist (unless --overwrite) or are folders', () => {
    const file = fresh('h.csv');
    writeFileSync(file, 'mine');
    const o = { flag: '--per-image', command: 'lvseg evaluate', overwrite: false };
    expect(() => checkOutputFile(file, o)).toThrow(
      /--per-image .*h\.csv already exists; pass --overwrite to replace it, or another file name/,
    );
    expect(() => checkOutputFile(file, { ...o, overwrite: true })).not.toThrow();
    expect(() => checkOutputFile(base, { ...o, overwrite: true })).toThrow(
      /--per-image .* is a folder; pass a file name/,
    );
  });

  it('appear all together or not at all', async () => {
    const [a, b] = [fresh('i-train.tfrecords'), fresh('i-val.tfrecords')];
    const o = { flag: '--out', command: 'lvseg data convert', overwrite: false };
    await expect(
      withOutputFiles([a, b], o, async ([ta]) => {
        writeFileSync(ta!, 'train');
        throw new Error('sample 7 is corrupt');
      }),
    ).rejects.toThrow('sample 7 is corrupt');
    expect([existsSync(a), existsSync(b)]).toEqual([false, false]);
    await withOutputFiles([a, b], o, async ([ta, tb]) => {
      writeFileSync(ta!, 'train');
      writeFileSync(tb!, 'val');
    });
    expect([readFileSync(a, 'utf8'), readFileSync(b, 'utf8')]).toEqual(['train', 'val']);
    expect(readdirSync(base).filter((e) => e.includes('lvseg-'))).toEqual([]);
  });
});

describe('write errors', () => {
  const systemError = (code: string, path: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: open '${path}'`), { code, path, syscall: 'open' });

  it('name the output the user asked for, not its hidden temporary twin', async () => {
    const dir = fresh('j');
    const folder = await openOutputFolder(dir, options());
    const err = explainWriteError(systemError('EACCES', join(folder.path, 'out-1.txt')));
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toBe(
      `cannot write --out ${dir}: permission denied; pass another --out or fix the folder's permissions`,
    );
    expect(
      (outputWriteError(systemError('ENOSPC', join(base, 'k.csv')), join(base, 'k.csv'), options()) as Error).message,
    ).toMatch(/: the disk is full;/);
    folder.abort();
  });

  it('leave errors of inputs and of computations as they are', () => {
    const input = systemError('EACCES', '/data/elsewhere/image.png');
    expect(outputWriteError(input, join(base, 'out'), options())).toBe(input);
    const plain = new Error('loss became NaN');
    expect(explainWriteError(plain)).toBe(plain);
  });
});
