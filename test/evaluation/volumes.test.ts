import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { rasterizeContour } from '../../src/data/contours.js';
import {
  computeVolumes,
  DEFAULT_VOLUME_RULE,
  describeVolumeRule,
  measureSliceMask,
  myocardialRing,
  type ImageMeasure,
} from '../../src/evaluation/volumes.js';

/** A slice × phase grid of measures from areas (mm²), every mask centred at `centre`. */
function grid(areas: (number | undefined)[][], centre: [number, number] = [0, 0]): (ImageMeasure | undefined)[][] {
  return areas.map((row) =>
    row.map((a) => (a === undefined ? undefined : a === 0 ? { areaMm2: 0 } : { areaMm2: a, centreMm: centre })),
  );
}

/** `slices` rows of a beating area: `ed` at phase 0, `es` half a cycle later. */
function beating(slices: number, phases: number, ed: number, es: number): number[][] {
  return Array.from({ length: slices }, () =>
    Array.from({ length: phases }, (_, p) => (ed + es) / 2 + ((ed - es) / 2) * Math.cos((2 * Math.PI * p) / phases)),
  );
}

const z = (n: number, step = 10): number[] => Array.from({ length: n }, (_, i) => i * step);

describe('measureSliceMask', () => {
  it('gives the area in mm² and the centre in mm from the pixel spacing and the slice origin', () => {
    const mask = new Uint8Array(4 * 5);
    for (const i of [6, 7, 11, 12]) mask[i] = 1; // rows 1-2, columns 1-2
    const m = measureSliceMask(mask, 4, 5, [2, 3], [100, 50]);
    expect(m.areaMm2).toBe(24);
    expect(m.centreMm).toEqual([100 + 2 * 3, 50 + 2 * 2]);
    expect(measureSliceMask(new Uint8Array(20), 4, 5, [1, 1]).centreMm).toBeUndefined();
  });

  it("measures a mask drawn with its contour's pixels to the line, as the experts' areas are", () => {
    // a circle of radius r pixels, drawn as the Sunnybrook masks are (inside + the line's pixels)
    for (const r of [8, 15, 25]) {
      const contour: [number, number][] = Array.from({ length: 96 }, (_, i) => [
        64.3 + r * Math.cos((i * Math.PI) / 48),
        63.8 + r * Math.sin((i * Math.PI) / 48),
      ]);
      const polygon = 0.5 * 96 * r * r * Math.sin(Math.PI / 48);
      const drawn = rasterizeContour(contour, 128, 128, { boundary: true });
      const pixels = measureSliceMask(drawn, 128, 128, [1, 1]).areaMm2;
      const toLine = measureSliceMask(drawn, 128, 128, [1, 1], [0, 0], 'contour-included');
      expect(pixels / polygon - 1).toBeGreaterThan(0.03);
      // pixel counts overshoot by 14%, 7% and 3%; to the line, within 1.5%
      expect(Math.abs(toLine.areaMm2 / polygon - 1)).toBeLessThan(0.015);
      // the centre and the covered fraction stay those of the pixels
      expect(toLine.centreMm).toEqual(measureSliceMask(drawn, 128, 128, [1, 1]).centreMm);
      expect(toLine.fraction).toBe(pixels / (128 * 128));
    }
  });
});

