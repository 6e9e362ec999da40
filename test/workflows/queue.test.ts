import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { checkRedis, parseRedisUrl } from '../../src/workflows/queue.js';
import type { TrialRecord } from '../../src/workflows/search.js';
import { captureCli, ensureBuilt, LVSEG, runCli } from '../cli/run-cli.js';
import { freePort, HAVE_REDIS, startRedis, type RedisServer } from './redis.js';

/** Two 4-filter convolutions: a trial of it takes about a second on the cpu backend. */
const TINY_SPEC = {
  name: 'tiny',
  layers: [
    { type: 'Conv2D', args: { filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 2, kernelSize: 1 } },
  ],
};

interface Worker {
  child: ChildProcess;
  lines: string[];
}

function startWorker(url: string, out: string, extra: string[] = []): Worker {
  // short locks so that a killed worker's job goes back to the queue within seconds (and long enough
  // for a training step on a busy machine, which holds the event loop that renews the lock)
  const child = spawn(
    process.execPath,
    [LVSEG, 'worker', '--queue', url, '--out', out, '--lock-ms', '4000', '--stalled-ms', '500', ...extra],
    { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const worker: Worker = { child, lines: [] };
  let buffer = '';
  child.stdout!.on('data', (d) => {
    buffer += d;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    worker.lines.push(...parts);
  });
  child.stderr!.resume();
  return worker;
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise((r) => worker.child.once('exit', r));
  worker.child.kill('SIGTERM');
  await exited;
}

describe.skipIf(!HAVE_REDIS)('lvseg search on a Redis queue with two lvseg worker processes', () => {
  let redis: RedisServer;
  let dir: string;
  beforeAll(async () => {
    ensureBuilt();
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'lvseg-queue-'));
  }, 300_000);
  afterAll(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finishes every trial exactly once, with a worker SIGKILLed mid-trial, and as a local run of the same trial and ' +
    'seed', async () => {
    const spec = join(dir, 'tiny.json');
    writeFileSync(spec, JSON.stringify(TINY_SPEC));
    const space = join(dir, 'space.json');
    writeFileSync(space, JSON.stringify({ lr: [0.001, 0.003, 0.01], batchSize: [1, 2] }));
    const out = join(dir, 'search');
    // one worker writes into the search folder (it sees it), the other keeps its runs to itself as a remote one would
    const workers = [
      startWorker(redis.url, join(dir, 'worker-a')),
      startWorker(redis.url, join(dir, 'worker-b'), ['--no-use-study-folder']),
    ];
    const training = [
      '--train',
      'synthetic:8:1:32',
      '--model-spec',
      spec,
      '--epochs',
      '1',
      '--backend',
      'cpu',
      '--no-tensorboard',
      '--seed',
      '7',
    ];
    let killed: { worker: Worker; trial: string } | undefined;
    const killer = setInterval(() => {
      if (killed) return;
      for (const w of workers) {
        const start = w.lines.find((l) => l.startsWith('start '));
        if (start) {
          killed = { worker: w, trial: start.split(' ')[2]! };
          w.child.kill('SIGKILL');
          return;
        }
      }
    }, 20);
    try {
      const search = await runCli(['search', space, ...training, '--queue', redis.url, '--out', out]);
      expect(search.stderr).not.toMatch(/failed/);
      expect(search.code, search.stderr).toBe(0);
    } finally {
      clearInterval(killer);
      await Promise.all(workers.map(stopWorker));
    }
    expect(killed).toBeDefined();
    expect(killed!.worker.child.signalCode).toBe('SIGKILL');

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as TrialRecord[];
    expect(results.map((r) => r.trial).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.every((r) => r.status === 'done')).toBe(true);
    expect(new Set(results.map((r) => `${r.config.lr}/${r.config.batchSize}`)).size).toBe(6);
    // every trial was completed by exactly one worker; the killed one completed none of the trial it held
    const done = workers.flatMap((w) => w.lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[2]));
    expect(done.sort()).toEqual(results.map((r) => r.name).sort());
    expect(killed!.worker.lines.filter((l) => l.startsWith('done '))).toEqual([]);
    // a worker that sees the search folder trains there; the other keeps its runs in its own --out
    const doneBy = (w: Worker): string[] => w.lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[2]!);
    for (const r of results)
      expect([
        r.name,
        r.runDir!.startsWith(join(dir, doneBy(workers[0]!).includes(r.name) ? 'search' : 'worker-b')),
      ]).toEqual([r.name, true]);

    // the killed trial, trained locally with the same config and seed, gives the same numbers
    const trial = results.find((r) => r.name === killed!.trial)!;
    const local = join(dir, 'local');
    const train = await runCli([
      'train',
      ...training,
      '--lr',
      String(trial.config.lr),
      '--batch-size',
      String(trial.config.batchSize),
      '--out',
      local,
    ]);
    expect(train.code).toBe(0);
    const localHistory = JSON.parse(readFileSync(join(local, 'history.json'), 'utf8')).epochs[0];
    const localEval = JSON.parse(readFileSync(join(local, 'evaluation.json'), 'utf8'));
    const remoteHistory = JSON.parse(readFileSync(join(trial.dir!, 'history.json'), 'utf8')).epochs[0];
    expect(remoteHistory.loss).toBe(localHistory.loss);
    expect(remoteHistory.val_loss).toBe(localHistory.val_loss);
    expect(trial.metrics.dice).toBe(localEval.dice);
    expect(trial.metrics.bestValDice).toBe(localHistory.val_dice);
  }, 240_000);

  it('a coordinator restarted with --resume takes the results already in Redis and runs nothing again', async () => {
    const out = join(dir, 'search');
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    // no worker is running and the coordinator's journal is gone: every result must come from Redis
    rmSync(join(out, 'jobs'), { recursive: true });
    const again = await runCli([
      'search',
      join(dir, 'space.json'),
      '--train',
      'synthetic:8:1:32',
      '--queue',
      redis.url,
      '--out',
      out,
      '--resume',
    ]);
    expect(again.code).toBe(0);
    const after = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as TrialRecord[];
    expect(after).toEqual(JSON.parse(before));
  }, 60_000);

  it('spreads lvseg predict over a worker, with the same masks and areas as a local predict', async () => {
    const results = JSON.parse(readFileSync(join(dir, 'search', 'results.json'), 'utf8')) as TrialRecord[];
    // every run of this test is on this machine, whichever worker trained it
    const model = results[0]!.runDir!;
    const worker = startWorker(redis.url, join(dir, 'worker-c'));
    const inputs = ['synthetic:2:300:32', 'synthetic:3:400:32'];
    try {
      const queued = await runCli([
        'predict',
        model,
        ...inputs,
        '--out',
        join(dir, 'pq'),
        '--backend',
        'cpu',
        '--queue',
        redis.url,
      ]);
      expect(queued.code).toBe(0);
    } finally {
      await stopWorker(worker);
    }
    const local = await captureCli(['predict', model, ...inputs, '--out', join(dir, 'pl'), '--backend', 'cpu']);
    expect(local.code).toBe(0);
    const read = (d: string): { name: string; lvAreaPx: number; mask: string }[] =>
      JSON.parse(readFileSync(join(dir, d, 'predictions.json'), 'utf8')).images;
    expect(read('pq').map((i) => [i.name, i.lvAreaPx])).toEqual(read('pl').map((i) => [i.name, i.lvAreaPx]));
    expect(read('pq')).toHaveLength(5);
    for (const image of read('pl'))
      expect(readFileSync(join(dir, 'pq', image.mask))).toEqual(readFileSync(join(dir, 'pl', image.mask)));
  }, 120_000);
});

describe('a queue that cannot be reached', () => {
  it('fails with one line within the connect timeout instead of hanging', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(checkRedis(parseRedisUrl(`redis://127.0.0.1:${port}`))).rejects.toThrow(
      `cannot reach Redis at 127.0.0.1:${port} (--queue redis://127.0.0.1:${port}): ECONNREFUSED; start redis-server ` +
        `there or fix the address`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('lvseg worker prints that line and exits 1', async () => {
    const port = await freePort();
    const r = await runCli(['worker', '--queue', `redis://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `lvseg: cannot reach Redis at 127.0.0.1:${port} (--queue redis://127.0.0.1:${port}): ECONNREFUSED; start ` +
        `redis-server there or fix the address`,
    ]);
  }, 60_000);

  it('rejects a URL that is not redis://', () => {
    expect(() => parseRedisUrl('http://x:1')).toThrow('only redis://HOST:PORT queues are supported');
  });
});
