/**
 * The run directory: its layout and the shapes of its files. Every layer that reads or writes a run goes
 * through here, so the layout is declared once. It imports nothing from the layers that fill a run: they
 * name the full type of a file they read back (RunConfig, ModelSummary, EvaluationDocument).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, OutputError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkWritableLocation, listSome } from '../io/output.js';

/** The JSON files of a run, by what they hold. */
export const RUN_FILES = {
  /** The resolved configuration, versions, seed and backend: enough to resume, evaluate or report. */
  config: 'config.json',
  /** The Keras-style model summary. */
  summary: 'summary.json',
  /** Per-epoch logs, rewritten after every epoch. */
  history: 'history.json',
  /** The final model on the validation set. */
  evaluation: 'evaluation.json',
} as const;

/** The other parts of a run. */
export const RUN_PARTS = {
  report: 'report.html',
  /** The final model (TF.js layers format). */
  model: 'model',
  /** The model of the best epoch by val_dice, with best.json. */
  best: 'best',
  checkpoints: 'checkpoints',
  /** The display panel of every epoch: epoch-NNN.png. */
  panels: 'panels',
  /** The best and worst validation images of the final model. */
  samples: 'samples',
  /** TensorBoard event files: logs/train, logs/validation. */
  logs: 'logs',
  /** `lvseg volumes --out RUN/volumes`: LV volumes and EF of a cine series. */
  volumes: 'volumes',
} as const;

export type RunFile = keyof typeof RUN_FILES;
export type RunPart = keyof typeof RUN_PARTS;

/** `RUN/history.json`: per epoch the loop's logs (`loss`, `val_dice`, …, EpochLogs) and the epoch. */
export interface HistoryFile {
  epochs: (Record<string, number> & { epoch: number })[];
}

/**
 * What the run directory knows of each JSON file of a run: the shape it checks on reading. A reader
 * that needs more names the file's full type, `readRunFile<'config', RunConfig>(dir, 'config')`.
 */
export interface RunFileTypes {
  /** RunConfig (training/config.ts). */
  config: object;
  /** ModelSummary (models/summary.ts). */
  summary: { layers: unknown[] };
  history: HistoryFile;
  /** EvaluationDocument (evaluation/evaluate.ts). */
  evaluation: { perImage: unknown[] };
}

/** The path of a file or folder of the run in `runDir`. */
export function runPath(runDir: string, part: RunFile | RunPart): string {
  return join(runDir, part in RUN_FILES ? RUN_FILES[part as RunFile] : RUN_PARTS[part as RunPart]);
}

/** Whether `dir` holds a run (its config.json or history.json). */
export function isRunDir(dir: string): boolean {
  return existsSync(runPath(dir, 'config')) || existsSync(runPath(dir, 'history'));
}

/** Shape checks of what is read back: a file another program wrote must not crash a reader later. */
const SHAPE_CHECKS: { [K in RunFile]: (value: unknown) => string | undefined } = {
  config: (v) => (isObject(v) ? undefined : 'expected a JSON object'),
  summary: (v) => (isObject(v) && Array.isArray(v.layers) ? undefined : 'expected {layers: [...], totalParams, ...}'),
  history: (v) =>
    isObject(v) && Array.isArray(v.epochs) ? undefined : "field 'epochs' must be a list of per-epoch objects",
  evaluation: (v) =>
    isObject(v) &&
    (typeof v.meanDice === 'number' || v.meanDice === null || isObject(v.metrics)) &&
    Array.isArray(v.perImage)
      ? undefined
      : 'expected the metrics (meanDice, …) and perImage: [...]',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads one JSON file of a run, or undefined when the run has not written it. A file that is not
 * JSON, or not of the file's shape, is a CheckpointError naming it. `T`: the file's full type, when
 * the caller knows it.
 */
export function readRunFile<K extends RunFile, T extends RunFileTypes[K] = RunFileTypes[K]>(
  runDir: string,
  file: K,
): T | undefined {
  const path = runPath(runDir, file);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CheckpointError(
      `${path} is not valid JSON (${(err as Error).message}); re-run the step that writes it or delete the file`,
      { cause: err },
    );
  }
  const problem = SHAPE_CHECKS[file](value);
  if (problem) throw new CheckpointError(`${path}: ${problem}; is it a file lvseg wrote?`);
  // evaluation.json of runs written before the metrics moved to its top level: {metrics, perImage}
  if (file === 'evaluation' && isObject((value as Record<string, unknown>).metrics)) {
    const { metrics, ...rest } = value as Record<string, unknown>;
    value = { ...(metrics as object), ...rest };
  }
  return value as T;
}

/** Writes one JSON file of a run atomically. */
export async function writeRunFile<K extends RunFile>(runDir: string, file: K, value: RunFileTypes[K]): Promise<void> {
  await writeFileAtomic(runPath(runDir, file), JSON.stringify(value, null, 2));
}

/** The run's history, empty when it has none yet. */
export function readHistory(runDir: string): HistoryFile {
  return readRunFile(runDir, 'history') ?? { epochs: [] };
}

/** Fails unless `runDir` is a directory holding a run. */
export function checkRunDir(runDir: string): void {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) {
    throw new CheckpointError(`run directory ${runDir} not found; pass the folder that 'lvseg train --out' wrote`);
  }
  if (!isRunDir(runDir)) {
    throw new CheckpointError(
      `${runDir} has neither config.json nor history.json; is it a run directory written by 'lvseg train'?`,
    );
  }
}

/**
 * Fails unless `runDir` can take a new run: absent or an empty folder (a folder with another program's
 * history.json or report.html is refused, not overwritten). Returns whether the folder exists.
 */
export function checkNewRunDir(runDir: string): boolean {
  checkWritableLocation(runDir, { flag: '--out', command: 'lvseg train', overwrite: false });
  if (!existsSync(runDir)) return false;
  if (!statSync(runDir).isDirectory()) throw new OutputError(`--out ${runDir} is a file; pass a folder for the run`);
  const entries = readdirSync(runDir);
  if (entries.length === 0) return true;
  if (entries.includes(RUN_FILES.config)) {
    throw new UsageError(`${runDir} already holds a run; continue it with --resume ${runDir}, or pass another --out`);
  }
  throw new OutputError(
    `--out ${runDir} holds files 'lvseg train' did not write (${listSome(entries)}); pass an empty or new folder`,
  );
}

/** Removes what a new run wrote: the whole folder, or only its contents when the folder was there before. */
export function discardNewRun(runDir: string, existed: boolean): void {
  // retries: a write still in flight (an atomic file's temporary) can land between listing and removing
  const gone = { recursive: true, force: true, maxRetries: 5, retryDelay: 20 };
  if (!existed) {
    rmSync(runDir, gone);
    return;
  }
  if (!existsSync(runDir)) return;
  for (const entry of readdirSync(runDir)) rmSync(join(runDir, entry), gone);
}
