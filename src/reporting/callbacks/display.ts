import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { renderPanel } from '../panels.js';
import type { TrainingCallback, TrainingContext } from '../../training/callbacks/types.js';

/**
 * The lab's display callback: after every epoch, input | label | prediction for one fixed validation
 * sample, as `dir`/epoch-NNN.png (NNN from 001; a run's RUN/panels).
 */
export function displayCallback({ dir }: { dir: string }): TrainingCallback {
  return {
    async onEpochEnd(epoch, _logs, ctx) {
      const png = await epochPanel(epoch, ctx);
      if (png) await writeFileAtomic(join(dir, `epoch-${String(epoch + 1).padStart(3, '0')}.png`), png);
    },
  };
}

const panels = new WeakMap<TrainingContext, { epoch: number; png: Promise<Buffer | undefined> }>();

/**
 * The display sample's panel (input | label | prediction) as a PNG at the end of `epoch`, drawn once for
 * every callback that shows it (this one and TensorBoard's); undefined without a display sample.
 */
export function epochPanel(epoch: number, ctx: TrainingContext): Promise<Buffer | undefined> {
  const known = panels.get(ctx);
  if (known?.epoch === epoch) return known.png;
  const sample = ctx.displaySample;
  const png = sample
    ? ctx.predictLabel(sample).then((prediction) =>
        renderPanel({
          image: sample.image,
          height: sample.height,
          width: sample.width,
          label: sample.label,
          prediction,
        }),
      )
    : Promise.resolve(undefined);
  panels.set(ctx, { epoch, png });
  return png;
}
