import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { ensureBuilt } from '../cli/run-cli.js';

describe("the library's first call", () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it("loadModel('lv-sunnybrook') works before any other lvseg call, in a fresh process", async () => {
    // Before loadModel selected a backend this threw "The highest priority backend 'wasm' has not yet been
    // initialized".
    const code =
      `const { loadModel } = await import(${JSON.stringify(join(PACKAGE_ROOT, 'dist', 'src', 'index.js'))});
const { model, scale, segment } = await loadModel('lv-sunnybrook');
const tf = await import('@tensorflow/tfjs-core');
console.log(JSON.stringify({ backend: tf.getBackend(), input: model.inputs[0].shape, scale, roi: ` +
      `segment.preprocessing.roi.size }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', code], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
    });
    const loaded = JSON.parse(stdout.trim().split('\n').at(-1)!) as { backend: string };
    // auto, as evaluate and predict: onednn where the addon is built, else wasm (webgpu on a real GPU)
    expect(['onednn', 'wasm', 'webgpu']).toContain(loaded.backend);
    expect(loaded).toEqual({ backend: loaded.backend, input: [null, 128, 128, 1], scale: 1 / 255, roi: 128 });
  }, 120_000);
});
