import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend, type BackendName } from '../backends/select.js';
import { formatScaling } from '../data/scaling.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { UsageError } from '../errors.js';
import { predictInputs } from '../inference/predict-inputs.js';
import { predictImages, type PredictedImage } from '../inference/predicted-image.js';
import { describeSegment } from '../inference/segment.js';
import { dicomScalingWarning, resolveModel } from '../inference/run-config.js';
import { encodeNifti } from '../data/nifti.js';
import { stackable, stackGeometry } from '../data/nnunet.js';
import type { Sample } from '../data/sample.js';
import { writeFileAtomic } from '../io/atomic.js';
import { openOutputFolder } from '../io/output.js';
import { BUNDLED_MODEL, loadInferenceModel } from '../models/io.js';
import { backendOption, type Command } from './command.js';
import { predictOnQueue } from './predict-queue.js';
import { QUEUE_TIMEOUT_OPTION } from './runner-options.js';

/** Longest stem kept whole: with `-icontour-auto.txt` and a `-N` suffix a file name stays far under 255 bytes. */
const MAX_STEM = 120;

/**
 * A file-name stem from a sample name like `SC-HF-I-04/IM-0001-0087`, unique among `taken`; a longer
 * name is cut and given a hash of the whole, so a 300-character record name stays a valid file name.
 */
