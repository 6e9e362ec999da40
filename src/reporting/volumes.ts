/**
 * What `lvseg volumes` writes: volumes.json (the record), phases.csv and areas.csv, the volume curve
 * (SVG and PNG) and the grid of ED/ES masks over every slice; and reading such a folder back for the
 * HTML report.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { MaskGrid, SeriesVolumes } from '../evaluation/cine-volumes.js';
import { DEFAULT_VOLUME_RULE, type VolumeRule } from '../evaluation/volumes.js';
import type { RgbaImage } from '../imaging/png.js';
import { PALETTE } from './charts.js';
import { composeOutlineTile, hexColor, LABEL_COLOR, legendEntry, PREDICTION_COLOR, type Rgb } from './panels.js';
import { rasterizeScene, sceneToPng, sceneToSvg, textWidth, type Scene, type Shape } from './scene.js';
import {
  areasCsv,
  buildVolumesRecord as recordOf,
  phasesCsv,
  round,
  type VolumesAnalysis,
  type VolumesRecord,
} from './volumes-record.js';

export {
  areasCsv,
  phasesCsv,
  type ExpertRecord,
  type SliceRecord,
  type VolumeSummary,
  type VolumesAnalysis,
  type VolumesRecord,
} from './volumes-record.js';

/** The record of one analysis, its series folder as an absolute path; `segmenter` says what made the masks. */
export function buildVolumesRecord(
  analysis: VolumesAnalysis,
  segmenter: Record<string, string>,
  rule: VolumeRule = DEFAULT_VOLUME_RULE,
): VolumesRecord {
  return recordOf(analysis, segmenter, rule, resolve(analysis.cine.dir));
}

/** The files of a volumes folder. */
export const VOLUMES_FILES = {
  record: 'volumes.json',
  phases: 'phases.csv',
  areas: 'areas.csv',
  curveSvg: 'volume-curve.svg',
  curvePng: 'volume-curve.png',
  grid: 'masks-ed-es.png',
  report: 'volumes.html',
} as const;

/** Round tick steps for a 0..max axis, about five of them. */
function volumeTicks(max: number): number[] {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = 0; t < max + step * 0.999; t += step) ticks.push(round(t, 6));
  return ticks;
}

/**
 * The volume over the cardiac cycle: lvseg's volume per phase, ED and ES marked, and the experts'
 * ED and ES volumes (where contours were given) as green squares at their phases.
 */
