/**
 * vitest globalSetup: the suite runs with its own TMPDIR (inherited by the test workers and the CLIs they
 * spawn), so that the developers and runs beside it do not blur the count; at the end the lvseg-* folders
 * left there are listed and fail the run, and the folder goes, so the system temp folder is as it was.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'lvseg-suite-'));
  // open to every user, sticky, as /tmp is: a test runs a command as another user (outputs.test.ts)
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => {
    const left = readdirSync(dir).filter((e) => e.startsWith('lvseg-') || e.startsWith('.lvseg-'));
    rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (left.length > 0)
      throw new Error(
        `the tests left ${left.length} temporary folder(s) behind: ${left.sort().join(', ')}; make them with ` +
          `tempDir() (test/temp.ts) or remove them in the test`,
      );
  };
}
