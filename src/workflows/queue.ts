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

/** How long to wait for Redis to answer before giving up with one line (generous: a busy machine is slow to schedule us). */
const CONNECT_TIMEOUT_MS = 5000;

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
  if (!Number.isInteger(db) || db < 0) throw new QueueError(`--queue ${url}: '${parsed.pathname.slice(1)}' is not a Redis database number`);
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
      else reject(new QueueError(`${where} answered '${reply.trim().split('\r\n').at(-1)}' to PING; check the password or the server`));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code ?? err.message);
    });
  });
}

function connection(address: RedisAddress): ConnectionOptions {
  // BullMQ's workers block on Redis, so commands must not time out (maxRetriesPerRequest: null)
  return { host: address.host, port: address.port, db: address.db, ...(address.password ? { password: address.password } : {}), maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS };
}

export interface QueueRunnerOptions {
  queueName?: string;
  /** How often the coordinator asks Redis for finished jobs. */
  pollMs?: number;
  log?: (line: string) => void;
}

/**
 * A JobRunner that puts jobs on the queue and waits for their results. Jobs already in Redis (from a
 * coordinator that was stopped and restarted) are not added again: finished ones report at once.
 */
export async function queueRunner(url: string, options: QueueRunnerOptions = {}): Promise<JobRunner> {
  const address = parseRedisUrl(url);
  await checkRedis(address);
  const name = options.queueName ?? DEFAULT_QUEUE_NAME;
  const queue = new Queue(name, { connection: connection(address) });
  // the client reconnects by itself; without a listener a dropped connection would end the process
  queue.on('error', (err) => options.log?.(`queue: ${err.message}`));
  const pollMs = options.pollMs ?? 500;
  return {
    description: `queue '${name}' on ${address.host}:${address.port}`,
    async run(jobs, onOutcome) {
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
          else if (state === 'missing') outcome = { ok: false, error: `job ${id} vanished from the queue (was Redis flushed?)` };
          if (outcome) {
            pending.delete(id);
            await onOutcome(job, outcome);
          }
        }
        if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async close() {
      await queue.close();
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
}

/** A running `lvseg worker`: `close()` finishes the job in hand and stops. */
export interface QueueWorker {
  close(): Promise<void>;
}

/** Takes jobs from the queue, one at a time, until closed. */
export async function startQueueWorker(url: string, options: QueueWorkerOptions = {}): Promise<QueueWorker> {
  const address = parseRedisUrl(url);
  await checkRedis(address);
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
      connection: connection(address),
      concurrency: 1,
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.stalledMs ?? 30_000,
      // a job whose worker died twice may still finish on a third; a job that kills every worker stops
      maxStalledCount: 2,
    },
  );
  // Reported from the queue's events, not the processor: 'completed' fires only when Redis took the
  // result, so a job whose lock this worker lost (and another worker re-ran) is not reported done here.
  worker.on('active', (bullJob) => options.onJob?.('start', bullJob.data as Job));
  worker.on('completed', (bullJob) => options.onJob?.('done', bullJob.data as Job));
  worker.on('failed', (bullJob, err) => bullJob && options.onJob?.('failed', bullJob.data as Job, err.message));
  worker.on('error', (err) => options.onJob?.('error', undefined, err.message));
  await worker.waitUntilReady();
  return { close: () => worker.close() };
}
