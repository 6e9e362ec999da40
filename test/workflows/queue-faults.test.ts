/**
 * A queue whose Redis goes away and stays away, workers told to stop, a coordinator stopped with local
 * workers: every process ends within a stated time with one line, and a resumed search runs every trial once.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledModelsDir } from '../../src/models/io.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { predictBatch } from '../../src/workflows/batch.js';
import type { Job } from '../../src/workflows/jobs.js';
import type { JobRunner } from '../../src/workflows/runners.js';
import type { TrialRecord } from '../../src/workflows/search.js';
import { ensureBuilt, LVSEG } from '../cli/run-cli.js';
import { tempDir } from '../temp.js';
import { HAVE_REDIS, startRedis, type RedisServer } from './redis.js';

const TINY_SPEC = {
  name: 'tiny',
  layers: [
    { type: 'Conv2D', args: { filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 2, kernelSize: 1 } },
  ],
};

/** The seconds Redis may stay away in these tests (--queue-timeout), and the slack a busy machine gets on top. */
const LOST_S = 3;
const SLACK_MS = 12_000;

interface Proc {
  child: ChildProcess;
  out: string[];
  err: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function lvseg(args: string[]): Proc {
  const child = spawn(process.execPath, [LVSEG, ...args], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = {
    child,
    out: [],
    err: [],
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, at: Date.now() }))),
  };
  const lines = (into: string[]) => {
    let buffer = '';
    return (d: Buffer) => {
      buffer += d;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      into.push(...parts);
    };
  };
  child.stdout!.on('data', lines(proc.out));
  child.stderr!.on('data', lines(proc.err));
  return proc;
}

const running = new Set<Proc>();
function start(args: string[]): Proc {
  const p = lvseg(args);
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const worker = (url: string, out: string): Proc =>
  start([
    'worker',
    '--queue',
    url,
    '--out',
    out,
    '--lock-ms',
    '4000',
    '--stalled-ms',
    '500',
    '--queue-timeout',
    String(LOST_S),
  ]);

afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL');
  await Promise.all([...running].map((p) => p.exited));
});

describe('predict on a queue with a bundled model', () => {
  it("sends the workers the bundled model's folder, not a path under the current folder", async () => {
    const jobs: Job[] = [];
    const runner: JobRunner = {
      description: 'a recorder',
      async run(sent, onOutcome) {
        jobs.push(...sent);
        for (const job of sent) await onOutcome(job, { ok: true, result: { kind: 'predict', images: [] } as never });
      },
      async close() {},
    };
    await predictBatch('lv-sunnybrook', ['synthetic:1:1:32'], {}, runner, 'out');
    expect(jobs.map((j) => (j as { model: string }).model)).toEqual([join(bundledModelsDir(), 'lv-sunnybrook')]);
  });
});

