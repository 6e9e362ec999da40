import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { renderPanel } from '../panels.js';
import type { TrainingCallback } from '../../training/callbacks/types.js';

/**
 * The lab's display callback: after every epoch, input | label | prediction for one fixed validation
 * sample, as `dir`/epoch-NNN.png (NNN from 001; a run's RUN/panels).
 */
export function displayCallback({ dir }: { dir: string }): TrainingCallback {
  return {
    async onEpochEnd(epoch, _logs, ctx) {
      const sample = ctx.displaySample;
      if (!sample) return;
      const prediction = await ctx.predictLabel(sample);
      const png = renderPanel({
        image: sample.image,
        height: sample.height,
        width: sample.width,
        label: sample.label,
        prediction,
      });
      await writeFileAtomic(join(dir, `epoch-${String(epoch + 1).padStart(3, '0')}.png`), png);
    },
  };
}
