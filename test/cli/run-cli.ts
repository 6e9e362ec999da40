import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const LVSEG = join(PACKAGE_ROOT, 'bin', 'lvseg.js');

/** Builds dist/ when sources changed (the CLI runs from dist), as `npm test` does. */
export function ensureBuilt(): void {
  execFileSync('bash', [join(PACKAGE_ROOT, 'scripts', 'setup.sh')], { stdio: 'inherit', env: { ...process.env, LVSEG_SKIP_APT: '1', LVSEG_SKIP_NATIVE: '1' } });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `lvseg args…`; `onStart` gets the child (e.g. to kill it). */
export function runCli(args: string[], onStart?: (child: ChildProcess) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LVSEG, ...args], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}
