import type { TrainingCallback } from './types.js';

export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. */
  patience: number;
  /** Default val_dice (higher is better); any `*loss` is lower-is-better. */
  monitor?: string;
  minDelta?: number;
}

/** Stops training when `monitor` has not improved for `patience` epochs (state rebuilt from earlier epochs on resume).
 * */
export function earlyStoppingCallback({
  patience,
  monitor = 'val_dice',
  minDelta = 0,
}: EarlyStoppingOptions): TrainingCallback {
  const sign = monitor.endsWith('loss') ? -1 : 1;
  let best = -Infinity;
  let wait = 0;
  const see = (value: number | undefined): void => {
    if (value === undefined) return;
    if (sign * value > best + minDelta) {
      best = sign * value;
      wait = 0;
    } else wait++;
  };
  return {
    onTrainBegin(ctx) {
      best = -Infinity;
      wait = 0;
      for (const logs of ctx.previousEpochs) see(logs?.[monitor]);
    },
    onEpochEnd(epoch, logs, ctx) {
      see(logs[monitor]);
      if (wait >= patience) {
        ctx.stopTraining =
          `early stopping: ${monitor} has not improved for ${patience} epochs (best ` +
          `${(sign * best).toFixed(4)}); stopped after epoch ${epoch + 1}`;
      }
    },
  };
}