export function outputStem(name: string, taken: Set<string>): string {
  let base =
    name
      .replace(/[\\/]+/g, '_')
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '') || 'image';
  if (base.length > MAX_STEM)
    base = `${base.slice(0, MAX_STEM - 9)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  let stem = base;
  for (let n = 2; taken.has(stem); n++) stem = `${base}-${n}`;
  taken.add(stem);
  return stem;
}

export interface PredictionSummaryEntry {
  name: string;
  patient: string;
  input: string;
  height: number;
  width: number;
  resized: boolean;
  spacing: [number, number] | null;
  lvAreaPx: number;
  lvAreaMm2: number | null;
  contourPoints: number;
  mask: string;
  overlay: string;
  contour: string;
  /**
   * A model of more than two classes: per class (and the epicardium), its area and its contour file
   * (`-ocontour-auto.txt` for the epicardium, as Sunnybrook names the outer contour).
   */
  classes?: Record<string, { areaPx: number; areaMm2: number | null; contourPoints: number; contour: string }>;
  /** The NIfTI label map this image's mask is a slice of, when one was written. */
  labelMap?: string;
}

/** A NIfTI label map predict wrote: from a NIfTI volume (its grid) or from a patient's 2D slices stacked (--format
 * nifti). */
export interface LabelMapEntry {
  file: string;
  input: string;
  shape: number[];
  /** 'input': the NIfTI input's dims, pixdim, qform and sform; 'stacked': 2D slices in input order, 1 mm apart
   * (nominal). */
  geometry: 'input' | 'stacked';
}

/**
 * Writes predicted images (predicted here, or by workers on a queue) into predict's output folder: per image its mask,
 * overlay and contour files (and per class, for a K-class model), and the NIfTI label maps, one per NIfTI input volume
 * (on its grid) and, with `stacked` (--format nifti), one per patient of other inputs.
 */
export class PredictionWriter {
  readonly images: PredictionSummaryEntry[] = [];
  readonly labelMaps: LabelMapEntry[] = [];
  private readonly taken = new Set<string>();
  private readonly names = new Map<string, string>();
  private readonly patients = new Map<
    string,
    { input: string; slices: { image: PredictedImage; entry: PredictionSummaryEntry }[] }
  >();
  private warnedDicom = false;

  constructor(
    private readonly dir: string,
    private readonly options: {
      /** The output folder as the user named it, for the lines printed. */
      out: string;
      stacked: boolean;
      /** Printed once, before the first DICOM input's line. */
      dicomWarning?: string;
    },
  ) {}

  async add(image: PredictedImage): Promise<void> {
    if (!this.warnedDicom && /\.(dcm|dicom)$/i.test(image.input)) {
      this.warnedDicom = true;
      if (this.options.dicomWarning) console.error(`warning: ${this.options.dicomWarning}`);
    }
    const stem = outputStem(image.name, this.taken);
    const files = { mask: `${stem}.mask.png`, overlay: `${stem}.overlay.png`, contour: `${stem}-icontour-auto.txt` };
    await writeFileAtomic(join(this.dir, files.mask), image.maskPng);
    await writeFileAtomic(join(this.dir, files.overlay), image.overlayPng);
    await writeFileAtomic(join(this.dir, files.contour), image.contourText);
    const perClass: NonNullable<PredictionSummaryEntry['classes']> = {};
    for (const [name, c] of Object.entries(image.classes ?? {})) {
      const file =
        name === 'lv'
          ? files.contour
          : name === 'epicardium'
            ? `${stem}-ocontour-auto.txt`
            : `${stem}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-contour-auto.txt`;
      if (file !== files.contour) await writeFileAtomic(join(this.dir, file), c.contourText);
      perClass[name] = { areaPx: c.areaPx, areaMm2: c.areaMm2, contourPoints: c.contourPoints, contour: file };
    }
    const entry: PredictionSummaryEntry = {
      name: image.name,
      patient: image.patient,
      input: image.input,
      height: image.height,
      width: image.width,
      resized: image.resized,
      spacing: image.spacing,
      lvAreaPx: image.lvAreaPx,
      lvAreaMm2: image.lvAreaMm2,
      contourPoints: image.contourPoints,
      ...files,
      ...(image.classes ? { classes: perClass } : {}),
    };
    this.images.push(entry);
    await this.addToLabelMap(image, entry);
    const mm = image.lvAreaMm2 === null ? '' : `, ${image.lvAreaMm2.toFixed(1)} mm²`;
    console.log(
      `${image.name}: LV ${image.lvAreaPx} px${mm}${image.resized ? ' (resized)' : ''} -> ` +
        `${join(this.options.out, files.overlay)}`,
    );
  }

  /** Names the label map an image's mask is a slice of in `entry`; a volume's map is written with its last slice. */
  private async addToLabelMap(image: PredictedImage, entry: PredictionSummaryEntry): Promise<void> {
    const { nifti } = image;
    if (nifti) {
      if (!this.names.has(nifti.id)) this.names.set(nifti.id, `${outputStem(nifti.id, this.taken)}.nii.gz`);
      entry.labelMap = this.names.get(nifti.id)!;
      if (nifti.labelMap) {
        await writeFileAtomic(join(this.dir, entry.labelMap), nifti.labelMap.bytes);
        this.labelMaps.push({
          file: entry.labelMap,
          input: nifti.labelMap.input,
          shape: nifti.labelMap.shape,
          geometry: 'input',
        });
      }
      return;
    }
    if (!this.options.stacked) return;
    if (!this.patients.has(image.patient)) this.patients.set(image.patient, { input: image.input, slices: [] });
    this.patients.get(image.patient)!.slices.push({ image, entry });
  }

  /** Writes the stacked label maps of the non-NIfTI inputs (--format nifti). */
  async finish(): Promise<void> {
    const grid = ({ height, width, spacing }: PredictedImage): Pick<Sample, 'height' | 'width' | 'spacing'> =>
      spacing ? { height, width, spacing } : { height, width };
    for (const [patient, { input, slices }] of this.patients) {
      const groups = stackable(slices.map((s) => grid(s.image))) ? [slices] : slices.map((s) => [s]);
      for (const group of groups) {
        const first = group[0]!.image;
        const geometry = stackGeometry(grid(first), group.length);
        const labels = new Uint8Array(group.length * first.mask.length);
        group.forEach((s, z) => {
          labels.set(s.image.mask, z * s.image.mask.length);
        });
        const file = `${outputStem(groups.length > 1 ? first.name : patient, this.taken)}.nii.gz`;
        await writeFileAtomic(
          join(this.dir, file),
          encodeNifti(labels, geometry, { gzip: true, description: 'lvseg label map' }),
        );
        for (const s of group) s.entry.labelMap = file;
        this.labelMaps.push({ file, input, shape: [...geometry.shape], geometry: 'stacked' });
      }
    }
    this.patients.clear();
  }

  /**
   * Writes predictions.json (`head`: the model, scale, backend…, then the images, label maps and totals) and prints
   * the closing lines.
   */
  async writeSummary(head: Record<string, unknown>): Promise<void> {
    const images = this.images;
    const withSpacing = images.filter((i) => i.lvAreaMm2 !== null);
    const summary = {
      ...head,
      images,
      labelMaps: this.labelMaps,
      totals: {
        images: images.length,
        lvAreaPx: images.reduce((n, i) => n + i.lvAreaPx, 0),
        imagesWithSpacing: withSpacing.length,
        lvAreaMm2: withSpacing.length > 0 ? withSpacing.reduce((n, i) => n + i.lvAreaMm2!, 0) : null,
      },
    };
    await writeFileAtomic(join(this.dir, 'predictions.json'), JSON.stringify(summary, null, 2) + '\n');
  }

  /** The lines printed once the folder is in place. */
  printClosing(): void {
    const { out } = this.options;
    for (const m of this.labelMaps)
      console.log(
        `label map ${join(out, m.file)} (${m.shape.join('x')}, ` +
          `${m.geometry === 'input' ? `the grid of ${m.input}` : 'slices stacked'})`,
      );
    console.log(
      `${this.images.length} images, LV ${this.images.reduce((n, i) => n + i.lvAreaPx, 0)} px in total; summary: ` +
        `${join(out, 'predictions.json')}`,
    );
  }
}

export const command: Command = {
  name: 'predict',
  usage: 'predict MODEL|NAME INPUT... --out DIR [--scale S] [--spacing MM] [--format auto|nifti] [--backend NAME]',
  summary: 'segment new images: mask PNG, contour overlay, contour text and LV areas per image',
  description:
    `Runs a model (a run directory, a model.json, or a bundled model by name such as ${BUNDLED_MODEL}) on PNG, DICOM ` +
    `or NIfTI files, folders of them, TFRecord files, dataset folders ` +
    'or synthetic:N and writes, per image, <name>.mask.png (LV = 255), <name>.overlay.png (the image with the ' +
    'predicted contour in red and, for labelled inputs, the expert contour in green), <name>-icontour-auto.txt ' +
    '(Sunnybrook-style "x y" per line) and one predictions.json with the LV area in pixels and mm² where the ' +
    'spacing is known. Images of another size than the model input are resized bilinearly in and the mask ' +
    'back by nearest neighbour; a model with an lvseg.json runs its own pipeline instead (resampling to its ' +
    'spacing, a region of interest, normalisation, test-time flips, post-processing), for images of any size.',
  options: [
    {
      name: 'out',
      type: 'string',
      value: 'DIR',
      description: 'folder for the outputs (created; it appears once every image is done)',
      default: '',
    },
    {
      name: 'overwrite',
      type: 'boolean',
      description: 'replace the outputs of an earlier predict in --out',
      default: false,
    },
    {
      name: 'scale',
      type: 'string',
      value: 'S',
      description: "pixel scaling (1/255, minmax, zscore, none); default: the run's",
      default: '',
    },
    {
      name: 'tta',
      type: 'boolean',
      description: "test-time flips, where the model's lvseg.json asks for them (--no-tta: off)",
      default: true,
    },
    {
      name: 'postprocess',
      type: 'boolean',
      description:
        "largest component and holes filled, where the model's lvseg.json asks for them (--no-postprocess: off)",
      default: true,
    },
    {
      name: 'spacing',
      type: 'string',
      value: 'MM',
      description: 'pixel spacing in mm (or ROW,COL) for images that do not carry one, for areas in mm²',
      default: '',
    },
    {
      name: 'format',
      type: 'string',
      value: 'F',
      description:
        'label maps: auto (a <case>.nii.gz on the grid of each NIfTI input), nifti (also one per patient of other ' +
        'inputs, its slices stacked)',
      default: 'auto',
      choices: ['auto', 'nifti'],
    },
    backendOption,
    {
      name: 'queue',
      type: 'string',
      value: 'URL',
      description:
        "spread the inputs over 'lvseg worker' processes on a Redis queue (redis://HOST:PORT); MODEL and INPUTs must " +
        'be readable there',
      default: '',
    },
    {
      name: 'queue-name',
      type: 'string',
      value: 'NAME',
      description: 'the queue in Redis (as the workers)',
      default: 'lvseg',
    },
    QUEUE_TIMEOUT_OPTION,
  ],
  async run(args) {
    const [modelPath, ...inputs] = args.positionals;
    if (!modelPath || inputs.length === 0) {
      throw new UsageError(
        "predict takes a MODEL and at least one INPUT; e.g. 'lvseg predict runs/fcn slice.png --out predictions'",
      );
    }
    const out = args.options.out as string;
    if (!out) throw new UsageError('predict needs --out DIR for the masks, overlays and contours');
    if (args.options.queue) return predictOnQueue(args, modelPath, inputs, out);
    const spacingText = args.options.spacing as string;
    const spacing = spacingText ? parsePixelSpacing(spacingText) : undefined;

    const backend = await selectBackend(args.options.backend as BackendName);
    if (backend.notice) console.error(backend.notice);
    const { modelJson: modelFile, settings } = resolveModel(modelPath, {
      scale: args.options.scale as string,
      tta: args.options.tta as boolean,
      postprocess: args.options.postprocess as boolean,
    });
    const { scale, origin, segment, classes } = settings;
    console.error(
      `model ${modelFile}; scale ${formatScaling(scale)} (${origin}); backend ` +
        `${backend.name}${segment ? `; ${describeSegment(segment)}` : ''}`,
    );
    const model = await loadInferenceModel(modelFile);
    const folder = await openOutputFolder(out, {
      flag: '--out',
      command: 'lvseg predict',
      overwrite: args.options.overwrite as boolean,
      ownEntries: predictOutputs,
    });

    const writer = new PredictionWriter(folder.path, {
      out,
      stacked: args.options.format === 'nifti',
      dicomWarning: dicomScalingWarning(scale, segment),
    });
    try {
      const predicted = predictImages(model, predictInputs(inputs, scale), {
        ...(segment ? { segment } : {}),
        classes,
        ...(spacing ? { spacing } : {}),
      });
      for await (const image of predicted) await writer.add(image);
    } finally {
      model.dispose();
    }
    await writer.finish();
    await writer.writeSummary({
      model: modelFile,
      scale: formatScaling(scale),
      backend: backend.name,
      // a model of more than two classes writes masks of class indices (0 = background)
      ...(classes.length > 2 ? { classes } : {}),
    });
    await folder.commit();
    writer.printClosing();
    return 0;
  },
};

/** What an earlier predict wrote in `dir`: its predictions.json and the files that lists. */
export function predictOutputs(dir: string): (entry: string) => boolean {
  const file = join(dir, 'predictions.json');
  const listed = new Set<string>();
  try {
    const { images, labelMaps } = JSON.parse(readFileSync(file, 'utf8')) as {
      images: PredictionSummaryEntry[];
      labelMaps?: LabelMapEntry[];
    };
    for (const i of images)
      for (const f of [i.mask, i.overlay, i.contour, ...Object.values(i.classes ?? {}).map((c) => c.contour)])
        listed.add(f);
    for (const m of labelMaps ?? []) listed.add(m.file);
    listed.add('predictions.json');
  } catch {
    // no predictions.json lvseg could have written: nothing in the folder is predict's
  }
  return (entry) => listed.has(entry);
}
