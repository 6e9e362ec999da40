#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { main } from '../dist/src/cli/main.js';

// The CLI owns its process, so it lets V8's old generation grow to 4x its live size between full collections
// (V8 adapts the factor between 1.1 and 4). Training's tape (tfjs's tensors and kernel records of a step) outlives
// the young generation, and with a ~30 MB live heap V8 ran a mark-compact every ~70 ms of training; their
// concurrent marking takes the second core from oneDNN mid-convolution. sunnybrook-unet over 4 epochs: 627 -> 276
// mark-compacts, ~16 -> ~14.5 s an epoch (docs/training.md).
setFlagsFromString('--heap-growing-percent=300');

// The CLI owns its process, so it takes the addon's malloc setting (big blocks kept in the heap; a
// library user opts in with LVSEG_MALLOPT=1): without it an FCN step at batch 8 took ~2x as long
// relative to PyTorch (docs/backends.md). LVSEG_MALLOPT=0 turns it off. Read when the addon loads.
process.env.LVSEG_MALLOPT ??= '1';

const code = await main(process.argv.slice(2));
// A failed command has run its clean-ups; what may still hold the event loop (a queue client reconnecting,
// a job abandoned in this process) must not keep it from exiting. A command that succeeded gets 2 s for
// whatever it left to finish (an unref'd timer: a process with nothing left exits at once, as ever).
if (code !== 0) process.exit(code);
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
