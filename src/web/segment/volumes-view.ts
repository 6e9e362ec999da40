/**
 * The page's volumes section: when the dropped DICOM files hold a short-axis cine (several slice positions,
 * each at several cardiac phases), the page's masks are laid out and measured by the same code as `lvseg
 * volumes` (groupSeries, buildCine, measureCine and the slice rule of computeVolumes, from lvseg/browser):
 * EDV, ESV, SV, EF, the ED and ES phases, the heart rate, which slices counted and why the others did
 * not, and for a model with a myocardium class the LV mass and mean wall thickness at ED; beside them the experts'
 * from dropped contour files (measureExperts, as `lvseg volumes --contours`: the LV mass where o-contours are among
 * them). The section's `data-lvseg-volumes` (and `data-lvseg-experts`) attributes hold the numbers for automation.
 */
import {
  buildCine,
  chooseSeries,
  DataError,
  describeSeries,
  describeVolumeRule,
  DEFAULT_VOLUME_RULE,
  groupSeries,
  measureCine,
  type CineMeasurement,
  type CineSeries,
  type DicomSlice,
  type ExpertMeasurement,
  type LabelConvention,
  type SeriesGroup,
  type VolumeResult,
} from '../../browser.js';
import { round } from '../../reporting/volumes-record.js';

/** One segmented DICOM image of the page. */
export interface SegmentedDicom {
  dicom: DicomSlice;
  /** Class indices (0/1 for a binary model). */
  mask: Uint8Array;
}

/** What the dropped files give: nothing to measure, a one-line reason there is no volume, or the volumes. */
export type DroppedVolumes =
  | { kind: 'none' }
  | { kind: 'refused'; message: string }
  | {
      kind: 'volumes';
      cine: CineSeries;
      groups: SeriesGroup[];
      measured: CineMeasurement;
      result: VolumeResult;
      warnings: string[];
      experts?: ExpertMeasurement;
    };

/** What the section can do beyond the numbers: draw a cell's image small, and show a cell in the viewer. */
export interface VolumesViewOptions {
  thumbnail?: (slice: number, phase: number) => HTMLCanvasElement | undefined;
  pick?: (slice: number, phase: number) => void;
}

const WHERE = 'the dropped files';

/**
 * The volumes of the dropped series from the page's masks: only the segmented DICOM images take part (an
 * image that failed is a missing phase, said as a warning); fewer than two DICOM images is nothing to measure.
 * `classes`: the model's, as `lvseg volumes` passes them to measureCine (a myocardium class gives the LV mass).
 */
