/**
 * The one CSV writer of lvseg, for every table it writes (per-image metrics, search results, cross-validation
 * folds, volumes, the segmentation page's areas). Browser-safe: no `node:` module. Quoting follows RFC 4180;
 * lines end in LF, as they always have here (every CSV reader takes them).
 */

/** Significant digits of a non-integer number: far below the noise of any metric lvseg writes. */
const SIGNIFICANT_DIGITS = 6;

/**
 * One cell: an integer as it is, any other number to 6 significant digits; empty for undefined, null, NaN
 * and ±Infinity (a spreadsheet reads an empty cell as missing, "NaN" as text); objects as JSON; quoted
 * when it holds a comma, a double quote or a line break, its quotes doubled.
 */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null || (typeof value === 'number' && !Number.isFinite(value))) return '';
  let text: string;
  if (typeof value === 'number')
    text = Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(SIGNIFICANT_DIGITS)));
  else text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole CSV document: the header line, then one line per row, each line ending in LF. */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}
