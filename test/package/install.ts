import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_JSON, PACKAGE_ROOT } from '../../src/paths.js';
import { ensureBuilt } from '../cli/run-cli.js';

/** The README's library example: the js block after the `library-example` marker. */
export function readmeLibraryExample(): string {
  const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const block = /<!-- library-example -->\s*```js\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no library example after <!-- library-example -->');
  return block[1]!;
}

/**
 * A lockfile for an app that depends on the packed tarball, made from lvseg's own (its non-dev
 * entries keep their paths, versions and integrity), so `npm ci --offline` installs from the tarball
 * and the npm cache alone: `npm install <tarball> --offline` would need registry metadata that
 * `npm ci` never caches.
 */
function appLockfile(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const packages: Record<string, Record<string, unknown>> = {};
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev) continue;
    const { devOptional: _, ...kept } = entry;
    packages[path] = kept;
  }
  const { version, dependencies, bin } = PACKAGE_JSON as typeof PACKAGE_JSON & { bin: Record<string, string> };
  packages['node_modules/lvseg'] = { version, resolved: `file:${tarball}`, hasInstallScript: true, dependencies, bin };
  packages[''] = { name: 'app', dependencies: { lvseg: `file:${tarball}` } };
  return { name: 'app', lockfileVersion: 3, requires: true, packages };
}

/**
 * `npm pack` of this checkout installed into a new, empty app folder, offline; returns the app's folder.
 * `env` reaches the install (LVSEG_SKIP_NATIVE=1 skips the addon's build).
 */
export async function installPackedApp(env: NodeJS.ProcessEnv): Promise<string> {
  // asynchronous, so the test worker keeps answering vitest during the minute an install takes
  const run = promisify(execFile);
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'lvseg-pack-'));
  // dist/ is current (ensureBuilt), so the prepack build is skipped
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
  const name = stdout.trim().split('\n').at(-1)!;
  const app = join(dir, 'app');
  mkdirSync(app);
  const tarball = `../${name}`;
  // npm 11 runs a dependency's install script only when the project allows it (what `npm install-scripts approve` writes)
  const allowScripts = { [`file:${join(dir, name)}`]: true };
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { lvseg: `file:${tarball}` }, allowScripts }));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(appLockfile(tarball)));
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app, env });
  return app;
}
