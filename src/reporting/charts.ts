import { sceneToPng, sceneToSvg, textWidth, type Scene, type Shape } from './scene.js';

/** One epoch of `RUN/history.json`: `loss`, `val_loss`, `val_dice`, … (epoch counts from 0). */
export interface HistoryEpoch {
  epoch: number;
  [metric: string]: number;
}

export interface CurveRun {
  /** Shown in the legend when several runs share a figure. */
  name: string;
  epochs: readonly HistoryEpoch[];
}

export interface CurveOptions {
  /** History keys to draw, in legend order; the lab's figure is loss, val_loss and val_dice. */
  series?: readonly string[];
  title?: string;
  width?: number;
  height?: number;
}

const SERIES_LABEL: Record<string, string> = {
  loss: 'training loss',
  val_loss: 'validation loss',
  dice: 'training Dice',
  val_dice: 'validation Dice',
  accuracy: 'training accuracy',
  val_accuracy: 'validation accuracy',
};

/** matplotlib's default cycle (tab10), so the figure reads like the lab's. */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const DASHES: Array<[number, number] | undefined> = [undefined, [8, 5], [2, 4], [12, 4]];

export function seriesLabel(key: string): string {
  const perClass = /^val_dice_(.+)$/.exec(key);
  if (perClass) return `validation Dice: ${perClass[1]}`;
  return SERIES_LABEL[key] ?? key.replace(/^val_/, 'validation ').replace(/_/g, ' ');
}

/**
 * Lays out the lab's training figure: the chosen series per epoch, y fixed from 0 to 1 (values beyond
 * are drawn at the edge, as the lab's plt.ylim does), one colour per series for a single run; with
 * several runs one colour per run and one dash style per series.
 */
export function layoutCurves(runs: readonly CurveRun[], options: CurveOptions = {}): Scene {
  const series = options.series ?? ['loss', 'val_loss', 'val_dice'];
  const width = options.width ?? 860;
  const height = options.height ?? 480;
  const multi = runs.length > 1;
  const entries = runs.flatMap((run, r) =>
    series.map((key, s) => ({
      run,
      key,
      label: multi ? `${run.name}: ${seriesLabel(key)}` : seriesLabel(key),
      color: PALETTE[(multi ? r : s) % PALETTE.length]!,
      dash: multi ? DASHES[s % DASHES.length] : undefined,
    })),
  );

  const legendWidth = Math.max(...entries.map((e) => textWidth(e.label, 1.5)), 60) + 44;
  const plot = { x: 64, y: 44, w: width - 64 - 24 - legendWidth, h: height - 44 - 56 };
  const maxEpoch = Math.max(1, ...runs.flatMap((r) => r.epochs.map((e) => e.epoch + 1)));
  const xOf = (epoch1: number): number =>
    plot.x + (maxEpoch === 1 ? plot.w / 2 : ((epoch1 - 1) / (maxEpoch - 1)) * plot.w);
  const yOf = (v: number): number => plot.y + (1 - Math.min(1, Math.max(0, v))) * plot.h;

  const shapes: Shape[] = [];
  shapes.push({
    kind: 'text',
    x: plot.x + plot.w / 2,
    y: 14,
    text: options.title ?? (multi ? 'Training curves' : `Training curves: ${runs[0]?.name ?? ''}`),
    size: 2,
    anchor: 'middle',
  });
  for (let i = 0; i <= 5; i++) {
    const v = i / 5,
      y = yOf(v);
    shapes.push({ kind: 'line', x1: plot.x, y1: y, x2: plot.x + plot.w, y2: y, stroke: '#e4e4e4' });
    shapes.push({ kind: 'line', x1: plot.x - 5, y1: y, x2: plot.x, y2: y, stroke: '#000000' });
    shapes.push({ kind: 'text', x: plot.x - 9, y: y - 5, text: v.toFixed(1), size: 1.5, anchor: 'end' });
  }
  for (const t of epochTicks(maxEpoch)) {
    const x = xOf(t);
    shapes.push({ kind: 'line', x1: x, y1: plot.y, x2: x, y2: plot.y + plot.h, stroke: '#efefef' });
    shapes.push({ kind: 'line', x1: x, y1: plot.y + plot.h, x2: x, y2: plot.y + plot.h + 5, stroke: '#000000' });
    shapes.push({ kind: 'text', x, y: plot.y + plot.h + 10, text: String(t), size: 1.5, anchor: 'middle' });
  }
  shapes.push({ kind: 'rect', x: plot.x, y: plot.y, w: plot.w, h: plot.h, stroke: '#000000', strokeWidth: 1 });
  shapes.push({ kind: 'text', x: plot.x + plot.w / 2, y: height - 22, text: 'Epoch', size: 2, anchor: 'middle' });
  shapes.push({
    kind: 'text',
    x: 10,
    y: plot.y + plot.h / 2,
    text: 'Loss / Dice',
    size: 2,
    anchor: 'middle',
    vertical: true,
  });

  let clipped = false;
  for (const e of entries) {
    clipped ||= e.run.epochs.some((ep) => ep[e.key]! > 1 || ep[e.key]! < 0);
    const points = e.run.epochs
      .filter((ep) => Number.isFinite(ep[e.key]))
      .map((ep) => [xOf(ep.epoch + 1), yOf(ep[e.key]!)] as const);
    if (points.length === 0) continue;
    shapes.push({ kind: 'polyline', points, stroke: e.color, width: 2, dash: e.dash });
    for (const [cx, cy] of points)
      if (!multi && points.length <= 40) shapes.push({ kind: 'circle', cx, cy, r: 2.5, fill: e.color });
  }

  if (clipped)
    shapes.push({
      kind: 'text',
      x: 8,
      y: height - 12,
      text: 'values outside 0..1 are drawn at the edge',
      size: 1,
      color: '#666666',
    });

  const lx = plot.x + plot.w + 16;
  entries.forEach((e, i) => {
    const y = plot.y + 6 + i * 22;
    shapes.push({ kind: 'line', x1: lx, y1: y + 5, x2: lx + 28, y2: y + 5, stroke: e.color, width: 2, dash: e.dash });
    shapes.push({ kind: 'text', x: lx + 34, y, text: e.label, size: 1.5 });
  });
  return { width, height, background: '#ffffff', shapes };
}

