import { UsageError } from '../errors.js';

/** The lab's exact training settings per task. */
export interface Preset {
  model: string;
  /** dense only: the lab's Task 1 softmax output. */
  softmax?: boolean;
  epochs: number;
  batchSize: number;
  shuffleBuffer: number;
  lr: number;
  optimizer: 'adam';
  loss: 'sparse-ce';
  /** The lab divides pixel values by 1024; the shared TFRecords (0–255) want `--scale 1/255`. */
  scale: number;
  /** `null`: one step per training image, as the lab does. */
  stepsPerEpoch: null;
}

const lab = { batchSize: 1, shuffleBuffer: 10, lr: 0.001, optimizer: 'adam', loss: 'sparse-ce', scale: 1 / 1024, stepsPerEpoch: null } as const;

export const PRESETS: Record<string, Preset> = {
  'lab-task1': { ...lab, model: 'dense', softmax: true, epochs: 20 },
  'lab-task2': { ...lab, model: 'fcn', epochs: 20 },
  'lab-task3': { ...lab, model: 'fcn', epochs: 30 },
  'lab-search': { ...lab, model: 'fcn-deep', epochs: 60 },
};

export function getPreset(name: string): Preset {
  const preset = PRESETS[name];
  if (!preset) throw new UsageError(`unknown preset '${name}'; use one of ${Object.keys(PRESETS).join(', ')}`);
  return preset;
}
