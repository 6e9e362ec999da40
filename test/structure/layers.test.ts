import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { RUN_FILES, RUN_PARTS } from '../../src/runs/run-dir.js';
import { TRAIN_OPTIONS, flagName } from '../../src/training/config.js';
import { command as trainCommand } from '../../src/cli/train.js';

const SRC = join(PACKAGE_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Each source file's folder under src/ and the folders it imports from (type-only imports included). */
function imports(): { file: string; folder: string; from: string[] }[] {
  return sourceFiles(SRC).map((path) => {
    const file = relative(SRC, path);
    const folder = file.includes('/') ? file.split('/')[0]! : '.';
    const specifiers = [...readFileSync(path, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)].map((m) => m[1]!);
    const from = specifiers.map((s) => relative(SRC, join(path, '..', s)).split('/')[0]!);
    return { file, folder, from };
  });
}

describe('the layers of src/', () => {
  it('training/ imports neither evaluation/, reporting/, workflows/ nor cli/', () => {
    const offending = imports()
      .filter((f) => f.folder === 'training')
      .flatMap((f) => f.from.filter((t) => ['evaluation', 'reporting', 'workflows', 'cli'].includes(t)).map((t) => `${f.file} -> ${t}/`));
    expect(offending).toEqual([]);
  });

  it('nothing imports cli/ but cli/, and only workflows/ and cli/ import workflows/', () => {
    const offending = imports().flatMap((f) =>
      f.from
        .filter((t) => (t === 'cli' && f.folder !== 'cli') || (t === 'workflows' && !['workflows', 'cli', 'index.ts'].includes(f.folder === '.' ? f.file : f.folder)))
        .map((t) => `${f.file} -> ${t}/`),
    );
    expect(offending).toEqual([]);
  });

  it("names the run directory's files and folders only in src/runs/", () => {
    const files = [...Object.values(RUN_FILES), RUN_PARTS.report].map((n) => new RegExp(`'${n.replace('.', '\\.')}'`));
    const folders = Object.values(RUN_PARTS).filter((n) => !n.includes('.'));
    // A folder name is a path when it is joined to one: join(dir, 'best'), or 'best/model.json'.
    const asPath = new RegExp(`join\\((?![^)]*runPath)[^)]*'(${folders.join('|')})'|'(${folders.join('|')})/`);
    const offending = sourceFiles(SRC)
      .filter((path) => !relative(SRC, path).startsWith('runs/'))
      .flatMap((path) => {
        const text = readFileSync(path, 'utf8');
        return [...files, asPath].filter((re) => re.test(text)).map((re) => `${relative(SRC, path)}: ${re.source}`);
      });
    expect(offending).toEqual([]);
  });

  it('derives every training flag from the one declaration of the options', () => {
    const flags = trainCommand.options.map((o) => o.name);
    const flagged = Object.entries(TRAIN_OPTIONS).filter(([, d]) => d.flag !== null).map(([k]) => flagName(k));
    expect(flags).toEqual([...flagged, 'config', 'resume']);
    expect(flagged).toContain('weight-decay');
    const batch = trainCommand.options.find((o) => o.name === 'batch-size')!;
    expect(batch).toMatchObject({ type: 'number', default: TRAIN_OPTIONS.batchSize.default, description: TRAIN_OPTIONS.batchSize.help });
    expect(trainCommand.options.find((o) => o.name === 'steps-per-epoch')!.default).toBe(0);
  });
});
