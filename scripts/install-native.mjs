#!/usr/bin/env node
// npm's install step for the package: builds the native oneDNN addon with node-gyp. A failed build is a
// one-line notice, never a failed install: lvseg then trains on the wasm backend. In a git checkout
// scripts/setup.sh builds the addon instead (only when native/ changed), so this does nothing there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(join(root, '.git')) || process.env.LVSEG_SKIP_NATIVE === '1') process.exit(0);

// npm runs install scripts with the path of its own node-gyp; outside npm, the one on the PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const build = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (build.status !== 0) {
  const why =
    (build.error?.message ?? build.stderr ?? '').split('\n').find((l) => /error/i.test(l)) ?? `exit ${build.status}`;
  console.error(
    `lvseg: the native oneDNN addon did not build (${why.trim()}); lvseg will use the wasm backend. For the fast ` +
      `one: apt-get install libdnnl-dev g++ make, then npm rebuild lvseg`,
  );
}
