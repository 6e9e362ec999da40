import { mkdirSync, renameSync, rmSync, promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';

let counter = 0;
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/**
 * Clean-ups of work in flight (temporary files and folders, a new run that has no checkpoint yet). A
 * signal ends the process without unwinding its promises, so these run synchronously from a SIGINT or
 * SIGTERM listener (an interrupted `data convert` once left 50–100 MB hidden files behind). The CLI
 * opts in (cleanUpOnSignals); the listeners are there only while something is in flight, so at other
 * times a signal ends the process as it always would, and a library caller's own handling is untouched.
 */
const inFlight = new Set<() => void>();
let signalsEnabled = false;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const listeners = new Map(
  SIGNALS.map((signal) => [
    signal,
    () => {
      runInterruptCleanups();
      // the listener is gone now: the same signal ends the process as it would have (exit status 128 + n)
      process.kill(process.pid, signal);
    },
  ]),
);

function syncSignalListeners(): void {
  const wanted = signalsEnabled && inFlight.size > 0;
  for (const [signal, listener] of listeners) {
    const present = process.listeners(signal).includes(listener);
    if (wanted && !present) process.on(signal, listener);
    if (!wanted && present) process.removeListener(signal, listener);
  }
}

/** Runs the clean-ups in flight when SIGINT or SIGTERM arrives, before the signal ends the process. */
export function cleanUpOnSignals(): void {
  signalsEnabled = true;
  syncSignalListeners();
}

/** Registers a synchronous clean-up to run if the process is interrupted; returns its unregister. */
export function onInterrupt(cleanup: () => void): () => void {
  inFlight.add(cleanup);
  syncSignalListeners();
  return () => {
    inFlight.delete(cleanup);
    syncSignalListeners();
  };
}

/** Registers a temporary path to remove if the process is interrupted; returns its unregister. */
export function trackTemp(path: string): () => void {
  return onInterrupt(() => rmSync(path, { recursive: true, force: true }));
}

/** Runs every clean-up still registered (synchronous, never throws): on a signal, and when a command fails. */
export function runInterruptCleanups(): void {
  const cleanups = [...inFlight].reverse();
  inFlight.clear();
  syncSignalListeners();
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // best effort: the process is ending or the command has failed already
    }
  }
}

/**
 * Runs `write` on a temporary file beside `path`, then renames it over `path`, so readers never see
 * half a file; on failure (or a signal) the temporary file is removed and the error rethrown.
 */
export async function withAtomicTemp(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  // synchronous, as every folder made for a write in flight: an asynchronous mkdir -p runs on libuv's thread
  // pool and could re-create a folder after a signal's clean-up (on the main thread) removed it
  mkdirSync(dirname(path), { recursive: true });
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

/**
 * Writes a folder of files at once: all of them into a temporary folder beside `dir`, then renamed to
 * `dir`, so `dir` holds either the complete new set or (on failure or a signal) what it held before. An
 * existing `dir` is replaced whole. The two renames are synchronous, so no signal falls between them.
 */
export async function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const tmp = tempPath(dir);
  const old = tempPath(dir);
  const untrack = onInterrupt(() => {
    for (const path of [tmp, old]) rmSync(path, { recursive: true, force: true });
  });
  try {
    mkdirSync(tmp, { recursive: true });
    for (const [name, data] of Object.entries(files)) await fsp.writeFile(join(tmp, name), data);
    const replaced = renameIfPresent(dir, old);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (replaced) renameSync(old, dir);
      throw err;
    }
    if (replaced) await fsp.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    untrack();
  }
}

function renameIfPresent(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
