import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/training/config.js';
import { jobKey, type TrainJob } from '../../src/workflows/jobs.js';
import { inProcessRunner, threadEnv, threadsPerWorker, type JobOutcome } from '../../src/workflows/runners.js';
import { tempDir } from '../temp.js';

describe('job runners', () => {
  it('give each of K local workers cores / K threads, at least one', () => {
    expect(threadsPerWorker(2, 2)).toBe(1);
    expect(threadsPerWorker(3, 16)).toBe(5);
    expect(threadsPerWorker(4, 2)).toBe(1);
    expect(threadEnv(3)).toEqual({ OMP_NUM_THREADS: '3' });
  });

  it('report a job that throws as a failed outcome with its one-line error, and go on', async () => {
    const out = tempDir('lvseg-runner-');
    const job = (name: string, train: string): TrainJob => ({
      kind: 'train',
      study: { id: 'study-x', out },
      name,
      config: resolveTrainConfig({
        train,
        modelSpec: 'test/training/tiny-model.json',
        epochs: 1,
        backend: 'cpu',
        tensorboard: false,
      }),
    });
    const outcomes: [string, JobOutcome][] = [];
    await inProcessRunner({ out }).run(
      [job('bad', join(out, 'missing.tfrecords')), job('bad-2', join(out, 'missing-2.tfrecords'))],
      async (j, o) => void outcomes.push([j.name, o]),
    );
    expect(outcomes.map(([n, o]) => [n, o.ok])).toEqual([
      ['bad', false],
      ['bad-2', false],
    ]);
    expect((outcomes[0]![1] as { error: string }).error).toContain('missing.tfrecords');
    expect((outcomes[0]![1] as { error: string }).error).not.toContain('\n');
    // the same job has the same key; more epochs (a halving rung) make another job
    expect(jobKey(job('t', 'a'))).toBe('study-x-t-e1');
    expect(jobKey({ ...job('t', 'a'), config: { ...job('t', 'a').config, epochs: 3 } })).toBe('study-x-t-e3');
  }, 60_000);
});
