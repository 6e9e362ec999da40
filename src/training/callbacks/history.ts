import { writeFileAtomic } from '../../io/atomic.js';
import type { EpochLogs, TrainingCallback } from './types.js';

export interface HistoryOptions {
  /** The JSON file the history goes to (a run's RUN/history.json). */
  file: string;
}

/**
 * `file`, rewritten atomically after every epoch: `{"epochs": [{"epoch": 0, "loss": …, "seconds": …,
 * "tensors": …}, …]}`. On a resume it starts from the epochs before the resumed one (the loop's
 * previousEpochs), so each epoch appears exactly once even when a kill came between the history and the
 * checkpoint.
 */
export function historyCallback({ file }: HistoryOptions): TrainingCallback {
  let epochs: (EpochLogs & { epoch: number })[] = [];
  return {
    onTrainBegin(ctx) {
      epochs = ctx.previousEpochs.flatMap((logs, epoch) => (logs ? [{ epoch, ...logs }] : []));
    },
    async onEpochEnd(epoch, logs) {
      epochs.push({ epoch, ...logs });
      await writeFileAtomic(file, JSON.stringify({ epochs }, null, 2));
    },
  };
}
