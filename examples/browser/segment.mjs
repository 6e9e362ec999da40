// lvseg/browser on a web page: a model run the way `lvseg predict` runs it, with the settings from its
// lvseg.json. Bundle this module (esbuild, vite) or map its bare imports with an import map, and serve
// the model's folder (model.json, weights, lvseg.json) and tfjs-backend-wasm's .wasm files with the page.
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  applyScaling,
  checkModelMetadata,
  decodeDicom,
  inferenceModel,
  measureMask,
  parseScaling,
  segmentImage,
} from 'lvseg/browser';

/** Loads the model in the folder `modelUrl` on tfjs's wasm backend, whose .wasm files are under `wasmUrl`. */
export async function loadSegmenter(modelUrl, wasmUrl) {
  // Before the wasm backend starts; `true` fetches the files, which also works in Node.
  setWasmPaths(wasmUrl, true);
  await tf.setBackend('wasm');
  await tf.ready();
  // The model's settings: input scaling, preprocessing, test-time flips, post-processing, label convention.
  const settings = checkModelMetadata(await (await fetch(new URL('lvseg.json', modelUrl))).json(), 'lvseg.json');
  // The inference form (batch norms folded into the convolutions) is what `lvseg predict` runs.
  const saved = await loadLayersModel(new URL('model.json', modelUrl).href);
  const model = await inferenceModel(saved);
  if (model !== saved) saved.dispose();
  const segment = { preprocessing: settings.preprocessing, inference: settings.inference };
  return { model, scale: parseScaling(settings.scale), segment, labels: settings.labels };
}

/** Segments one DICOM file's bytes: the label mask, and the LV blood pool's contour and area in px and mm². */
export async function segmentDicom({ model, scale, segment }, bytes, name) {
  const { pixels, rows, columns, spacing } = decodeDicom(bytes, name);
  const sample = {
    name,
    patient: name,
    image: applyScaling(pixels, scale),
    label: new Uint8Array(rows * columns),
    height: rows,
    width: columns,
    spacing,
  };
  const { mask } = await segmentImage(model, sample, segment);
  // label 1 is the blood pool (a model with the wall marks the myocardium 2)
  const lv = mask.map((v) => (v === 1 ? 1 : 0));
  return { mask, ...measureMask(lv, rows, columns, spacing) };
}

// On the page, for a DICOM file the user picked:
//   const lvseg = await loadSegmenter(new URL('models/lv-sunnybrook/', location.href), new URL('wasm/',
// location.href).href);
//   const { lvAreaPx, lvAreaMm2, contour } = await segmentDicom(lvseg, new Uint8Array(await file.arrayBuffer()),
// file.name);
