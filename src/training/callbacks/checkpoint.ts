import { writeCheckpoint } from '../checkpoint.js';
import type { TrainingCallback } from './types.js';

export interface CheckpointOptions {
  /** The folder the checkpoints go in (a run's RUN/checkpoints). */
  dir: string;
  /** How many of the newest checkpoints to keep; default 2. */
  keep?: number;
}

/**
 * After every epoch, an atomic checkpoint in `dir`/epoch-NNN/: model, optimizer state, the epoch and
 * the position in the sample stream. Keeps the `keep` newest.
 */
export function checkpointCallback({ dir, keep = 2 }: CheckpointOptions): TrainingCallback {
  return {
    async onEpochEnd(epoch, _logs, ctx) {
      await writeCheckpoint(
        dir,
        ctx.trainingModel,
        ctx.optimizer,
        { epoch, samplePosition: ctx.samplePosition(), seed: ctx.seed, savedAt: new Date().toISOString() },
        keep,
      );
    },
  };
}
