// Regenerates the API reference into a temporary folder and compares it with the checked-in docs/api:
// CI fails when a doc comment or the export list changed without `npm run docs:api`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const checkedIn = join(root, 'docs', 'api');
const fresh = mkdtempSync(join(tmpdir(), 'lvseg-api-docs-'));

function files(dir) {
  return readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)],
  );
}

try {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', fresh, '--logLevel', 'Error'],
    { cwd: root, stdio: 'inherit' },
  );
  const want = files(fresh)
    .map((f) => relative(fresh, f))
    .sort();
  const have = files(checkedIn)
    .map((f) => relative(checkedIn, f))
    .sort();
  const differing = [...new Set([...want, ...have])].filter(
    (f) =>
      !want.includes(f) || !have.includes(f) || !readFileSync(join(fresh, f)).equals(readFileSync(join(checkedIn, f))),
  );
  if (differing.length > 0) {
    console.error(
      `docs/api is not what the doc comments generate (${differing.join(', ')}): run 'npm run docs:api' and commit ` +
        `docs/api`,
    );
    process.exitCode = 1;
  } else {
    console.log(`docs/api matches the doc comments (${want.length} files)`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
