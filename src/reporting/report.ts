import type { EvaluationMetrics } from '../evaluation/evaluate.js';
import { runPath } from '../runs/run-dir.js';
import { writeFileAtomic } from '../io/atomic.js';
import { VERSION } from '../version.js';
import { layoutCurves, layoutHistogram, type CurveRun } from './charts.js';
import { readRun, type PerImageRecord, type RunImage, type RunRecord } from './run.js';
import { safeImageName } from './samples.js';
import { escapeXml, sceneToSvg } from './scene.js';
import { isVolumesOutput, layoutVolumeCurve, readVolumesOutput, type VolumesOutput } from './volumes.js';

const esc = escapeXml;

const STYLE =
  `
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;border-bottom:2px solid ` +
  `#d9dde3;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 8px}
.meta{color:#5a6270;font-size:13px}
section.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px 20px;margin:16px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #dde1e6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.winner td{background:#e8f6e8;font-weight:600}
.kv td:first-child{color:#5a6270;white-space:nowrap}
code,pre{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px}
pre{margin:0;white-space:pre-wrap}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:6px}
figure img{display:block;max-width:100%;image-rendering:pixelated}
figcaption{font-size:12px;color:#3a414c;margin-top:4px}
.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.note{color:#8a5a00;font-size:13px}
svg{max-width:100%;height:auto}
`;

function fmt(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '–';
    // Counts print as integers; values in [-1, 1] are fractions (a Dice of 0 or 1) and keep their digits.
    if (Number.isInteger(v) && Math.abs(v) > 1) return v.toLocaleString('en-US');
    return Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(digits) : v.toExponential(2);
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A configuration value as a user would type it: 0.001, 1e-4, 0.00392157 (1/255), lists and objects as JSON. */
function fmtSetting(v: unknown): string {
  if (typeof v === 'number') return String(Number(v.toPrecision(6)));
  return fmt(v);
}

/** A count (parameters, epochs) with thousands separators. */
function fmtCount(v: number | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US') : '–';
}

const asCurveRun = (run: RunRecord): CurveRun => ({ name: run.name, epochs: run.history });

const dataUri = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`;

/** The best validation Dice in the history and its epoch (1-based, as printed during training). */
export function bestEpoch(run: RunRecord, key = 'val_dice'): { value: number; epoch: number } | undefined {
  let best: { value: number; epoch: number } | undefined;
  for (const e of run.history) {
    const v = e[key];
    if (typeof v === 'number' && Number.isFinite(v) && (!best || v > best.value))
      best = { value: v, epoch: e.epoch + 1 };
  }
  return best;
}

/** The score that ranks runs: the final evaluation's lab Dice, else the best validation Dice. */
export function runScore(run: RunRecord): number | undefined {
  const d = run.evaluation?.metrics.dice;
  if (typeof d === 'number' && Number.isFinite(d)) return d;
  return bestEpoch(run)?.value;
}

/** Config keys whose values differ between runs: the settings a parameter search varied. */
export function differingSettings(runs: readonly RunRecord[]): string[] {
  const ignore = new Set(['startedAt', 'name', 'out', 'outDir', 'runDir', 'versions']);
  const keys = new Set(runs.flatMap((r) => Object.keys(r.config ?? {})));
  return [...keys]
    .filter((k) => !ignore.has(k) && new Set(runs.map((r) => JSON.stringify(setting(r, k) ?? null))).size > 1)
    .sort();
}

/** A config value by name; configs of older runs may hold keys this version does not know. */
function setting(run: RunRecord, key: string): unknown {
  return (run.config as Record<string, unknown> | undefined)?.[key];
}

function comparisonTable(runs: readonly RunRecord[]): string {
  const settings = differingSettings(runs);
  const scores = runs.map(runScore);
  const top = Math.max(...scores.map((s) => s ?? -Infinity));
  const winner = scores.findIndex((s) => s === top && Number.isFinite(top));
  const head = [
    'run',
    ...settings,
    'params',
    'epochs',
    'final val_loss',
    'best val_dice (epoch)',
    'eval Dice (lab)',
    'mean Dice',
    'HD95',
    'APD',
  ];
  const rows = runs.map((r, i) => {
    const last = r.history[r.history.length - 1];
    const best = bestEpoch(r);
    const m: Partial<EvaluationMetrics> = r.evaluation?.metrics ?? {};
    const unit = typeof m.unit === 'string' ? ` ${m.unit}` : '';
    const num = (html: string): string => `<td class="num">${html}</td>`;
    const cells = [
      `<td>${i === winner ? '★ ' : ''}${esc(r.name)}</td>`,
      ...settings.map((k) => `<td><code>${esc(fmtSetting(setting(r, k)))}</code></td>`),
      num(fmtCount(r.summary?.totalParams)),
      num(String(r.history.length)),
      num(fmt(last?.val_loss)),
      num(best ? `${fmt(best.value)} (${best.epoch})` : '–'),
      num(fmt(m.dice)),
      num(fmt(m.meanDice)),
      num(`${fmt(m.hd95, 2)}${m.hd95 !== undefined ? unit : ''}`),
      num(`${fmt(m.apd, 2)}${m.apd !== undefined ? unit : ''}`),
    ];
    return `<tr${i === winner ? ' class="winner"' : ''}>${cells.join('')}</tr>`;
  });
  const won =
    winner >= 0
      ? `<p><b>${esc(runs[winner]!.name)}</b> won with Dice ` +
        `${fmt(scores[winner])}${
          settings.length
            ? ` (${settings
                .map((k) => `${esc(k)} = ` + `<code>${esc(fmtSetting(setting(runs[winner]!, k)))}</code>`)
                .join(', ')})`
            : ''
        }.</p>`
      : '';
  return (
    `<section class="card"><h2>Comparison</h2>${won}` +
    `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.join('')}</table>
