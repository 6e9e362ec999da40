/**
 * The runs dashboard of `lvseg serve`: the list of runs, kept current (server-sent events from /api/events), one
 * run with live curves (server-sent events from /api/runs/NAME/events following its history.json) and its latest
 * prediction panel, and runs compared side
 * by side. Routes live in the URL hash: #/, #/run/NAME, #/compare/A,B,…
 */
import uPlot from 'uplot';
// What /api/runs lists and /api/runs/NAME/events sends; a type only, so nothing of the server is bundled.
import type { RunView } from '../../server/runs.js';

const app = document.getElementById('app')!;
let events: EventSource | undefined;
const charts: uPlot[] = [];

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (v === null || v === undefined) return '–';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** "1 run", "3 runs". */
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

const runUrl = (name: string): string => `/runs/${name.split('/').map(encodeURIComponent).join('/')}/`;
const lastOf = (r: RunView, key: string): unknown => r.history.at(-1)?.[key];

function reset(): void {
  events?.close();
  events = undefined;
  for (const c of charts.splice(0)) c.destroy();
  app.replaceChildren();
}

/** The run list's rows; boxes the user ticked stay ticked when the list is redrawn. */
function runRows(runs: RunView[], ticked: Set<string>): HTMLTableRowElement[] {
  return runs.map((r) => {
    const row = el('tr', { className: 'run' });
    row.dataset.run = r.name;
    row.dataset.status = r.status;
    const box = el('input', { type: 'checkbox', value: r.name, checked: ticked.has(r.name) });
    const status = el('td', { className: r.status }, r.status === 'broken' ? `broken: ${r.error ?? ''}` : r.status);
    row.append(
      el('td', {}, box),
      el('td', {}, el('a', { href: `#/run/${encodeURIComponent(r.name)}` }, r.name)),
      status,
      el('td', {}, fmt(r.config?.model ?? r.config?.modelSpec)),
      el('td', {}, `${r.history.length}${r.epochs ? `/${r.epochs}` : ''}`),
      el('td', {}, fmt(lastOf(r, 'val_dice'))),
      el('td', {}, fmt(lastOf(r, 'val_loss'))),
      el('td', {}, fmt(r.metrics?.dice)),
      el('td', {}, fmt(r.metrics?.meanDice)),
      el('td', {}, r.metrics?.hd95 === undefined ? '–' : `${fmt(r.metrics.hd95)} ${fmt(r.metrics.unit ?? '')}`),
      el('td', {}, r.report ? el('a', { href: r.report }, 'report') : '–'),
    );
    return row;
  });
}

function showList(): void {
  const heading = el('h2', {}, 'runs');
  const table = el('table', { id: 'runs' });
  const head = el(
    'tr',
    {},
    ...[
      '',
      'run',
      'status',
      'model',
      'epochs',
      'val_dice',
      'val_loss',
      'eval Dice',
      'eval mean Dice',
      'eval HD95',
      'report',
    ].map((h) => el('th', {}, h)),
  );
  // The server sends the list now and again whenever a run appears, trains on or finishes.
  events = new EventSource('/api/events');
  events.addEventListener('runs', (message) => {
    const runs = JSON.parse((message as MessageEvent<string>).data) as RunView[];
    const ticked = new Set(Array.from(table.querySelectorAll<HTMLInputElement>('input:checked'), (b) => b.value));
    heading.textContent = count(runs.length, 'run');
    table.replaceChildren(head, ...runRows(runs, ticked));
  });
  const compare = el('button', {}, 'compare selected');
  compare.addEventListener('click', () => {
    const names = Array.from(table.querySelectorAll<HTMLInputElement>('input:checked')).map((b) =>
      encodeURIComponent(b.value),
    );
    if (names.length > 0) location.hash = `#/compare/${names.join(',')}`;
  });
  app.append(el('section', {}, heading, table, compare));
}

