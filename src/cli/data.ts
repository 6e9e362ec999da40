import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { encodePngGrey } from '../imaging/png.js';
import { encodeMaskPng } from '../imaging/mask.js';
import { writeFileAtomic } from '../io/atomic.js';
import {
  openOutputFolder,
  withOutputFiles,
  withOutputFolder,
  writeOutputFile,
  type OutputOptions,
} from '../io/output.js';
import { renderPanel } from '../reporting/panels.js';
import { safeImageName } from '../reporting/samples.js';
import { encodeLabExample } from '../data/lab-schema.js';
import { encodeNifti, isNiftiName } from '../data/nifti.js';
import { cineToNifti } from '../data/nifti-cine.js';
import { DATASET_JSON, isLvsegNnunetDataset, writeNnunetDataset } from '../data/nnunet.js';
import { readCineSeries } from '../data/dicom-series.js';
import type { Sample } from '../data/sample.js';
import { parseScaling } from '../data/scaling.js';
import { checkClasses, sameClasses } from '../data/classes.js';
import {
  MAX_SYNTHETIC_SIZE,
  openSource,
  readAllSamples,
  sourceClasses,
  syntheticSource,
  type SampleSource,
} from '../data/source.js';
import { splitSamples } from '../data/split.js';
import { writeTfRecords } from '../data/tfrecord.js';
import type { Command } from './command.js';
import type { ParsedArgs } from './options.js';

const SOURCE_HELP =
  'SOURCE is a TFRecord file (gzip detected), a PNG dataset folder, a DICOM+contours folder, a NIfTI volume (.nii, ' +
  '.nii.gz), an nnU-Net dataset folder or synthetic:N[:SEED][:SIZE].';

function positionalSource(args: ParsedArgs, command: string): string {
  if (args.positionals.length !== 1)
    throw new UsageError(`'lvseg ${command}' takes one SOURCE, got ${args.positionals.length}; ${SOURCE_HELP}`);
  return args.positionals[0]!;
}

/** What `data inspect` reports. */
export interface SourceSummary {
  source: string;
  kind: SampleSource['kind'];
  count: number;
  patients: number;
  height: number | null;
  width: number | null;
  min: number;
  max: number;
  mean: number;
  lvFraction: number;
  /** Smallest and largest pixel spacing in mm over the samples that have one, else null. */
  spacing: [number, number] | null;
  skipped: number;
  warnings: string[];
}

/** One pass over a source: counts, shape, value range and mean LV (blood pool) fraction (the mean of per-slice
 * fractions). */