export async function droppedVolumes(
  segmented: readonly SegmentedDicom[],
  labels: LabelConvention = 'inside',
  classes?: readonly string[],
): Promise<DroppedVolumes> {
  if (segmented.length < 2) return { kind: 'none' };
  const masks = new Map(segmented.map((s) => [s.dicom, s.mask]));
  try {
    const groups = groupSeries(segmented.map((s) => s.dicom));
    const cine = buildCine(chooseSeries(groups, WHERE), WHERE);
    // a turn for the page's other tasks every few images: measuring 240 masks is ~0.5 s of work in one go
    let served = 0;
    const measured = await measureCine(
      cine,
      async ({ image }) => {
        if (++served % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
        return masks.get(image)!;
      },
      { labels, ...(classes ? { classes } : {}) },
    );
    const { result } = measured;
    const others =
      groups.length > 1
        ? [
            `${groups.length} series among the files, the cine with the most images measured: ` +
              `${groups.map(describeSeries).join('; ')}`,
          ]
        : [];
    return {
      kind: 'volumes',
      cine,
      groups,
      measured,
      result,
      warnings: [...others, ...cine.warnings, ...result.warnings],
    };
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    return { kind: 'refused', message: (err as Error).message };
  }
}

const fixed = (v: number, digits = 1): string => v.toFixed(digits);
/** The model's LV mass cell where the model segments the blood pool only (the experts' o-contours give theirs). */
const NO_WALL = '— (no myocardium class)';

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

const SVG = 'http://www.w3.org/2000/svg';

function svgElement(name: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The LV volume over the cardiac cycle, ED and ES marked (and the experts' ED and ES volumes where given). */
export function volumeCurve(result: VolumeResult, experts?: ExpertMeasurement): SVGSVGElement {
  const width = 300,
    height = 150,
    left = 34,
    right = 8,
    top = 8,
    bottom = 24;
  const values = result.volumesMl;
  const expertPoints = experts
    ? [experts.result.ed, experts.result.es].map((k) => ({
        phase: experts.phases[k]!,
        ml: experts.result.volumesMl[k] ?? null,
      }))
    : [];
  const known = [...values, ...expertPoints.map((p) => p.ml)].filter((v): v is number => v !== null);
  const max = Math.max(1, ...known) * 1.1;
  const x = (p: number): number => left + (values.length > 1 ? (p / (values.length - 1)) * (width - left - right) : 0);
  const y = (v: number): number => top + (1 - v / max) * (height - top - bottom);
  const svg = svgElement('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'curve',
    role: 'img',
    'aria-label': 'LV volume per phase',
  }) as SVGSVGElement;
  svg.append(svgElement('line', { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: '#8895aa' }));
  svg.append(svgElement('line', { x1: left, y1: top, x2: left, y2: y(0), stroke: '#8895aa' }));
  const step = max > 200 ? 100 : max > 100 ? 50 : max > 40 ? 20 : 10;
  for (let t = 0; t <= max; t += step)
    svg.append(svgElement('text', { x: left - 4, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, String(t)));
  for (const p of [0, values.length - 1])
    svg.append(svgElement('text', { x: x(p), y: height - 8, 'text-anchor': 'middle', class: 'tick' }, String(p + 1)));
  svg.append(
    svgElement('text', { x: (left + width) / 2, y: height - 8, 'text-anchor': 'middle', class: 'tick' }, 'phase'),
  );
  const points = values.flatMap((v, p) => (v === null ? [] : [`${x(p).toFixed(1)},${y(v).toFixed(1)}`]));
  svg.append(svgElement('polyline', { points: points.join(' '), fill: 'none', stroke: '#d03030', 'stroke-width': 2 }));
  for (const [k, label] of [
    [result.ed, 'ED'],
    [result.es, 'ES'],
  ] as const) {
    const v = values[k];
    if (v === null || v === undefined) continue;
    svg.append(svgElement('circle', { cx: x(k), cy: y(v), r: 4, fill: '#d03030' }));
    svg.append(svgElement('text', { x: x(k), y: y(v) - 7, 'text-anchor': 'middle', class: 'mark' }, label));
  }
  for (const p of expertPoints) {
    if (p.ml !== null)
      svg.append(svgElement('rect', { x: x(p.phase) - 4, y: y(p.ml) - 4, width: 8, height: 8, fill: '#30a030' }));
  }
  return svg;
}

/** Every slice at ED and ES: its area, whether it counted, the image small; a click shows it in the viewer. */
function edEsGrid(_cine: CineSeries, result: VolumeResult, options: VolumesViewOptions): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'grid';
  const head = table.createTHead().insertRow();
  for (const text of ['slice', `ED (phase ${result.ed + 1})`, `ES (phase ${result.es + 1})`]) cell(head, text, true);
  const body = table.createTBody();
  // top row: the highest slice along the normal, as the viewer's slice numbers count from the lowest
  for (const s of [...result.slices].reverse()) {
    const row = body.insertRow();
    row.classList.toggle('left-out', !s.counted);
    cell(row, `${s.slice + 1}${s.counted ? '' : ' (left out)'}`);
    for (const phase of [result.ed, result.es]) {
      const td = row.insertCell();
      const area = s.areasMm2[phase];
      const thumb = options.thumbnail?.(s.slice, phase);
      if (thumb) td.append(thumb);
      td.append(document.createTextNode(area === null || area === undefined ? 'missing' : `${fixed(area, 0)} mm²`));
      td.dataset.slice = String(s.slice + 1);
      td.dataset.phase = String(phase + 1);
      if (options.pick) td.addEventListener('click', () => options.pick!(s.slice, phase));
    }
  }
  return table;
}

/** Shows what droppedVolumes found: the numbers (the experts' beside them), the curve, the ED/ES grid and the slices.
 * */
export function renderVolumes(section: HTMLElement, found: DroppedVolumes, options: VolumesViewOptions = {}): void {
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
  const { cine, result, experts } = found;
  const { mass } = found.measured;
  const hr = cine.heartRate;
  const table = document.createElement('table');
  table.className = 'summary';
  const expert = experts?.result;
  if (expert) {
    const head = table.createTHead().insertRow();
    for (const text of ['', 'model', 'experts']) cell(head, text, true);
  }
  // LV mass and wall thickness: a model that segments the myocardium gives them, the experts' o-contours theirs
  const expertMass = experts?.mass;
  const rows: [string, string, string?][] = [
    ['EF', `${fixed(result.efPct)} %`, expert && `${fixed(expert.efPct)} %`],
    ['EDV', `${fixed(result.edvMl)} mL`, expert && `${fixed(expert.edvMl)} mL`],
    ['ESV', `${fixed(result.esvMl)} mL`, expert && `${fixed(expert.esvMl)} mL`],
    ['SV', `${fixed(result.svMl)} mL`, expert && `${fixed(expert.svMl)} mL`],
    ...(mass || expertMass
      ? ([
          ['LV mass', mass ? `${fixed(mass.lvMassG)} g` : NO_WALL, expertMass && `${fixed(expertMass.lvMassG)} g`],
          [
            'wall thickness',
            mass ? `${fixed(mass.meanWallThicknessMm)} mm (mean at ED)` : NO_WALL,
            expertMass && `${fixed(expertMass.meanWallThicknessMm)} mm`,
          ],
        ] as [string, string, string?][])
      : []),
    [
      'ED / ES phase',
      `${result.ed + 1} / ${result.es + 1} of ${cine.phases}`,
      experts && expert && `${experts.phases[expert.ed]! + 1} / ${experts.phases[expert.es]! + 1}`,
    ],
  ];
  if (hr)
    rows.push(
      ['heart rate', `${fixed(hr.bpm, 0)} bpm`],
      ['cardiac output', `${fixed((result.svMl * hr.bpm) / 1000, 2)} L/min`],
    );
  for (const [label, value, theirs] of rows) {
    const row = table.insertRow();
    row.dataset.measure = label;
    cell(row, label, true);
    cell(row, value);
    if (expert) cell(row, theirs ?? '');
  }
  section.append(table);
  if (experts) {
    section.dataset.lvsegExperts = JSON.stringify({
      edvMl: expert!.edvMl,
      esvMl: expert!.esvMl,
      svMl: expert!.svMl,
      efPct: expert!.efPct,
      edPhase: experts.phases[expert!.ed]! + 1,
      esPhase: experts.phases[expert!.es]! + 1,
      // where o-contours were dropped, rounded as the experts' record of volumes.json has them
      lvMassG: expertMass ? round(expertMass.lvMassG, 1) : null,
      meanWallThicknessMm: expertMass ? round(expertMass.meanWallThicknessMm) : null,
      warnings: [...experts.warnings, ...expert!.warnings],
    });
  }
  section.append(volumeCurve(result, experts));
  const counted = result.slices.filter((s) => s.counted).map((s) => s.slice + 1);
  section.append(
    paragraph(
      `${counted.length} of ${cine.slices.length} slices counted (1 = lowest along the slice normal): ` +
        `${counted.join(', ')}`,
    ),
  );
  const details = document.createElement('details');
  const gridSummary = document.createElement('summary');
  gridSummary.textContent = 'every slice at ED and ES';
  details.append(gridSummary, edEsGrid(cine, result, options));
  section.append(details);
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
    edvMl: result.edvMl,
    esvMl: result.esvMl,
    svMl: result.svMl,
    efPct: result.efPct,
    edPhase: result.ed + 1,
    esPhase: result.es + 1,
    heartRateBpm: hr?.bpm ?? null,
    countedSlices: counted,
    slices: cine.slices.length,
    phases: cine.phases,
    warnings: found.warnings,
    // a model with a myocardium class; a blood-pool model's record is as it was
    ...(mass ? { lvMassG: round(mass.lvMassG, 1), meanWallThicknessMm: round(mass.meanWallThicknessMm) } : {}),
  });
}