<p class="meta">Ranked by the final evaluation's lab Dice (batch Dice, smooth 1), else by the best validation Dice ` +
    `during training. Columns between "run" and "params" are the settings that differ between the runs.</p></section>`
  );
}

function configTable(config: Record<string, unknown> | undefined): string {
  if (!config) return '<p class="note">No config.json in this run.</p>';
  const rows = Object.entries(config).map(
    ([k, v]) =>
      `<tr><td>${esc(k)}</td><td>${
        typeof v === 'object' && v !== null
          ? `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`
          : `<code>${esc(fmtSetting(v))}</code>`
      }</td></tr>`,
  );
  return `<table class="kv">${rows.join('')}</table>`;
}

function summaryTable(run: RunRecord): string {
  const s = run.summary;
  if (!s) return '<p class="note">No summary.json in this run.</p>';
  const rows = s.layers.map(
    (l) =>
      `<tr><td>${esc(l.name)} (${esc(l.type)})</td><td><code>${esc(formatOutputShape(l.outputShape))}</code></td><td ` +
      `class="num">${fmtCount(l.params)}</td></tr>`,
  );
  return (
    `<table><tr><th>Layer (type)</th><th>Output shape</th><th>Param #</th></tr>${rows.join('')}
<tr><td colspan="2"><b>Total params</b></td><td class="num"><b>${fmtCount(s.totalParams)}</b></td></tr>
<tr><td colspan="2">Trainable params</td><td class="num">${fmtCount(s.trainableParams)}</td></tr>
<tr><td colspan="2">Non-trainable params</td><td ` +
    `class="num">${fmtCount(s.totalParams - s.trainableParams)}</td></tr></table>`
  );
}

function formatOutputShape(shape: unknown): string {
  const one = (s: unknown): string =>
    Array.isArray(s) ? `(${s.map((d) => (d === null ? 'None' : String(d))).join(', ')})` : String(s);
  return Array.isArray(shape) && Array.isArray(shape[0]) ? `[${shape.map(one).join(', ')}]` : one(shape);
}

