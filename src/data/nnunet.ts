/**
 * NIfTI volumes as samples, and datasets in the nnU-Net raw layout: `dataset.json` (channel_names,
 * labels {name: value}, numTraining, file_ending), `imagesTr/CASE_0000.nii.gz`, `labelsTr/CASE.nii.gz`,
 * `imagesTs/`. Each 2D slice of a 3D or 4D volume is one sample (`CASE/z007`, `CASE/t03/z007`), the
 * patient is the case, the spacing comes from the header, label values are class indices. nnU-Net's
 * `ignore` label (its highest value, not a class) carries lvseg's partial labels (Sample.labelledClasses).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DataError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { compactImageData, encodeNifti, isNiftiName, readNifti, volumeSlice, type NiftiVolume } from './nifti.js';
import { stackable, stackGeometry } from './nifti-write.js';
import type { Sample } from './sample.js';
import { applyScaling, type Scaling } from './scaling.js';
import type { SourceReport } from './sunnybrook.js';

export { stackable, stackGeometry } from './nifti-write.js';

export const DATASET_JSON = 'dataset.json';
/** nnU-Net's name for the label of voxels whose class is unknown (documentation/ignore_label.md). */
export const IGNORE_LABEL = 'ignore';

/** What lvseg takes from an nnU-Net dataset.json. */
export interface NnunetDataset {
  dir: string;
  /** Class names by label value, background first (the `ignore` label is not a class). */
  classes: string[];
  /**
   * The value of nnU-Net's `ignore` label, where dataset.json names one: voxels whose class is unknown. A slice
   * with such voxels marks background and the classes drawn on it (ignoredSlice).
   */
  ignore?: number;
  /** `.nii.gz` or `.nii`. */
  fileEnding: string;
  numTraining?: number;
  /** The one channel's name (e.g. 'cineMRI'). */
  channel: string;
  /** Cases lvseg wrote from 2D slices without a pixel spacing (dataset.json `lvseg.noSpacing`): their pixdim of 1 mm is
   * a placeholder. */
  noSpacing: Set<string>;
}

/** True when `dir` holds a dataset.json and an imagesTr folder. */
export function isNnunetDataset(dir: string): boolean {
  return existsSync(join(dir, DATASET_JSON)) && existsSync(join(dir, 'imagesTr'));
}

/** Reads and checks a dataset.json; every problem names the file and the field. */
export function readDatasetJson(dir: string): NnunetDataset {
  const file = join(dir, DATASET_JSON);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new DataError(`${file}: not readable JSON (${(err as Error).message})`, { cause: err });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new DataError(`${file}: not a JSON object`);
  const channels = (json.channel_names ?? json.modality) as Record<string, unknown> | undefined;
  if (!channels || typeof channels !== 'object')
    throw new DataError(`${file}: no 'channel_names' object (e.g. {"0": "cineMRI"})`);
  const channelList = Object.entries(channels);
  if (channelList.length !== 1 || channelList[0]![0] !== '0') {
    throw new DataError(
      `${file}: 'channel_names' lists ${channelList.length} channels (${Object.keys(channels).join(', ')}); lvseg ` +
        `segments one-channel images: keep channel "0" only`,
    );
  }
  const labels = json.labels as Record<string, unknown> | undefined;
  if (!labels || typeof labels !== 'object' || Array.isArray(labels))
    throw new DataError(`${file}: no 'labels' object (e.g. {"background": 0, "lv": 1})`);
  const byValue = new Map<number, string>();
  let ignore: number | undefined;
  for (const [name, value] of Object.entries(labels)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
      throw new DataError(
        `${file}: label '${name}' is ${JSON.stringify(value)}; lvseg reads one whole value 0-255 per label ` +
          `(region-based labels are not supported)`,
      );
    }
    const same = value === ignore ? IGNORE_LABEL : byValue.get(value);
    if (same !== undefined) throw new DataError(`${file}: labels '${same}' and '${name}' share the value ${value}`);
    if (name === IGNORE_LABEL) ignore = value;
    else byValue.set(value, name);
  }
  if (ignore !== undefined && [...byValue.keys()].some((v) => v > ignore!)) {
    throw new DataError(
      `${file}: the 'ignore' label is ${ignore} but nnU-Net's ignore label has the highest value (got ` +
        `${Math.max(...byValue.keys())} for '${byValue.get(Math.max(...byValue.keys()))}'); give 'ignore' a value ` +
        `above every class`,
    );
  }
  const classes = Array.from({ length: byValue.size }, (_, v) => byValue.get(v));
  if (classes.some((c) => c === undefined) || byValue.size < 2) {
    throw new DataError(
      `${file}: 'labels' must number the classes 0, 1, ... without gaps, background 0 (got ` +
        `${[...byValue.keys()].sort((a, b) => a - b).join(', ')})`,
    );
  }
  const fileEnding = json.file_ending === undefined ? '.nii.gz' : json.file_ending;
  if (fileEnding !== '.nii.gz' && fileEnding !== '.nii')
    throw new DataError(`${file}: 'file_ending' is ${JSON.stringify(fileEnding)}; lvseg reads '.nii.gz' or '.nii'`);
  const noSpacing = (json.lvseg as { noSpacing?: unknown } | undefined)?.noSpacing;
  const dataset: NnunetDataset = {
    dir,
    classes: classes as string[],
    fileEnding,
    channel: String(channelList[0]![1]),
    noSpacing: new Set(Array.isArray(noSpacing) ? noSpacing.map(String) : []),
  };
  if (typeof json.numTraining === 'number') dataset.numTraining = json.numTraining;
  if (ignore !== undefined) dataset.ignore = ignore;
  return dataset;
}

