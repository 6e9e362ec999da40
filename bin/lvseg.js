#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// The CLI owns its process, so it takes the addon's malloc setting (big blocks kept in the heap; a
// library user opts in with LVSEG_MALLOPT=1): without it an FCN step at batch 8 took ~2x as long
// relative to PyTorch (docs/backends.md). LVSEG_MALLOPT=0 turns it off. Read when the addon loads.
process.env.LVSEG_MALLOPT ??= '1';

process.exitCode = await main(process.argv.slice(2));
