/**
 * Jobs on a BullMQ queue in Redis: the coordinator (a search, CV or batch predict) adds its jobs and
 * collects their results from Redis; `lvseg worker` processes on any machine take jobs and run them.
 * Results travel back through Redis, so the coordinator needs no disk shared with the workers.
 */
import { connect } from 'node:net';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { QueueError } from '../errors.js';
import { jobKey, runJob, type Job, type JobResult, type WorkerPlace } from './jobs.js';
import { errorLine, type JobOutcome, type JobRunner } from './runners.js';

/** The queue's name in Redis unless --queue-name says otherwise. */
export const DEFAULT_QUEUE_NAME = 'lvseg';

/** How long to wait for Redis to answer before giving up with one line (generous: a busy machine is slow to schedule
 * us). */
const CONNECT_TIMEOUT_MS = 5000;

/** How long Redis may stay away once connected before a coordinator or worker gives up (--queue-timeout). */
export const DEFAULT_LOST_AFTER_MS = 30_000;

export interface RedisAddress {
  host: string;
  port: number;
  password?: string;
  db: number;
  url: string;
}

/** Parses `redis://[:PASSWORD@]HOST[:PORT][/DB]`. */
export function parseRedisUrl(url: string): RedisAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueError(`--queue ${url}: not a URL; pass redis://HOST:PORT`);
  }
  if (parsed.protocol !== 'redis:') throw new QueueError(`--queue ${url}: only redis://HOST:PORT queues are supported`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw new QueueError(`--queue ${url}: '${parsed.pathname.slice(1)}' is not a Redis database number`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db,
    url,
  };
}

/**
 * Checks that Redis answers PING within a few seconds. BullMQ's client retries forever, so without
 * this an unreachable server would hang the command instead of failing with one line.
 */
export async function checkRedis(address: RedisAddress, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  const where = `Redis at ${address.host}:${address.port} (--queue ${address.url})`;
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    const fail = (why: string): void => {
      socket.destroy();
      reject(new QueueError(`cannot reach ${where}: ${why}; start redis-server there or fix the address`));
    };
    const timer = setTimeout(() => fail(`no answer in ${timeoutMs / 1000} s`), timeoutMs);
    let reply = '';
    socket.on('connect', () => socket.write(address.password ? `AUTH ${address.password}\r\nPING\r\n` : 'PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      // one reply line per command sent (AUTH's, then PING's)
      if (reply.split('\r\n').length - 1 < (address.password ? 2 : 1)) return;
      clearTimeout(timer);
      socket.destroy();
      if (reply.includes('+PONG')) resolve();
      else
        reject(
          new QueueError(
            `${where} answered '${reply.trim().split('\r\n').at(-1)}' to PING; check the password or the server`,
          ),
        );
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code ?? err.message);
    });
  });
}

function connection(address: RedisAddress, lostAfterMs: number): ConnectionOptions {
  // BullMQ's workers block on Redis, so commands must not time out (maxRetriesPerRequest: null); the
  // reconnects are bounded instead (BullMQ's own strategy retries forever), well after watchRedis has
  // given up with its one line: a client that stops first fails its commands in BullMQ's words
  let downSince: number | undefined;
  const retryStrategy = (times: number): number | null => {
    if (times === 1) downSince = Date.now();
    if (Date.now() - (downSince ?? Date.now()) > 2 * lostAfterMs + 5000) return null;
    return Math.min(250 * 2 ** (times - 1), 2000);
  };
  return {
    host: address.host,
    port: address.port,
    db: address.db,
    ...(address.password ? { password: address.password } : {}),
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy,
  };
}

/**
 * Watches Redis with its own PINGs, apart from BullMQ's connections (whose commands wait, unanswered,
 * while Redis is away): `lost` rejects with one line once Redis has not answered for `lostAfterMs`.
 */
export interface RedisWatch {
  lost: Promise<never>;
  /** Whether Redis answered within the last `withinMs`. */
  answeredWithin(withinMs: number): boolean;
  stop(): void;
}