/** Integer epoch ticks, at most about ten of them. */
function epochTicks(maxEpoch: number): number[] {
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500].find((s) => maxEpoch / s <= 10) ?? Math.ceil(maxEpoch / 10);
  const ticks = [1];
  for (let t = step; t <= maxEpoch; t += step) if (t > 1) ticks.push(t);
  return ticks;
}

/** The lab's loss and Dice curves of one or more runs as an SVG document: what `lvseg plot` writes. */
export function renderCurvesSvg(runs: readonly CurveRun[], options?: CurveOptions): string {
  return sceneToSvg(layoutCurves(runs, options));
}

export function renderCurvesPng(runs: readonly CurveRun[], options?: CurveOptions): Buffer {
  return sceneToPng(layoutCurves(runs, options));
}

/**
 * Bar chart of a distribution over [0, 1] (per-image Dice): `bins` equal bins, bar heights are counts.
 */
export function layoutHistogram(
  values: readonly number[],
  options: { title?: string; xLabel?: string; bins?: number; width?: number; height?: number } = {},
): Scene {
  const bins = options.bins ?? 20;
  const width = options.width ?? 560,
    height = options.height ?? 300;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]!++;
  const maxCount = Math.max(1, ...counts);
  const plot = { x: 56, y: 36, w: width - 56 - 16, h: height - 36 - 52 };
  const shapes: Shape[] = [];
  shapes.push({
    kind: 'text',
    x: plot.x + plot.w / 2,
    y: 10,
    text: options.title ?? `Per-image Dice (n = ${values.length})`,
    size: 2,
    anchor: 'middle',
  });
  const yTicks = countTicks(maxCount);
  const top = yTicks[yTicks.length - 1]!;
  for (const t of yTicks) {
    const y = plot.y + plot.h - (t / top) * plot.h;
    shapes.push({ kind: 'line', x1: plot.x, y1: y, x2: plot.x + plot.w, y2: y, stroke: '#e4e4e4' });
    shapes.push({ kind: 'text', x: plot.x - 8, y: y - 5, text: String(t), size: 1.5, anchor: 'end' });
  }
  counts.forEach((c, i) => {
    if (c === 0) return;
    const h = (c / top) * plot.h;
    shapes.push({
      kind: 'rect',
      x: plot.x + (i / bins) * plot.w + 1,
      y: plot.y + plot.h - h,
      w: plot.w / bins - 2,
      h,
      fill: PALETTE[0]!,
    });
  });
  for (let i = 0; i <= 5; i++) {
    const x = plot.x + (i / 5) * plot.w;
    shapes.push({ kind: 'line', x1: x, y1: plot.y + plot.h, x2: x, y2: plot.y + plot.h + 5, stroke: '#000000' });
    shapes.push({ kind: 'text', x, y: plot.y + plot.h + 10, text: (i / 5).toFixed(1), size: 1.5, anchor: 'middle' });
  }
  shapes.push({ kind: 'rect', x: plot.x, y: plot.y, w: plot.w, h: plot.h, stroke: '#000000' });
  shapes.push({
    kind: 'text',
    x: plot.x + plot.w / 2,
    y: height - 20,
    text: options.xLabel ?? 'Dice',
    size: 2,
    anchor: 'middle',
  });
  shapes.push({
    kind: 'text',
    x: 8,
    y: plot.y + plot.h / 2,
    text: 'Images',
    size: 1.5,
    anchor: 'middle',
    vertical: true,
  });
  return { width, height, background: '#ffffff', shapes };
}

function countTicks(max: number): number[] {
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((s) => Math.ceil(max / s) <= 6) ?? Math.ceil(max / 6);
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) ticks.push(t);
  return ticks;
}
