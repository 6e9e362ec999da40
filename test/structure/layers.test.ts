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

/**
 * Every folder and file at the top of src/, lowest layer first. A layer may import only from itself and
 * the layers before it: the run directory sits above the training loop and the models (they never
 * know a run folder), losses below both training and evaluation, inference below evaluation.
 */
const LAYERS = [
  'errors.ts',
  'paths.ts',
  'version.ts',
  'imaging',
  'io',
  'backends',
  'data',
  'transforms',
  'models',
  'losses',
  'training',
  'runs',
  'inference',
  'export',
  'evaluation',
  'reporting',
  'browser.ts',
  'server',
  'workflows',
  'index.ts',
  'web',
  'cli',
] as const;

interface ImportEdge {
  file: string;
  /** The layer (top-level folder or file of src/) of the importing file and of the imported one. */
  from: string;
  to: string;
  /** `import type`/`export type`, or braces of `type` names only: gone at runtime. */
  typeOnly: boolean;
}

/** The relative imports of one source file: static, re-exports, side-effect and dynamic `import()`. */
function importSpecifiers(text: string): { specifier: string; typeOnly: boolean }[] {
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b([^;]*?)from\s*'(\.[^']+)'/gms)) {
    const clause = m[1]!.trim();
    const braces = /^(?:type\s+)?\{([^}]*)\}$/.exec(clause);
    const typeNames = braces
      ? braces[1]!
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
      : [];
    const typeOnly = /^type\b/.test(clause) || (typeNames.length > 0 && typeNames.every((n) => n.startsWith('type ')));
    found.push({ specifier: m[2]!, typeOnly });
  }
  for (const m of text.matchAll(/^import\s*'(\.[^']+)'/gm)) found.push({ specifier: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) found.push({ specifier: m[1]!, typeOnly: false });
  return found;
}

const layerOf = (srcRelative: string): string => srcRelative.split('/')[0]!;

/** Every import from one layer of src/ to another. */
function importEdges(): ImportEdge[] {
  return sourceFiles(SRC).flatMap((path) => {
    const file = relative(SRC, path);
    return importSpecifiers(readFileSync(path, 'utf8'))
      .map(({ specifier, typeOnly }) => ({
        file,
        from: layerOf(file),
        to: layerOf(relative(SRC, join(path, '..', specifier)).replace(/\.js$/, '.ts')),
        typeOnly,
      }))
      .filter((e) => e.from !== e.to);
  });
}

const rank = (layer: string): number => (LAYERS as readonly string[]).indexOf(layer);

/** Imports that run from a lower layer to a higher one, as `file -> layer/`. */
function upward(edges: readonly ImportEdge[]): string[] {
  return edges
    .filter((e) => rank(e.to) > rank(e.from))
    .map((e) => `${e.file} -> ${e.to} (${e.from} is below ${e.to}${e.typeOnly ? ', type only' : ''})`);
}

describe('the layers of src/', () => {
  it('lists every folder and file at the top of src/ once, in one order', () => {
    expect([...LAYERS].sort()).toEqual(readdirSync(SRC).sort());
    expect(new Set(LAYERS).size).toBe(LAYERS.length);
  });

  it('no runtime import runs from a lower layer to a higher one, for every layer', () => {
    const edges = importEdges();
    expect(edges.length).toBeGreaterThan(100);
    expect(upward(edges.filter((e) => !e.typeOnly))).toEqual([]);
  });

  it('no type-only import runs upward either', () => {
    expect(upward(importEdges().filter((e) => e.typeOnly))).toEqual([]);
  });

  it('keeps the run directory above the training loop and the models, and both apart from it', () => {
    expect(rank('runs')).toBeGreaterThan(rank('training'));
    expect(rank('runs')).toBeGreaterThan(rank('models'));
    const intoRuns = importEdges().filter((e) => e.to === 'runs' && ['training', 'models'].includes(e.from));
    expect(intoRuns).toEqual([]);
  });

  it('reads static, type-only, side-effect and dynamic imports, so an upward one cannot hide', () => {
    const text = [
      "import { a } from '../runs/run-dir.js';",
      "import type { B } from '../evaluation/evaluate.js';",
      "import { type C, type D } from '../models/spec.js';",
      "import { type E, f } from '../data/sample.js';",
      "export { g } from './train.js';",
      "import '../backends/webgpu.js';",
      "const cli = await import('../cli/main.js');",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual([
      { specifier: '../runs/run-dir.js', typeOnly: false },
      { specifier: '../evaluation/evaluate.js', typeOnly: true },
      { specifier: '../models/spec.js', typeOnly: true },
      { specifier: '../data/sample.js', typeOnly: false },
      { specifier: './train.js', typeOnly: false },
      { specifier: '../backends/webgpu.js', typeOnly: false },
      { specifier: '../cli/main.js', typeOnly: false },
    ]);
    const edges: ImportEdge[] = [{ file: 'training/train.ts', from: 'training', to: 'runs', typeOnly: false }];
    expect(upward(edges)).toEqual(['training/train.ts -> runs (training is below runs)']);
  });

  it("the README's architecture table lists the layers in this order", () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Architecture'), readme.indexOf('### Backends'));
    const listed = [...section.matchAll(/^\| ([^|]+)\|/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/`src\/([^`/]+)\/?`/g)].map((n) => n[1]!),
    );
    expect(listed).toEqual([...LAYERS]);
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
    const flagged = Object.entries(TRAIN_OPTIONS)
      .filter(([, d]) => d.flag !== null)
      .map(([k]) => flagName(k));
    expect(flags).toEqual([...flagged, 'config', 'resume']);
    expect(flagged).toContain('weight-decay');
    const batch = trainCommand.options.find((o) => o.name === 'batch-size')!;
    expect(batch).toMatchObject({
      type: 'number',
      default: TRAIN_OPTIONS.batchSize.default,
      description: TRAIN_OPTIONS.batchSize.help,
    });
    expect(trainCommand.options.find((o) => o.name === 'steps-per-epoch')!.default).toBe(0);
  });
});
