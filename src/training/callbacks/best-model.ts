import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { saveModel } from '../../models/io.js';
import type { TrainingCallback } from './types.js';

export interface BestModelOptions {
  /** The folder the best model goes in (a run's RUN/best), with best.json. */
  dir: string;
  /** Default val_dice (higher is better). */
  monitor?: string;
}

/**
 * Keeps the model with the highest `monitor` in `dir`, with `dir`/best.json naming its epoch and value.
 * After a resume it takes the best value so far from the earlier epochs.
 */
export function bestModelCallback({ dir, monitor = 'val_dice' }: BestModelOptions): TrainingCallback {
  let best = -Infinity;
  return {
    onTrainBegin(ctx) {
      for (const logs of ctx.previousEpochs)
        if (logs && logs[monitor] !== undefined && logs[monitor]! > best) best = logs[monitor]!;
    },
    async onEpochEnd(epoch, logs, ctx) {
      const value = logs[monitor];
      if (value === undefined || !(value > best)) return;
      best = value;
      await saveModel(ctx.model, dir);
      await writeFileAtomic(join(dir, 'best.json'), JSON.stringify({ epoch, monitor, value, logs }, null, 2));
    },
  };
}
