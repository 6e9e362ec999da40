import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Sample } from '../data/sample.js';
import { writeFileAtomic } from '../io/atomic.js';
import { renderPanel } from './panels.js';
import { runPath } from '../runs/run-dir.js';

/** A file-name-safe form of an image name (`synthetic/100` → `synthetic_100`); the report matches on it. */
export function safeImageName(name: string): string {
  const safe = name.replace(/[^\w.-]+/g, '_');
  // a record name can be of any length; a file name cannot (300 characters once gave ENAMETOOLONG)
  return safe.length <= 100
    ? safe
    : `${safe.slice(0, 91)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/**
 * Writes `RUN/samples/best-NN-<image>.png` and `worst-NN-<image>.png`: panels (input, label, prediction,
 * contour overlay) of the `count` best and `count` worst images by Dice; images whose Dice is not a
 * number are skipped. `dice[i]` belongs to `samples[i]`; `predict(i)` gives the predicted mask of
 * `samples[i]` and is called only for the images that get a panel. Panels an earlier call left (a
 * resumed run, an earlier model) are removed once the new ones are written, so the folder and the
 * report show the current model only. Returns the files written.
 */
export async function writeSamplePanels(
  runDir: string,
  samples: readonly Sample[],
  predict: (i: number) => Promise<Uint8Array> | Uint8Array,
  dice: readonly number[],
  count = 4,
): Promise<string[]> {
  const ranked = samples
    .map((_, i) => i)
    .filter((i) => Number.isFinite(dice[i]))
    .sort((a, b) => dice[b]! - dice[a]!);
  const best = ranked.slice(0, count);
  const worst = ranked.slice(Math.max(best.length, ranked.length - count)).reverse();
  const folder = runPath(runDir, 'samples');
  const files: string[] = [];
  for (const [tag, list] of [
    ['best', best],
    ['worst', worst],
  ] as const) {
    for (const [k, i] of list.entries()) {
      const s = samples[i]!;
      const file = join(folder, `${tag}-${String(k + 1).padStart(2, '0')}-${safeImageName(s.name)}.png`);
      await writeFileAtomic(
        file,
        renderPanel(
          { image: s.image, height: s.height, width: s.width, label: s.label, prediction: await predict(i) },
          { contours: true, caption: `Dice ${dice[i]!.toFixed(4)}` },
        ),
      );
      files.push(file);
    }
  }
  const current = new Set(files.map((f) => basename(f)));
  const stale = (await readdir(folder)).filter((f) => /^(best|worst)-\d+-.*\.png$/.test(f) && !current.has(f));
  await Promise.all(stale.map((f) => rm(join(folder, f), { force: true })));
  return files;
}