const METRIC_NAMES: Array<[string, string]> = [
  ['loss', 'Loss'],
  ['accuracy', 'Pixel accuracy'],
  ['dice', 'Dice (lab: batch, smooth 1)'],
  ['meanDice', 'Mean per-image Dice'],
  ['iou', 'IoU'],
  ['precision', 'Precision'],
  ['recall', 'Recall'],
  ['hd95', 'Hausdorff 95'],
  ['apd', 'Average perpendicular distance'],
];

function metricsTable(run: RunRecord): string {
  const m = run.evaluation?.metrics;
  if (!m) {
    const last = run.history[run.history.length - 1];
    if (!last) return '<p class="note">No evaluation.json and no history in this run.</p>';
    const rows = Object.entries(last)
      .filter(([k]) => k !== 'epoch')
      .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${fmt(v)}</td></tr>`);
    return (
      `<p class="note">No evaluation.json: the values of the last epoch (${last.epoch + 1}).</p><table ` +
      `class="kv">${rows.join('')}</table>`
    );
  }
  const unit = typeof m.unit === 'string' ? m.unit : '';
  const known = new Set(METRIC_NAMES.map(([k]) => k).concat('unit'));
  const rows = [
    ...METRIC_NAMES.filter(([k]) => k in m).map(
      ([k, label]) =>
        `<tr><td>${esc(label)}</td><td class="num">` +
        fmt((m as unknown as Record<string, unknown>)[k], k === 'hd95' || k === 'apd' ? 2 : 4) +
        `${(k === 'hd95' || k === 'apd') && unit ? ` ${esc(unit)}` : ''}</td></tr>`,
    ),
    ...Object.entries(m)
      .filter(([k]) => !known.has(k))
      .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${fmt(v)}</td></tr>`),
  ];
  const classes = run.evaluation!.classes;
  const perClass = classes
    ? `<p class="meta">The table above is the blood pool's (lv). Per class, over the images whose label marks ` +
      `it:</p><table><tr><th>class</th><th>images</th><th>mean ` +
      `Dice</th><th>APD${unit ? ` ${esc(unit)}` : ''}</th><th>HD95${unit ? ` ${esc(unit)}` : ''}</th><th>good ` +
      `contours</th></tr>${Object.entries(classes)
        .map(
          ([name, c]) =>
            `<tr><td>${esc(name)}</td><td class="num">${c.count}</td><td class="num">${fmt(c.meanDice, 4)}</td><td ` +
            `class="num">${fmt(c.apd, 2)}</td><td class="num">${fmt(c.hd95, 2)}</td><td ` +
            `class="num">${fmt(c.goodContourRate, 3)}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  return (
    `<table class="kv">${rows.join('')}</table><p class="meta">On ${run.evaluation!.perImage.length} validation ` +
    `images.</p>${perClass}`
  );
}

function ranked(perImage: readonly PerImageRecord[]): PerImageRecord[] {
  return perImage
    .filter((p) => typeof p.dice === 'number' && Number.isFinite(p.dice))
    .sort((a, b) => b.dice! - a.dice!);
}

function bestWorstTable(run: RunRecord, n = 5): string {
  const list = ranked(run.evaluation?.perImage ?? []);
  if (list.length === 0) return '';
  // With fewer than 2n images, the best half and the worst half, so no image is listed twice.
  const k = Math.min(n, Math.ceil(list.length / 2));
  const best = list.slice(0, k),
    worst = list.slice(Math.max(k, list.length - n)).reverse();
  const row = (p: PerImageRecord, tag: string): string =>
    `<tr><td>${tag}</td><td>${esc(p.name)}</td><td>${esc(String(p.patient ?? ''))}</td><td ` +
    `class="num">${fmt(p.dice)}</td><td class="num">${fmt(p.iou)}</td><td class="num">${fmt(p.hd95, 2)}</td><td ` +
    `class="num">${fmtCount(p.lvAreaPx ?? undefined)}</td></tr>`;
  return (
    `<table><tr><th></th><th>image</th><th>patient</th><th>Dice</th><th>IoU</th><th>HD95</th><th>LV area ` +
    `(px)</th></tr>
${best.map((p) => row(p, 'best')).join('')}${worst.map((p) => row(p, 'worst')).join('')}</table>`
  );
}

