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
