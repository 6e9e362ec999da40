import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDirAtomic } from '../../src/io/atomic.js';
import { renderReport } from '../../src/reporting/report.js';
import { areasCsv, layoutVolumeCurve, phasesCsv, type VolumesRecord } from '../../src/reporting/volumes.js';

const root = mkdtempSync(join(tmpdir(), 'lvseg-volumes-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A small record: 2 slices × 4 phases, no volume at phase 3, experts at phases 1 and 2. */
function record(): VolumesRecord {
  return {
    edvMl: 30,
    esvMl: 18,
    svMl: 12,
    efPct: 40,
    edPhase: 1,
    esPhase: 2,
    lvMassG: null,
    wall: null,
    heartRateBpm: 60,
    heartRateSource: 'HeartRate (0018,1088)',
    cardiacOutputLMin: 0.72,
    countedSlices: [1, 2],
    series: {
      dir: '/data/cine',
      uid: '1.2.3',
      description: 'sax',
      images: 7,
      slices: 2,
      phases: 4,
      rows: 8,
      columns: 8,
      pixelSpacingMm: [1, 1],
      sliceCentresFrom: 'ImagePositionPatient',
      phaseOrder: 'trigger time',
    },
    seriesFound: [{ uid: '1.2.3', description: 'sax', images: 7, positions: 2, problem: null }],
    segmenter: { model: 'm.json' },
    rule: {
      minAreaMm2: 50,
      maxAreaChange: 0.4,
      maxCentreShiftMm: 10,
      maxRepairs: 2,
      maxAxisStepMm: 20,
      maxImageFraction: 0.2,
      maxSystolicGrowth: 0.2,
      maxPhaseStep: 0.2,
      minBasalCorrelation: -0.5,
      minMyocardialRing: 0.5,
      text: 'the rule',
    },
    phases: [
      { phase: 1, triggerTimeMs: 0, volumeMl: 30 },
      { phase: 2, triggerTimeMs: 250, volumeMl: 18 },
      { phase: 3, triggerTimeMs: 500, volumeMl: null },
      { phase: 4, triggerTimeMs: 750, volumeMl: 25 },
    ],
    slices: [1, 2].map((slice) => ({
      slice,
      zMm: slice * 10,
      counted: true,
      reason: null,
      thicknessMm: 10,
      areasMm2: [1500, 900, slice === 1 ? null : 1000, 1250],
      usedAreasMm2: [1500, 900, slice === 1 ? null : 1000, 1250],
      status: ['ok', 'ok', slice === 1 ? 'missing' : 'ok', 'ok'],
    })),
    experts: {
      dir: '/data/contours',
      edvMl: 31,
      esvMl: 19,
      svMl: 12,
      efPct: 38.7,
      edPhase: 1,
      esPhase: 2,
      phases: [1, 2],
      countedSlices: [1, 2],
      slices: [],
      asTrainingMasks: { edvMl: 33, esvMl: 20, efPct: 39.4 },
      warnings: [],
      lvMassG: null,
      wall: null,
    },
    warnings: ['slice 1 has no image at phase 3'],
  };
}

describe('volumes outputs', () => {
  it('writes one CSV row per phase and one per slice and phase, empty cells where there is no value', () => {
    expect(phasesCsv(record()).split('\n').slice(0, 4)).toEqual([
      'phase,trigger_time_ms,volume_ml,ed,es',
      '1,0,30,1,0',
      '2,250,18,0,1',
      '3,500,,0,0',
    ]);
    const areas = areasCsv(record()).trim().split('\n');
    expect(areas).toHaveLength(1 + 2 * 4);
    expect(areas[3]).toBe('1,10,1,,10,3,,,missing');
  });

  it("breaks the volume curve where a phase has no volume and marks the experts' ED and ES", () => {
    const scene = layoutVolumeCurve(record());
    const lines = scene.shapes.filter((s) => s.kind === 'polyline');
    expect(lines.map((l) => (l.kind === 'polyline' ? l.points.length : 0))).toEqual([2, 1]);
    const texts = scene.shapes.flatMap((s) => (s.kind === 'text' ? [s.text] : []));
    expect(texts).toEqual(expect.arrayContaining(['ED 30 mL', 'ES 18 mL', 'experts ED 31', 'experts ES 19']));
  });

  it('puts a volumes section with both columns and the warnings into the HTML report', () => {
    const html = renderReport([], { volumes: [{ dir: '/out', record: record() }], generatedAt: new Date(0) });
    expect(html).toContain('<title>lvseg volumes: sax</title>');
    expect(html).toContain('<th>lvseg</th><th>experts</th>');
    expect(html).toContain('<td>EF (%)</td><td class="num">40.0</td><td class="num">38.7</td>');
    expect(html).toContain('warning: slice 1 has no image at phase 3');
  });
});

describe('writeDirAtomic', () => {
  it('replaces a folder whole, and leaves it as it was when a write fails', async () => {
    const dir = join(root, 'out');
    mkdirSync(dir);
    writeFileSync(join(dir, 'old.txt'), 'old');
    await writeDirAtomic(dir, { 'a.json': '{}', 'b.png': new Uint8Array([1, 2]) });
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.png']);
    await expect(writeDirAtomic(dir, { 'c.txt': 'c', 'no/such/folder.txt': 'x' })).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.png']);
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{}');
    expect(readdirSync(root).filter((f) => f.startsWith('.'))).toEqual([]);
    await writeDirAtomic(join(root, 'new', 'deep'), { 'x.txt': 'x' });
    expect(existsSync(join(root, 'new', 'deep', 'x.txt'))).toBe(true);
  });
});
