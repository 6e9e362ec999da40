/**
 * Where jobs run: in this process, in K local worker processes, or (queue.ts) on a Redis queue that
 * workers on any machine take jobs from. A study (search, CV, batch predict) only sees JobRunner.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LvsegError } from '../errors.js';
import { onInterrupt } from '../io/atomic.js';
import { PACKAGE_ROOT } from '../paths.js';
import { runJob, type Job, type JobResult, type WorkerPlace } from './jobs.js';

/** A job's outcome as the study records it: its result, or why it failed. */
export type JobOutcome = { ok: true; result: JobResult } | { ok: false; error: string };

export interface JobRunner {
  /** Runs the jobs; `onOutcome` is called once per job as it finishes (in any order). */
  run(jobs: readonly Job[], onOutcome: (job: Job, outcome: JobOutcome) => Promise<void>): Promise<void>;
  /** Frees the runner's processes or connections. */
  close(): Promise<void>;
  /** How the runner is described in logs, e.g. `2 local workers x 1 thread`. */
  description: string;
}

/** A job's error as one line: lvseg's own errors as they are, others with their class. */
export function errorLine(err: unknown): string {
  if (err instanceof LvsegError) return err.message;
  return err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
}

/** Runs jobs one after another in this process. */
export function inProcessRunner(place: WorkerPlace = {}): JobRunner {
  return {
    description: 'this process',
    async run(jobs, onOutcome) {
      for (const job of jobs) {
        let outcome: JobOutcome;
        try {
          outcome = { ok: true, result: await runJob(job, place) };
        } catch (err) {
          outcome = { ok: false, error: errorLine(err) };
        }
        await onOutcome(job, outcome);
      }
    },
    async close() {},
  };
}

/**
 * Threads per worker so that `workers` × threads does not exceed the cores: oneDNN's OpenMP pool and
 * the wasm backend otherwise each assume the whole machine.
 */
export function threadsPerWorker(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers));
}

/** The environment that pins a worker process to `threads` threads. */
export function threadEnv(threads: number): Record<string, string> {
  return { OMP_NUM_THREADS: String(threads) };
}

/** The child side of the local pool (dist/, as the CLI runs from there). */
const LOCAL_WORKER = join(PACKAGE_ROOT, 'dist', 'src', 'workflows', 'local-worker.js');

/**
 * Runs jobs in `workers` child processes on this machine, each given `threads` threads; a process
 * takes the next job when it finishes one. A child that dies fails its job (and is replaced).
 */
export function localPoolRunner(
  workers: number,
  place: WorkerPlace = {},
  threads = threadsPerWorker(workers),
): JobRunner {
  const children = new Set<ChildProcess>();
  // a signal to the coordinator (not only a Ctrl-C to the whole process group) stops its workers too
  let untrack: (() => void) | undefined;
  const spawnChild = (): ChildProcess => {
    const child = fork(LOCAL_WORKER, [], {
      env: { ...process.env, ...threadEnv(threads) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.add(child);
    untrack ??= onInterrupt(() => {
      for (const c of children) c.kill('SIGTERM');
    });
    child.on('exit', () => {
      children.delete(child);
      if (children.size === 0) {
        untrack?.();
        untrack = undefined;
      }
    });
    return child;
  };
  return {
    description:
      `${workers} local worker process${workers === 1 ? '' : 'es'} x ` + `${threads} thread${threads === 1 ? '' : 's'}`,
    async run(jobs, onOutcome) {
      const queue = [...jobs];
      const lane = async (): Promise<void> => {
        let child = spawnChild();
        for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
          const outcome = await new Promise<JobOutcome>((resolve) => {
            const onMessage = (message: JobOutcome | { log: string }): void => {
              if ('log' in message) {
                place.log?.(message.log);
                return;
              }
              cleanup();
              resolve(message);
            };
            const onExit = (code: number | null, signal: string | null): void => {
              cleanup();
              resolve({
                ok: false,
                error: `worker process ${child.pid} ended (${signal ?? `exit ${code}`}) during ${job!.name}`,
              });
            };
            const cleanup = (): void => {
              child.off('message', onMessage);
              child.off('exit', onExit);
            };
            child.on('message', onMessage);
            child.on('exit', onExit);
            child.send({ job, place: { out: place.out, log: place.log !== undefined } });
          });
          if (!outcome.ok && child.exitCode !== null) child = spawnChild();
          await onOutcome(job, outcome);
        }
        child.disconnect();
      };
      await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, lane));
    },
    async close() {
      for (const child of children) child.kill();
    },
  };
}
