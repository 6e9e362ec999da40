import type { BackendName } from '../backends/select.js';
import { formatScaling } from '../data/scaling.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { openOutputFolder } from '../io/output.js';
import { dicomScalingWarning, resolveModel } from '../inference/run-config.js';
import { describeSegment } from '../inference/segment.js';
import type { InferenceOptions } from '../workflows/api.js';
import { predictBatch } from '../workflows/batch.js';
import { queueRunner } from '../workflows/queue.js';
import type { ParsedArgs } from './options.js';
import { queueTimeoutMs } from './runner-options.js';
import { PredictionWriter, predictOutputs } from './predict.js';

/**
 * `lvseg predict MODEL INPUT... --out DIR --queue URL`: one job per INPUT for 'lvseg worker' processes;
 * what they predict (masks, overlays, contours per class, NIfTI label maps) comes back through Redis and is
 * written here by the same writer as without --queue, so the folder holds the same files.
 */
export async function predictOnQueue(
  args: ParsedArgs,
  modelRef: string,
  inputs: readonly string[],
  out: string,
): Promise<number> {
  const log = (line: string): void => console.error(line);
  const spacing = args.options.spacing as string;
  if (spacing) parsePixelSpacing(spacing); // a bad --spacing fails here, not on every worker
  const given = {
    scale: args.options.scale as string,
    tta: args.options.tta as boolean,
    postprocess: args.options.postprocess as boolean,
  };
  // resolved here, where the bundled models are known (a bundled model's name is not a path on the workers); the
  // workers resolve the same model.json to the same settings
  const { modelJson: model, settings } = resolveModel(modelRef, given);
  const { scale, origin, segment, classes } = settings;
  log(`model ${model}; scale ${formatScaling(scale)} (${origin})${segment ? `; ${describeSegment(segment)}` : ''}`);
  const folder = await openOutputFolder(out, {
    flag: '--out',
    command: 'lvseg predict',
    overwrite: args.options.overwrite as boolean,
    ownEntries: predictOutputs,
  });
  const runner = await queueRunner(args.options.queue as string, {
    queueName: args.options['queue-name'] as string,
    log,
    lostAfterMs: queueTimeoutMs(args),
  });
  log(`${inputs.length} input(s) on ${runner.description}`);
  const options: InferenceOptions = {
    ...(given.scale ? { scale: given.scale } : {}),
    backend: args.options.backend as BackendName,
    tta: given.tta,
    postprocess: given.postprocess,
    ...(spacing ? { spacing } : {}),
  };
  let batch: Awaited<ReturnType<typeof predictBatch>>;
  try {
    batch = await predictBatch(model, inputs, options, runner, out);
  } finally {
    await runner.close();
  }
  const writer = new PredictionWriter(folder.path, {
    out,
    stacked: args.options.format === 'nifti',
    dicomWarning: dicomScalingWarning(scale, segment),
  });
  for (const image of batch.images) await writer.add(image);
  await writer.finish();
  await writer.writeSummary({
    model,
    scale: formatScaling(scale),
    backend: batch.backends.join(', '),
    ...(classes.length > 2 ? { classes } : {}),
    queue: args.options.queue,
  });
  await folder.commit();
  writer.printClosing();
  return 0;
}
