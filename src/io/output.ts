/**
 * The one rule of every command that writes: outputs are built in a temporary place beside their final
 * name and appear under it only when the command succeeded; an existing output is replaced only with
 * --overwrite; a folder holding anything the command did not write is refused. File-system failures
 * come out as one line naming the output the user asked for, never a hidden temporary name.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync, promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OutputError } from '../errors.js';
import { trackTemp } from './atomic.js';

export interface OutputOptions {
  /** The flag that named the output, for messages (`--out`). */
  flag: string;
  /** The command that writes it, for messages (`lvseg predict`). */
  command: string;
  /** Whether the user allowed an existing output to be replaced. */
  overwrite: boolean;
}

export interface OutputFolderOptions extends OutputOptions {
  /**
   * Which entries of the existing folder `dir` are this command's own earlier output: when all are,
   * --overwrite may replace the folder; any other entry makes it refused.
   */
  ownEntries(dir: string): (entry: string) => boolean;
}

let counter = 0;
function siblingTemp(path: string, kind: 'tmp' | 'old'): string {
  return join(dirname(resolve(path)), `.${basename(path)}.lvseg-${kind}-${process.pid}-${counter++}`);
}

/** Whether process `pid` is alive on this machine (one of another user counts as alive). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary twins of `path` that a killed lvseg (SIGKILL, a crash: no clean-up ran) left
 * beside it: `.NAME.lvseg-tmp|old-PID-N` whose process is gone. A running command's own are kept.
 */
export function removeStaleTemps(path: string): void {
  const dir = dirname(resolve(path));
  const prefix = `.${basename(path)}.lvseg-`;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const m = /^(?:tmp|old)-(\d+)-\d+$/.exec(entry.slice(prefix.length));
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1])))
      rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

const WRITE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENAMETOOLONG: 'the name is too long',
};

/**
 * An operating-system error met while writing `output` (or its temporary twin) as one line naming
 * `output`; other errors (bad input data, a failed computation) pass through unchanged.
 */
export function outputWriteError(err: unknown, output: string, options: OutputOptions): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || !(e.code in WRITE_ERRORS)) return err;
  // only failures on the output's side of the file system: an unreadable input keeps its own error
  const outputSide = dirname(resolve(output));
  if (typeof e.path === 'string' && !resolve(e.path).startsWith(outputSide)) return err;
  return new OutputError(
    `cannot write ${options.flag} ${output}: ${WRITE_ERRORS[e.code]}; pass another ${options.flag} or fix the ` +
      `folder's permissions`,
    { cause: err },
  );
}

/** Fails with a one-line message unless files can be created in the folder that will hold `path`. */
export function checkWritableLocation(path: string, options: OutputOptions): void {
  let dir = dirname(resolve(path));
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory())
    throw new OutputError(
      `cannot write ${options.flag} ${path}: ${dir} is a file, not a folder; pass another ${options.flag}`,
    );
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputError(
      `cannot write ${options.flag} ${path}: ${dir} is not writable; pass another ${options.flag} or fix the ` +
        `folder's permissions`,
    );
  }
}

/** What is in the way of writing the folder `dir`: nothing, an empty folder, or an earlier output of the same command.
 * */
export function checkOutputFolder(dir: string, options: OutputFolderOptions): 'new' | 'replace' {
  checkWritableLocation(dir, options);
  if (!existsSync(dir)) return 'new';
  if (!statSync(dir).isDirectory()) throw new OutputError(`${options.flag} ${dir} is a file; pass a folder`);
  const entries = readdirSync(dir);
  if (entries.length === 0) return 'replace';
  const own = options.ownEntries(dir);
  const foreign = entries.filter((e) => !own(e));
  if (foreign.length > 0) {
    throw new OutputError(
      `${options.flag} ${dir} holds files '${options.command}' did not write (${listSome(foreign)}); pass an empty ` +
        `or new folder`,
    );
  }
  if (!options.overwrite) {
    throw new OutputError(
      `${options.flag} ${dir} already holds the output of an earlier '${options.command}'; pass --overwrite to ` +
        `replace it, or another ${options.flag}`,
    );
  }
  return 'replace';
}

/** Fails unless the file `file` may be written: not a folder, and absent unless --overwrite. */
export function checkOutputFile(file: string, options: OutputOptions): void {
  checkWritableLocation(file, options);
  if (!existsSync(file)) return;
  if (statSync(file).isDirectory()) throw new OutputError(`${options.flag} ${file} is a folder; pass a file name`);
  if (!options.overwrite)
    throw new OutputError(
      `${options.flag} ${file} already exists; pass --overwrite to replace it, or another file name`,
    );
}