export async function summarizeSource(spec: string, source: SampleSource): Promise<SourceSummary> {
  const patients = new Set<string>();
  let count = 0,
    min = Infinity,
    max = -Infinity,
    sum = 0,
    pixels = 0,
    lvFrac = 0;
  let height: number | null | undefined, width: number | null | undefined;
  let spLo = Infinity,
    spHi = -Infinity;
  // the blood pool's share: label 1 of a binary source, the class named lv of one with more classes
  const lvClass = Math.max(1, sourceClasses(source).indexOf('lv'));
  for await (const s of source.samples()) {
    count++;
    patients.add(s.patient);
    height = height === undefined || height === s.height ? s.height : null;
    width = width === undefined || width === s.width ? s.width : null;
    if (s.spacing) {
      spLo = Math.min(spLo, ...s.spacing);
      spHi = Math.max(spHi, ...s.spacing);
    }
    let lv = 0;
    for (let i = 0; i < s.image.length; i++) {
      const v = s.image[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      if (s.label[i] === lvClass) lv++;
    }
    pixels += s.image.length;
    lvFrac += lv / s.label.length;
  }
  if (count === 0) throw new DataError(`source '${spec}' is empty`);
  return {
    source: spec,
    kind: source.kind,
    count,
    patients: patients.size,
    height: height ?? null,
    width: width ?? null,
    min,
    max,
    mean: sum / pixels,
    lvFraction: lvFrac / count,
    spacing: spLo <= spHi ? [spLo, spHi] : null,
    skipped: source.report?.skipped ?? 0,
    warnings: source.report?.warnings ?? [],
  };
}

const inspect: Command = {
  name: 'data inspect',
  usage: 'data inspect SOURCE [--json] [--samples N --out DIR]',
  summary: 'count samples and patients, image shape, value range and mean LV fraction of a data source',
  description:
    `Reads a source once and summarises it; with --samples, writes PNG panels image | label of N samples ` +
    `spread over the source. ${SOURCE_HELP}`,
  options: [
    {
      name: 'json',
      type: 'boolean',
      description: 'print one JSON object (count, patients, height, width, lvFraction, ...)',
      default: false,
    },
    { name: 'samples', type: 'number', value: 'N', description: 'write panels of N samples (needs --out)', default: 0 },
    { name: 'out', type: 'string', value: 'DIR', description: 'folder for the panels', default: '' },
    {
      name: 'overwrite',
      type: 'boolean',
      description: 'replace the panels of an earlier inspect in --out',
      default: false,
    },
    {
      name: 'scale',
      type: 'string',
      value: 'S',
      description: 'pixel scaling before the value range: 1/1024, 1/255, minmax, zscore, none',
      default: 'none',
    },
  ],
  async run(args) {
    const spec = positionalSource(args, 'data inspect');
    const n = args.options.samples as number;
    const out = args.options.out as string;
    if (!(Number.isInteger(n) && n >= 0)) throw new UsageError(`--samples takes a whole number, not ${n}`);
    if (n > 0 && out === '') throw new UsageError('--samples needs --out DIR for the panels');
    const folder =
      n > 0
        ? await openOutputFolder(out, {
            ...outputOptions(args, 'lvseg data inspect'),
            ownEntries: () => (e) => PANEL_FILE.test(e),
          })
        : undefined;
    const source = await openSource(spec, { scale: parseScaling(args.options.scale as string) });
    const summary = await summarizeSource(spec, source);
    const panels: string[] = [];
    if (folder) {
      const step = summary.count / Math.min(n, summary.count);
      const wanted = new Set(Array.from({ length: Math.min(n, summary.count) }, (_, k) => Math.floor(k * step)));
      const last = Math.max(...wanted);
      let i = 0;
      for await (const s of source.samples()) {
        if (wanted.has(i)) {
          const file = `${String(i).padStart(4, '0')}-${safeImageName(s.name)}.png`;
          await writeFileAtomic(
            join(folder.path, file),
            renderPanel({ image: s.image, height: s.height, width: s.width, label: s.label }),
          );
          panels.push(join(out, file));
        }
        if (i++ === last) break; // the rest of the source holds no wanted sample
      }
      await folder.commit();
    }
    if (args.options.json) {
      console.log(JSON.stringify({ ...summary, panels }));
      return 0;
    }
    const shape = summary.height !== null && summary.width !== null ? `${summary.height}x${summary.width}` : 'mixed';
    const lines = [
      `${summary.kind} source ${spec}`,
      `  samples       ${summary.count}`,
      `  patients      ${summary.patients}`,
      `  shape         ${shape}`,
      `  values        ${fmt(summary.min)} .. ${fmt(summary.max)} (mean ${fmt(summary.mean)})`,
      `  LV fraction   ${summary.lvFraction.toFixed(4)} (mean per slice)`,
    ];
    if (summary.spacing) {
      const [lo, hi] = summary.spacing;
      lines.push(`  spacing       ${lo === hi ? lo : `${lo} .. ${hi}`} mm`);
    }
    if (summary.skipped > 0 || summary.warnings.length > 0) {
      lines.push(`  skipped       ${summary.skipped}`);
      for (const w of summary.warnings.slice(0, 10)) lines.push(`  warning: ${w}`);
      if (summary.warnings.length > 10) lines.push(`  ... and ${summary.warnings.length - 10} more warnings`);
    }
    if (panels.length > 0) lines.push(`  panels        ${panels.length} in ${out}`);
    console.log(lines.join('\n'));
    return 0;
  },
};

/** The panels `data inspect --samples` writes: NNNN-<name>.png. */
const PANEL_FILE = /^\d{4}-.*\.png$/;

function outputOptions(args: ParsedArgs, command: string): OutputOptions {
  return { flag: '--out', command, overwrite: args.options.overwrite as boolean };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(5);
}

/** `x.tfrecords` → `x-train.tfrecords`, `x.tfrecords.gz` → `x-train.tfrecords.gz`. */
export function splitFileName(file: string, part: 'train' | 'val'): string {
  const m = /^(.*?)(\.tfrecords?(?:\.gz)?|\.gz)?$/.exec(file)!;
  return `${m[1]}-${part}${m[2] ?? ''}`;
}

function isTfRecordName(file: string): boolean {
  return /\.tfrecords?(\.gz)?$/i.test(file);
}

/** Encodes samples one at a time as they are written, so no encoded copy of the whole set is held. */
async function* encodedSamples(samples: Iterable<Sample> | AsyncIterable<Sample>): AsyncGenerator<Uint8Array> {
  for await (const s of samples) yield encodeLabExample(s);
}

/** What `data convert` writes: from --format, else from the --out name (.nii/.nii.gz: a 4D cine, else TFRecords). */
function convertFormat(format: string, out: string): 'tfrecord' | 'nnunet' | 'nifti' {
  if (format !== 'auto') return format as 'tfrecord' | 'nnunet' | 'nifti';
  return isNiftiName(out) ? 'nifti' : 'tfrecord';
}

/** The entries of a dataset folder `data convert --format nnunet` wrote. */
const NNUNET_ENTRIES = [DATASET_JSON, 'imagesTr', 'labelsTr'];

/** A source as an nnU-Net raw dataset folder (one NIfTI volume per patient, dataset.json with the class names). */
async function convertToNnunet(
  _spec: string,
  source: SampleSource,
  out: string,
  output: OutputOptions,
): Promise<string> {
  const folder = {
    ...output,
    ownEntries: (dir: string) => (e: string) => isLvsegNnunetDataset(dir) && NNUNET_ENTRIES.includes(e),
  };
  const written = await withOutputFolder(out, folder, (tmp) =>
    writeNnunetDataset(tmp, source.samples(), {
      ...(source.classes ? { classes: source.classes } : {}),
      name: basename(resolve(out)),
      description:
        `${source.description}, written by lvseg data convert: one volume per patient of its slices in ` +
        `source order, in-plane spacing from the source, 1 mm between slices (nominal)`,
    }),
  );
  return (
    `wrote ${written.cases} cases (${written.slices} slices; labels ` +
    `${written.classes.map((c, v) => `${v} ${c}`).join(', ')}` +
    `${written.ignore === undefined ? '' : `, ${written.ignore} ignore (class unknown: partial labels)`}) to ${out} ` +
    `as an nnU-Net dataset ` +
    `(${NNUNET_ENTRIES.join(', ')})`
  );
}

/** A DICOM short-axis cine series folder as one 4D NIfTI (x, y, slice, time). */
async function convertCineToNifti(dir: string, out: string, output: OutputOptions): Promise<string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`'lvseg data convert' to ${out} takes a DICOM series folder (a short-axis cine), not ${dir}`);
  const { cine } = await readCineSeries(dir);
  const { data, geometry, warnings } = cineToNifti(cine);
  for (const w of [...cine.warnings, ...warnings]) console.error(`lvseg: warning: ${w}`);
  await writeOutputFile(
    out,
    encodeNifti(data, geometry, { gzip: /\.gz$/i.test(out), description: `lvseg: cine ${cine.uid}`.slice(0, 79) }),
    output,
  );
  return (
    `wrote ${out}: ${geometry.shape.join('x')} (x, y, slice, phase), ` +
    `${cine.pixelSpacing[1]}x${cine.pixelSpacing[0]} mm ` +
    `pixels${geometry.timeStepMs ? `, ${geometry.timeStepMs.toFixed(1)} ms per phase` : ''}`
  );
}

