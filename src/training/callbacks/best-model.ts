import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { saveModel } from '../../models/io.js';
import { runPath } from '../../runs/run-dir.js';
import type { TrainingCallback } from './types.js';

/**
 * Keeps the model with the highest `monitor` (default val_dice) in RUN/best/, with RUN/best/best.json
 * naming its epoch and value. After a resume it takes the best value so far from the earlier epochs.
 */
export function bestModelCallback({ monitor = 'val_dice' }: { monitor?: string } = {}): TrainingCallback {
  let best = -Infinity;
  return {
    onTrainBegin(ctx) {
      for (const logs of ctx.previousEpochs) if (logs && logs[monitor] !== undefined && logs[monitor]! > best) best = logs[monitor]!;
    },
    async onEpochEnd(epoch, logs, ctx) {
      const value = logs[monitor];
      if (value === undefined || !(value > best)) return;
      best = value;
      const dir = runPath(ctx.runDir, 'best');
      await saveModel(ctx.model, dir);
      await writeFileAtomic(join(dir, 'best.json'), JSON.stringify({ epoch, monitor, value, logs }, null, 2));
    },
  };
}
