/**
 * `lvseg web build`: the segmentation page and the lab page as a plain static folder, at the paths `lvseg
 * serve` gives them (`segment/`, `lab/`), with the bundled models in `models/` and a start page.
 */
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { WEB_ASSETS_DIR } from './app.js';
import { bundledModelsDir } from '../models/io.js';
import { bundledModels } from './models.js';

/** The start page of the static folder: the dashboard needs `lvseg serve`, the two pages do not. */
const START_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=segment/"><title>lvseg</title></head>
<body><p><a href="segment/">segment images</a> · <a href="lab/">lab: train in the browser</a>
(the runs dashboard comes with <code>lvseg serve</code>)</p></body>
</html>
`;

/**
 * Cross-origin isolation for hosts that read a _headers file (Netlify, Cloudflare Pages): with it the wasm
 * backend runs with threads; other servers need the same two headers set (README, "The segmentation page").
 */
const HEADERS_FILE = `/*
  Cross-Origin-Opener-Policy: same-origin
  Cross-Origin-Embedder-Policy: require-corp
`;

/**
 * Writes the pages to `outDir`: `segment/` (index.html, its script and worker, the wasm binaries and a
 * models.json listing the bundled models), `lab/`, `models/NAME/` for each bundled model, a start page and
 * a _headers file. Any static file server (or `python3 -m http.server`) can serve it.
 * Returns the number of models listed.
 */
export function writeStaticSegmentPage(
  outDir: string,
  assetsDir = WEB_ASSETS_DIR,
  modelsDir = bundledModelsDir(),
): number {
  const page = join(assetsDir, 'segment');
  if (!existsSync(join(page, 'index.html')))
    throw new UsageError(
      `lvseg's web pages are not built (${page} is missing); run 'npm run build' in the lvseg folder`,
    );
  mkdirSync(outDir, { recursive: true });
  cpSync(page, join(outDir, 'segment'), { recursive: true });
  cpSync(join(assetsDir, 'lab'), join(outDir, 'lab'), { recursive: true });
  const models = bundledModels('../models/', modelsDir);
  if (models.length > 0) cpSync(modelsDir, join(outDir, 'models'), { recursive: true });
  writeFileSync(join(outDir, 'segment', 'models.json'), JSON.stringify(models, null, 2) + '\n');
  writeFileSync(join(outDir, 'index.html'), START_PAGE);
  writeFileSync(join(outDir, '_headers'), HEADERS_FILE);
  return models.length;
}

/**
 * What an earlier `web build` wrote in `dir` (for --overwrite): segment/, lab/, models/, the start page and
 * _headers, and only where segment/models.json, the start page and lab/ are all there.
 */
export function staticSiteEntries(dir: string): (entry: string) => boolean {
  const own = new Set<string>();
  if (
    existsSync(join(dir, 'segment', 'models.json')) &&
    existsSync(join(dir, 'index.html')) &&
    existsSync(join(dir, 'lab'))
  ) {
    for (const e of ['segment', 'lab', 'models', 'index.html', '_headers']) own.add(e);
  }
  return (entry) => own.has(entry);
}
