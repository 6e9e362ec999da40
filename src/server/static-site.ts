/**
 * `lvseg web build`: the segmentation page as a plain static folder, with the bundled models beside it, and
 * the lab page (training in the tab) in its `lab/` subfolder.
 */
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
