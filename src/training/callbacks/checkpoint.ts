import { runPath } from '../../runs/run-dir.js';
import { writeCheckpoint } from '../checkpoint.js';
import type { TrainingCallback } from './types.js';

/**
 * After every epoch, an atomic checkpoint in RUN/checkpoints/epoch-NNN/: model, optimizer state, the
 * epoch and the position in the sample stream. Keeps the `keep` newest.
 */
export function checkpointCallback({ keep = 2 }: { keep?: number } = {}): TrainingCallback {
  return {
    async onEpochEnd(epoch, _logs, ctx) {
      await writeCheckpoint(
        runPath(ctx.runDir, 'checkpoints'),
        ctx.trainingModel,
        ctx.optimizer,
        { epoch, samplePosition: ctx.samplePosition(), seed: ctx.seed, savedAt: new Date().toISOString() },
        keep,
      );
    },
  };
}
