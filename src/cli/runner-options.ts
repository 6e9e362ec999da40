import { availableParallelism } from 'node:os';
import { UsageError } from '../errors.js';
import { DEFAULT_LOST_AFTER_MS, queueRunner } from '../workflows/queue.js';
import { inProcessRunner, localPoolRunner, threadsPerWorker, type JobRunner } from '../workflows/runners.js';
import type { OptionSpec, ParsedArgs } from './options.js';

/** How long a queue's Redis may stay away before the command exits 1 with one line. */
export const QUEUE_TIMEOUT_OPTION: OptionSpec = {
  name: 'queue-timeout',
  type: 'number',
  value: 'S',
  description: 'seconds Redis may stay away (after the start) before the command gives up with exit 1',
  default: DEFAULT_LOST_AFTER_MS / 1000,
};

/** --queue-timeout in milliseconds, checked. */
export function queueTimeoutMs(args: ParsedArgs): number {
  const s = args.options['queue-timeout'] as number;
  if (!Number.isFinite(s) || s < 1 || s > 86_400)
    throw new UsageError(`--queue-timeout takes seconds (1 to 86400), not ${s}`);
  return s * 1000;
}

/** The options of commands that run jobs (search, cv, predict --queue): where the jobs run. */
export const RUNNER_OPTIONS: OptionSpec[] = [
  {
    name: 'workers',
    type: 'number',
    value: 'K',
    description: 'local worker processes running jobs side by side (1: in this process)',
    default: 1,
  },
  {
    name: 'threads',
    type: 'number',
    value: 'N',
    description: `threads per local worker (default: cores / K; this machine has ${availableParallelism()})`,
    default: 0,
  },
  {
    name: 'queue',
    type: 'string',
    value: 'URL',
    description: "put the jobs on a Redis queue (redis://HOST:PORT) for 'lvseg worker' processes on any machine",
    default: '',
  },
  {
    name: 'queue-name',
    type: 'string',
    value: 'NAME',
    description: 'the queue in Redis (workers must use the same)',
    default: 'lvseg',
  },
  QUEUE_TIMEOUT_OPTION,
];

/** The JobRunner the runner options ask for. */
export async function runnerFromArgs(args: ParsedArgs, log: (line: string) => void): Promise<JobRunner> {
  const workers = args.options.workers as number;
  const threads = args.options.threads as number;
  if (!Number.isInteger(workers) || workers < 1)
    throw new UsageError(`--workers takes a positive integer, not ${workers}`);
  if (!Number.isInteger(threads) || threads < 0)
    throw new UsageError(`--threads takes a positive integer (0: cores / workers), not ${threads}`);
  const queue = args.options.queue as string;
  if (queue) {
    if (args.given.has('workers'))
      throw new UsageError(
        "--workers is for local workers; with --queue, start 'lvseg worker --queue URL' processes instead",
      );
    return queueRunner(queue, {
      queueName: args.options['queue-name'] as string,
      log,
      lostAfterMs: queueTimeoutMs(args),
    });
  }
  if (workers === 1 && threads === 0) return inProcessRunner({ log });
  return localPoolRunner(workers, { log }, threads || threadsPerWorker(workers));
}