/**
 * Image and file names reduced to letters, digits, dots and single dashes, so `synthetic/100` matches
 * both `best-01-synthetic_100.png` (safeImageName) and `best-01-synthetic-100.png`.
 */
function comparableName(name: string): string {
  return safeImageName(name).replace(/[_-]+/g, '-');
}

/** Sample panels with their image's Dice where the file name contains the image name; best first. */
function sampleGrid(run: RunRecord): string {
  if (run.samples.length === 0) return '<p class="note">No sample panels (samples/*.png) in this run.</p>';
  const perImage = run.evaluation?.perImage ?? [];
  const items = run.samples.map((s) => {
    const base = s.file.slice(s.file.lastIndexOf('/') + 1);
    const key = comparableName(base.replace(/\.png$/i, ''));
    const match = perImage
      .filter((p) => p.name && key.endsWith(`-${comparableName(p.name)}`))
      .sort((a, b) => b.name.length - a.name.length)[0];
    return { s, dice: typeof match?.dice === 'number' ? match.dice : undefined, name: match?.name };
  });
  items.sort((a, b) => (b.dice ?? -1) - (a.dice ?? -1));
  const figure = ({ s, dice, name }: { s: RunImage; dice?: number; name?: string }): string =>
    `<figure><img src="${dataUri(s.png)}" ` +
    `alt="${esc(s.file)}"><figcaption>${esc(name ?? s.file)}${
      dice !== undefined ? ` — Dice ` + `${fmt(dice)}` : ''
    }</figcaption></figure>`;
  return `<div class="grid">${items.map(figure).join('')}</div>`;
}

/** A K-class run's validation Dice per class by epoch (history.json `val_dice_<class>`), beside their mean. */
function classDiceCurves(run: RunRecord): string {
  const keys = [...new Set(run.history.flatMap((e) => Object.keys(e).filter((k) => k.startsWith('val_dice_'))))];
  if (keys.length === 0) return '';
  const series = ['val_dice', ...keys];
  return `<h3>Validation Dice per class</h3>${sceneToSvg(layoutCurves([asCurveRun(run)], { series }))}`;
}

function runSection(run: RunRecord, multi: boolean): string {
  const perImageDice = (run.evaluation?.perImage ?? [])
    .map((p) => p.dice)
    .filter((d): d is number => typeof d === 'number' && Number.isFinite(d));
  const bestWorst = bestWorstTable(run);
  const parts = [
    `<section class="card"><h2>${multi ? `Run ${esc(run.name)}` : 'Run'}</h2><p class="meta">${esc(run.dir)}</p>`,
    `<div class="row"><div><h3>Final metrics</h3>${metricsTable(run)}</div>`,
    perImageDice.length > 0 ? `<div><h3>Per-image Dice</h3>${sceneToSvg(layoutHistogram(perImageDice))}</div>` : '',
    `</div>`,
    !multi && run.history.length > 0 ? `<h3>Training curves</h3>${sceneToSvg(layoutCurves([asCurveRun(run)]))}` : '',
    !multi ? classDiceCurves(run) : '',
    `<h3>Sample predictions (validation set, best to worst Dice)</h3>${sampleGrid(run)}`,
    bestWorst ? `<h3>Best and worst images by Dice</h3>${bestWorst}` : '',
    run.lastPanel
      ? `<h3>Display panel after the last epoch</h3><figure><img src="${dataUri(run.lastPanel.png)}" ` +
        `alt="${esc(run.lastPanel.file)}"><figcaption>${esc(run.lastPanel.file)}</figcaption></figure>`
      : '',
    `<div class="row"><div><h3>Model summary</h3>${summaryTable(run)}</div><div><h3>Resolved ` +
      `configuration</h3>${configTable(run.config as Record<string, unknown> | undefined)}</div></div>`,
    `</section>`,
  ];
  return parts.join('\n');
}

