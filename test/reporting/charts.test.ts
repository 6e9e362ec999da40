import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import {
  layoutCurves,
  layoutHistogram,
  renderCurvesPng,
  renderCurvesSvg,
  type CurveRun,
} from '../../src/reporting/charts.js';
import type { Shape } from '../../src/reporting/scene.js';

const run = (name: string, dice: number[]): CurveRun => ({
  name,
  epochs: dice.map((d, epoch) => ({ epoch, loss: 0.5 - 0.1 * epoch, val_loss: 0.6 - 0.1 * epoch, val_dice: d })),
});
const polylines = (shapes: Shape[]): Extract<Shape, { kind: 'polyline' }>[] =>
  shapes.filter((s): s is Extract<Shape, { kind: 'polyline' }> => s.kind === 'polyline');
const texts = (shapes: Shape[]): string[] => shapes.flatMap((s) => (s.kind === 'text' ? [s.text] : []));

describe('training curves', () => {
  it("draws the lab's three series per epoch on a y axis from 0 to 1, with legend and axis titles", () => {
    const scene = layoutCurves([run('fcn', [0.2, 0.5, 1.3])]);
    const lines = polylines(scene.shapes);
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => l.points.length)).toEqual([3, 3, 3]);
    expect(texts(scene.shapes)).toEqual(
      expect.arrayContaining([
        'training loss',
        'validation loss',
        'validation Dice',
        'Epoch',
        'Loss / Dice',
        '0.0',
        '1.0',
      ]),
    );
    // y maps linearly: 0.2 and 0.5 of val_dice; 1.3 is drawn at the top edge (y = 1).
    const dice = lines[2]!.points.map(([, y]) => y);
    const axis = scene.shapes.filter(
      (s): s is Extract<Shape, { kind: 'text' }> => s.kind === 'text' && (s.text === '0.0' || s.text === '1.0'),
    );
    const y0 = axis.find((t) => t.text === '0.0')!.y + 5,
      y1 = axis.find((t) => t.text === '1.0')!.y + 5;
    expect(dice[0]).toBeCloseTo(y0 + 0.2 * (y1 - y0), 6);
    expect(dice[1]).toBeCloseTo(y0 + 0.5 * (y1 - y0), 6);
    expect(dice[2]).toBeCloseTo(y1, 6);
    expect(texts(scene.shapes)).toContain('values outside 0..1 are drawn at the edge');
    expect(texts(layoutCurves([run('fcn', [0.2, 0.5])]).shapes)).not.toContain(
      'values outside 0..1 are drawn at the edge',
    );
    // Epochs are shown from 1: the first point sits on the left edge, the last on the right.
    const xs = lines[0]!.points.map(([x]) => x);
    expect(xs[0]).toBeLessThan(xs[1]!);
    expect(xs[2]! - xs[1]!).toBeCloseTo(xs[1]! - xs[0]!, 6);
  });

  it('puts several runs on one figure: a colour per run, a dash style per series', () => {
    const scene = layoutCurves([run('lr=1e-3', [0.3, 0.6]), run('lr=1e-4', [0.1, 0.2, 0.3, 0.4])]);
    const lines = polylines(scene.shapes);
    expect(lines).toHaveLength(6);
    expect(new Set(lines.slice(0, 3).map((l) => l.stroke)).size).toBe(1);
    expect(lines[0]!.stroke).not.toBe(lines[3]!.stroke);
    expect(lines.slice(0, 3).map((l) => JSON.stringify(l.dash ?? null))).toEqual(
      lines.slice(3).map((l) => JSON.stringify(l.dash ?? null)),
    );
    expect(texts(scene.shapes)).toEqual(
      expect.arrayContaining(['lr=1e-3: validation Dice', 'lr=1e-4: training loss', '4']),
    );
  });

  it('writes an SVG document with one polyline per series and escaped run names', () => {
    const svg = renderCurvesSvg([run('a<b>', [0.3, 0.6])]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(svg).toContain('a&lt;b&gt;');
    expect(svg).not.toContain('a<b>');
  });

  it('rasterises the same figure to a PNG with the series colours in it', () => {
    const png = PNG.sync.read(renderCurvesPng([run('fcn', [0.2, 0.5, 0.8])]));
    expect([png.width, png.height]).toEqual([860, 480]);
    const count = (r: number, g: number, b: number): number => {
      let n = 0;
      for (let i = 0; i < png.width * png.height; i++) {
        if (
          Math.abs(png.data[4 * i]! - r) < 8 &&
          Math.abs(png.data[4 * i + 1]! - g) < 8 &&
          Math.abs(png.data[4 * i + 2]! - b) < 8
        )
          n++;
      }
      return n;
    };
    expect(count(0x1f, 0x77, 0xb4)).toBeGreaterThan(200); // training loss, blue
    expect(count(0xff, 0x7f, 0x0e)).toBeGreaterThan(200); // validation loss, orange
    expect(count(0x2c, 0xa0, 0x2c)).toBeGreaterThan(200); // validation Dice, green
  });
});

describe('per-image Dice histogram', () => {
  it('draws one bar per non-empty bin with heights proportional to the counts', () => {
    const scene = layoutHistogram([0.91, 0.92, 0.93, 0.55, Number.NaN], { bins: 10 });
    const bars = scene.shapes.filter(
      (s): s is Extract<Shape, { kind: 'rect' }> => s.kind === 'rect' && s.fill !== undefined,
    );
    expect(bars).toHaveLength(2);
    expect(bars[1]!.h / bars[0]!.h).toBeCloseTo(3, 6);
    expect(texts(scene.shapes)).toContain('Per-image Dice (n = 5)');
  });
});
