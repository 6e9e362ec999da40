// Bundles lvseg's web pages (src/web/) into dist/web/ with esbuild: the segmentation page, the runs
// dashboard and the lab page (training in the tab), each a plain static folder that works offline. Run by
// `npm run build` and scripts/setup.sh.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
};

async function page(name, entry, bundle, assets) {
  const dir = join(out, name);
  mkdirSync(dir, { recursive: true });
  await build({ ...common, entryPoints: [join(root, 'src', 'web', name, entry)], outfile: join(dir, bundle) });
  for (const [from, to] of assets) copyFileSync(join(root, from), join(dir, to));
}

const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
const wasm = readdirSync(join(root, wasmDir))
  .filter((f) => f.endsWith('.wasm'))
  .map((f) => [`${wasmDir}/${f}`, f]);
await page('segment', 'page.ts', 'segment.js', [
  ['src/web/segment/index.html', 'index.html'],
  ['src/web/kit.css', 'kit.css'],
  ['src/web/segment/segment.css', 'segment.css'],
  ...wasm,
]);
await build({
  ...common,
  entryPoints: [join(root, 'src', 'web', 'segment', 'worker.ts')],
  outfile: join(out, 'segment', 'segment-worker.js'),
});
await page('dashboard', 'dashboard.ts', 'dashboard.js', [
  ['src/web/dashboard/index.html', 'index.html'],
  ['src/web/kit.css', 'kit.css'],
  ['src/web/dashboard/dashboard.css', 'dashboard.css'],
  ['node_modules/uplot/dist/uPlot.min.css', 'uPlot.min.css'],
]);
await page('lab', 'page.ts', 'lab.js', [
  ['src/web/lab/index.html', 'index.html'],
  ['src/web/kit.css', 'kit.css'],
  ['src/web/lab/lab.css', 'lab.css'],
  ['node_modules/uplot/dist/uPlot.min.css', 'uPlot.min.css'],
  ...wasm,
]);
