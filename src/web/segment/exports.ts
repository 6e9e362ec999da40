/**
 * The page's downloads: every mask as a PNG (LV = 255, as `lvseg predict` writes `<name>.mask.png`) in one zip,
 * every contour in Sunnybrook's text format named by series and instance (`IM-0001-0080-icontour-auto.txt`,
 * as the experts' files are named), the areas as CSV, and for a cine the record and per-phase table of
 * `lvseg volumes` (volumes.json, phases.csv), built by the CLI's own code.
 */
import { zipSync, zlibSync } from 'fflate';
import { toCsv } from '../../reporting/csv.js';
import type { PageImage } from './decode.js';
import type { DroppedVolumes } from './volumes-view.js';
import { buildVolumesRecord, phasesCsv as cliPhasesCsv, type VolumesRecord } from '../../browser.js';

/** What an export needs of one segmented image. */
export interface ExportedImage {
  image: PageImage;
  mask: Uint8Array;
  areaPx: number;
  areaMm2: number | null;
  contourText: string;
}

const pad4 = (n: number): string => String(n).padStart(4, '0');

/** A file name's stem, safe in a zip and on any disk. */
export function stem(name: string): string {
  return name.replace(/\.[^./]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'image';
}

/** The name a contour file gets: Sunnybrook's IM-SSSS-IIII for a DICOM with series and instance numbers, else the
 * image's stem. */
export function contourFileName(image: PageImage): string {
  const d = image.dicom;
  if (d?.instanceNumber !== undefined)
    return `IM-${pad4(d.seriesNumber ?? 1)}-${pad4(d.instanceNumber)}-icontour-auto.txt`;
  return `${stem(image.name)}-icontour-auto.txt`;
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
 * A mask as an 8-bit grey PNG, LV = 255, as `lvseg predict` writes `<name>.mask.png`; encoded here rather than
 * through a canvas, which took seconds for a series on a busy CPU.
 */
export function maskPng(mask: Uint8Array, height: number, width: number): Uint8Array {
  const rows = new Uint8Array(height * (width + 1));
  for (let r = 0; r < height; r++)
    for (let c = 0; c < width; c++) rows[r * (width + 1) + 1 + c] = mask[r * width + c] !== 0 ? 255 : 0;
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
  return zipSync(Object.fromEntries(done.map((r, i) => [names[i]!, maskPng(r.mask, r.image.height, r.image.width)])), {
    level: 0,
  });
}

/** Every contour as a Sunnybrook text file, in one zip. */
export function contoursZip(done: readonly ExportedImage[]): Uint8Array {
  const names = uniqueNames(done.map((r) => contourFileName(r.image)));
  const encoder = new TextEncoder();
  return zipSync(Object.fromEntries(done.map((r, i) => [names[i]!, encoder.encode(r.contourText)])));
}

/** One row per image: its size, LV area in pixels and (with a spacing) mm², rounded to 0.01 mm². */
export function areasCsv(done: readonly ExportedImage[]): string {
  return toCsv(
    ['name', 'width', 'height', 'areaPx', 'areaMm2', 'rowSpacingMm', 'columnSpacingMm'],
    done.map((r) => [
      r.image.name,
      r.image.width,
      r.image.height,
      r.areaPx,
      r.areaMm2 === null ? null : Number(r.areaMm2.toFixed(2)),
      r.image.spacing?.[0],
      r.image.spacing?.[1],
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