export function layoutVolumeCurve(record: VolumesRecord, options: { width?: number; height?: number } = {}): Scene {
  const width = options.width ?? 760,
    height = options.height ?? 420;
  const plot = { x: 72, y: 44, w: width - 72 - 24, h: height - 44 - 84 };
  const P = record.phases.length;
  const expertPoints = record.experts
    ? [
        { phase: record.experts.edPhase, v: record.experts.edvMl, label: 'experts ED' },
        { phase: record.experts.esPhase, v: record.experts.esvMl, label: 'experts ES' },
      ]
    : [];
  const values = record.phases
    .flatMap((p) => (p.volumeMl === null ? [] : [p.volumeMl]))
    .concat(expertPoints.map((e) => e.v));
  const ticks = volumeTicks(Math.max(1, ...values) * 1.05);
  const top = ticks[ticks.length - 1]!;
  const xOf = (phase: number): number => plot.x + (P === 1 ? plot.w / 2 : ((phase - 1) / (P - 1)) * plot.w);
  const yOf = (v: number): number => plot.y + (1 - v / top) * plot.h;
  const lvseg = PALETTE[0]!,
    red = '#d62728',
    green = '#2ca02c';
  const shapes: Shape[] = [];
  shapes.push({
    kind: 'text',
    x: plot.x + plot.w / 2,
    y: 14,
    text: 'LV volume over the cardiac cycle',
    size: 2,
    anchor: 'middle',
  });
  for (const t of ticks) {
    const y = yOf(t);
    shapes.push({ kind: 'line', x1: plot.x, y1: y, x2: plot.x + plot.w, y2: y, stroke: '#e4e4e4' });
    shapes.push({ kind: 'text', x: plot.x - 8, y: y - 5, text: String(t), size: 1.5, anchor: 'end' });
  }
  const every = Math.max(1, Math.ceil(P / 20));
  for (const p of record.phases) {
    if ((p.phase - 1) % every !== 0) continue;
    const x = xOf(p.phase);
    shapes.push({ kind: 'line', x1: x, y1: plot.y + plot.h, x2: x, y2: plot.y + plot.h + 5, stroke: '#000000' });
    shapes.push({ kind: 'text', x, y: plot.y + plot.h + 10, text: String(p.phase), size: 1.5, anchor: 'middle' });
  }
  shapes.push({ kind: 'rect', x: plot.x, y: plot.y, w: plot.w, h: plot.h, stroke: '#000000' });
  const times = record.phases.every((p) => p.triggerTimeMs !== null)
    ? ` (trigger time ` +
      `${Math.round(record.phases[0]!.triggerTimeMs!)}-${Math.round(record.phases[P - 1]!.triggerTimeMs!)} ms)`
    : '';
  shapes.push({
    kind: 'text',
    x: plot.x + plot.w / 2,
    y: plot.y + plot.h + 30,
    text: `Cardiac phase${times}`,
    size: 2,
    anchor: 'middle',
  });
  shapes.push({
    kind: 'text',
    x: 12,
    y: plot.y + plot.h / 2,
    text: 'Volume (mL)',
    size: 2,
    anchor: 'middle',
    vertical: true,
  });

  // Runs of known volumes as polylines: a phase without a volume breaks the line.
  let run: [number, number][] = [];
  const flush = (): void => {
    if (run.length > 0) shapes.push({ kind: 'polyline', points: run, stroke: lvseg, width: 2 });
    run = [];
  };
  for (const p of record.phases) {
    if (p.volumeMl === null) flush();
    else run.push([xOf(p.phase), yOf(p.volumeMl)]);
  }
  flush();
  for (const p of record.phases)
    if (p.volumeMl !== null)
      shapes.push({ kind: 'circle', cx: xOf(p.phase), cy: yOf(p.volumeMl), r: 2.5, fill: lvseg });
  // Labels near the plot's sides are anchored inwards so they stay inside the figure.
  const label = (x: number, y: number, text: string, color: string): void => {
    const half = textWidth(text, 1.5) / 2;
    const anchor = x + half > plot.x + plot.w ? 'end' : x - half < plot.x ? 'start' : 'middle';
    shapes.push({
      kind: 'text',
      x: anchor === 'end' ? x + 6 : anchor === 'start' ? x - 6 : x,
      y,
      text,
      size: 1.5,
      anchor,
      color,
    });
  };
  const mark = (phase: number, v: number, name: string): void => {
    shapes.push({ kind: 'circle', cx: xOf(phase), cy: yOf(v), r: 5, fill: red });
    label(xOf(phase), yOf(v) - 20, `${name} ${v.toFixed(0)} mL`, red);
  };
  mark(record.edPhase, record.edvMl, 'ED');
  mark(record.esPhase, record.esvMl, 'ES');
  for (const e of expertPoints) {
    shapes.push({ kind: 'rect', x: xOf(e.phase) - 5, y: yOf(e.v) - 5, w: 10, h: 10, fill: green });
    label(xOf(e.phase), yOf(e.v) + 9, `${e.label} ${e.v.toFixed(0)}`, green);
  }
  const legend =
    `lvseg: EDV ${record.edvMl.toFixed(1)}  ESV ${record.esvMl.toFixed(1)}  EF ${record.efPct.toFixed(1)}%` +
    (record.experts
      ? `   experts: EDV ${record.experts.edvMl.toFixed(1)}  ESV ${record.experts.esvMl.toFixed(1)}  EF ` +
        `${record.experts.efPct.toFixed(1)}%`
      : '');
  shapes.push({
    kind: 'text',
    x: plot.x,
    y: height - 20,
    text: legend,
    size: textWidth(legend, 1.5) <= width - plot.x - 8 ? 1.5 : 1,
    color: '#333333',
  });
  return { width, height, background: '#ffffff', shapes };
}

export function renderVolumeCurveSvg(record: VolumesRecord): string {
  return sceneToSvg(layoutVolumeCurve(record));
}

export function renderVolumeCurvePng(record: VolumesRecord): Buffer {
  return sceneToPng(layoutVolumeCurve(record));
}

