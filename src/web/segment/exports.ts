/**
 * The page's downloads: every mask as a PNG (LV = 255, as `lvseg predict` writes `<name>.mask.png`; the class
 * indices for a model of more than two classes, as predict writes them) in one zip, or all of them as one NIfTI
 * label map; every contour in Sunnybrook's text format named by series and instance
 * (`IM-0001-0080-icontour-auto.txt`, as the experts' files are named; `-ocontour-` for the epicardium), the areas
 * as CSV, and for a cine the record and per-phase table of `lvseg volumes` (volumes.json, phases.csv), built by the
 * CLI's own code.
 */
import { zipSync, zlibSync } from 'fflate';
import { toCsv } from '../../reporting/csv.js';
import type { PageImage } from './decode.js';
import type { DroppedVolumes } from './volumes-view.js';
import type { ClassResult } from './worker.js';
import {
  buildVolumesRecord,
  cineGeometry,
  DataError,
  encodeNifti,
  phasesCsv as cliPhasesCsv,
  stackable,
  stackGeometry,
  type NiftiGeometry,
  type VolumesRecord,
} from '../../browser.js';

/** What an export needs of one segmented image. */
export interface ExportedImage {
  image: PageImage;
  /** Class indices (0/1 for a binary model). */
  mask: Uint8Array;
  areaPx: number;
  areaMm2: number | null;
  contourText: string;
  /** A model of more than two classes: each class's (and the epicardium's) outline and area. */
  classes?: Record<string, ClassResult>;
}

const pad4 = (n: number): string => String(n).padStart(4, '0');

