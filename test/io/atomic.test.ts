import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onInterrupt, runInterruptCleanups, withAtomicTemp, writeDirAtomic } from '../../src/io/atomic.js';
import { tempDir } from '../temp.js';

const big = new Uint8Array(8 << 20).fill(7);

describe('writeDirAtomic', () => {
  it('replaces a folder whole and leaves nothing beside it', async () => {
    const base = tempDir('lvseg-atomic-');
    const dir = join(base, 'checkpoint');
    mkdirSync(dir);
    writeFileSync(join(dir, 'stale.bin'), 'x');
    await writeDirAtomic(dir, { 'a.json': '{"a":1}', 'b.bin': new Uint8Array([1, 2, 3]) });
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.bin']);
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{"a":1}');
    expect(readdirSync(base)).toEqual(['checkpoint']);
  });

  it('keeps the old set when a signal interrupts the write', async () => {
    const base = tempDir('lvseg-atomic-');
    const dir = join(base, 'checkpoint');
    mkdirSync(dir);
    writeFileSync(join(dir, 'old.json'), 'old');
    const writing = writeDirAtomic(dir, { 'weights.bin': big, 'more.bin': big });
    // what the SIGINT/SIGTERM listener runs, while the files are being written
    runInterruptCleanups();
    await expect(writing).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(['old.json']);
    expect(readdirSync(base)).toEqual(['checkpoint']);
  });
});

describe('withAtomicTemp', () => {
  it('makes the folder, and on failure leaves neither the file nor its temporary', async () => {
    const base = tempDir('lvseg-atomic-');
    const path = join(base, 'run', 'history.json');
    await withAtomicTemp(path, async (tmp) => writeFileSync(tmp, '[]'));
    expect(readFileSync(path, 'utf8')).toBe('[]');
    const failing = withAtomicTemp(join(base, 'run', 'report.html'), async (tmp) => {
      writeFileSync(tmp, 'half');
      throw new Error('disk full');
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(readdirSync(join(base, 'run'))).toEqual(['history.json']);
  });

  it('does not bring back a folder that a signal removed while the write was starting', async () => {
    const base = tempDir('lvseg-atomic-');
    const run = join(base, 'run');
    // a new run's clean-up, registered as train-run registers it
    const untrack = onInterrupt(() => rmSync(run, { recursive: true, force: true }));
    const writing = withAtomicTemp(join(run, 'panels', 'epoch-001.png'), async (tmp) => {
      await new Promise((r) => setTimeout(r, 20));
      writeFileSync(tmp, 'png');
    });
    runInterruptCleanups();
    untrack();
    await expect(writing).rejects.toThrow(/ENOENT/);
    expect(readdirSync(base)).toEqual([]);
  });
});
