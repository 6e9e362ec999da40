import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import type { EpochLogs, TrainingCallback } from './types.js';

export interface HistoryFile {
  epochs: (EpochLogs & { epoch: number })[];
}

export function readHistory(runDir: string): HistoryFile {
  const file = join(runDir, 'history.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HistoryFile) : { epochs: [] };
}

/**
 * RUN/history.json, rewritten atomically after every epoch: `{"epochs": [{"epoch": 0, "loss": …,
 * "seconds": …, "tensors": …}, …]}`. On a resume, epochs from the resumed one on are dropped first, so
 * each epoch appears exactly once even when a kill came between the history and the checkpoint.
 */
export function historyCallback(): TrainingCallback {
  let epochs: HistoryFile['epochs'] = [];
  return {
    onTrainBegin(ctx) {
      epochs = readHistory(ctx.runDir).epochs.filter((e) => e.epoch < ctx.initialEpoch);
    },
    async onEpochEnd(epoch, logs, ctx) {
      epochs.push({ epoch, ...logs });
      await writeFileAtomic(join(ctx.runDir, 'history.json'), JSON.stringify({ epochs }, null, 2));
    },
  };
}
