/**
 * The page's downloads: every mask as a PNG (LV = 255, as `lvseg predict` writes `<name>.mask.png`) in one zip,
 * every contour in Sunnybrook's text format named by series and instance (`IM-0001-0080-icontour-auto.txt`,
 * as the experts' files are named), the areas as CSV, and for a cine the record and per-phase table of
 * `lvseg volumes` (volumes.json, phases.csv), built by the CLI's own code.
 */
import { zipSync } from 'fflate';
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

/** The name a contour file gets: Sunnybrook's IM-SSSS-IIII for a DICOM with series and instance numbers, else the image's stem. */
export function contourFileName(image: PageImage): string {
  const d = image.dicom;
  if (d?.instanceNumber !== undefined) return `IM-${pad4(d.seriesNumber ?? 1)}-${pad4(d.instanceNumber)}-icontour-auto.txt`;
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

function maskPng(image: PageImage, mask: Uint8Array): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext('2d')!;
  const data = context.createImageData(image.width, image.height);
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i] !== 0 ? 255 : 0;
    data.data[4 * i] = v;
    data.data[4 * i + 1] = v;
    data.data[4 * i + 2] = v;
    data.data[4 * i + 3] = 255;
  }
  context.putImageData(data, 0, 0);
  return canvas.convertToBlob({ type: 'image/png' }).then(async (b) => new Uint8Array(await b.arrayBuffer()));
}

/** Each image's mask PNG, `<stem>.mask.png`, and all of them in one zip (stored: PNG is compressed already). */
export async function masksZip(done: readonly ExportedImage[]): Promise<{ files: Record<string, Uint8Array>; zip: Uint8Array }> {
  const names = uniqueNames(done.map((r) => `${stem(r.image.name)}.mask.png`));
  const files: Record<string, Uint8Array> = {};
  for (const [i, r] of done.entries()) files[names[i]!] = await maskPng(r.image, r.mask);
  return { files, zip: zipSync(files, { level: 0 }) };
}

/** Every contour as a Sunnybrook text file, in one zip. */
export function contoursZip(done: readonly ExportedImage[]): Uint8Array {
  const names = uniqueNames(done.map((r) => contourFileName(r.image)));
  const encoder = new TextEncoder();
  return zipSync(Object.fromEntries(done.map((r, i) => [names[i]!, encoder.encode(r.contourText)])));
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const text = String(v);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per image: its size, LV area in pixels and (with a spacing) mm², rounded to 0.01 mm². */
export function areasCsv(done: readonly ExportedImage[]): string {
  const lines = [['name', 'width', 'height', 'areaPx', 'areaMm2', 'rowSpacingMm', 'columnSpacingMm']];
  for (const r of done) {
    const sp = r.image.spacing;
    lines.push([r.image.name, r.image.width, r.image.height, r.areaPx, r.areaMm2 === null ? null : Number(r.areaMm2.toFixed(2)), sp?.[0], sp?.[1]].map(csvCell));
  }
  return lines.map((l) => l.join(',')).join('\n') + '\n';
}

/** The cine's record as `lvseg volumes --json` prints it. */
export function volumesRecord(found: Extract<DroppedVolumes, { kind: 'volumes' }>, segmenter: Record<string, string>): VolumesRecord {
  return buildVolumesRecord(found, segmenter);
}

/** The per-phase volumes as `lvseg volumes` writes phases.csv. */
export function phasesCsv(found: Extract<DroppedVolumes, { kind: 'volumes' }>): string {
  return cliPhasesCsv(volumesRecord(found, {}));
}
