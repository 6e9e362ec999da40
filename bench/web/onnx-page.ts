/**
 * The browser half of `npm run bench -- onnx` (bundled by bench/onnx.bench.ts with esbuild, served
 * cross-origin isolated): the bundled model on tfjs's wasm backend as each of the segmentation page's
 * workers runs it (lvseg's wasm kernels and SIMD module, tfjs's single-threaded build; loadLayersModel,
 * then its inference form), beside onnxruntime-web's wasm backend on the model's ONNX export with every
 * core as threads. Runs alternate between the two; the results go back to the bench as records.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type BackendWasm, getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-web/wasm';
import { registerWasmTrainingKernels } from '../../src/backends/wasm-kernels.js';
import { prepareWasmSimdKernels } from '../../src/backends/wasm-simd.js';
import { inferenceModel } from '../../src/models/fold.js';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

async function lvsegOnnxBench({
  batches,
  runs,
}: {
  batches: number[];
  runs: number;
}): Promise<Record<string, unknown>[]> {
  const here = new URL('./', location.href).href;
  setWasmPaths(here);
  // as the page's workers: single-threaded (lvseg's SIMD module needs it), lvseg's kernels registered
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await prepareWasmSimdKernels(tf.backend() as BackendWasm);
  const saved = await tfl.loadLayersModel('model/model.json');
  const model = await inferenceModel(saved);
  const [, height, width] = model.inputs[0]!.shape as number[];
  ort.env.wasm.wasmPaths = here;
  // threads where the page is cross-origin isolated (SharedArrayBuffer); both runtimes get the cores
  ort.env.wasm.numThreads = crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  const session = await ort.InferenceSession.create('model.onnx', {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const records: Record<string, unknown>[] = [];
  for (const batch of batches) {
    const data = new Float32Array(batch * height! * width!);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 1.5;
    const x = tf.tensor4d(data, [batch, height!, width!, 1]);
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, [batch, height!, width!, 1]) };
    const tfjs = async (): Promise<void> => {
      const y = model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    };
    const onnx = async (): Promise<void> => {
      await session.run(feeds);
    };
    await tfjs();
    await onnx();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < runs; i++) {
      let start = performance.now();
      await tfjs();
      a.push(performance.now() - start);
      start = performance.now();
      await onnx();
      b.push(performance.now() - start);
    }
    x.dispose();
    const tfjsMs = median(a);
    const onnxMs = median(b);
    records.push({
      batch,
      size: height,
      tfjs_backend: tf.getBackend(),
      lvseg_wasm_simd: simd,
      tfjs_wasm_ms: round(tfjsMs),
      onnxruntime_web_ms: round(onnxMs),
      speedup: round(onnxMs / tfjsMs, 2),
      tfjs_wasm_runs_ms: a.map((v) => round(v)),
      onnxruntime_web_runs_ms: b.map((v) => round(v)),
      runs,
      statistic: 'median',
      cross_origin_isolated: crossOriginIsolated,
      tfjs_threads: getThreadsCount(),
      onnxruntime_threads: ort.env.wasm.numThreads,
      onnxruntime: `onnxruntime-web ${ort.env.versions.web} wasm simd`,
    });
  }
  await session.release();
  model.dispose();
  if (model !== saved) saved.dispose();
  return records;
}

(window as unknown as { lvsegOnnxBench: typeof lvsegOnnxBench }).lvsegOnnxBench = lvsegOnnxBench;