/** The box around every mask in the grids (plus a margin), square, at least `min` pixels: one crop for all tiles. */
function cropBox(
  grids: readonly MaskGrid[],
  rows: number,
  columns: number,
  margin = 16,
  min = 64,
): { r0: number; c0: number; size: number } {
  let r0 = rows,
    c0 = columns,
    r1 = -1,
    c1 = -1;
  for (const grid of grids)
    for (const row of grid)
      for (const mask of row) {
        if (!mask) continue;
        for (let i = 0; i < mask.length; i++) {
          if (!mask[i]) continue;
          const r = Math.floor(i / columns),
            c = i % columns;
          if (r < r0) r0 = r;
          if (r > r1) r1 = r;
          if (c < c0) c0 = c;
          if (c > c1) c1 = c;
        }
      }
  if (r1 < 0) return { r0: 0, c0: 0, size: Math.min(rows, columns) };
  const size = Math.min(Math.max(r1 - r0, c1 - c0) + 1 + 2 * margin, rows, columns);
  const side = Math.max(size, Math.min(min, rows, columns));
  const centre = (lo: number, hi: number, extent: number): number =>
    Math.min(Math.max(0, Math.round((lo + hi) / 2 - side / 2)), extent - side);
  return { r0: centre(r0, r1, rows), c0: centre(c0, c1, columns), size: side };
}

function crop<T extends Float32Array | Uint8Array>(
  values: T,
  columns: number,
  box: { r0: number; c0: number; size: number },
): T {
  const out = new (values.constructor as new (n: number) => T)(box.size * box.size);
  for (let r = 0; r < box.size; r++)
    out.set(values.subarray((box.r0 + r) * columns + box.c0, (box.r0 + r) * columns + box.c0 + box.size), r * box.size);
  return out;
}

const GREY = '#787878';
const RED = '#aa0000';

/**
 * The picture a reader checks first: every slice (rows, in order along the normal) at ED and ES
 * (columns), cropped around the LV, lvseg's mask outlined in red and, where contours were given, the
 * experts' in green (at their own ED and ES phases, added as two more columns when those differ from
 * lvseg's). Each row says whether the slice counted, and why not.
 */
export function composeVolumeGrid(analysis: SeriesVolumes, record: VolumesRecord): RgbaImage {
  return rasterizeScene(layoutVolumeGrid(analysis, record));
}

function layoutVolumeGrid(analysis: SeriesVolumes, record: VolumesRecord): Scene {
  const { cine, measured, experts } = analysis;
  const columns: { title: string; phase: number; expert: boolean }[] = [
    { title: `ED (phase ${record.edPhase})`, phase: record.edPhase - 1, expert: false },
    { title: `ES (phase ${record.esPhase})`, phase: record.esPhase - 1, expert: false },
  ];
  if (experts && record.experts) {
    const ed = record.experts.edPhase - 1,
      es = record.experts.esPhase - 1;
    if (ed === columns[0]!.phase && es === columns[1]!.phase) {
      for (const c of columns) c.expert = true;
    } else
      columns.push(
        { title: `experts' ED (${ed + 1})`, phase: ed, expert: true },
        { title: `experts' ES (${es + 1})`, phase: es, expert: true },
      );
  }
  const grids = experts ? [measured.masks, experts.masks] : [measured.masks];
  const box = cropBox(grids, cine.rows, cine.columns);
  const zoom = Math.max(1, Math.ceil(128 / box.size));
  const tile = box.size * zoom;
  const gap = 6,
    margin = 8,
    label = 150,
    titleH = 24,
    legendH = 22;
  const W = margin * 2 + label + columns.length * (tile + gap);
  const H = margin * 2 + titleH + cine.slices.length * (tile + gap) + legendH;
  const shapes: Shape[] = columns.map((c, k) => ({
    kind: 'text',
    x: margin + label + k * (tile + gap) + tile / 2,
    y: margin,
    text: c.title,
    size: textWidth(c.title, 2) <= tile ? 2 : 1,
    anchor: 'middle',
  }));
  const text = (x: number, y: number, t: string, size: number, color?: string): void =>
    void shapes.push({ kind: 'text', x, y, text: t, size, color });
  cine.slices.forEach((slice, s) => {
    const y = margin + titleH + s * (tile + gap);
    const info = measured.result.slices[s]!;
    text(margin, y + 4, `slice ${s + 1}`, 2);
    text(margin, y + 24, `${slice.zMm.toFixed(1)} mm`, 1, GREY);
    text(margin, y + 38, info.counted ? 'counted' : 'left out', 2, info.counted ? '#007800' : RED);
    if (!info.counted && info.reason) {
      wrapLines(info.reason, label - 8, tile - 58).forEach((l, i) => {
        text(margin, y + 58 + i * 10, l, 1, RED);
      });
    }
    columns.forEach((c, k) => {
      const x = margin + label + k * (tile + gap);
      const image = cine.grid[s]![c.phase];
      if (!image) {
        shapes.push({
          kind: 'text',
          x: x + tile / 2,
          y: y + tile / 2 - 4,
          text: 'no image',
          size: 1,
          color: GREY,
          anchor: 'middle',
        });
        return;
      }
      const outlines: { mask: Uint8Array; color: Rgb }[] = [];
      const expertMask = c.expert ? experts?.masks[s]?.[c.phase] : undefined;
      if (expertMask) outlines.push({ mask: crop(expertMask, cine.columns, box), color: LABEL_COLOR });
      const mask = measured.masks[s]?.[c.phase];
      if (mask) outlines.push({ mask: crop(mask, cine.columns, box), color: PREDICTION_COLOR });
      const pixels = composeOutlineTile(
        { image: crop(image.pixels, cine.columns, box), height: box.size, width: box.size },
        outlines,
        zoom,
      );
      shapes.push({ kind: 'image', x, y, image: pixels });
      const area = info.areasMm2[c.phase];
      if (area !== null && area !== undefined)
        text(x + 3, y + tile - 10, `${(area / 100).toFixed(1)} cm²`, 1, hexColor([255, 255, 0]));
    });
  });
  const ly = H - margin - 12;
  const next = legendEntry(shapes, margin, ly - 1, PREDICTION_COLOR, 'lvseg', 2);
  if (experts) legendEntry(shapes, next, ly - 1, LABEL_COLOR, 'experts', 2);
  return { width: W, height: H, background: '#ffffff', shapes };
}

