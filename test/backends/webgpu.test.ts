import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerWebGpuBackend } from '../../src/backends/webgpu.js';
import { train } from '../../src/workflows/api.js';
import { tempDir } from '../temp.js';

// On a machine without a GPU, Dawn's OpenGL backend on Mesa's llvmpipe (setup installs libegl-mesa0
// and libgl1-mesa-dri) gives a compatibility-mode adapter: the same WGSL kernels, run on the CPU.
const found = await registerWebGpuBackend(true);
if (!found.ok) console.warn(`webgpu tests skipped: ${found.reason}`);

describe.skipIf(!found.ok)('the webgpu backend in Node (dawn.node)', () => {
  it(
    'trains a few steps of a small network to the cpu backend’s losses and writes the same run ' + 'directory',
    async () => {
      const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };
      const runs = [];
      for (const backend of ['cpu', 'webgpu'] as const) {
        const out = join(tempDir(`lvseg-${backend}-`), 'run');
        runs.push(
          await train(
            {
              modelSpec: 'test/training/tiny-model.json',
              train: 'synthetic:4:1:32',
              val: 'synthetic:2:100:32',
              epochs: 2,
              batchSize: 2,
              lr: 0.01,
              scale: '1/255',
              backend,
              out,
              tensorboard: false,
            },
            quiet,
          ),
        );
      }
      const [cpu, gpu] = runs;
      expect(gpu!.config.backend).toBe('webgpu');
      expect(cpu!.config.backend).toBe('cpu');
      for (const [a, b] of cpu!.history.map((e, i) => [e, gpu!.history[i]!] as const)) {
        for (const key of ['loss', 'val_loss', 'val_dice']) expect(b[key]!).toBeCloseTo(a[key]!, 4);
      }
      expect(gpu!.evaluation!.metrics.meanDice).toBeCloseTo(cpu!.evaluation!.metrics.meanDice, 4);
    },
  );
});