const convert: Command = {
  name: 'data convert',
  usage:
    'data convert SOURCE --out FILE.tfrecords|DIR|CINE.nii.gz [--format auto|tfrecord|nnunet|nifti] [--gzip] ' +
    '[--split patient|random --val-fraction F --seed S] [--classes background,lv,myocardium]',
  summary:
    "write a source as TFRecords in the lab's schema, as an nnU-Net NIfTI dataset, or a DICOM cine as a 4D NIfTI",
  description:
    'TFRecords: height, width, depth, name, image_raw (int64) and label_raw (uint8) per sample, plus patient and ' +
    'spacing; values are not scaled ' +
    '(non-integers are rounded). With --split, writes FILE-train and FILE-val. --format nnunet: DIR as an nnU-Net ' +
    'raw dataset ' +
    '(imagesTr/CASE_0000.nii.gz, labelsTr/CASE.nii.gz, dataset.json with the class names), one volume per patient of ' +
    'its slices. ' +
    `--format nifti (or --out *.nii[.gz]): a DICOM series folder (a short-axis cine) as one 4D NIfTI with its ` +
    `geometry and phase times. --classes background,lv,myocardium (with --format nnunet) reads the Sunnybrook PNG ` +
    `or DICOM set with its myocardium, as train --classes does; slices without an epicardial contour get nnU-Net's ` +
    `ignore label where their class is unknown. ${SOURCE_HELP}`,
  options: [
    {
      name: 'out',
      type: 'string',
      value: 'FILE|DIR',
      description: 'output TFRecord file, dataset folder (nnunet) or .nii.gz file (nifti)',
      default: '',
    },
    {
      name: 'format',
      type: 'string',
      value: 'F',
      description: 'what to write; auto: nifti for an --out *.nii[.gz], else tfrecord',
      default: 'auto',
      choices: ['auto', 'tfrecord', 'nnunet', 'nifti'],
    },
    { name: 'gzip', type: 'boolean', description: 'GZIP-compress the output', default: false },
    { name: 'overwrite', type: 'boolean', description: 'replace existing output files', default: false },
    {
      name: 'split',
      type: 'string',
      value: 'BY',
      description: 'also split into -train and -val files',
      default: 'none',
      choices: ['none', 'patient', 'random'],
    },
    {
      name: 'val-fraction',
      type: 'number',
      value: 'F',
      description: 'share of samples for validation with --split',
      default: 0.1,
    },
    { name: 'seed', type: 'number', value: 'S', description: 'seed of the split', default: 0 },
    {
      name: 'classes',
      type: 'list',
      value: 'LIST',
      description:
        'class names by label value, background first, as train --classes: the Sunnybrook PNG and DICOM sets give ' +
        'background,lv (the default) or background,lv,myocardium; more than two need --format nnunet',
    },
  ],
  async run(args) {
    const spec = positionalSource(args, 'data convert');
    const out = args.options.out as string;
    if (out === '')
      throw new UsageError(
        "'lvseg data convert' needs --out FILE.tfrecords, --out DIR --format nnunet, or --out CINE.nii.gz",
      );
    const gzip = args.options.gzip as boolean;
    const by = args.options.split as string;
    const output = outputOptions(args, 'lvseg data convert');
    const format = convertFormat(args.options.format as string, out);
    if (format !== 'tfrecord' && by !== 'none')
      throw new UsageError(`--split writes TFRecords; leave it out with --format ${format}`);
    const classes = args.options.classes as string[] | undefined;
    if (classes !== undefined) checkClasses(classes, '--classes');
    if (format === 'nifti') {
      if (classes) throw new UsageError('--classes names the labels of a dataset; a cine written as NIfTI has none');
      console.log(await convertCineToNifti(spec, out, output));
      return 0;
    }
    if (classes && classes.length > 2 && format !== 'nnunet')
      throw new UsageError(
        `--classes ${classes.join(',')}: the lab's TFRecord schema holds a blood-pool mask only; write ` +
          `${classes.length} classes with --format nnunet --out DIR`,
      );
    const source = await openSource(spec, { scale: 'none', ...(classes ? { classes } : {}) });
    if (classes && !sameClasses(sourceClasses(source), classes))
      throw new UsageError(
        `--classes ${classes.join(',')}: ${source.description} has its own classes ` +
          `${sourceClasses(source).join(',')}; leave --classes out`,
      );
    let message: string;
    if (format === 'nnunet') message = await convertToNnunet(spec, source, out, output);
    else if (by === 'none') {
      const n = await withOutputFiles([out], output, ([tmp]) =>
        writeTfRecords(tmp!, encodedSamples(source.samples()), { gzip }),
      );
      message = `wrote ${n} samples to ${out}`;
    } else {
      const trainFile = splitFileName(out, 'train');
      const valFile = splitFileName(out, 'val');
      const { train, val } = await withOutputFiles([trainFile, valFile], output, async ([trainTmp, valTmp]) => {
        const samples = await readAllSamples(source);
        const split = splitSamples(samples, {
          by: by as 'patient' | 'random',
          valFraction: args.options['val-fraction'] as number,
          seed: args.options.seed as number,
        });
        await writeTfRecords(trainTmp!, encodedSamples(split.train), { gzip });
        await writeTfRecords(valTmp!, encodedSamples(split.val), { gzip });
        return split;
      });
      const pt = new Set(train.map((s) => s.patient)).size;
      const pv = new Set(val.map((s) => s.patient)).size;
      message =
        `wrote ${train.length} samples (${pt} patients) to ${trainFile} and ${val.length} (${pv} patients) ` +
        `to ${valFile}, split by ${by}`;
    }
    const report = source.report;
    if (report && (report.skipped > 0 || report.warnings.length > 0)) {
      for (const w of report.warnings) console.error(`lvseg: warning: ${w}`);
      message += `; skipped ${report.skipped}`;
    }
    console.log(message);
    return 0;
  },
};

