import { join } from 'node:path';
import type { BackendName } from '../backends/select.js';
import { writeFileAtomic } from '../io/atomic.js';
import { openOutputFolder } from '../io/output.js';
import { resolveModelJson } from '../inference/run-config.js';
import { predictBatch } from '../workflows/batch.js';
import { queueRunner } from '../workflows/queue.js';
import type { ParsedArgs } from './options.js';
import { queueTimeoutMs } from './runner-options.js';
import { outputStem, predictOutputs, type PredictionSummaryEntry } from './predict.js';

/**
 * `lvseg predict MODEL INPUT... --out DIR --queue URL`: one job per INPUT for 'lvseg worker' processes;
 * the masks, overlays and contours come back through Redis and are written here as without --queue.
 */
export async function predictOnQueue(
  args: ParsedArgs,
  modelRef: string,
  inputs: readonly string[],
  out: string,
): Promise<number> {
  const log = (line: string): void => console.error(line);
  // resolved here, where the bundled models are known: a bundled model's name is not a path on the workers
  const model = resolveModelJson(modelRef);
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
  let images: Awaited<ReturnType<typeof predictBatch>>;
  try {
    const scale = args.options.scale as string;
    images = await predictBatch(
      model,
      inputs,
      { ...(scale ? { scale } : {}), backend: args.options.backend as BackendName },
      runner,
      out,
    );
  } finally {
    await runner.close();
  }
  const taken = new Set<string>();
  const entries: PredictionSummaryEntry[] = [];
  for (const image of images) {
    const stem = outputStem(image.name, taken);
    const files = { mask: `${stem}.mask.png`, overlay: `${stem}.overlay.png`, contour: `${stem}-icontour-auto.txt` };
    await writeFileAtomic(join(folder.path, files.mask), Buffer.from(image.maskPng, 'base64'));
    await writeFileAtomic(join(folder.path, files.overlay), Buffer.from(image.overlayPng, 'base64'));
    await writeFileAtomic(join(folder.path, files.contour), image.contourText);
    const { maskPng: _m, overlayPng: _o, contourText: _c, ...facts } = image;
    entries.push({ ...facts, ...files });
    console.log(`${image.name}: LV ${image.lvAreaPx} px -> ${join(out, files.overlay)}`);
  }
  const withSpacing = entries.filter((i) => i.lvAreaMm2 !== null);
  const summary = {
    model,
    queue: args.options.queue,
    images: entries,
    totals: {
      images: entries.length,
      lvAreaPx: entries.reduce((n, i) => n + i.lvAreaPx, 0),
      imagesWithSpacing: withSpacing.length,
      lvAreaMm2: withSpacing.length > 0 ? withSpacing.reduce((n, i) => n + i.lvAreaMm2!, 0) : null,
    },
  };
  await writeFileAtomic(join(folder.path, 'predictions.json'), JSON.stringify(summary, null, 2) + '\n');
  await folder.commit();
  console.log(
    `${entries.length} images, LV ${summary.totals.lvAreaPx} px in total; summary: ${join(out, 'predictions.json')}`,
  );
  return 0;
}
