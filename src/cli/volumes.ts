import type { BackendName } from '../backends/select.js';
import { UsageError } from '../errors.js';
import { VOLUMES_FILES, type VolumesRecord } from '../reporting/volumes.js';
import { BUNDLED_MODEL } from '../models/io.js';
import { measureSeriesVolumes } from '../workflows/volumes.js';
import { backendOption, type Command } from './command.js';

const fixed = (v: number | null | undefined, digits = 1): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';

/** lvseg's numbers beside the experts' (where given), as printed. */
export function formatVolumesTable(r: VolumesRecord): string {
  const e = r.experts;
  const rows: [string, string, string | undefined][] = [
    ['EDV (mL)', fixed(r.edvMl), e && fixed(e.edvMl)],
    ['ESV (mL)', fixed(r.esvMl), e && fixed(e.esvMl)],
    ['SV (mL)', fixed(r.svMl), e && fixed(e.svMl)],
    ['EF (%)', fixed(r.efPct), e && fixed(e.efPct)],
    ...(r.lvMassG !== null || (e && e.lvMassG !== null)
      ? ([
          ['LV mass (g)', fixed(r.lvMassG), e && fixed(e.lvMassG)],
          ['wall (mm)', fixed(r.wall?.meanWallThicknessMm), e && fixed(e.wall?.meanWallThicknessMm)],
        ] as [string, string, string | undefined][])
      : []),
    ['ED phase', String(r.edPhase), e && String(e.edPhase)],
    ['ES phase', String(r.esPhase), e && String(e.esPhase)],
    ['slices', compactList(r.countedSlices), e && compactList(e.countedSlices)],
  ];
  const lines = [`  ${''.padEnd(10)}${'lvseg'.padStart(10)}${e ? 'experts'.padStart(12) : ''}`];
  for (const [label, ours, theirs] of rows)
    lines.push(`  ${label.padEnd(10)}${ours.padStart(10)}${e ? (theirs ?? '-').padStart(12) : ''}`);
  return lines.join('\n');
}

/** `2-10` or `2, 4-6` from sorted slice numbers. */
function compactList(numbers: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < numbers.length; i++) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    parts.push(j > i ? `${numbers[i]}-${numbers[j]}` : String(numbers[i]));
    i = j;
  }
  return parts.join(',') || 'none';
}

export const command: Command = {
  name: 'volumes',
  usage: 'volumes SERIES_DIR|CINE.nii.gz [--model NAME] [--out DIR] [--json] [--contours DIR] [--series UID]',
  summary: 'a short-axis cine series to LV volumes per phase, EDV, ESV, SV, EF and the heart rate',
  description:
    'Reads every DICOM file under SERIES_DIR, groups them by SeriesInstanceUID (several series: the short-axis cine ' +
    'with ' +
    'the most images, or --series UID), orders the slices along the slice normal and the phases by trigger time, ' +
    'segments every image with the model and sums discs (area × distance between slice centres) per phase under a ' +
    'stated slice rule (docs/volumes.md). ED and ES are the largest and smallest volumes. With --contours, the ' +
    "experts' " +
    'EDV/ESV/EF by the same rule are printed beside. --out DIR gets volumes.json, phases.csv, areas.csv, ' +
    'volume-curve.svg/.png, masks-ed-es.png and volumes.html, all or nothing.',
  options: [
    {
      name: 'model',
      type: 'string',
      value: 'NAME',
      description: 'a run directory, a model.json, or a bundled model name',
      default: BUNDLED_MODEL,
    },
    {
      name: 'out',
      type: 'string',
      value: 'DIR',
      description: 'folder for the JSON, CSVs, curve, mask grid and report (created; it appears once all are written)',
      default: '',
    },
    {
      name: 'overwrite',
      type: 'boolean',
      description: 'replace the output of an earlier volumes in --out',
      default: false,
    },
    {
      name: 'overwrite',
      type: 'boolean',
      description: 'replace the output of an earlier volumes in --out',
      default: false,
    },
    {
      name: 'json',
      type: 'boolean',
      description: 'print one JSON object (volumes.json) instead of the table',
      default: false,
    },
    {
      name: 'contours',
      type: 'string',
      value: 'DIR',
      description: 'expert contours in the Sunnybrook layout (contourfiles/<ID>/i-contours/…)',
      default: '',
    },
    {
      name: 'series',
      type: 'string',
      value: 'UID',
      description: 'the SeriesInstanceUID to measure when the folder holds several',
      default: '',
    },
    {
      name: 'scale',
      type: 'string',
      value: 'S',
      description: "pixel scaling (minmax, zscore, none, a factor); default: the model's, per image for DICOM",
      default: '',
    },
    backendOption,
  ],
  async run(args) {
    const [dir, ...extra] = args.positionals;
    if (!dir || extra.length > 0)
      throw new UsageError("volumes takes one SERIES_DIR; e.g. 'lvseg volumes dicoms/SCD0000101 --out vol101'");
    const json = args.options.json as boolean;
    const out = args.options.out as string;
    const say = (line: string): void => {
      if (!json) console.log(line);
    };
    const { record } = await measureSeriesVolumes(dir, {
      model: args.options.model as string,
      series: args.options.series as string,
      contours: args.options.contours as string,
      scale: args.options.scale as string,
      backend: args.options.backend as BackendName,
      out,
      overwrite: args.options.overwrite as boolean,
      log: say,
      notice: (line) => (json ? undefined : console.error(line)),
      warn: (line) => console.error(`warning: ${line}`),
    });
    for (const w of [...record.warnings, ...(record.experts?.warnings ?? [])]) console.error(`warning: ${w}`);
    if (json) {
      console.log(JSON.stringify(record));
      return 0;
    }
    const left = record.slices.filter((s) => !s.counted).map((s) => `${s.slice} (${s.reason})`);
    say(
      `slices   ${record.countedSlices.length} of ` +
        `${record.slices.length} counted${left.length > 0 ? `; left out: ${left.join('; ')}` : ''}`,
    );
    say(formatVolumesTable(record));
    if (record.heartRateBpm !== null) {
      say(
        `heart rate ${fixed(record.heartRateBpm, 0)} bpm (${record.heartRateSource}); cardiac output ` +
          `${fixed(record.cardiacOutputLMin, 2)} L/min`,
      );
    }
    if (out) say(`wrote ${out}/: ${Object.values(VOLUMES_FILES).join(', ')}`);
    return 0;
  },
};