const num = (v: number | null | undefined, digits = 1): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';

/** The volumes of one cine: the numbers (beside the experts' where given), the curve, the mask grid, the slices. */
function volumesSection(v: VolumesOutput): string {
  const r = v.record;
  const e = r.experts;
  const row = (label: string, ours: string, theirs?: string): string =>
    `<tr><td>${esc(label)}</td><td class="num">${ours}</td>${e ? `<td class="num">${theirs ?? '–'}</td>` : ''}</tr>`;
  const numbers = `<table><tr><th></th><th>lvseg</th>${e ? '<th>experts</th>' : ''}</tr>
${row('EDV (mL)', num(r.edvMl), num(e?.edvMl))}${row(
  'ESV ' + '(mL)',
  num(r.esvMl),
  num(e?.esvMl),
)}${row('SV (mL)', num(r.svMl), num(e?.svMl))}
${row('EF (%)', num(r.efPct), num(e?.efPct))}${
  r.lvMassG != null || e?.lvMassG != null
    ? row('LV mass ' + '(g)', num(r.lvMassG ?? null), num(e?.lvMassG ?? null)) +
      row(
        'mean wall thickness ' + '(mm)',
        num(r.wall?.meanWallThicknessMm ?? null),
        num(e?.wall?.meanWallThicknessMm ?? null),
      )
    : ''
}${row('ED ' + 'phase', String(r.edPhase), e ? String(e.edPhase) : undefined)}${row(
  'ES ' + 'phase',
  String(r.esPhase),
  e ? String(e.esPhase) : undefined,
)}
${row('slices counted', esc(r.countedSlices.join(', ')), e ? esc(e.countedSlices.join(', ')) : undefined)}
${row('heart rate (bpm)', num(r.heartRateBpm))}${row('cardiac output (L/min)', num(r.cardiacOutputLMin, 2))}</table>
${r.heartRateSource ? `<p class="meta">Heart rate: ${esc(r.heartRateSource)}.</p>` : ''}
${
  e
    ? `<p class="meta">Experts: ${esc(e.dir)}, contoured phases ${esc(e.phases.join(', '))}; with the contours ` +
      `rasterised as the training masks are (boundary pixels added): EDV ${num(e.asTrainingMasks.edvMl)}, ESV ` +
      `${num(e.asTrainingMasks.esvMl)} mL, EF ${num(e.asTrainingMasks.efPct)}%.</p>`
    : ''
}`;
  const slices = r.slices.map(
    (s) =>
      `<tr><td>${s.slice}</td><td ` +
      `class="num">${num(s.zMm)}</td><td>${s.counted ? 'yes' : `no: ${esc(s.reason ?? '')}`}</td><td ` +
      `class="num">${num(s.thicknessMm)}</td>` +
      `<td class="num">${num(s.areasMm2[r.edPhase - 1], 0)}</td><td ` +
      `class="num">${num(s.areasMm2[r.esPhase - 1], 0)}</td></tr>`,
  );
  const warnings = [...r.warnings, ...(e?.warnings ?? [])];
  const s = r.series;
  return [
    `<section class="card"><h2>LV volumes: ${esc(s.description ?? s.uid)}</h2>`,
    `<p class="meta">${esc(s.dir)}: series ${esc(s.uid)}, ${s.images} images, ${s.slices} slices × ` +
      `${s.phases} phases, ${s.pixelSpacingMm.map((x) => x.toFixed(3)).join(' × ')} mm pixels; ` +
      `slice centres from ${esc(s.sliceCentresFrom)}, phases by ${esc(s.phaseOrder)}. Masks: ${esc(
        Object.entries(r.segmenter)
          .map(([k, x]) => `${k} ${x}`)
          .join(', '),
      )}.</p>`,
    warnings.length > 0 ? `<p class="note">${warnings.map((w) => `warning: ${esc(w)}`).join('<br>')}</p>` : '',
    `<div class="row"><div><h3>Volumes</h3>${numbers}</div><div><h3>Volume over the ` +
      `cycle</h3>${sceneToSvg(layoutVolumeCurve(r))}</div></div>`,
    v.gridPng
      ? `<h3>ED and ES masks on every slice</h3><figure><img src="${dataUri(v.gridPng)}" alt="ED and ES ` +
        `masks"><figcaption>lvseg in red${e ? ', experts in green' : ''}; areas in cm².</figcaption></figure>`
      : '',
    `<h3>Slices</h3><table><tr><th>slice</th><th>z (mm)</th><th>counted</th><th>disc (mm)</th><th>ED area ` +
      `(mm²)</th><th>ES area (mm²)</th></tr>${slices.join('')}</table>`,
    `<p class="meta">Rule: ${esc(r.rule.text)}.</p></section>`,
  ].join('\n');
}

