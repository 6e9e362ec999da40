import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CONTRACT } from '../../src/backends/onednn/contract.js';
import { missingIsa } from '../../src/backends/native-addon.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** The tables of native/contract.h: `enum class NAME : int32_t { A = 0, ... };` and `struct NAME { enum : int { ... };
 * };`. */
function parseContractHeader(text: string): Record<string, Record<string, number>> {
  const code = text.replace(/\/\/.*$/gm, '');
  const tables: Record<string, Record<string, number>> = {};
  for (const [, name, body] of code.matchAll(/(?:enum class|struct)\s+(\w+)[^{]*\{\s*(?:enum[^{]*\{)?([^}]*)\}/g)) {
    const entries: Record<string, number> = {};
    let next = 0;
    for (const item of body
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [key, value] = item.split('=').map((s) => s.trim());
      next = value === undefined ? next : Number(value);
      entries[key] = next++;
    }
    tables[name] = entries;
  }
  return tables;
}

describe('the JavaScript <-> C++ contract', () => {
  const header = parseContractHeader(readFileSync(join(PACKAGE_ROOT, 'native', 'contract.h'), 'utf8'));

  test('native/contract.h and onednn/contract.ts declare the same op codes and dims layouts', () => {
    expect(Object.keys(header).sort()).toEqual(Object.keys(CONTRACT).sort());
    for (const [name, table] of Object.entries(CONTRACT)) expect(header[name], name).toEqual(table);
  });

  test('every table numbers its entries 0, 1, 2, ... with Count one past the last', () => {
    for (const [name, table] of Object.entries(header)) {
      const entries = Object.entries(table);
      expect(
        entries.map(([, v]) => v),
        name,
      ).toEqual(entries.map((_, i) => i));
      expect(entries.at(-1), name).toEqual(['Count', entries.length - 1]);
    }
  });

  test('the parser reads both kinds of declaration, and a changed code shows up as a difference', () => {
    const parsed = parseContractHeader(
      'enum class Op : int32_t { A = 0, B = 1, Count = 2 };\nstruct Dim {\n  enum : int { X = 0, // why\n Y = 1, ' +
        'Count = 2 };\n};',
    );
    expect(parsed).toEqual({ Op: { A: 0, B: 1, Count: 2 }, Dim: { X: 0, Y: 1, Count: 2 } });
    expect(parseContractHeader('enum class BinaryOp : int32_t { Add = 0, Sub = 2 };').BinaryOp).not.toEqual({
      Add: 0,
      Sub: 1,
    });
  });
});

describe('the addon is refused on a CPU without the extensions it was built for', () => {
  const record =
    'macros:AVX AVX2 AVX512F BMI LZCNT SSE3 SSE4_2 \nflags\t\t: fpu sse3 pni sse4_2 avx avx2 avx512f bmi1\n';

  test('a CPU with every extension passes, whatever the flag spelling', () => {
    expect(missingIsa(record, 'processor : 0\nflags\t\t: fpu pni sse4_2 avx avx2 avx512f bmi1 bmi2\n')).toEqual([]);
  });

  test('a CPU without AVX-512 (a container image moved to an older host) is refused, naming what it lacks', () => {
    expect(missingIsa(record, 'flags\t\t: fpu pni sse4_2 avx avx2 bmi1\n')).toEqual(['avx512f']);
  });

  test('an extension the build CPU did not show in its flags (a VM hiding abm) is not compared', () => {
    expect(missingIsa(record, 'flags\t\t: fpu pni sse4_2 avx avx2 avx512f bmi1\n')).not.toContain('lzcnt');
  });
});
