import { hostname } from 'node:os';
import { QueueError, UsageError } from '../errors.js';
import { startQueueWorker } from '../workflows/queue.js';
import { threadEnv } from '../workflows/runners.js';
import type { Command } from './command.js';
import { QUEUE_TIMEOUT_OPTION, queueTimeoutMs } from './runner-options.js';

export const command: Command = {
  name: 'worker',
  usage: 'worker --queue redis://HOST:PORT [--out DIR] [--threads N]',
  summary: 'take search, CV and predict jobs from a Redis queue and run them (until Ctrl-C)',
  description: [
    "Serves 'lvseg search|cv|predict --queue URL': takes one job at a time from the queue, runs it and sends the",
    'result (config, history, evaluation; masks for predict) back through Redis. The data paths in the jobs must be',
    'readable here. Runs go into the study folder when this machine sees it (a shared --out), else into',
    '--out DIR/<study>/<trial>; the coordinator records the host and path. A worker killed mid-job loses its job',
    'to another worker after --lock-ms. SIGINT or SIGTERM finish the job in hand, then stop; a second signal, or Redis',
    'not answering, stops at once (the job goes back to the queue after --lock-ms). When Redis stays away longer than',
    '--queue-timeout the worker exits 1 with one line.',
  ].join('\n'),
  options: [
    { name: 'queue', type: 'string', value: 'URL', description: 'the Redis queue: redis://HOST:PORT', default: '' },
    {
      name: 'queue-name',
      type: 'string',
      value: 'NAME',
      description: 'the queue in Redis (as the coordinator)',
      default: 'lvseg',
    },
    {
      name: 'out',
      type: 'string',
      value: 'DIR',
      description: 'where runs go when the study folder is not visible here',
      default: 'runs/worker',
    },
    {
      name: 'use-study-folder',
      type: 'boolean',
      description:
        'write runs into the study folder when it is visible here (--no-use-study-folder: always under --out)',
      default: true,
    },
    {
      name: 'threads',
      type: 'number',
      value: 'N',
      description: 'compute threads (OMP_NUM_THREADS for onednn; 0: all cores)',
      default: 0,
    },
    {
      name: 'lock-ms',
      type: 'number',
      value: 'MS',
      description: "a job's lock; a worker dead this long loses its job to another",
      default: 30000,
    },
    {
      name: 'stalled-ms',
      type: 'number',
      value: 'MS',
      description: 'how often to look for jobs of dead workers',
      default: 30000,
    },
    QUEUE_TIMEOUT_OPTION,
  ],
  async run(args) {
    const queue = args.options.queue as string;
    if (!queue) throw new UsageError("worker needs --queue redis://HOST:PORT (the coordinator's --queue)");
    const threads = args.options.threads as number;
    if (!Number.isInteger(threads) || threads < 0)
      throw new UsageError(`--threads takes a positive integer, not ${threads}`);
    for (const name of ['lock-ms', 'stalled-ms']) {
      const v = args.options[name] as number;
      if (!Number.isInteger(v) || v < 100)
        throw new UsageError(`--${name} takes milliseconds (at least 100), not ${v}`);
    }
    // before the backend loads: OpenMP reads it once
    if (threads > 0) Object.assign(process.env, threadEnv(threads));
    const log = (line: string): void => console.error(line);
    const worker = await startQueueWorker(queue, {
      queueName: args.options['queue-name'] as string,
      lockMs: args.options['lock-ms'] as number,
      stalledMs: args.options['stalled-ms'] as number,
      place: { out: args.options.out as string, useStudyFolder: args.options['use-study-folder'] as boolean, log },
      onJob: (event, job, detail) =>
        console.log(`${event}${job ? ` ${job.study.id} ${job.name}` : ''}${detail ? `: ${detail}` : ''}`),
      lostAfterMs: queueTimeoutMs(args),
    });
    console.log(
      `worker ${hostname()}:${process.pid} on ${queue} (queue '${args.options['queue-name']}'); Ctrl-C to stop`,
    );
    let signals = 0;
    let now: () => void = () => {};
    const forced = new Promise<void>((resolve) => (now = resolve));
    const signalled = new Promise<void>((resolve) => {
      const stop = (): void => {
        signals++;
        if (signals > 1) {
          console.error('stopping now');
          now();
          return;
        }
        console.error(
          worker.current
            ? `stopping after the job in hand (${worker.current.name}); signal again to stop now`
            : 'stopping',
        );
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    // Redis gone for longer than --queue-timeout ends the worker with one line (QueueError), signal or not
    await Promise.race([signalled, worker.lost]);
    await Promise.race([worker.close(), worker.lost, forced.then(() => worker.close(true))]);
    if (signals > 1)
      throw new QueueError('stopped by a second signal; the job in hand goes back to the queue after --lock-ms');
    return 0;
  },
};
