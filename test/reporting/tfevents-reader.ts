import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

// An independent reader: a bitwise CRC32C (not the writer's table-driven one), TFRecord framing parsed
// here, and the protos loaded straight from proto/ with protobufjs.
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const masked = (crc: number): number => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

function readRecords(file: string): Uint8Array[] {
  const buf = new Uint8Array(readFileSync(file));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
    if (view.getUint32(at + 8, true) !== masked(crc32cBitwise(buf.subarray(at, at + 8))))
      throw new Error(`${file}: bad length CRC at byte ${at}`);
    const data = buf.subarray(at + 12, at + 12 + len);
    if (view.getUint32(at + 12 + len, true) !== masked(crc32cBitwise(data)))
      throw new Error(`${file}: bad data CRC at byte ${at}`);
    out.push(data);
    at += 16 + len;
  }
  return out;
}

const root = new protobuf.Root();
root.loadSync([fileURLToPath(new URL('../../proto/event.proto', import.meta.url))], { keepCase: true });
const Event = root.lookupType('tensorboard.Event');

export interface DecodedValue {
  tag: string;
  simple_value?: number;
  histo?: { min: number; max: number; num: number; sum: number; bucket: number[]; bucket_limit: number[] };
  image?: { width: number; height: number; colorspace: number; encoded_image_string: Uint8Array };
  tensor?: { dtype: string; string_val: Uint8Array[] };
  metadata?: { plugin_data?: { plugin_name: string } };
}
export interface DecodedEvent {
  wall_time: number;
  step: number;
  file_version?: string;
  summary?: { value: DecodedValue[] };
}

/** Decodes the one event file in `dir`, checking its name (with `host`) and every record's CRCs. */
export function readEvents(dir: string, host = 'testhost'): { file: string; events: DecodedEvent[] } {
  const files = readdirSync(dir);
  const pattern = new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${host}$`);
  if (files.length !== 1 || !pattern.test(files[0]!))
    throw new Error(`${dir}: expected one file matching ${pattern}, found ${files.join(', ')}`);
  const events = readRecords(join(dir, files[0]!)).map(
    (r) => Event.toObject(Event.decode(r), { longs: Number, enums: String, defaults: false }) as DecodedEvent,
  );
  return { file: files[0]!, events };
}

/** Every summary value with its event's step. */
export const summaryValues = (events: DecodedEvent[]): Array<DecodedValue & { step: number }> =>
  events.flatMap((e) => (e.summary?.value ?? []).map((v) => ({ ...v, step: e.step ?? 0 })));
