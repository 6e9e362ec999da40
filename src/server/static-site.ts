/**
 * `lvseg web build`: the segmentation page as a plain static folder, with the bundled models beside it, and
 * the lab page (training in the tab) in its `lab/` subfolder.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { WEB_ASSETS_DIR } from './app.js';
import { bundledModelsDir } from '../models/io.js';
import { bundledModels } from './models.js';

/**
 * Writes the page to `outDir`: index.html, its script, the wasm binaries, `models/NAME/` for each bundled
 * model and a models.json listing them; and the lab page to `outDir/lab/`. Any static file server (or `python3 -m http.server`) can serve it.
 * Returns the number of models listed.
 */
export function writeStaticSegmentPage(outDir: string, assetsDir = WEB_ASSETS_DIR, modelsDir = bundledModelsDir()): number {
  const page = join(assetsDir, 'segment');
  if (!existsSync(join(page, 'index.html'))) throw new UsageError(`lvseg's web pages are not built (${page} is missing); run 'npm run build' in the lvseg folder`);
  mkdirSync(outDir, { recursive: true });
  cpSync(page, outDir, { recursive: true });
  cpSync(join(assetsDir, 'lab'), join(outDir, 'lab'), { recursive: true });
  const models = bundledModels('models/', modelsDir);
  if (models.length > 0) cpSync(modelsDir, join(outDir, 'models'), { recursive: true });
  writeFileSync(join(outDir, 'models.json'), JSON.stringify(models, null, 2) + '\n');
  return models.length;
}

/**
 * What an earlier `web build` wrote in `dir` (for --overwrite): the page's own files and folders, lab/,
 * models/ and models.json, and only where that models.json and the page's index.html are both there.
 */
export function staticSiteEntries(dir: string, assetsDir = WEB_ASSETS_DIR): (entry: string) => boolean {
  const own = new Set<string>();
  if (existsSync(join(dir, 'models.json')) && existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'lab'))) {
    for (const e of ['models.json', 'models', 'lab', ...readdirSync(join(assetsDir, 'segment'))]) own.add(e);
  }
  return (entry) => own.has(entry);
}