/** A few names of a folder's entries for a message. */
export function listSome(entries: readonly string[], n = 3): string {
  const sorted = [...entries].sort();
  return sorted.length <= n ? sorted.join(', ') : `${sorted.slice(0, n).join(', ')} and ${sorted.length - n} more`;
}

/** Outputs being built, by their temporary path: to name the real output when writing one fails. */
const building = new Map<string, { output: string; options: OutputOptions }>();

/**
 * An operating-system error met while a command was writing an output, as one line naming the output
 * (not its temporary twin); any other error unchanged. The CLI passes every failure through this.
 */
export function explainWriteError(err: unknown): unknown {
  const path = (err as NodeJS.ErrnoException | undefined)?.path;
  if (typeof path !== 'string') return err;
  for (const [tmp, { output, options }] of building) {
    if (resolve(path).startsWith(tmp)) return outputWriteError(err, output, options);
  }
  return err;
}

/** A folder of outputs being built: write under `path`, then `commit()`. */
export interface OutputFolder {
  /** The temporary folder to write into. */
  readonly path: string;
  /** Moves the folder into place (replacing an earlier output where allowed). */
  commit(): Promise<void>;
  /** Removes the temporary folder (also done on a signal, and by the CLI when a command fails). */
  abort(): void;
}

/**
 * Starts the folder `dir` as a temporary sibling; it appears under its name only on commit(), so on a
 * failure or a signal `dir` is as it was. An earlier output is replaced only where checkOutputFolder allows.
 */
export async function openOutputFolder(dir: string, options: OutputFolderOptions): Promise<OutputFolder> {
  const state = checkOutputFolder(dir, options);
  removeStaleTemps(dir);
  const tmp = siblingTemp(dir, 'tmp');
  const untrack = trackTemp(tmp);
  building.set(tmp, { output: dir, options });
  const done = (): void => {
    untrack();
    building.delete(tmp);
  };
  const abort = (): void => {
    rmSync(tmp, { recursive: true, force: true });
    done();
  };
  try {
    mkdirSync(tmp, { recursive: true }); // synchronous: see withAtomicTemp
  } catch (err) {
    abort();
    throw outputWriteError(err, dir, options);
  }
  return {
    path: tmp,
    abort,
    async commit() {
      try {
        if (state === 'replace') {
          const old = siblingTemp(dir, 'old');
          await fsp.rename(dir, old);
          await fsp.rename(tmp, dir);
          await fsp.rm(old, { recursive: true, force: true });
        } else {
          await fsp.rename(tmp, dir);
        }
      } catch (err) {
        abort();
        throw outputWriteError(err, dir, options);
      }
      done();
    },
  };
}

/** openOutputFolder around `write`: committed when it succeeds, removed when it fails. */
export async function withOutputFolder<T>(
  dir: string,
  options: OutputFolderOptions,
  write: (tmpDir: string) => Promise<T>,
): Promise<T> {
  const folder = await openOutputFolder(dir, options);
  try {
    const result = await write(folder.path);
    await folder.commit();
    return result;
  } catch (err) {
    folder.abort();
    throw explainWriteError(err);
  }
}

/**
 * Writes the files `files` through `write`, which gets one temporary path per file; all of them are
 * renamed into place only when `write` succeeded, so a failure leaves none of them.
 */
export async function withOutputFiles<T>(
  files: readonly string[],
  options: OutputOptions,
  write: (tmps: string[]) => Promise<T>,
): Promise<T> {
  for (const f of files) checkOutputFile(f, options);
  for (const f of files) removeStaleTemps(f);
  const tmps = files.map((f) => siblingTemp(f, 'tmp'));
  const untracks = tmps.map((t) => trackTemp(t));
  try {
    for (const f of files) mkdirSync(dirname(resolve(f)), { recursive: true });
    const result = await write(tmps);
    for (let i = 0; i < files.length; i++) await fsp.rename(tmps[i]!, files[i]!);
    return result;
  } catch (err) {
    for (const t of tmps) rmSync(t, { force: true });
    throw outputWriteError(err, files[0]!, options);
  } finally {
    for (const u of untracks) u();
  }
}

/** Writes one output file atomically under the rule (see withOutputFiles). */
export async function writeOutputFile(file: string, data: string | Uint8Array, options: OutputOptions): Promise<void> {
  await withOutputFiles([file], options, ([tmp]) => fsp.writeFile(tmp!, data));
}