/**
 * One self-contained HTML page for one or more runs (and volume analyses): inline CSS and SVG, PNGs as
 * data: URIs, no scripts and no network, so it opens from disk anywhere.
 */
export function renderReport(
  runs: readonly RunRecord[],
  options: { title?: string; generatedAt?: Date; volumes?: readonly VolumesOutput[] } = {},
): string {
  const multi = runs.length > 1;
  const volumes = options.volumes ?? [];
  const title =
    options.title ??
    (multi
      ? `lvseg: ${runs.length} runs compared`
      : runs.length === 0 && volumes.length > 0
        ? `lvseg volumes: ${volumes.map((v) => v.record.series.description ?? v.record.series.uid).join(', ')}`
        : `lvseg run report: ${runs[0]?.name ?? ''}`);
  const withHistory = runs.filter((r) => r.history.length > 0);
  const generated = (options.generatedAt ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><main>
<h1>${esc(title)}</h1>
<p class="meta">Generated by lvseg ${esc(VERSION)} at ${generated}</p>
${multi ? comparisonTable(runs) : ''}
${
  multi && withHistory.length > 0
    ? `<section class="card"><h2>Training ` +
      `curves</h2>${sceneToSvg(layoutCurves(withHistory.map(asCurveRun)))}</section>`
    : ''
}
${runs.map((r) => runSection(r, multi)).join('\n')}
${volumes.map(volumesSection).join('\n')}
</main></body></html>
`;
}

/**
 * Reads the directories and writes their report to `outFile` (atomically). A directory is a run, or a
 * volumes folder (`lvseg volumes --out`); a run's own `volumes/` folder is reported with it.
 */
export async function writeReport(dirs: readonly string[], outFile: string): Promise<string> {
  const runs: RunRecord[] = [];
  const volumes: VolumesOutput[] = [];
  for (const dir of dirs) {
    if (isVolumesOutput(dir)) {
      volumes.push(readVolumesOutput(dir));
      continue;
    }
    runs.push(readRun(dir));
    if (isVolumesOutput(runPath(dir, 'volumes'))) volumes.push(readVolumesOutput(runPath(dir, 'volumes')));
  }
  await writeFileAtomic(outFile, renderReport(runs, { volumes }));
  return outFile;
}

/** `RUN/report.html` for one run; training calls this when it finishes. Returns the file's path. */
export async function writeRunReport(runDir: string): Promise<string> {
  return writeReport([runDir], runPath(runDir, 'report'));
}