/** One case of a dataset: its image (channel 0000) and, in imagesTr, its label map. */
export interface NnunetCase {
  id: string;
  image: string;
  label?: string;
  /** The header's spacing is a placeholder (see NnunetDataset.noSpacing): the samples get none. */
  noSpacing?: boolean;
}

/** The cases of `imagesTr` (with their labelsTr files, which must exist) or `imagesTs`, sorted by id. */
export function listNnunetCases(dataset: NnunetDataset, part: 'imagesTr' | 'imagesTs'): NnunetCase[] {
  const folder = join(dataset.dir, part);
  if (!existsSync(folder)) return [];
  const suffix = `_0000${dataset.fileEnding}`;
  const ids = readdirSync(folder)
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return ids.map((id) => {
    const c: NnunetCase = {
      id,
      image: join(folder, `${id}${suffix}`),
      ...(dataset.noSpacing.has(id) ? { noSpacing: true } : {}),
    };
    if (part === 'imagesTr') {
      c.label = join(dataset.dir, 'labelsTr', `${id}${dataset.fileEnding}`);
      if (!existsSync(c.label))
        throw new DataError(`${c.image}: no label map at ${c.label}; every case of imagesTr needs its labelsTr file`);
    }
    return c;
  });
}

/** `CASE/z007` for a 3D volume, `CASE/t03/z007` for a 4D one. */
export function sliceName(id: string, z: number, t: number, timePoints: number): string {
  const zPart = `z${String(z).padStart(3, '0')}`;
  return timePoints > 1 ? `${id}/t${String(t).padStart(2, '0')}/${zPart}` : `${id}/${zPart}`;
}

/** Fails unless `label` is a map of class indices (or the `ignore` value) on the grid of `image`. */
function checkLabelMap(label: NiftiVolume, image: NiftiVolume, classes: number, ignore?: number): Uint8Array {
  if (label.shape.join('x') !== image.shape.join('x')) {
    throw new DataError(
      `${label.file}: label map is ${label.shape.join('x')} but its image ${image.file} is ${image.shape.join('x')}`,
    );
  }
  const out = new Uint8Array(label.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = label.data[i]!;
    if (!(Number.isInteger(v) && ((v >= 0 && v < classes) || v === ignore))) {
      throw new DataError(
        `${label.file}: voxel ${i} holds ${v}, not a class index 0..${classes - 1} of dataset.json's labels` +
          (ignore === undefined ? '' : ` nor its ignore label ${ignore}`),
      );
    }
    out[i] = v;
  }
  return out;
}

