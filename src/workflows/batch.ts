/**
 * Batch inference spread over workers: one job per input (a file, folder or TFRecord), run wherever
 * the JobRunner puts it (local processes or a Redis queue), the masks and contours sent back.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { DataError } from '../errors.js';
import { predictedImageFromJson, type PredictedImage } from '../inference/predicted-image.js';
import { resolveModelPath } from '../models/io.js';
import type { InferenceOptions } from './api.js';
import type { PredictJob, PredictJobResult } from './jobs.js';
import type { JobRunner } from './runners.js';
import { runStamp } from './train-run.js';

/**
 * Segments `inputs` with `model` (paths the workers can read): the images in input order, and the backends the workers
 * ran on. A failed input fails the batch.
 */
export async function predictBatch(
  model: string,
  inputs: readonly string[],
  options: InferenceOptions,
  runner: JobRunner,
  out: string,
): Promise<{ images: PredictedImage[]; backends: string[] }> {
  const study = { id: `predict-${runStamp()}-${randomBytes(3).toString('hex')}`, out: resolve(out) };
  // absolute paths: a worker's working folder is not the coordinator's (and a bundled model's name is
  // resolved here, not taken as a path under the current folder)
  const modelPath = resolve(resolveModelPath(model));
  const jobs: PredictJob[] = inputs.map((input, i) => ({
    kind: 'predict',
    study,
    name: `input-${i + 1}`,
    model: modelPath,
    inputs: [input.startsWith('synthetic:') ? input : resolve(input)],
    options,
  }));
  const results = new Map<string, PredictJobResult>();
  const errors: string[] = [];
  await runner.run(jobs, async (job, outcome) => {
    if (outcome.ok) results.set(job.name, outcome.result as PredictJobResult);
    else errors.push(`${(job as PredictJob).inputs[0]}: ${outcome.error}`);
  });
  if (errors.length > 0)
    throw new DataError(`batch predict: ${errors.length} of ${jobs.length} inputs failed: ${errors.join('; ')}`);
  const done = jobs.map((j) => results.get(j.name)!);
  return {
    images: done.flatMap((r) => r.images.map(predictedImageFromJson)),
    backends: [...new Set(done.map((r) => r.backend))],
  };
}
