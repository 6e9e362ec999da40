import { join } from 'node:path';
import { pngDimensions } from '../../imaging/png.js';
import { epochPanel } from './display.js';
import { EventFileWriter } from '../tensorboard.js';
import type { EpochLogs, TrainingCallback, TrainingContext } from '../../training/callbacks/types.js';

export interface TensorBoardOptions {
  /** Where the `train/` and `validation/` folders go (a run's RUN/logs). */
  logDir: string;
  /** Weight histograms every this many epochs (Keras's histogram_freq); 0 turns them off. Default 1. */
  histogramFreq?: number;
  /** The display panel as an image summary each epoch. Default true. */
  images?: boolean;
  /** Host name in the file names (default: this machine's). */
  host?: string;
}

/** Log entries that are bookkeeping, not metrics: not written as scalars. */
const NOT_METRICS = new Set(['epoch', 'seconds', 'tensors', 'lr', 'learning_rate']);

/**
 * Keras's TensorBoard callback with `histogram_freq=1`: `logs/train/` gets `epoch_loss`,
 * `epoch_<metric>`, `epoch_learning_rate`, a histogram of every weight, the display panel and the
 * resolved config as text; `logs/validation/` gets the `val_` values under the same tags, so
 * TensorBoard draws training and validation on one chart. Steps are epochs, counted from 0.
 */
export class TensorBoardCallback implements TrainingCallback {
  private train?: EventFileWriter;
  private validation?: EventFileWriter;

  constructor(private readonly options: TensorBoardOptions) {}

  onTrainBegin(ctx: TrainingContext): void {
    const { logDir } = this.options;
    const host = this.options.host;
    this.train = new EventFileWriter(join(logDir, 'train'), { host });
    this.validation = new EventFileWriter(join(logDir, 'validation'), { host });
    this.train.text('config', '```json\n' + JSON.stringify(ctx.config ?? {}, null, 2) + '\n```', 0);
    this.train.flush();
  }

  async onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainingContext): Promise<void> {
    const train = this.train,
      validation = this.validation;
    if (!train || !validation) return;
    for (const [key, value] of Object.entries(logs)) {
      if (NOT_METRICS.has(key) || !Number.isFinite(value)) continue;
      if (key.startsWith('val_')) validation.scalar(`epoch_${key.slice(4)}`, value, epoch);
      else train.scalar(`epoch_${key}`, value, epoch);
    }
    train.scalar('epoch_learning_rate', logs.lr ?? logs.learning_rate ?? ctx.learningRate, epoch);

    const freq = this.options.histogramFreq ?? 1;
    if (freq > 0 && epoch % freq === 0) {
      for (const weight of ctx.model.weights) {
        // read() hands back the variable itself: read its values, never dispose it.
        train.histogram(weight.name.replace(/:/g, '_'), (await weight.read().data()) as Float32Array, epoch);
      }
    }

    const png = (this.options.images ?? true) ? await epochPanel(epoch, ctx) : undefined;
    const size = png && pngDimensions(png);
    if (png && size) train.image('display_panel', png, { ...size, colorspace: 4 }, epoch);
    train.flush();
    validation.flush();
  }

  onTrainEnd(): void {
    this.train?.close();
    this.validation?.close();
  }
}