function seriesKeys(history: RunView['history'], prefixes: string[]): string[] {
  const keys = new Set<string>();
  for (const e of history)
    for (const k of Object.keys(e)) if (prefixes.some((p) => k === p || k === `val_${p}`)) keys.add(k);
  return [...keys].sort();
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function chart(
  title: string,
  xs: number[],
  lines: { label: string; values: (number | null)[] }[],
  id: string,
): HTMLElement {
  const holder = el('div', { className: 'chart', id });
  holder.dataset.points = String(xs.length);
  const opts: uPlot.Options = {
    title,
    width: 480,
    height: 260,
    scales: { x: { time: false } },
    // whole epochs on the x axis: a tick every 1, 2, 5, 10… epochs, never 1.5
    axes: [{ incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, {}],
    series: [
      { label: 'epoch' },
      ...lines.map((l, i) => ({ label: l.label, stroke: COLOURS[i % COLOURS.length], width: 2 })),
    ],
  };
  const plot = new uPlot(opts, [xs, ...lines.map((l) => l.values)] as uPlot.AlignedData, holder);
  // the legend shows the last epoch's values until the pointer picks another (uPlot shows "--" until hovered)
  if (xs.length > 0) plot.setLegend({ idx: xs.length - 1 });
  charts.push(plot);
  return holder;
}

/** A K-class run's per-class validation Dice keys (`val_dice_lv`, `val_dice_myocardium`, …), in first-seen order. */
function classDiceKeys(history: RunView['history']): string[] {
  return [...new Set(history.flatMap((e) => Object.keys(e).filter((k) => k.startsWith('val_dice_'))))];
}

function curves(history: RunView['history']): HTMLElement {
  const xs = history.map((e) => e.epoch + 1);
  const pick = (keys: string[]) =>
    keys.map((k) => ({ label: k, values: history.map((e) => (Number.isFinite(e[k]) ? e[k]! : null)) }));
  const perClass = classDiceKeys(history);
  return el(
    'div',
    { className: 'charts' },
    chart('loss', xs, pick(seriesKeys(history, ['loss'])), 'chart-loss'),
    chart('Dice', xs, pick(seriesKeys(history, ['dice'])), 'chart-dice'),
    ...(perClass.length > 0 ? [chart('validation Dice per class', xs, pick(perClass), 'chart-class-dice')] : []),
  );
}

/** A K-class run's evaluation per class: images, mean Dice, APD, HD95 and good-contour rate. */
function classTable(classes: NonNullable<RunView['classes']>, unit: string): HTMLElement {
  const table = el('table', { id: 'class-metrics' });
  table.append(
    el(
      'tr',
      {},
      ...[
        'class',
        'images',
        'mean Dice',
        `APD${unit ? ` (${unit})` : ''}`,
        `HD95${unit ? ` (${unit})` : ''}`,
        'good contours',
      ].map((h) => el('th', {}, h)),
    ),
  );
  for (const [name, c] of Object.entries(classes)) {
    const row = el(
      'tr',
      {},
      el('td', {}, name),
      ...[c.count, c.meanDice, c.apd, c.hd95, c.goodContourRate].map((v) => el('td', {}, fmt(v))),
    );
    row.dataset.class = name;
    table.append(row);
  }
  return table;
}

function showRun(name: string): void {
  const head = el('h2', {}, name);
  const status = el('p', { id: 'run-status' });
  const curveBox = el('section', { id: 'curves' });
  const panel = el('img', {
    className: 'panel',
    id: 'panel',
    alt: 'the prediction panel of the latest epoch',
    hidden: true,
  });
  const config = el('pre', { id: 'config' });
  const classBox = el('section', { id: 'classes', hidden: true });
  app.append(
    el('section', {}, head, status),
    curveBox,
    classBox,
    el('section', {}, el('h3', {}, 'latest prediction panel'), panel),
    el('section', {}, el('h3', {}, 'configuration'), config),
  );
  events = new EventSource(`/api/runs/${encodeURIComponent(name)}/events`);
  events.addEventListener('run', (message) => {
    const r = JSON.parse((message as MessageEvent<string>).data) as RunView;
    status.className = r.status;
    status.dataset.epochs = String(r.history.length);
    status.replaceChildren(
      `${r.status}${r.error ? `: ${r.error}` : ''} · ` +
        `${r.epochs ? `${r.history.length} of ${count(r.epochs, 'epoch')}` : count(r.history.length, 'epoch')}`,
      ...(r.report ? [' · ', el('a', { href: r.report }, 'report')] : []),
      ...(r.model
        ? [
            ' · ',
            el(
              'a',
              { href: `/segment/?model=${encodeURIComponent(`run:${r.name}`)}` },
              'segment images with this model',
            ),
          ]
        : []),
    );
    for (const c of charts.splice(0)) c.destroy();
    curveBox.replaceChildren(curves(r.history));
    if (r.classes) {
      const unit = typeof r.metrics?.unit === 'string' ? r.metrics.unit : '';
      classBox.replaceChildren(el('h3', {}, 'evaluation per class'), classTable(r.classes, unit));
      classBox.hidden = false;
    }
    const latest = r.panels.at(-1);
    if (latest) {
      panel.src = `${runUrl(r.name)}${latest}`;
      panel.hidden = false;
    }
    config.textContent = JSON.stringify(r.config ?? {}, null, 2);
  });
}

async function showCompare(names: string[]): Promise<void> {
  const runs = await Promise.all(
    names.map(async (n) => (await (await fetch(`/api/runs/${encodeURIComponent(n)}`)).json()) as RunView),
  );
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config ?? {})))].sort();
  const table = el('table', { id: 'compare' });
  table.append(el('tr', {}, el('th', {}, ''), ...runs.map((r) => el('th', {}, r.name))));
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.history.at(-1) ?? {})))]
    .filter((k) => k !== 'epoch')
    .sort();
  for (const k of metricKeys)
    table.append(el('tr', {}, el('th', {}, `final ${k}`), ...runs.map((r) => el('td', {}, fmt(lastOf(r, k))))));
  const evalKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics ?? {})))].sort();
  for (const k of evalKeys)
    table.append(el('tr', {}, el('th', {}, `evaluation ${k}`), ...runs.map((r) => el('td', {}, fmt(r.metrics?.[k])))));
  for (const k of keys) {
    const values = runs.map((r) => fmt(r.config?.[k]));
    const differs = new Set(values).size > 1;
    table.append(
      el('tr', { className: differs ? 'diff' : '' }, el('th', {}, k), ...values.map((v) => el('td', {}, v))),
    );
  }
  const longest = Math.max(0, ...runs.map((r) => r.history.length));
  const xs = Array.from({ length: longest }, (_, i) => i + 1);
  const lines = runs.map((r) => ({ label: r.name, values: xs.map((x) => r.history[x - 1]?.val_dice ?? null) }));
  app.append(
    el('section', {}, el('h2', {}, 'val_dice by epoch'), chart('val_dice', xs, lines, 'chart-compare')),
    el('section', {}, el('h2', {}, 'runs side by side (differences highlighted)'), table),
  );
}

function route(): void {
  reset();
  const [, page, arg] = location.hash.split('/');
  const done =
    page === 'run' && arg
      ? Promise.resolve(showRun(decodeURIComponent(arg)))
      : page === 'compare' && arg
        ? showCompare(arg.split(',').map(decodeURIComponent))
        : Promise.resolve(showList());
  done.catch((err: Error) => app.append(el('p', { className: 'broken' }, err.message)));
}

window.addEventListener('hashchange', route);
route();
