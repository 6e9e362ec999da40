import type { EpochLogs, TrainingCallback } from './types.js';

export interface ProgressOptions {
  /** Where lines go; default process.stdout. */
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Draw the live progress bar (default: when the stream is a terminal). */
  bar?: boolean;
}

/** Formats the epoch's logs as Keras does: `loss: 0.0087 - dice: 0.8641 - val_loss: …`. */
export function formatLogs(logs: EpochLogs): string {
  return Object.entries(logs)
    .filter(([k]) => k !== 'seconds' && k !== 'tensors')
    .map(([k, v]) => `${k}: ${formatValue(v)}`)
    .join(' - ');
}

function formatValue(v: number): string {
  return Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : v.toFixed(4);
}

/**
 * Keras-style progress: on a terminal a live bar per epoch; always one line per epoch
 * `Epoch 3/30 - 234/234 - 12s - loss: 0.0087 - dice: 0.8641 - … - val_dice: …`.
 */
export function progressCallback(options: ProgressOptions = {}): TrainingCallback {
  const stream = options.stream ?? process.stdout;
  const bar = options.bar ?? Boolean(stream.isTTY);
  let started = 0;
  let lastDraw = 0;
  return {
    onEpochBegin() {
      started = Date.now();
      lastDraw = 0;
    },
    onBatchEnd(step, logs, ctx) {
      if (!bar) return;
      const now = Date.now();
      const done = step + 1;
      if (now - lastDraw < 100 && done < ctx.stepsPerEpoch) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.floor((done / ctx.stepsPerEpoch) * width);
      const eta = (((now - started) / done) * (ctx.stepsPerEpoch - done)) / 1000;
      const gauge =
        '='.repeat(Math.max(0, filled - 1)) +
        (filled > 0 ? (done === ctx.stepsPerEpoch ? '=' : '>') : '') +
        '.'.repeat(width - filled);
      stream.write(`\r${done}/${ctx.stepsPerEpoch} [${gauge}] - ETA: ${Math.round(eta)}s - ${formatLogs(logs)}\x1b[K`);
    },
    onEpochEnd(epoch, logs, ctx) {
      const seconds = logs.seconds ?? (Date.now() - started) / 1000;
      const time = seconds < 10 ? `${seconds.toFixed(1)}s` : `${Math.round(seconds)}s`;
      const line =
        `Epoch ${epoch + 1}/${ctx.totalEpochs} - ${ctx.stepsPerEpoch}/${ctx.stepsPerEpoch} - ${time} - ` +
        `${formatLogs(logs)}`;
      stream.write(`${bar ? '\r\x1b[K' : ''}${line}\n`);
    },
  };
}