/**
 * One slice's labels with nnU-Net's `ignore` voxels read as lvseg's partial labels: a slice without them is
 * as it is; on a slice with them the ignore voxels become background and the slice marks background and the
 * classes drawn on it (`labelledClasses`), so training takes them as background or any class the slice does
 * not show (losses.ts) and evaluation leaves those classes out there. That is exact for what lvseg writes (a
 * Sunnybrook slice without an epicardial contour: its blood pool drawn, the rest ignore); it assumes that a
 * class a slice shows is drawn whole there. `mixed`: the slice also has background voxels, or shows every
 * class (then its ignore voxels are taught as background), which that assumption may not fit.
 */
export function ignoredSlice(
  label: Uint8Array,
  ignore: number,
  classes: number,
): { label: Uint8Array; labelledClasses?: number[]; mixed: boolean } {
  if (!label.includes(ignore)) return { label, mixed: false };
  const shown = new Set<number>([0]);
  let background = false;
  const out = new Uint8Array(label.length);
  for (let i = 0; i < label.length; i++) {
    const v = label[i]!;
    if (v === ignore) continue;
    out[i] = v;
    if (v === 0) background = true;
    else shown.add(v);
  }
  const labelledClasses = [...shown].sort((a, b) => a - b);
  return { label: out, labelledClasses, mixed: background || labelledClasses.length === classes };
}

/**
 * The slices of one volume as samples (time point by time point, slice by slice), image scaled per
 * slice; the label map's values as class indices, or all background without one. With `ignore` (the
 * dataset's ignore label and class count), a slice with ignore voxels becomes a partial label (ignoredSlice);
 * `onMixed` hears of each slice whose ignore voxels that reading may not fit.
 */
export function* volumeSamples(
  c: Pick<NnunetCase, 'id' | 'noSpacing'>,
  image: NiftiVolume,
  scale: Scaling,
  label?: Uint8Array,
  ignore?: { value: number; classes: number; onMixed?: (name: string) => void },
): Generator<Sample & { z: number; t: number }> {
  const [nx, ny, nz, nt] = image.shape;
  const id = c.id;
  for (let t = 0; t < nt; t++) {
    for (let z = 0; z < nz; z++) {
      const start = (t * nz + z) * nx * ny;
      const name = sliceName(id, z, t, nt);
      const read = label ? label.slice(start, start + nx * ny) : new Uint8Array(nx * ny);
      const partial = ignore ? ignoredSlice(read, ignore.value, ignore.classes) : { label: read, mixed: false };
      if (partial.mixed) ignore?.onMixed?.(name);
      const sample: Sample & { z: number; t: number } = {
        name,
        patient: id,
        image: applyScaling(volumeSlice(image, z, t), scale),
        label: partial.label,
        height: ny,
        width: nx,
        z,
        t,
        ...(partial.labelledClasses ? { labelledClasses: partial.labelledClasses } : {}),
      };
      if (!c.noSpacing) sample.spacing = [image.spacing[1], image.spacing[0]];
      yield sample;
    }
  }
}

/** A case's image and checked label map (class indices, and `ignore` voxels where the dataset has that label), read. */
export async function readNnunetCase(
  c: NnunetCase,
  classes: number,
  ignore?: number,
): Promise<{ image: NiftiVolume; label?: Uint8Array }> {
  const image = await readNifti(c.image);
  if (!c.label) return { image };
  return { image, label: checkLabelMap(await readNifti(c.label), image, classes, ignore) };
}

/** volumeSamples' `ignore` for a dataset: undefined where it has no ignore label. */
export function ignoreOf(
  dataset: Pick<NnunetDataset, 'classes' | 'ignore'> | undefined,
  onMixed?: (name: string) => void,
): { value: number; classes: number; onMixed?: (name: string) => void } | undefined {
  if (dataset?.ignore === undefined) return undefined;
  return { value: dataset.ignore, classes: dataset.classes.length, ...(onMixed ? { onMixed } : {}) };
}

