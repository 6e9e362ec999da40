#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';
import { tuneOwnProcess } from '../dist/src/cli/own-process.js';

// The CLI owns its process: the addon's malloc setting and V8's heap growth (src/cli/own-process.ts).
tuneOwnProcess();

const code = await main(process.argv.slice(2));
// A failed command has run its clean-ups; what may still hold the event loop (a queue client reconnecting,
// a job abandoned in this process) must not keep it from exiting. A command that succeeded gets 2 s for
// whatever it left to finish (an unref'd timer: a process with nothing left exits at once, as ever).
if (code !== 0) process.exit(code);
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