describe.skipIf(!HAVE_REDIS)('Redis killed mid-search and left down', () => {
  let redis: RedisServer | undefined;
  let dir: string;
  beforeAll(async () => {
    ensureBuilt();
    dir = tempDir('lvseg-queue-faults-');
  }, 300_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('ends the coordinator and both workers with one line within --queue-timeout; --resume then runs every trial ' +
    'once', async () => {
    redis = await startRedis();
    const { port, url } = redis;
    const spec = join(dir, 'tiny.json');
    writeFileSync(spec, JSON.stringify(TINY_SPEC));
    const space = join(dir, 'space.json');
    writeFileSync(space, JSON.stringify({ lr: [0.001, 0.003, 0.01], batchSize: [1, 2] }));
    const out = join(dir, 'search');
    const training = [
      '--train',
      'synthetic:8:1:32',
      '--model-spec',
      spec,
      '--epochs',
      '2',
      '--backend',
      'cpu',
      '--no-tensorboard',
      '--seed',
      '7',
    ];
    const workers = [worker(url, join(dir, 'wa')), worker(url, join(dir, 'wb'))];
    await until('the workers', () => workers.every((w) => w.out.some((l) => l.startsWith('worker '))));
    const search = start([
      'search',
      space,
      ...training,
      '--queue',
      url,
      '--out',
      out,
      '--queue-timeout',
      String(LOST_S),
    ]);
    await until('a finished trial', () => workers.some((w) => w.out.some((l) => l.startsWith('done '))));

    await redis.stop();
    const killed = Date.now();
    const all = [search, ...workers];
    const ended: boolean[] = all.map(() => false);
    all.forEach((p, i) => void p.exited.then(() => (ended[i] = true)));
    await until('the three to exit', () => ended.every(Boolean), LOST_S * 1000 + SLACK_MS + 30_000).catch(
      (err: Error) => {
        throw new Error(
          `${err.message}: ` +
            `${all
              .map(
                (p, i) =>
                  `${['search', 'worker a', 'worker b'][i]} ${ended[i] ? 'exited' : 'running'}: ` +
                  `${p.err.slice(-3).join(' | ')}`,
              )
              .join('; ')}`,
        );
      },
    );
    const ends = await Promise.all(all.map((p) => p.exited));
    for (const [i, p] of [search, ...workers].entries()) {
      expect([i, ends[i]!.code]).toEqual([i, 1]);
      expect(ends[i]!.at - killed).toBeLessThan(LOST_S * 1000 + SLACK_MS);
      const last = p.err.at(-1)!;
      expect(last, p.err.join('\n')).toBe(
        `lvseg: lost Redis at 127.0.0.1:${port} (--queue ${url}): no answer for ${LOST_S} s (--queue-timeout); ` +
          `restart redis-server, then run the command again (a search or cv with --resume)`,
      );
      expect(p.err.join('\n')).not.toMatch(/\n\s+at /);
    }
    // the refusals while Redis was away are said once, not once per reconnect
    for (const w of workers) expect(w.out.filter((l) => l.includes('ECONNREFUSED')).length).toBeLessThanOrEqual(1);

    redis = await startRedis(port);
    const again = [worker(url, join(dir, 'wa')), worker(url, join(dir, 'wb'))];
    const resumed = start(['search', space, '--queue', url, '--out', out, '--resume']);
    let resumedEnded = false;
    void resumed.exited.then(() => (resumedEnded = true));
    await until('the resumed search', () => resumedEnded, 120_000).catch((err: Error) => {
      throw new Error(
        `${err.message}: ${resumed.err.slice(-5).join(' | ')}; workers: ` +
          `${again.map((w) => w.out.slice(-3).join(' | ')).join('; ')}`,
      );
    });
    const end = await resumed.exited;
    for (const w of again) w.child.kill('SIGTERM');
    await Promise.all(again.map((w) => w.exited));
    await redis.stop();
    redis = undefined;
    // the exit first: a failed resume leaves no results.json, and its own lines say why
    expect(end.code, resumed.err.join('\n')).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as TrialRecord[];
    expect(
      results.map((r) => [r.trial, r.status, r.error ?? '']).sort((a, b) => Number(a[0]) - Number(b[0])),
      resumed.err.join('\n'),
    ).toEqual([1, 2, 3, 4, 5, 6].map((t) => [t, 'done', '']));
  }, 300_000);

  it('a worker told to stop while Redis is away exits within seconds', async () => {
    redis = await startRedis();
    const w = start(['worker', '--queue', redis.url, '--out', join(dir, 'wc'), '--queue-timeout', '600']);
    await until('the worker', () => w.out.some((l) => l.startsWith('worker ')));
    await redis.stop();
    redis = undefined;
    await new Promise((r) => setTimeout(r, 1000));
    const signalled = Date.now();
    w.child.kill('SIGTERM');
    const end = await w.exited;
    expect(end.at - signalled).toBeLessThan(5000);
    expect(end.code).toBe(0);
  }, 60_000);
});

describe('search --workers 2 stopped by a signal', () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it('stops its local worker processes with it, without their stack traces', async () => {
    const dir = tempDir('lvseg-pool-stop-');
    const space = join(dir, 'space.json');
    writeFileSync(space, JSON.stringify({ lr: [0.001, 0.003, 0.01, 0.03] }));
    const search = start([
      'search',
      space,
      '--train',
      'synthetic:64:1:64',
      '--model',
      'fcn-small',
      '--epochs',
      '20',
      '--backend',
      'cpu',
      '--no-tensorboard',
      '--workers',
      '2',
      '--out',
      join(dir, 'search'),
    ]);
    const children = (): number[] =>
      spawnSync('ps', ['-o', 'pid=', '--ppid', String(search.child.pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .map(Number)
        .filter((n) => n > 0);
    await until('two local workers', () => children().length === 2, 60_000);
    const pids = children();
    await new Promise((r) => setTimeout(r, 1500));
    search.child.kill('SIGTERM');
    await search.exited;
    // a process that ended but is not reaped yet (a zombie) counts as ended
    const alive = (pid: number): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    await until('the local workers to end', () => pids.every((p) => !alive(p)), 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(search.err.join('\n')).not.toMatch(/ERR_IPC_CHANNEL_CLOSED|\n\s+at /);
  }, 120_000);
});
