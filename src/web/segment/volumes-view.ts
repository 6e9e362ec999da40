/**
 * The page's volumes section: when the dropped DICOM files hold a short-axis cine (several slice positions,
 * each at several cardiac phases), the page's masks are laid out and measured by the same code as `lvseg
 * volumes` (groupSeries, buildCine, measureCine and the slice rule of computeVolumes, from lvseg/browser):
 * EDV, ESV, SV, EF, the ED and ES phases, the heart rate, and which slices counted and why the others did
 * not. The section's `data-lvseg-volumes` attribute holds the numbers for automation.
 */
import {
  buildCine, chooseSeries, DataError, describeSeries, describeVolumeRule, DEFAULT_VOLUME_RULE, groupSeries, measureCine, type CineSeries,
  type DicomSlice, type LabelConvention, type VolumeResult,
} from '../../browser.js';

/** One segmented DICOM image of the page. */
export interface SegmentedDicom {
  dicom: DicomSlice;
  mask: Uint8Array;
}

/** What the dropped files give: nothing to measure, a one-line reason there is no volume, or the volumes. */
export type DroppedVolumes =
  | { kind: 'none' }
  | { kind: 'refused'; message: string }
  | { kind: 'volumes'; cine: CineSeries; result: VolumeResult; warnings: string[] };

const WHERE = 'the dropped files';

/**
 * The volumes of the dropped series from the page's masks: only the segmented DICOM images take part (an
 * image that failed is a missing phase, said as a warning); fewer than two DICOM images is nothing to measure.
 */
export async function droppedVolumes(segmented: readonly SegmentedDicom[], labels: LabelConvention = 'inside'): Promise<DroppedVolumes> {
  if (segmented.length < 2) return { kind: 'none' };
  const masks = new Map(segmented.map((s) => [s.dicom, s.mask]));
  try {
    const groups = groupSeries(segmented.map((s) => s.dicom));
    const cine = buildCine(chooseSeries(groups, WHERE), WHERE);
    const { result } = await measureCine(cine, async ({ image }) => masks.get(image)!, { labels });
    const others = groups.length > 1 ? [`${groups.length} series among the files, the cine with the most images measured: ${groups.map(describeSeries).join('; ')}`] : [];
    return { kind: 'volumes', cine, result, warnings: [...others, ...cine.warnings, ...result.warnings] };
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    return { kind: 'refused', message: (err as Error).message };
  }
}

const fixed = (v: number, digits = 1): string => v.toFixed(digits);

function cell(row: HTMLTableRowElement, text: string, header = false): void {
  const c = document.createElement(header ? 'th' : 'td');
  c.textContent = text;
  row.append(c);
}

function paragraph(text: string, className?: string): HTMLParagraphElement {
  const p = document.createElement('p');
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

/** Empties and hides the section (new images are being segmented). */
export function clearVolumes(section: HTMLElement): void {
  section.replaceChildren();
  section.hidden = true;
  delete section.dataset.lvsegVolumes;
}

/** Shows what droppedVolumes found: the table and the slices, a one-line refusal, or nothing. */
export function renderVolumes(section: HTMLElement, found: DroppedVolumes): void {
  clearVolumes(section);
  if (found.kind === 'none') return;
  section.hidden = false;
  const title = document.createElement('h2');
  title.textContent = 'LV volumes of the dropped cine';
  section.append(title);
  if (found.kind === 'refused') {
    section.append(paragraph(`No volumes: ${found.message}`, 'error'));
    section.dataset.lvsegVolumes = JSON.stringify({ error: found.message });
    return;
  }
  const { cine, result } = found;
  const hr = cine.heartRate;
  const table = document.createElement('table');
  const rows: [string, string][] = [
    ['EDV', `${fixed(result.edvMl)} mL`],
    ['ESV', `${fixed(result.esvMl)} mL`],
    ['SV', `${fixed(result.svMl)} mL`],
    ['EF', `${fixed(result.efPct)} %`],
    ['ED / ES phase', `${result.ed + 1} / ${result.es + 1} of ${cine.phases}`],
  ];
  if (hr) rows.push(['heart rate', `${fixed(hr.bpm, 0)} bpm`], ['cardiac output', `${fixed((result.svMl * hr.bpm) / 1000, 2)} L/min`]);
  for (const [label, value] of rows) {
    const row = table.insertRow();
    cell(row, label, true);
    cell(row, value);
  }
  section.append(table);
  const counted = result.slices.filter((s) => s.counted).map((s) => s.slice + 1);
  section.append(paragraph(`${counted.length} of ${cine.slices.length} slices counted (1 = lowest along the slice normal): ${counted.join(', ')}`));
  const list = document.createElement('ul');
  for (const s of result.slices.filter((x) => !x.counted)) {
    const item = document.createElement('li');
    item.textContent = `slice ${s.slice + 1} left out: ${s.reason}`;
    list.append(item);
  }
  for (const w of found.warnings) {
    const item = document.createElement('li');
    item.className = 'warning';
    item.textContent = `warning: ${w}`;
    list.append(item);
  }
  if (list.children.length > 0) section.append(list);
  const rule = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'the slice rule (as lvseg volumes)';
  rule.append(summary, paragraph(describeVolumeRule(DEFAULT_VOLUME_RULE)));
  section.append(rule);
  section.dataset.lvsegVolumes = JSON.stringify({
    edvMl: result.edvMl, esvMl: result.esvMl, svMl: result.svMl, efPct: result.efPct, edPhase: result.ed + 1, esPhase: result.es + 1,
    heartRateBpm: hr?.bpm ?? null, countedSlices: counted, slices: cine.slices.length, phases: cine.phases, warnings: found.warnings,
  });
}