/** The warning for the slices whose ignore voxels lvseg's partial labels may not fit (ignoredSlice). */
export function mixedIgnoreWarning(where: string, names: readonly string[]): string {
  return (
    `${where}: ${names.length} slice${names.length === 1 ? '' : 's'} (${names.slice(0, 3).join(', ')}` +
    `${names.length > 3 ? ', ...' : ''}) hold${names.length === 1 ? 's' : ''} ignore voxels beside background ` +
    `voxels or every class; lvseg reads ignore voxels as background or a class the slice does not show (nnU-Net ` +
    `leaves them unsupervised)`
  );
}

/** The training cases of an nnU-Net dataset as samples; a numTraining that disagrees with imagesTr is a warning. */
export async function* readNnunetDataset(
  dataset: NnunetDataset,
  scale: Scaling,
  report: SourceReport,
): AsyncGenerator<Sample> {
  const cases = listNnunetCases(dataset, 'imagesTr');
  if (dataset.numTraining !== undefined && dataset.numTraining !== cases.length) {
    report.warnings.push(
      `${join(dataset.dir, DATASET_JSON)}: numTraining is ${dataset.numTraining} but imagesTr holds ` +
        `${cases.length} cases`,
    );
  }
  const mixed: string[] = [];
  const ignore = ignoreOf(dataset, (name) => mixed.push(name));
  for (const c of cases) {
    const { image, label } = await readNnunetCase(c, dataset.classes.length, dataset.ignore);
    for (const { z: _z, t: _t, ...sample } of volumeSamples(c, image, scale, label, ignore)) yield sample;
  }
  if (mixed.length > 0) report.warnings.push(mixedIgnoreWarning(join(dataset.dir, DATASET_JSON), mixed));
}

/**
 * Where a single NIfTI file sits in an nnU-Net dataset (`DATASET/imagesTr/CASE_0000.nii.gz`): the
 * dataset, the case id and its label map (imagesTr only); else the case id from the file name.
 */
export function niftiFileCase(file: string): NnunetCase & { dataset?: NnunetDataset } {
  const name = basename(file);
  const ending = /\.nii\.gz$/i.test(name) ? name.slice(-7) : name.slice(-4);
  const stem = name.slice(0, -ending.length);
  const folder = dirname(file);
  const root = dirname(folder);
  const part = basename(folder);
  if ((part === 'imagesTr' || part === 'imagesTs') && /_0000$/.test(stem) && isNnunetDataset(root)) {
    const dataset = readDatasetJson(root);
    const id = stem.slice(0, -5);
    const label = join(root, 'labelsTr', `${id}${dataset.fileEnding}`);
    const c: NnunetCase & { dataset: NnunetDataset } = {
      id,
      image: file,
      dataset,
      ...(dataset.noSpacing.has(id) ? { noSpacing: true } : {}),
    };
    if (part === 'imagesTr' && existsSync(label)) c.label = label;
    return c;
  }
  return { id: stem, image: file };
}

/** NIfTI files directly inside a folder, sorted by name. */
export function niftiFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => isNiftiName(f) && statSync(join(dir, f)).isFile())
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

/** What writeNnunetDataset wrote. */
export interface WrittenDataset {
  cases: number;
  slices: number;
  classes: readonly string[];
  /** The ignore label's value, where partial labels needed it. */
  ignore?: number;
}

/** A case id nnU-Net accepts as a file name stem: letters, digits and '-' (others become '-'). */
export function caseId(patient: string): string {
  return patient.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'case';
}

/**
 * Writes samples as an nnU-Net raw dataset into the folder `dir`: one 3D volume per patient of its
 * slices in source order (`imagesTr/CASE_0000.nii.gz`, `labelsTr/CASE.nii.gz`), the in-plane spacing of
 * its samples and a nominal 1 mm between slices (2D slices carry no position), and dataset.json with the
 * class names and, under `lvseg`, which sample each slice was. A patient whose slices differ in size is
 * written as one volume per slice (`CASE-sNNN`). Partial labels (a sample whose `labelledClasses` leave out a
 * class, e.g. a Sunnybrook slice without an epicardial contour) get nnU-Net's `ignore` label (value K, after
 * the K classes) on their background voxels: there the class is background or one the slice does not mark.
 */
