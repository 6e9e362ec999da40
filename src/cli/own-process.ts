import { setFlagsFromString } from 'node:v8';

/**
 * The settings a process that lvseg owns takes for itself: the CLI (bin/lvseg.js) and `npm run bench`, which
 * measures what the CLI runs. A program that imports lvseg as a library keeps its own (it may set the same).
 *
 * - The addon's malloc setting (big blocks kept in the heap, read when the addon loads; `LVSEG_MALLOPT=0` turns
 *   it off): without it an FCN step at batch 8 took ~2x as long relative to PyTorch (docs/backends.md).
 * - V8's old generation grows to 4x its live size between full collections (V8 adapts the factor between 1.1 and
 *   4). Training's tape (tfjs's tensors and kernel records of a step) outlives the young generation, and with a
 *   ~30 MB live heap V8 ran a mark-compact every ~70 ms of training; their concurrent marking takes the second
 *   core from oneDNN mid-convolution. sunnybrook-unet over 4 epochs: 627 -> 276 mark-compacts, ~16 -> ~14.5 s an
 *   epoch (docs/training.md).
 */
export function tuneOwnProcess(): void {
  process.env.LVSEG_MALLOPT ??= '1';
  setFlagsFromString('--heap-growing-percent=300');
}
