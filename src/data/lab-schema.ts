import { DataError } from '../errors.js';
import { decodeExample, encodeExample, type ExampleFeatures, type FeatureValue } from './example.js';
import type { Sample } from './sample.js';
import { applyScaling, type Scaling } from './scaling.js';

/**
 * The lab's TFRecord schema: `height`, `width`, `depth` (int64), `name` (bytes), `image_raw`
 * (bytes of little-endian int64 pixels, row-major), `label_raw` (bytes of uint8, 1 = LV).
 * lvseg also writes `patient` (bytes) and `spacing` (float [row_mm, col_mm]) when it knows them;
 * TensorFlow's parse_single_example ignores features it was not asked for, so the lab still reads them.
 */
export function encodeLabExample(sample: Sample): Uint8Array {
  const { height, width } = sample;
  const n = height * width;
  if (sample.image.length !== n || sample.label.length !== n) {
    throw new DataError(
      `sample ${sample.name}: image has ${sample.image.length} and label ${sample.label.length} values, expected ` +
        `${height}x${width}`,
    );
  }
  const image = new Uint8Array(n * 8);
  const words = new Int32Array(image.buffer);
  for (let i = 0; i < n; i++) {
    // Whole numbers in the source's own units; int64 cannot hold fractions.
    const v = Math.round(sample.image[i]!);
    words[2 * i] = v | 0;
    words[2 * i + 1] = Math.floor(v / 4294967296);
  }
  const enc = new TextEncoder();
  const features: ExampleFeatures = {
    height: { kind: 'int64', value: [height] },
    width: { kind: 'int64', value: [width] },
    depth: { kind: 'int64', value: [1] },
    name: { kind: 'bytes', value: [enc.encode(sample.name)] },
    patient: { kind: 'bytes', value: [enc.encode(sample.patient)] },
    image_raw: { kind: 'bytes', value: [image] },
    label_raw: { kind: 'bytes', value: [Uint8Array.from(sample.label, (v) => (v > 0 ? 1 : 0))] },
  };
  if (sample.spacing) features.spacing = { kind: 'float', value: [...sample.spacing] };
  return encodeExample(features);
}

export interface DecodeLabOptions {
  scale?: Scaling;
  /** Where the record came from, for messages, e.g. `train.tfrecords record 12`. */
  where?: string;
}

function scalar(f: FeatureValue | undefined, name: string, where: string): number {
  if (f?.kind !== 'int64' || f.value.length !== 1) {
    throw new DataError(
      `${where}: feature '${name}' must be one int64 (the lab's schema: height, width, depth, name, image_raw, ` +
        `label_raw)`,
    );
  }
  return f.value[0]!;
}

function bytes(f: FeatureValue | undefined, name: string, where: string): Uint8Array {
  if (f?.kind !== 'bytes' || f.value.length !== 1) {
    throw new DataError(
      `${where}: feature '${name}' must be one bytes value (the lab's schema: height, width, depth, name, image_raw, ` +
        `label_raw)`,
    );
  }
  return f.value[0]!;
}

/** Decodes one record of the lab's schema into a Sample, checking every length against height×width×depth. */
export function decodeLabExample(record: Uint8Array, options: DecodeLabOptions = {}): Sample {
  let where = options.where ?? 'record';
  const f = decodeExample(record, where);
  const dec = new TextDecoder();
  const name = dec.decode(bytes(f.name, 'name', where));
  where = `${where} (name '${name}')`;
  const height = scalar(f.height, 'height', where);
  const width = scalar(f.width, 'width', where);
  const depth = scalar(f.depth, 'depth', where);
  if (height < 1 || width < 1 || height > 16384 || width > 16384)
    throw new DataError(`${where}: implausible size ${height}x${width}`);
  if (depth !== 1) throw new DataError(`${where}: depth ${depth} is not supported; lvseg reads grey images (depth 1)`);
  const n = height * width * depth;
  const imageRaw = bytes(f.image_raw, 'image_raw', where);
  const labelRaw = bytes(f.label_raw, 'label_raw', where);
  if (imageRaw.length !== n * 8) {
    throw new DataError(
      `${where}: image_raw has ${imageRaw.length} bytes, expected ${n * 8} (${height}x${width}x${depth} int64)`,
    );
  }
  if (labelRaw.length !== n) {
    throw new DataError(
      `${where}: label_raw has ${labelRaw.length} bytes, expected ${n} (${height}x${width}x${depth} uint8)`,
    );
  }
  // An Int32Array view needs 4-byte alignment; protobuf hands out subarrays at any offset.
  // a copy where unaligned (Buffer.slice would not copy)
  const aligned = imageRaw.byteOffset % 4 === 0 ? imageRaw : new Uint8Array(imageRaw);
  const words = new Int32Array(aligned.buffer, aligned.byteOffset, n * 2);
  const image = new Float32Array(n);
  for (let i = 0; i < n; i++) image[i] = words[2 * i + 1]! * 4294967296 + (words[2 * i]! >>> 0);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) label[i] = labelRaw[i]! > 0 ? 1 : 0;
  applyScaling(image, options.scale ?? 'none');
  const patientFeature =
    f.patient?.kind === 'bytes' && f.patient.value.length === 1 ? dec.decode(f.patient.value[0]) : undefined;
  const slash = name.lastIndexOf('/');
  const sample: Sample = {
    name,
    patient: patientFeature ?? (slash > 0 ? name.slice(0, slash) : name),
    image,
    label,
    height,
    width,
  };
  if (f.spacing?.kind === 'float' && f.spacing.value.length === 2) {
    // A FloatList is float32: 1.367188 comes back as 1.3671879768…; 7 digits is what float32 holds.
    const [r, c] = f.spacing.value.map((v) => Number(v.toPrecision(7)));
    sample.spacing = [r!, c!];
  }
  return sample;
}
