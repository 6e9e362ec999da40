/**
 * A study folder (a search or a cross-validation): OUT/study.json names it, OUT/jobs/ journals every
 * finished job's outcome (so a restarted coordinator never runs a finished job again), and each
 * training job is an ordinary run directory OUT/<name>: the worker's own when it can see OUT, else a
 * record (config, history, evaluation) written here from the result the worker sent back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { mean } from '../imaging/statistics.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkOutputFolder } from '../io/output.js';
import { writeRunFile } from '../runs/run-dir.js';
import { jobKey, STUDY_FILE, type Job, type TrainJobResult } from './jobs.js';
import type { JobOutcome, JobRunner } from './runners.js';
import { runStamp } from './train-run.js';

export interface StudyFile {
  id: string;
  kind: 'search' | 'cv';
  createdAt: string;
}

const JOURNAL = 'jobs';

/**
 * Creates the study folder `out`, or with `resume` opens the one there. The folder's id ties jobs,
 * queue entries and worker folders to this study. `extra` is what the study records to resume itself.
 */
export async function openStudy<T extends object>(
  out: string,
  kind: StudyFile['kind'],
  resume: boolean,
  extra: () => T | Promise<T>,
): Promise<StudyFile & T> {
  const file = join(out, STUDY_FILE);
  if (existsSync(file)) {
    if (!resume)
      throw new UsageError(`${out} already holds a ${kind}; continue it with --resume, or pass another --out`);
    const study = JSON.parse(readFileSync(file, 'utf8')) as StudyFile & T;
    if (study.kind !== kind) throw new UsageError(`${out} holds a ${study.kind}, not a ${kind}`);
    return study;
  }
  if (resume)
    throw new UsageError(`${out}: no ${STUDY_FILE}, so nothing to resume; drop --resume to start the ${kind}`);
  // a study grows in place (to be resumable), so, as for a run, only a new or empty folder is taken
  checkOutputFolder(out, { flag: '--out', command: `lvseg ${kind}`, overwrite: false, ownEntries: () => () => false });
  mkdirSync(out, { recursive: true });
  const study = {
    id: `${kind}-${runStamp()}-${randomBytes(3).toString('hex')}`,
    kind,
    createdAt: new Date().toISOString(),
    ...(await extra()),
  };
  await writeFileAtomic(file, JSON.stringify(study, null, 2) + '\n');
  return study;
}

/** The study's out folder as jobs carry it (absolute, so a worker on this disk finds it). */
export function studyRef(study: StudyFile, out: string): { id: string; out: string } {
  return { id: study.id, out: resolve(out) };
}

function journalFile(out: string, job: Job): string {
  return join(out, JOURNAL, `${jobKey(job)}.json`);
}

/**
 * Runs the jobs that have no successful outcome in the journal yet and journals each outcome;
 * `onOutcome` sees every job once: the journaled ones first, then the others as they finish.
 */
export async function runStudyJobs(
  out: string,
  jobs: readonly Job[],
  runner: JobRunner,
  onOutcome: (job: Job, outcome: JobOutcome) => Promise<void>,
): Promise<void> {
  const todo: Job[] = [];
  for (const job of jobs) {
    const file = journalFile(out, job);
    const journaled = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as JobOutcome) : undefined;
    if (journaled?.ok) await onOutcome(job, journaled);
    else todo.push(job);
  }
  if (todo.length === 0) return;
  await runner.run(todo, async (job, outcome) => {
    await writeFileAtomic(journalFile(out, job), JSON.stringify(outcome));
    await onOutcome(job, outcome);
  });
}

/**
 * The run directory of a finished training job on this machine: the worker's own when it wrote into
 * the study folder, else OUT/<name> holding the config, history and evaluation the worker sent back
 * (its model stays with the worker: result.host, result.runDir).
 */
export async function recordRun(out: string, result: TrainJobResult): Promise<string> {
  if (result.shared && existsSync(result.runDir)) return result.runDir;
  const dir = join(out, result.name);
  mkdirSync(dir, { recursive: true });
  await writeRunFile(dir, 'config', result.config);
  await writeRunFile(dir, 'history', { epochs: result.history.map((e, epoch) => ({ epoch, ...e })) });
  if (result.evaluation) await writeRunFile(dir, 'evaluation', result.evaluation);
  return dir;
}

/** Mean and sample standard deviation (n - 1); sd is NaN for fewer than two values. */
export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const finite = values.filter((v) => Number.isFinite(v));
  const m = mean(finite);
  const sd = finite.length < 2 ? NaN : Math.sqrt(finite.reduce((a, b) => a + (b - m) ** 2, 0) / (finite.length - 1));
  return { mean: m, sd };
}
