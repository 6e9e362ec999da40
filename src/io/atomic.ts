import { rmSync, promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';

let counter = 0;
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/**
 * Clean-ups of work in flight (temporary files and folders, a new run that has no checkpoint yet). A
 * signal ends the process without unwinding its promises, so the CLI's SIGINT/SIGTERM handler runs
 * these synchronously (an interrupted `data convert` once left 50–100 MB hidden files behind).
 */
const inFlight = new Set<() => void>();

/** Registers a synchronous clean-up to run if the process is interrupted; returns its unregister. */
export function onInterrupt(cleanup: () => void): () => void {
  inFlight.add(cleanup);
  return () => void inFlight.delete(cleanup);
}

/** Registers a temporary path to remove if the process is interrupted; returns its unregister. */
export function trackTemp(path: string): () => void {
  return onInterrupt(() => rmSync(path, { recursive: true, force: true }));
}

/** Runs every clean-up still registered (for signal handlers: synchronous, never throws). */
export function runInterruptCleanups(): void {
  for (const cleanup of [...inFlight].reverse()) {
    try {
      cleanup();
    } catch {
      // best effort: the process is ending
    }
  }
  inFlight.clear();
}

/**
 * Runs `write` on a temporary file beside `path`, then renames it over `path`, so readers never see
 * half a file; on failure (or a signal) the temporary file is removed and the error rethrown.
 */
export async function withAtomicTemp(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  const untrack = trackTemp(tmp);
  try {
    await write(tmp);
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  } finally {
    untrack();
  }
}

/** Writes a file atomically (see withAtomicTemp). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await withAtomicTemp(path, (tmp) => fsp.writeFile(tmp, data));
}