export async function writeNnunetDataset(
  dir: string,
  samples: AsyncIterable<Sample> | Iterable<Sample>,
  options: { classes?: readonly string[]; name: string; description: string; channel?: string },
): Promise<WrittenDataset> {
  const classes = options.classes ?? ['background', 'lv'];
  const byPatient = new Map<string, Sample[]>();
  for await (const s of samples) {
    if (!byPatient.has(s.patient)) byPatient.set(s.patient, []);
    byPatient.get(s.patient)!.push(s);
  }
  const slicesOf: Record<string, string[]> = {};
  const noSpacing: string[] = [];
  const taken = new Set<string>();
  let slices = 0;
  // nnU-Net's ignore label: one value above the classes, in dataset.json only where a sample needs it
  const ignore = classes.length;
  let ignored = false;
  const writeCase = async (id: string, group: Sample[]): Promise<void> => {
    let unique = id;
    for (let n = 2; taken.has(unique); n++) unique = `${id}-${n}`;
    taken.add(unique);
    const { height, width } = group[0]!;
    const image = new Float32Array(width * height * group.length);
    const label = new Uint8Array(image.length);
    group.forEach((s, z) => {
      for (let i = 0; i < s.label.length; i++) {
        if (s.label[i]! >= classes.length)
          throw new DataError(
            `sample '${s.name}': label value ${s.label[i]} but the source has ${classes.length} classes ` +
              `(${classes.join(', ')})`,
          );
      }
      image.set(s.image, z * width * height);
      label.set(s.label, z * width * height);
      if (s.labelledClasses && classes.some((_, k) => !s.labelledClasses!.includes(k))) {
        if (ignore > 255)
          throw new DataError(
            `sample '${s.name}': a partial label needs nnU-Net's ignore label after the ${classes.length} classes, ` +
              `past the 255 a uint8 label map holds`,
          );
        ignored = true;
        const at = z * width * height;
        for (let i = 0; i < s.label.length; i++) if (s.label[i] === 0) label[at + i] = ignore;
      }
    });
    const geometry = stackGeometry(group[0]!, group.length);
    await writeFileAtomic(
      join(dir, 'imagesTr', `${unique}_0000.nii.gz`),
      encodeNifti(compactImageData(image), geometry, { gzip: true, description: `lvseg: ${group[0]!.patient}` }),
    );
    await writeFileAtomic(
      join(dir, 'labelsTr', `${unique}.nii.gz`),
      encodeNifti(label, geometry, { gzip: true, description: `lvseg labels: ${group[0]!.patient}` }),
    );
    slicesOf[unique] = group.map((s) => s.name);
    if (!group[0]!.spacing) noSpacing.push(unique);
    slices += group.length;
  };
  for (const [patient, group] of byPatient) {
    if (stackable(group)) await writeCase(caseId(patient), group);
    else
      for (const [k, s] of group.entries()) await writeCase(`${caseId(patient)}-s${String(k).padStart(3, '0')}`, [s]);
  }
  const dataset = {
    name: options.name,
    description: options.description,
    channel_names: { '0': options.channel ?? 'MRI' },
    labels: Object.fromEntries([...classes.map((c, v) => [c, v]), ...(ignored ? [[IGNORE_LABEL, ignore]] : [])]),
    numTraining: Object.keys(slicesOf).length,
    file_ending: '.nii.gz',
    lvseg: { writtenBy: 'lvseg data convert', slices: slicesOf, ...(noSpacing.length > 0 ? { noSpacing } : {}) },
  };
  await writeFileAtomic(join(dir, DATASET_JSON), JSON.stringify(dataset, null, 2) + '\n');
  return { cases: dataset.numTraining, slices, classes, ...(ignored ? { ignore } : {}) };
}

/** Whether `dir` holds a dataset lvseg wrote (so --overwrite may replace it), by its dataset.json. */
export function isLvsegNnunetDataset(dir: string): boolean {
  try {
    const json = JSON.parse(readFileSync(join(dir, DATASET_JSON), 'utf8')) as { lvseg?: { writtenBy?: string } };
    return json.lvseg?.writtenBy === 'lvseg data convert';
  } catch {
    return false;
  }
}
