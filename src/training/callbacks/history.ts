import { readHistory, writeRunFile, type HistoryFile } from '../../runs/run-dir.js';
import type { TrainingCallback } from './types.js';

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
      await writeRunFile(ctx.runDir, 'history', { epochs });
    },
  };
}
