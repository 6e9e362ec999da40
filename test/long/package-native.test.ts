import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installPackedApp, removeApp, removeTarball } from '../package/install.js';

describe('the packed package, with its addon', () => {
  it('builds the native addon on install and trains on onednn', async () => {
    const env = { ...process.env, LVSEG_SKIP_NATIVE: '0' };
    const { app } = await installPackedApp(env);
    expect(existsSync(join(app, 'node_modules', 'lvseg', 'build', 'Release', 'lvseg_onednn.node'))).toBe(true);
    const out = execFileSync(
      'npx',
      [
        '--no-install',
        'lvseg',
        'train',
        '--model',
        'fcn-small',
        '--train',
        'synthetic:4:1:64',
        '--val',
        'synthetic:2:9:64',
        '--epochs',
        '1',
        '--scale',
        '1/255',
        '--out',
        join(app, 'run'),
      ],
      { cwd: app, env, encoding: 'utf8' },
    );
    expect(out).toMatch(/Run directory: /);
    expect(JSON.parse(execFileSync('cat', [join(app, 'run', 'config.json')], { encoding: 'utf8' })).backend).toBe(
      'onednn',
    );
    removeApp(app);
    await removeTarball();
  }, 900_000);
});
