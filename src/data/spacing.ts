/**
 * Pixel spacing for sources whose files do not carry it (PNG datasets, TFRecords): a dataset's
 * `spacing.csv` and the `--spacing MM` option. Distances (APD, HD95) and areas come out in mm only
 * where the spacing is known.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DataError } from '../errors.js';

/** In-plane pixel spacing in millimetres: [row, column]. */
export type PixelSpacing = [number, number];

/** The file a PNG dataset keeps its spacing in, at the dataset's root (beside images/ and masks/). */
export const SPACING_FILE = 'spacing.csv';

function positive(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * A spacing as users write it: `1.367` (square pixels) or `1.4,1.2` (row, column), in mm.
 * `what` names the option or file for the error.
 */
export function parsePixelSpacing(text: string, what = '--spacing'): PixelSpacing {
  const parts = text.split(',');
  const values = parts.map(positive);
  if ((parts.length === 1 || parts.length === 2) && values.every((v) => v !== undefined)) {
    return parts.length === 1 ? [values[0]!, values[0]!] : [values[0]!, values[1]!];
  }
  throw new DataError(
    `${what}: '${text}' is not a pixel spacing; write millimetres per pixel, e.g. 1.367, or ROW,COLUMN like 1.4,1.2`,
  );
}

/**
 * Parses a dataset's spacing.csv: a header `case,spacing_mm` (square pixels) or
 * `case,row_mm,column_mm`, then one row per case. Blank lines and lines starting with `#` are skipped.
 */
export function parseSpacingCsv(text: string, file: string): Map<string, PixelSpacing> {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l !== '' && !l.startsWith('#'));
  const header = lines
    .shift()?.[0]
    .split(',')
    .map((h) => h.trim().toLowerCase());
  const square = header?.length === 2 && header[0] === 'case' && header[1] === 'spacing_mm';
  const rowColumn = header?.length === 3 && header[0] === 'case' && header[1] === 'row_mm' && header[2] === 'column_mm';
  if (!square && !rowColumn) {
    throw new DataError(
      `${file}: the first line must be 'case,spacing_mm' or 'case,row_mm,column_mm', got '${header?.join(',') ?? ''}'`,
    );
  }
  const out = new Map<string, PixelSpacing>();
  for (const [line, number] of lines) {
    const cells = line.split(',').map((c) => c.trim());
    const row = positive(cells[1]);
    const column = square ? row : positive(cells[2]);
    if (cells.length !== header!.length || !cells[0] || row === undefined || column === undefined) {
      throw new DataError(`${file} line ${number}: '${line}' is not '${header!.join(',')}' with positive millimetres`);
    }
    if (out.has(cells[0])) throw new DataError(`${file} line ${number}: case '${cells[0]}' is listed twice`);
    out.set(cells[0], [row, column]);
  }
  return out;
}

/** The per-case spacing of a dataset folder's spacing.csv; empty when the folder has none. */
export function readSpacingCsv(file: string): Map<string, PixelSpacing> {
  if (!existsSync(file)) return new Map();
  return parseSpacingCsv(readFileSync(file, 'utf8'), file);
}