/** What a synthetic PNG dataset holds: its parameters (which also mark the folder as synth's own), images and masks. */
const SYNTH_FILE = 'synth.json';
const SYNTH_ENTRIES = [SYNTH_FILE, 'images', 'masks'];

const synth: Command = {
  name: 'data synth',
  usage: 'data synth --count N --seed S --out DIR|FILE.tfrecords',
  summary: 'generate synthetic cardiac phantoms as a PNG dataset folder or a TFRecord file',
  description:
    'Writes N phantoms with seeds S, S+1, ...: to FILE.tfrecords[.gz] in the lab schema, or to DIR as a PNG dataset ' +
    '(images/<patient>/<slice>.png, masks/endo/<patient>/<slice>.png).',
  options: [
    { name: 'count', type: 'number', value: 'N', description: 'number of phantoms', default: 64 },
    { name: 'seed', type: 'number', value: 'S', description: 'seed of the first phantom', default: 0 },
    { name: 'size', type: 'number', value: 'PX', description: 'image height and width', default: 256 },
    { name: 'out', type: 'string', value: 'DIR|FILE', description: 'output folder or .tfrecords file', default: '' },
    { name: 'gzip', type: 'boolean', description: 'GZIP-compress a TFRecord output', default: false },
    { name: 'overwrite', type: 'boolean', description: 'replace an earlier synth output at --out', default: false },
  ],
  async run(args) {
    const out = args.options.out as string;
    const count = args.options.count as number;
    const seed = args.options.seed as number;
    const size = args.options.size as number;
    if (out === '') throw new UsageError("'lvseg data synth' needs --out DIR or --out FILE.tfrecords");
    if (!(Number.isInteger(count) && count >= 1))
      throw new UsageError(`--count takes a whole number >= 1, not ${count}`);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed takes a whole number, not ${seed}`);
    if (!(Number.isInteger(size) && size >= 16 && size <= MAX_SYNTHETIC_SIZE))
      throw new UsageError(`--size takes a whole number from 16 to ${MAX_SYNTHETIC_SIZE}, not ${size}`);
    const output = outputOptions(args, 'lvseg data synth');
    if (isTfRecordName(out)) {
      const phantoms = encodedSamples(syntheticSource(count, seed, size).samples());
      const n = await withOutputFiles([out], output, ([tmp]) =>
        writeTfRecords(tmp!, phantoms, { gzip: args.options.gzip as boolean }),
      );
      console.log(`wrote ${n} phantoms to ${out}`);
      return 0;
    }
    const folder = await openOutputFolder(out, {
      ...output,
      ownEntries: (dir) => (e) => existsSync(join(dir, SYNTH_FILE)) && SYNTH_ENTRIES.includes(e),
    });
    for await (const s of syntheticSource(count, seed, size).samples()) {
      const slice = s.name.slice(s.name.indexOf('/') + 1);
      await writeFileAtomic(
        join(folder.path, 'images', s.patient, `${slice}.png`),
        encodePngGrey(size, size, Uint8Array.from(s.image)),
      );
      await writeFileAtomic(
        join(folder.path, 'masks', 'endo', s.patient, `${slice}.png`),
        encodeMaskPng(s.label, size, size),
      );
    }
    await writeFileAtomic(
      join(folder.path, SYNTH_FILE),
      JSON.stringify({ writtenBy: 'lvseg data synth', count, seed, size }, null, 2) + '\n',
    );
    await folder.commit();
    console.log(`wrote ${count} phantoms to ${out} (PNG dataset: images/, masks/endo/)`);
    return 0;
  },
};

export const commands: Command[] = [inspect, convert, synth];