/** A file name's stem, safe in a zip and on any disk. */
export function stem(name: string): string {
  return name.replace(/\.[^./]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'image';
}

/**
 * The name a contour file gets: Sunnybrook's IM-SSSS-IIII for a DICOM with series and instance numbers, else the
 * image's stem; `region` names the contour as `lvseg predict` does: the blood pool's `icontour`, the epicardium's
 * `ocontour`, another class's `<class>-contour`.
 */
export function contourFileName(image: PageImage, region = 'lv'): string {
  const kind =
    region === 'lv'
      ? 'icontour'
      : region === 'epicardium'
        ? 'ocontour'
        : `${region.replace(/[^A-Za-z0-9_-]/g, '_')}-contour`;
  const d = image.dicom;
  if (d?.instanceNumber !== undefined)
    return `IM-${pad4(d.seriesNumber ?? 1)}-${pad4(d.instanceNumber)}-${kind}-auto.txt`;
  return `${stem(image.name)}-${kind}-auto.txt`;
}

/** Names made unique within a zip (two images of the same name from different folders). */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    return n === 0 ? name : name.replace(/(\.[^.]*)$/, `-${n + 1}$1`);
  });
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * A mask as an 8-bit grey PNG, LV = 255, as `lvseg predict` writes `<name>.mask.png` (with `classIndices`, the
 * values themselves, as predict writes a K-class model's masks); encoded here rather than through a canvas, which
 * took seconds for a series on a busy CPU.
 */
export function maskPng(mask: Uint8Array, height: number, width: number, classIndices = false): Uint8Array {
  const rows = new Uint8Array(height * (width + 1));
  for (let r = 0; r < height; r++)
    for (let c = 0; c < width; c++) {
      const v = mask[r * width + c]!;
      rows[r * (width + 1) + 1 + c] = classIndices ? v : v !== 0 ? 255 : 0;
    }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlibSync(rows)),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

/** Each image's mask PNG, `<stem>.mask.png`, and all of them in one zip (stored: PNG is compressed already). */
export function masksZip(done: readonly ExportedImage[]): Uint8Array {
  const names = uniqueNames(done.map((r) => `${stem(r.image.name)}.mask.png`));
  return zipSync(
    Object.fromEntries(
      done.map((r, i) => [names[i]!, maskPng(r.mask, r.image.height, r.image.width, r.classes !== undefined)]),
    ),
    { level: 0 },
  );
}

/** Every contour as a Sunnybrook text file, in one zip: per class too for a model of more than two classes. */
export function contoursZip(done: readonly ExportedImage[]): Uint8Array {
  const files = done.flatMap((r) => [
    { name: contourFileName(r.image), text: r.contourText },
    ...Object.entries(r.classes ?? {})
      .filter(([region]) => region !== 'lv')
      .map(([region, c]) => ({ name: contourFileName(r.image, region), text: c.contourText })),
  ]);
  const names = uniqueNames(files.map((f) => f.name));
  const encoder = new TextEncoder();
  return zipSync(Object.fromEntries(files.map((f, i) => [names[i]!, encoder.encode(f.text)])));
}

/** A label map of the page's masks: its file's bytes, its grid and what it holds. */
export interface LabelMap {
  bytes: Uint8Array;
  geometry: NiftiGeometry;
  /**
   * 'cine': (x, y, slice, phase) in the series' scanner geometry, as `lvseg data convert SERIES` writes the images;
   * 'stacked': the images in page order, 1 mm apart (nominal), as `lvseg predict --format nifti` stacks 2D slices.
   */
  layout: 'cine' | 'stacked';
}

/**
 * All masks as one NIfTI label map (.nii.gz, class indices): for a cine, on the grid `lvseg data convert` writes
 * the series as (phases as the 4th dimension; a cell without a mask is 0); else the images stacked in page order
 * with their pixel spacing (`spacing` for images that carry none), as `lvseg predict --format nifti` stacks them.
 */
export function labelMapNifti(
  done: readonly ExportedImage[],
  found: DroppedVolumes,
  classes: number,
  spacing?: [number, number],
): LabelMap {
  if (found.kind === 'volumes') {
    const { cine } = found;
    const { geometry } = cineGeometry(cine);
    const masks = new Map(done.flatMap((r) => (r.image.dicom ? [[r.image.dicom, r.mask] as const] : [])));
    const size = cine.rows * cine.columns;
    const n = cine.slices.length;
    const labels = new Uint8Array(size * n * cine.phases);
    cine.grid.forEach((row, k) => {
      row.forEach((image, t) => {
        const mask = image && masks.get(image);
        if (mask) labels.set(mask, (t * n + k) * size);
      });
    });
    const bytes = encodeNifti(labels, geometry, { gzip: true, description: 'lvseg label map', classes });
    return { bytes, geometry, layout: 'cine' };
  }
  const slices = done.map((r) => ({
    height: r.image.height,
    width: r.image.width,
    ...((r.image.spacing ?? spacing) ? { spacing: r.image.spacing ?? spacing } : {}),
  }));
  if (slices.length === 0) throw new DataError('no masks yet: segment images first');
  if (!stackable(slices))
    throw new DataError(
      'the images differ in size or pixel spacing, so their masks make no one volume: download the PNG zip instead',
    );
  const geometry = stackGeometry(slices[0]!, slices.length);
  const labels = new Uint8Array(done.reduce((n, r) => n + r.mask.length, 0));
  let at = 0;
  for (const r of done) {
    labels.set(r.mask, at);
    at += r.mask.length;
  }
  const bytes = encodeNifti(labels, geometry, { gzip: true, description: 'lvseg label map', classes });
  return { bytes, geometry, layout: 'stacked' };
}

const mm2 = (area: number | null | undefined): number | null =>
  area === null || area === undefined ? null : Number(area.toFixed(2));

/**
 * One row per image: its size, LV area in pixels and (with a spacing) mm², rounded to 0.01 mm²; for a model of
 * more than two classes, each class's (and the epicardium's) area too, `<class>AreaPx` and `<class>AreaMm2`.
 */
export function areasCsv(done: readonly ExportedImage[]): string {
  const regions = [...new Set(done.flatMap((r) => Object.keys(r.classes ?? {})))];
  return toCsv(
    [
      'name',
      'width',
      'height',
      'areaPx',
      'areaMm2',
      'rowSpacingMm',
      'columnSpacingMm',
      ...regions.flatMap((name) => [`${name}AreaPx`, `${name}AreaMm2`]),
    ],
    done.map((r) => [
      r.image.name,
      r.image.width,
      r.image.height,
      r.areaPx,
      mm2(r.areaMm2),
      r.image.spacing?.[0],
      r.image.spacing?.[1],
      ...regions.flatMap((name) => [r.classes?.[name]?.areaPx ?? null, mm2(r.classes?.[name]?.areaMm2)]),
    ]),
  );
}

/** The cine's record as `lvseg volumes --json` prints it. */
export function volumesRecord(
  found: Extract<DroppedVolumes, { kind: 'volumes' }>,
  segmenter: Record<string, string>,
): VolumesRecord {
  return buildVolumesRecord(found, segmenter);
}

/** The per-phase volumes as `lvseg volumes` writes phases.csv. */
export function phasesCsv(found: Extract<DroppedVolumes, { kind: 'volumes' }>): string {
  return cliPhasesCsv(volumesRecord(found, {}));
}
