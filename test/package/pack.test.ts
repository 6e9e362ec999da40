import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_JSON } from '../../src/paths.js';
import { installPackedApp, readmeLibraryExample } from './install.js';

describe('the packed package', () => {
  let app: string;
  const env = { ...process.env, LVSEG_SKIP_NATIVE: '1' };
  beforeAll(async () => {
    app = await installPackedApp(env);
  }, 300_000);

  it("installs into an empty folder offline and runs the README's library example", () => {
    writeFileSync(join(app, 'example.mjs'), readmeLibraryExample());
    const run = spawnSync(process.execPath, ['example.mjs'], { cwd: app, env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    // LVSEG_SKIP_NATIVE=1 skipped the addon's build: the one-line notice, then wasm
    expect(run.stderr).toMatch(/wasm.*native oneDNN addon/);
    expect(run.stdout).toMatch(/^Epoch 1\/1 - 12\/12 /m);
    expect(run.stdout).toMatch(/^mean Dice \d\.\d{3} on 4 images$/m);
    expect(run.stdout).toMatch(/^LV area \d+ px$/m);
    expect(run.stdout).toMatch(/^fcn 0\.0039/m);
  });

  it('runs npx lvseg --help and a command', () => {
    const help = execFileSync('npx', ['--no-install', 'lvseg', '--help'], { cwd: app, env, encoding: 'utf8' });
    expect(help).toContain(`lvseg ${PACKAGE_JSON.version}`);
    expect(help).toMatch(/^ {2}train\b/m);
    const out = execFileSync('npx', ['--no-install', 'lvseg', 'summary', '--model', 'fcn-small', '--json'], { cwd: app, env, encoding: 'utf8' });
    expect(JSON.parse(out).totalParams).toBeGreaterThan(0);
  });
});