export function watchRedis(address: RedisAddress, lostAfterMs: number, flag = '--queue-timeout'): RedisWatch {
  let lastAnswer = Date.now();
  let fail: (err: Error) => void = () => {};
  const lost = new Promise<never>((_, reject) => (fail = reject));
  // a rejection nobody awaits yet is not an unhandled one: whoever races `lost` sees it
  lost.catch(() => {});
  const period = Math.max(100, Math.min(1000, lostAfterMs / 4));
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    checkRedis(address, period)
      .then(
        () => (lastAnswer = Date.now()),
        () => {
          if (Date.now() - lastAnswer <= lostAfterMs) return;
          clearInterval(timer);
          fail(
            new QueueError(
              `lost Redis at ${address.host}:${address.port} (--queue ${address.url}): no answer for ` +
                `${lostAfterMs / 1000} s (${flag}); restart redis-server, then run the command again (a search or cv ` +
                `with --resume)`,
            ),
          );
        },
      )
      .finally(() => (busy = false));
  }, period);
  timer.unref();
  return {
    lost,
    answeredWithin: (withinMs) => Date.now() - lastAnswer <= withinMs,
    stop: () => clearInterval(timer),
  };
}

/** `work`, or a rejection once `watch` says Redis is lost. */
function unlessLost<T>(watch: RedisWatch, work: Promise<T>): Promise<T> {
  return Promise.race([work, watch.lost]);
}

