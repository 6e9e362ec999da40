/**
 * `npm run bench`: every benchmark prints JSON lines to stdout, e.g.
 * {"bench":"train-step","model":"fcn","backend":"onednn","batch":1,"step_ms":...}.
 * Run one group with `npm run bench -- NAME` (a file name below, without .bench).
 */
import { tuneOwnProcess } from '../src/cli/own-process.js';

export type Emit = (record: Record<string, unknown>) => void;
export interface Benchmark {
  name: string;
  run(emit: Emit, args: string[]): Promise<void>;
}

const benchmarks: Promise<{ benchmark: Benchmark }>[] = [
  // one line per bench module, e.g. import('./tfrecord.bench.js'),
  import('./tfrecord.bench.js'),
  import('./mask-metrics.bench.js'),
  import('./train-step.bench.js'),
  import('./transforms.bench.js'),
  import('./wasm.bench.js'),
  import('./onnx.bench.js'),
  import('./segment.bench.js'),
  import('./epoch.bench.js'),
];

// Measure what the CLI runs, with the settings it takes for its own process.
tuneOwnProcess();

const emit: Emit = (record) => console.log(JSON.stringify(record));
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const { benchmark } of await Promise.all(benchmarks)) {
  if (only.length > 0 && !only.includes(benchmark.name)) continue;
  await benchmark.run(emit, process.argv.slice(2));
}
