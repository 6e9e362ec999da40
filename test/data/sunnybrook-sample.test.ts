import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUNNYBROOK_SAMPLE } from '../../src/cli/demo.js';
import { cardiacPhases } from '../../src/data/cardiac-phase.js';
import { readPngDataset } from '../../src/data/png-dataset.js';
import type { Sample } from '../../src/data/sample.js';
import { foregroundArea } from '../../src/evaluation/index.js';

const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sunnybrook', 'png');
const hasShared = existsSync(SHARED);
if (!hasShared) console.warn(`sample-vs-shared checks skipped: ${SHARED} not found`);

async function read(dir: string): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of readPngDataset(dir)) out.push(s);
  return out;
}

describe('the Sunnybrook sample in the repository', () => {
  it('holds 3 training and 2 validation patients of 128×128 slices with masks, spacing and ED/ES names', async () => {
    const training = await read(join(SUNNYBROOK_SAMPLE, 'training'));
    const validation = await read(join(SUNNYBROOK_SAMPLE, 'validation'));
    expect([...new Set(training.map((s) => s.patient))]).toEqual(['SC-HF-I-01', 'SC-HF-I-02', 'SC-HF-I-04']);
    expect([...new Set(validation.map((s) => s.patient))]).toEqual(['SC-HF-I-05', 'SC-HF-I-06']);
    expect([training.length, validation.length]).toEqual([56, 40]);
    for (const s of [...training, ...validation]) {
      expect([s.height, s.width]).toEqual([128, 128]);
      expect(foregroundArea(s.label), s.name).toBeGreaterThan(0);
    }
    expect(training.find((s) => s.patient === 'SC-HF-I-04')!.spacing).toEqual([1.2891, 1.2891]);
    expect(validation[0]!.spacing).toEqual([1.3672, 1.3672]);
    const phases = [...cardiacPhases(validation).values()];
    expect(phases.filter((p) => p === 'ED')).toHaveLength(20);
  });

  it.skipIf(!hasShared)('is the central crop of the shared slices, with every LV pixel kept', async () => {
    for (const split of ['training', 'validation']) {
      const sample = await read(join(SUNNYBROOK_SAMPLE, split));
      const names = new Set(sample.map((s) => s.patient));
      const shared = new Map<string, Sample>();
      for await (const s of readPngDataset(join(SHARED, split))) if (names.has(s.patient)) shared.set(s.name, s);
      expect(shared.size).toBe(sample.length);
      for (const s of sample) {
        const full = shared.get(s.name)!;
        expect(foregroundArea(s.label), s.name).toBe(foregroundArea(full.label));
        for (const [r, c] of [
          [0, 0],
          [64, 37],
          [127, 127],
        ] as const)
          expect(s.image[r * 128 + c]).toBe(full.image[(r + 64) * 256 + c + 64]);
      }
    }
  });
});
