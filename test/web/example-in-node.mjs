// Runs examples/browser/segment.mjs in Node as a page would run it: the model's folder and the wasm
// files come over HTTP from a server of `root`. Prints {lvAreaPx, lvAreaMm2, maskLength, backend} as JSON.
// Usage: node example-in-node.mjs EXAMPLE ROOT MODEL_DIR_IN_ROOT DICOM
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [example, root, modelDir, dicom] = process.argv.slice(2);
const server = createServer((req, res) => {
  const file = resolve(root, '.' + decodeURIComponent(new URL(req.url, 'http://x').pathname));
  try {
    if (relative(root, file).startsWith('..')) throw new Error('outside');
    res.end(readFileSync(file));
  } catch {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
try {
  const base = `http://127.0.0.1:${server.address().port}/`;
  const { loadSegmenter, segmentDicom } = await import(pathToFileURL(resolve(example)).href);
  const lvseg = await loadSegmenter(
    new URL(`${modelDir}/`, base),
    `${base}node_modules/@tensorflow/tfjs-backend-wasm/dist/`,
  );
  const { lvAreaPx, lvAreaMm2, mask } = await segmentDicom(lvseg, new Uint8Array(readFileSync(dicom)), 'slice.dcm');
  const tf = await import('@tensorflow/tfjs-core');
  console.log(JSON.stringify({ lvAreaPx, lvAreaMm2, maskLength: mask.length, backend: tf.getBackend() }));
} finally {
  server.close();
}