/** Small text wrapped at spaces into lines of a box (size-1 text, 10 px apart), cut where the box ends. */
function wrapLines(text: string, width: number, height: number): string[] {
  const perLine = Math.max(1, Math.floor(width / 6));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && (line + ' ' + word).length > perLine) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.slice(0, Math.max(0, Math.floor(height / 10)));
}

export function renderVolumeGridPng(analysis: SeriesVolumes, record: VolumesRecord): Buffer {
  return sceneToPng(layoutVolumeGrid(analysis, record));
}

/** Every file of a volumes folder but the report, by name. */
export function volumesFiles(analysis: SeriesVolumes, record: VolumesRecord): Record<string, string | Buffer> {
  return {
    [VOLUMES_FILES.record]: JSON.stringify(record, null, 2) + '\n',
    [VOLUMES_FILES.phases]: phasesCsv(record),
    [VOLUMES_FILES.areas]: areasCsv(record),
    [VOLUMES_FILES.curveSvg]: renderVolumeCurveSvg(record),
    [VOLUMES_FILES.curvePng]: renderVolumeCurvePng(record),
    [VOLUMES_FILES.grid]: renderVolumeGridPng(analysis, record),
  };
}

/** A volumes folder read back for the report: the record and the mask grid picture. */
export interface VolumesOutput {
  dir: string;
  record: VolumesRecord;
  gridPng?: Buffer;
}

/** True when `dir` is a folder `lvseg volumes --out` wrote. */
export function isVolumesOutput(dir: string): boolean {
  return existsSync(join(dir, VOLUMES_FILES.record)) && statSync(dir).isDirectory();
}

export function readVolumesOutput(dir: string): VolumesOutput {
  const file = join(dir, VOLUMES_FILES.record);
  let record: VolumesRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as VolumesRecord;
  } catch (err) {
    throw new CheckpointError(
      `${file} is not valid JSON (${(err as Error).message}); re-run 'lvseg volumes --out ${dir}'`,
      { cause: err },
    );
  }
  if (typeof record.edvMl !== 'number' || !Array.isArray(record.phases) || !Array.isArray(record.slices)) {
    throw new CheckpointError(
      `${file}: not an lvseg volumes record (no edvMl, phases, slices); re-run 'lvseg volumes --out ${dir}'`,
    );
  }
  const grid = join(dir, VOLUMES_FILES.grid);
  return { dir: resolve(dir), record, gridPng: existsSync(grid) ? readFileSync(grid) : undefined };
}