describe('computeVolumes', () => {
  it('sums discs of area × slice spacing and finds ED, ES, SV and EF', () => {
    const r = computeVolumes(grid(beating(5, 20, 2000, 1000)), z(5), { cyclic: true });
    expect(r.edvMl).toBeCloseTo((5 * 2000 * 10) / 1000, 9);
    expect(r.esvMl).toBeCloseTo((5 * 1000 * 10) / 1000, 9);
    expect(r.ed).toBe(0);
    expect(r.es).toBe(10);
    expect(r.svMl).toBeCloseTo(50, 9);
    expect(r.efPct).toBeCloseTo(50, 9);
    expect(r.slices.every((s) => s.counted && s.thicknessMm === 10)).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  it('gives each slice the mean distance to its neighbours when the spacing is uneven', () => {
    const r = computeVolumes(
      grid([
        [100, 100],
        [100, 100],
        [100, 100],
      ]),
      [0, 10, 30],
      { cyclic: false },
    );
    expect(r.slices.map((s) => s.thicknessMm)).toEqual([10, 15, 20]);
    expect(r.edvMl).toBeCloseTo((100 * 45) / 1000, 9);
  });

  it('leaves out slices without LV in every phase, and says why', () => {
    const areas = beating(6, 20, 2000, 1000);
    areas[0] = areas[0]!.map(() => 0); // beyond the apex
    areas[5] = areas[5]!.map((a, p) => (p >= 7 && p <= 13 ? 10 : a)); // basal: atrium in systole
    const r = computeVolumes(grid(areas), z(6), { cyclic: true });
    expect(r.slices.map((s) => s.counted)).toEqual([false, true, true, true, true, false]);
    expect(r.slices[0]!.reason).toBe('no LV in any phase');
    expect(r.slices[5]!.reason).toBe('no LV at phases 8–14');
    expect(r.edvMl).toBeCloseTo((4 * 2000 * 10) / 1000, 9);
  });

  it('interpolates an isolated jump or dropout from the neighbouring phases and warns', () => {
    const areas = beating(4, 20, 2000, 1000);
    const truth = computeVolumes(grid(areas), z(4), { cyclic: true });
    areas[1]![5] = 4500; // a spike
    areas[2]![12] = 0; // a dropout
    const r = computeVolumes(grid(areas), z(4), { cyclic: true });
    expect(r.slices[1]!.status[5]).toBe('repaired');
    expect(r.slices[2]!.status[12]).toBe('repaired');
    expect(r.slices.every((s) => s.counted)).toBe(true);
    expect(r.edvMl).toBeCloseTo(truth.edvMl, 6);
    expect(Math.abs(r.esvMl - truth.esvMl) / truth.esvMl).toBeLessThan(0.01);
    expect(r.warnings.join('\n')).toMatch(/slice 2: implausible mask at phase 6, area interpolated/);
  });

  it('flags a mask whose centre jumps though its area is right', () => {
    const areas = beating(3, 20, 2000, 1000);
    const m = grid(areas);
    m[1]![3] = { areaMm2: areas[1]![3]!, centreMm: [25, 0] };
    const r = computeVolumes(m, z(3), { cyclic: true });
    expect(r.slices[1]!.status[3]).toBe('repaired');
  });

  it('excludes a slice with jumps in adjacent phases or more than the repairs allowed', () => {
    const areas = beating(5, 20, 2000, 1000);
    areas[2]![4] = 5000;
    areas[2]![5] = 5000;
    areas[4]![2] = 5000;
    areas[4]![8] = 5000;
    areas[4]![14] = 5000;
    const r = computeVolumes(grid(areas), z(5), { cyclic: true });
    expect(r.slices[2]!.counted).toBe(false);
    expect(r.slices[2]!.reason).toMatch(/implausible mask at phases 5, 6/);
    expect(r.slices[4]!.counted).toBe(false);
    // Slice 3 (index 2) inside the stack is covered by its neighbours' discs: 10 + 5 mm each.
    expect(r.slices[1]!.thicknessMm).toBe(15);
    expect(r.slices[3]!.thicknessMm).toBe(15);
    expect(r.warnings.join('\n')).toMatch(/slice 3 is left out inside the stack/);
  });

  it('drops a counted slice beyond two excluded ones, and an end slice off the LV axis', () => {
    const areas = beating(8, 20, 2000, 1000);
    areas[5] = areas[5]!.map(() => 0);
    areas[6] = areas[6]!.map(() => 0);
    const m = grid(areas);
    m[0] = m[0]!.map((x) => ({ ...x!, centreMm: [30, 0] as [number, number] }));
    const r = computeVolumes(m, z(8), { cyclic: true });
    expect(r.slices[7]!.reason).toMatch(/separated from the LV stack/);
    expect(r.slices[0]!.reason).toMatch(/off the LV axis: its mask centre is 30\.0 mm from slice 2's/);
    expect(r.slices.filter((s) => s.counted).map((s) => s.slice)).toEqual([1, 2, 3, 4]);
  });

  it('drops an end slice whose area grows from ED to ES (the atrium beyond the valve)', () => {
    const areas = beating(5, 20, 2000, 1000);
    areas[4] = areas[4]!.map((_, p) => (p >= 8 && p <= 12 ? 1400 : 800)); // largest in systole
    const r = computeVolumes(grid(areas), z(5), { cyclic: true });
    expect(r.slices[4]!.counted).toBe(false);
    expect(r.slices[4]!.reason).toMatch(/^its area grows from ED to ES \(800 to 1400 mm²\): not the ventricle/);
    expect(r.edvMl).toBeCloseTo((4 * 2000 * 10) / 1000, 9);
  });

  it(
    'drops the basal end slice whose area moves against the ventricle over the cycle (the atrium filling), not the ' +
      'apical one',
    () => {
      const areas = beating(5, 20, 2000, 1000);
      areas[0] = beating(1, 20, 800, 400)[0]!; // the apex: the smaller end at ED
      // the base: 1400 mm² at ED, rising to 1600 in systole, under the 20% growth limit and without a step
      areas[4] = beating(1, 20, 1400, 1600)[0]!;
      const r = computeVolumes(grid(areas), z(5), { cyclic: true });
      expect(r.slices[4]!.counted).toBe(false);
      expect(r.slices[4]!.reason).toMatch(
        new RegExp(
          String.raw`^its area moves against the rest of the ventricle over the cycle \(correlation -1\.00\)` +
            ': the atrium beyond the valve',
        ),
      );
      expect(r.edvMl).toBeCloseTo(((800 + 3 * 2000) * 10) / 1000, 9);
      // the same curve at the apical end stays: no atrium lies there
      const apical = beating(5, 20, 2000, 1000);
      apical[0] = beating(1, 20, 600, 700)[0]!;
      expect(computeVolumes(grid(apical), z(5), { cyclic: true }).slices[0]!.counted).toBe(true);
      // and with fewer than five phases the rule does not apply
      const four = beating(5, 4, 2000, 1000);
      four[0] = beating(1, 4, 800, 400)[0]!;
      four[4] = beating(1, 4, 1400, 1600)[0]!;
      expect(computeVolumes(grid(four), z(5), { cyclic: true }).slices[4]!.counted).toBe(true);
    },
  );

  it('drops the basal end slice beyond one that fills in systole: past the atrium is past the valve', () => {
    const areas = beating(6, 20, 2000, 1000);
    areas[0] = beating(1, 20, 800, 400)[0]!; // the apex
    areas[4] = beating(1, 20, 1000, 1300)[0]!; // the atrium: 30% larger at ES than at ED
    areas[5] = areas[5]!.map(() => 1000); // beyond it: steady, so none of its own checks fires
    const r = computeVolumes(grid(areas), z(6), { cyclic: true });
    expect(r.slices[5]!.reason).toBe(
      'it lies beyond slice 5, where its area grows from ED to ES (1000 to 1300 mm²): beyond the valve, in the atrium',
    );
    expect(r.slices[4]!.reason).toMatch(/^its area grows from ED to ES \(1000 to 1300 mm²\): not the ventricle/);
    expect(r.slices.filter((s) => s.counted).map((s) => s.slice)).toEqual([0, 1, 2, 3]);
  });

  it('drops an end slice whose area steps between two phases (the valve plane crossing it), and says where', () => {
    const areas = beating(5, 20, 2000, 1000);
    // Ventricle at diastole, a smaller atrium in phases 6–14: 1900 → 1200 mm² is 37% of the largest.
    areas[4] = areas[4]!.map((a, p) => (p >= 5 && p <= 13 ? 1200 : a + 300));
    const r = computeVolumes(grid(areas), z(5), { cyclic: true });
    expect(r.slices[4]!.counted).toBe(false);
    expect(r.slices[4]!.reason).toMatch(
      new RegExp(
        String.raw`^its area steps by \d+% of its largest from phase \d+ to \d+ \(\d+ to 1200 mm²; a slice i` +
          String.raw`nside the ventricle changes by at most 20%\): the valve plane crosses it`,
      ),
    );
    expect(r.slices.filter((s) => s.counted).map((s) => s.slice)).toEqual([0, 1, 2, 3]);
    expect(r.edvMl).toBeCloseTo((4 * 2000 * 10) / 1000, 9);
    // A smooth ventricular curve steps by 8% of its largest per phase at 20 phases: kept.
    expect(
      computeVolumes(grid(beating(5, 20, 2000, 1000)), z(5), { cyclic: true }).slices.every((s) => s.counted),
    ).toBe(true);
  });

  it('tells a lasting step from a one-phase spike, and sees the step through the jump repair', () => {
    const spiked = beating(5, 20, 2000, 1000);
    spiked[4]![3] = spiked[4]![3]! * 1.5; // one slipped mask: a jump, repaired, the slice still counts
    const r = computeVolumes(grid(spiked), z(5), { cyclic: true });
    expect(r.slices[4]!.status[3]).toBe('repaired');
    expect(r.slices[4]!.counted).toBe(true);
    // A switch so large that the jump rule flags and repairs the image at each side of it: the repair would
    // turn the step into a ramp of half steps, the measured areas keep it whole.
    const switched = beating(5, 20, 2000, 1000);
    switched[4] = switched[4]!.map((a, p) => (p >= 8 && p <= 12 ? 450 : a));
    const s = computeVolumes(grid(switched), z(5), { cyclic: true }).slices[4]!;
    expect([s.status[8], s.status[12]]).toEqual(['repaired', 'repaired']);
    expect(Math.round(s.usedAreasMm2[8]!)).toBe(828); // 1206 → 828 → 450: half steps of 19%, within the 20%
    expect(s.reason).toMatch(
      /^its area steps by 38% of its largest from phase 8 to 9 \(1206 to 450 mm².*the valve plane crosses it/,
    );
  });

  it('allows larger steps per phase in a cine of fewer than 20 phases, and none of this at ED and ES only', () => {
    // The same step of 30% of the largest area: beyond the 20% at 20 phases, within 20% × 20 / 10 = 40% at 10.
    const stepped = (P: number): number[][] => {
      const areas = beating(5, P, 2000, 1000);
      areas[4] = areas[4]!.map((_, p) => (p >= P / 4 && p < (3 * P) / 4 ? 1400 : 2000));
      return areas;
    };
    expect(computeVolumes(grid(stepped(20)), z(5), { cyclic: true }).slices[4]!.reason).toMatch(
      /^its area steps by 30% .*at most 20%\)/,
    );
    expect(computeVolumes(grid(stepped(10)), z(5), { cyclic: true }).slices[4]!.counted).toBe(true);
    // Two contoured phases are no cycle: a basal slice that shrinks by 60% from ED to ES still counts.
    const experts = computeVolumes(
      grid([
        [2000, 1000],
        [2000, 1000],
        [2000, 800],
      ]),
      z(3),
      { cyclic: false },
    );
    expect(experts.slices.every((s) => s.counted)).toBe(true);
  });

  it('leaves a phase without a volume where a counted slice has no image, and chooses ED/ES among the others', () => {
    const m = grid(beating(4, 20, 2000, 1000));
    m[2]![0] = undefined;
    const r = computeVolumes(m, z(4), { cyclic: true });
    expect(r.volumesMl[0]).toBeNull();
    expect(r.ed).not.toBe(0);
    expect(r.es).toBe(10);
    expect(r.warnings.join('\n')).toMatch(/no volume at phase 1 .*ED and ES are chosen among the other 19 phases/);
  });

  it('compares non-cyclic phases without temporal checks (expert contours at ED and ES)', () => {
    const r = computeVolumes(
      grid([
        [0, 0],
        [1000, 600],
        [1200, 0],
        [900, 500],
      ]),
      z(4),
      { cyclic: false, phaseNames: [8, 19] },
    );
    expect(r.slices.map((s) => s.counted)).toEqual([false, true, false, true]);
    expect(r.slices[2]!.reason).toBe('no LV at phase 19');
    // Slices 2 and 4 cover the left-out slice 3 between them: 5 + 10 mm each.
    expect(r.slices[1]!.thicknessMm).toBe(15);
    expect(r.edvMl).toBeCloseTo(((1000 + 900) * 15) / 1000, 9);
  });

  it('throws a DataError when no slice counts, and warns when fewer than three do', () => {
    expect(() =>
      computeVolumes(
        grid([
          [0, 0],
          [10, 10],
        ]),
        z(2),
        { cyclic: false },
      ),
    ).toThrow(DataError);
    expect(() =>
      computeVolumes(
        grid([
          [0, 0],
          [10, 10],
        ]),
        z(2),
        { cyclic: false },
      ),
    ).toThrow(/no slice has a plausible LV mask in every phase/);
    const r = computeVolumes(
      grid([
        [0, 0],
        [500, 300],
      ]),
      z(2),
      { cyclic: false },
    );
    expect(r.slices[1]!.thicknessMm).toBe(10);
    expect(r.warnings).toContain('only 1 slice counted: the volumes miss most of the ventricle');
  });
});

/** The measures of `grid` with each image's myocardial ring: `ring(slice, phase)`. */
function ringed(
  measures: (ImageMeasure | undefined)[][],
  ring: (slice: number, phase: number) => number,
): (ImageMeasure | undefined)[][] {
  return measures.map((row, s) => row.map((m, p) => (m ? { ...m, myocardialRing: ring(s, p) } : m)));
}

describe('the myocardial ring (masks with a myocardium class)', () => {
  /** A 40×40 label map: a blood pool (1) of radius 8 pixels, and myocardium (2) out to 12 where `wall` says. */
  function labelMap(wall: (row: number, col: number) => boolean): { pool: Uint8Array; labels: Uint8Array } {
    const pool = new Uint8Array(1600),
      labels = new Uint8Array(1600);
    for (let r = 0; r < 40; r++) {
      for (let c = 0; c < 40; c++) {
        const d = Math.hypot(r - 19.5, c - 19.5);
        if (d <= 8) pool[r * 40 + c] = labels[r * 40 + c] = 1;
        else if (d <= 12 && wall(r, c)) labels[r * 40 + c] = 2;
      }
    }
    return { pool, labels };
  }

  it("gives the share of the blood pool's border that is myocardium", () => {
    const full = labelMap(() => true);
    expect(myocardialRing(full.pool, full.labels, 40, 40, 2)).toBe(1);
    const half = labelMap((_, c) => c >= 20);
    expect(myocardialRing(half.pool, half.labels, 40, 40, 2)).toBe(0.5);
    const none = labelMap(() => false);
    expect(myocardialRing(none.pool, none.labels, 40, 40, 2)).toBe(0);
    // another class's number is not the wall; an empty pool has no border
    expect(myocardialRing(full.pool, full.labels, 40, 40, 3)).toBe(0);
    expect(myocardialRing(new Uint8Array(1600), full.labels, 40, 40, 2)).toBeNaN();
    // a pool at the image's edge: only the border inside the image counts
    const edge = new Uint8Array(1600).fill(2);
    const corner = new Uint8Array(1600);
    corner[0] = edge[0] = 1;
    expect(myocardialRing(corner, edge, 40, 40, 2)).toBe(1);
  });

  it('keeps an apical end slice that grows from ED to ES when myocardium rings half its pool at ED and ES', () => {
    const areas = beating(5, 20, 2000, 1000);
    areas[0] = beating(1, 20, 800, 1000)[0]!; // the apex, smaller at ED: +25% at ES, smooth (no step)
    const binary = computeVolumes(grid(areas), z(5), { cyclic: true });
    expect(binary.slices[0]!.reason).toBe(
      'its area grows from ED to ES (800 to 1000 mm²): not the ventricle (the atrium beyond the valve?)',
    );
    const kept = computeVolumes(
      ringed(grid(areas), () => 0.5),
      z(5),
      { cyclic: true },
    );
    expect(kept.slices[0]!.counted).toBe(true);
    expect(kept.slices[0]!.myocardialRing).toEqual(new Array(20).fill(0.5));
    expect(kept.edvMl).toBeCloseTo(((800 + 4 * 2000) * 10) / 1000, 9);
    expect(kept.esvMl).toBeCloseTo(((1000 + 4 * 1000) * 10) / 1000, 9);
    expect(kept.warnings).toContain(
      'slice 1: its area grows from ED to ES (800 to 1000 mm²), but myocardium rings 50% of its blood pool at ED ' +
        'and 50% at ES: counted as the ventricle',
    );
    // less than half at ES: dropped as without a ring, and the reason gives the ring
    const dropped = computeVolumes(
      ringed(grid(areas), (s, p) => (s === 0 && p === 10 ? 0.45 : 1)),
      z(5),
      { cyclic: true },
    );
    expect(dropped.slices[0]!.reason).toBe(
      'its area grows from ED to ES (800 to 1000 mm²): not the ventricle (the atrium beyond the valve?); myocardium ' +
        'rings 100% of its blood pool at ED, 45% at ES',
    );
    expect(dropped.edvMl).toBe(binary.edvMl);
    // the basal end grows the same: dropped though ringed, as atrial pools are ringed too
    const base = beating(5, 20, 2000, 1000);
    base[0] = beating(1, 20, 800, 400)[0]!;
    base[4] = beating(1, 20, 1400, 1800)[0]!;
    const basal = computeVolumes(
      ringed(grid(base), () => 1),
      z(5),
      { cyclic: true },
    );
    expect(basal.slices[4]!.reason).toMatch(/^its area grows from ED to ES \(1400 to 1800 mm²\): not the ventricle/);
  });

  it('drops a basal end slice that myocardium rings by less than half at ED or ES, not an apical one', () => {
    const areas = beating(5, 20, 2000, 1000);
    areas[0] = beating(1, 20, 800, 400)[0]!; // the apex
    const ring = (base: number, apex = 1) =>
      ringed(grid(areas), (s, p) => (s === 4 && p === 10 ? base : s === 0 ? apex : 1));
    const open = computeVolumes(ring(0.45), z(5), { cyclic: true });
    expect(open.slices[4]!.counted).toBe(false);
    expect(open.slices[4]!.reason).toBe(
      'myocardium rings only 100% of its blood pool at ED, 45% at ES (a basal slice counts from 50%): the atrium or ' +
        'outflow tract beyond the valve',
    );
    expect(open.edvMl).toBeCloseTo(((800 + 3 * 2000) * 10) / 1000, 9);
    // half a ring counts; an open ring at a phase other than ED and ES does not matter, nor at the apex
    expect(computeVolumes(ring(0.5), z(5), { cyclic: true }).slices[4]!.counted).toBe(true);
    const other = ringed(grid(areas), (s, p) => (s === 4 && p === 5 ? 0.2 : 1));
    expect(computeVolumes(other, z(5), { cyclic: true }).slices[4]!.counted).toBe(true);
    expect(computeVolumes(ring(1, 0.2), z(5), { cyclic: true }).slices.every((s) => s.counted)).toBe(true);
    // without a myocardium class (no ring measured) the rule does not apply
    const binary = computeVolumes(grid(areas), z(5), { cyclic: true });
    expect(binary.slices.every((s) => s.counted && s.myocardialRing === undefined)).toBe(true);
    expect(describeVolumeRule(DEFAULT_VOLUME_RULE)).toContain(
      'a basal end slice whose blood pool myocardium rings over less than 50% of its border at ED or ES dropped',
    );
  });
});