/** Runs `close`, waiting at most `ms` for it (a client closing while Redis is away waits for an answer). */
async function closeWithin(ms: number, close: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([close().catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export interface QueueRunnerOptions {
  queueName?: string;
  /** How often the coordinator asks Redis for finished jobs. */
  pollMs?: number;
  log?: (line: string) => void;
  /** How long Redis may stay away before run() fails with one line. */
  lostAfterMs?: number;
}

/**
 * A JobRunner that puts jobs on the queue and waits for their results. Jobs already in Redis (from a
 * coordinator that was stopped and restarted) are not added again: finished ones report at once.
 */
export async function queueRunner(url: string, options: QueueRunnerOptions = {}): Promise<JobRunner> {
  const address = parseRedisUrl(url);
  await checkRedis(address);
  const name = options.queueName ?? DEFAULT_QUEUE_NAME;
  const lostAfterMs = options.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
  const queue = new Queue(name, { connection: connection(address, lostAfterMs) });
  // the client reconnects by itself (for lostAfterMs); without a listener a dropped connection would end
  // the process; the same refusal is said once, not at every reconnect
  let lastError = '';
  queue.on('error', (err) => {
    if (err.message !== lastError) options.log?.(`queue: ${err.message}`);
    lastError = err.message;
  });
  const watch = watchRedis(address, lostAfterMs);
  const pollMs = options.pollMs ?? 500;
  const runJobs: JobRunner['run'] = async (jobs, onOutcome) => {
    const pending = new Map<string, Job>();
    for (const job of jobs) {
      const id = jobKey(job);
      pending.set(id, job);
      const existing = await queue.getJob(id);
      if (existing && (await existing.getState()) === 'failed') {
        // a failed job is tried again when its study is resumed
        await existing.retry();
      } else if (!existing) {
        // a job that throws fails at once (training errors repeat); one whose worker dies is retried (stalled)
        await queue.add(job.kind, job, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
      }
    }
    while (pending.size > 0) {
      for (const [id, job] of pending) {
        const bullJob = await queue.getJob(id);
        const state = bullJob ? await bullJob.getState() : 'missing';
        let outcome: JobOutcome | undefined;
        if (state === 'completed') outcome = { ok: true, result: bullJob!.returnvalue as JobResult };
        else if (state === 'failed') outcome = { ok: false, error: bullJob!.failedReason || 'failed' };
        else if (state === 'missing')
          outcome = { ok: false, error: `job ${id} vanished from the queue (was Redis flushed?)` };
        if (outcome) {
          pending.delete(id);
          await onOutcome(job, outcome);
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  return {
    description: `queue '${name}' on ${address.host}:${address.port}`,
    run: (jobs, onOutcome) => unlessLost(watch, runJobs(jobs, onOutcome)),
    async close() {
      watch.stop();
      await closeWithin(2000, () => queue.close());
      await closeWithin(1000, () => queue.disconnect());
    },
  };
}

export interface QueueWorkerOptions {
  queueName?: string;
  /** How long a job's lock lasts without renewal; a worker that dies loses its job after this. */
  lockMs?: number;
  /** How often workers look for jobs whose worker died (stalled) and put them back. */
  stalledMs?: number;
  place?: WorkerPlace;
  /** Called when a job starts, is done (its result is in Redis) or failed, and on queue errors (no job). */
  onJob?: (event: 'start' | 'done' | 'failed' | 'error', job: Job | undefined, detail?: string) => void;
  /** How long Redis may stay away before `lost` rejects with one line. */
  lostAfterMs?: number;
}

/** A running `lvseg worker`. */
export interface QueueWorker {
  /** The job in hand, if any. */
  readonly current: Job | undefined;
  /** Rejects with one line when Redis has been away longer than lostAfterMs (the worker is then closed). */
  readonly lost: Promise<never>;
  /**
   * Stops taking jobs and finishes the job in hand, unless `force`: then, or when Redis does not answer
   * (its result could not be delivered), it stops at once and the job goes back to the queue after the lock.
   */
  close(force?: boolean): Promise<void>;
}

/** Takes jobs from the queue, one at a time, until closed. */
export async function startQueueWorker(url: string, options: QueueWorkerOptions = {}): Promise<QueueWorker> {
  const address = parseRedisUrl(url);
  await checkRedis(address);
  const lostAfterMs = options.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
  let current: Job | undefined;
  const worker = new Worker(
    options.queueName ?? DEFAULT_QUEUE_NAME,
    async (bullJob) => {
      try {
        return await runJob(bullJob.data as Job, options.place);
      } catch (err) {
        throw new Error(errorLine(err));
      }
    },
    {
      connection: connection(address, lostAfterMs),
      concurrency: 1,
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.stalledMs ?? 30_000,
      // a job whose worker died twice may still finish on a third; a job that kills every worker stops
      maxStalledCount: 2,
    },
  );
  // Reported from the queue's events, not the processor: 'completed' fires only when Redis took the
  // result, so a job whose lock this worker lost (and another worker re-ran) is not reported done here.
  worker.on('active', (bullJob) => {
    current = bullJob.data as Job;
    options.onJob?.('start', current);
  });
  worker.on('completed', (bullJob) => {
    current = undefined;
    options.onJob?.('done', bullJob.data as Job);
  });
  worker.on('failed', (bullJob, err) => {
    current = undefined;
    if (bullJob) options.onJob?.('failed', bullJob.data as Job, err.message);
  });
  // the same refusal is said once, not at every reconnect
  let lastError = '';
  worker.on('error', (err) => {
    if (err.message !== lastError) options.onJob?.('error', undefined, err.message);
    lastError = err.message;
  });
  await worker.waitUntilReady();
  const watch = watchRedis(address, lostAfterMs);
  const forceClose = async (): Promise<void> => {
    watch.stop();
    await closeWithin(2000, () => worker.close(true));
  };
  const lost = watch.lost.catch(async (err: unknown) => {
    await forceClose();
    throw err;
  });
  lost.catch(() => {});
  return {
    get current() {
      return current;
    },
    lost,
    async close(force = false) {
      // a result can only be delivered through Redis: without an answer in the last seconds, waiting is pointless
      if (force || !current || !watch.answeredWithin(3000)) return forceClose();
      await unlessLost(watch, worker.close()).catch(() => {});
      await forceClose();
    },
  };
}
