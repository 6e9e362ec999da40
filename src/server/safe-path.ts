/**
 * Request paths to files, confined to one folder: no `..`, no absolute paths, no backslashes or NUL bytes,
 * and no symbolic link leading out (the real path must stay under the folder's real path).
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';

/**
 * The real path of the regular file `relative` names under `root`, or undefined when it does not exist, is not a
 * file or would lie outside `root`. `relative` is the URL path after the route's prefix, already
 * percent-decoded.
 */
export function fileInside(root: string, relative: string): string | undefined {
  if (relative.includes('\0') || relative.includes('\\') || isAbsolute(relative)) return undefined;
  const parts = relative.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(join(realRoot, ...parts));
  } catch {
    return undefined;
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return undefined;
  try {
    return statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `dir` is a folder whose real path lies under `root`'s (a run reached through a link stays inside). */
export function dirInside(root: string, dir: string): boolean {
  try {
    const realRoot = realpathSync(root);
    const real = realpathSync(dir);
    return real.startsWith(realRoot + sep) && statSync(real).isDirectory();
  } catch {
    return false;
  }
}
