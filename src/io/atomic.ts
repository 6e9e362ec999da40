import { promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';

let counter = 0;
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/**
 * Runs `write` on a temporary file beside `path`, then renames it over `path`, so readers never see
 * half a file; on failure the temporary file is removed and the error rethrown.
 */
export async function withAtomicTemp(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    await write(tmp);
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Writes a file atomically (see withAtomicTemp). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await withAtomicTemp(path, (tmp) => fsp.writeFile(tmp, data));
}

/**
 * Writes a folder of files at once: all of them into a temporary folder beside `dir`, then renamed to
 * `dir`, so `dir` holds either the complete new set or (on failure) what it held before. An existing
 * `dir` is replaced whole.
 */
export async function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const tmp = tempPath(dir);
  await fsp.mkdir(tmp, { recursive: true });
  try {
    for (const [name, data] of Object.entries(files)) await fsp.writeFile(join(tmp, name), data);
    let old: string | undefined;
    try {
      old = tempPath(dir);
      await fsp.rename(dir, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      old = undefined;
    }
    try {
      await fsp.rename(tmp, dir);
    } catch (err) {
      if (old) await fsp.rename(old, dir);
      throw err;
    }
    if (old) await fsp.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
