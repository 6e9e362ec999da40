/** Writes small DICOM Part 10 files for tests: enough of the standard for lvseg's reader, no more. */
export interface DicomFixture {
  rows: number;
  columns: number;
  bits: 8 | 16;
  signed?: boolean;
  /** Stored values, row-major. */
  values: number[];
  slope?: number;
  intercept?: number;
  spacing?: [number, number];
  instanceNumber?: number;
  triggerTime?: number;
  position?: [number, number, number];
  transferSyntax?: string;
  omitPixelData?: boolean;
  seriesUid?: string;
  seriesDescription?: string;
  orientation?: [number, number, number, number, number, number];
  sliceThickness?: number;
  sliceLocation?: number;
  heartRate?: number;
  cardiacImages?: number;
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function even(bytes: Uint8Array, pad: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

function element(group: number, elem: number, vr: string, value: Uint8Array, explicit: boolean): Uint8Array {
  const v = even(value, vr === 'UI' || vr === 'OB' ? 0 : 0x20);
  const long = LONG_VRS.has(vr);
  const headerLen = explicit ? (long ? 12 : 8) : 8;
  const out = new Uint8Array(headerLen + v.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, group, true);
  dv.setUint16(2, elem, true);
  if (explicit) {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (long) dv.setUint32(8, v.length, true);
    else dv.setUint16(6, v.length, true);
  } else dv.setUint32(4, v.length, true);
  out.set(v, headerLen);
  return out;
}

const str = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A decimal string (DS) holds at most 16 characters. */
const decimal = (v: number): string => {
  const text = String(v);
  return text.length <= 16 ? text : String(Number(v.toPrecision(10)));
};
function u16(n: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, true);
  return b;
}
function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function makeDicom(f: DicomFixture): Uint8Array {
  const ts = f.transferSyntax ?? '1.2.840.10008.1.2.1';
  const explicit = ts !== '1.2.840.10008.1.2';
  const metaBody = concat([
    element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1]), true),
    element(0x0002, 0x0002, 'UI', str('1.2.840.10008.5.1.4.1.1.4'), true),
    element(0x0002, 0x0003, 'UI', str('1.2.3.4.5'), true),
    element(0x0002, 0x0010, 'UI', str(ts), true),
  ]);
  const meta = concat([element(0x0002, 0x0000, 'UL', u32(metaBody.length), true), metaBody]);
  const ds: Uint8Array[] = [];
  const e = (g: number, el: number, vr: string, v: Uint8Array): void => {
    ds.push(element(g, el, vr, v, explicit));
  };
  if (f.seriesDescription !== undefined) e(0x0008, 0x103e, 'LO', str(f.seriesDescription));
  if (f.sliceThickness !== undefined) e(0x0018, 0x0050, 'DS', str(String(f.sliceThickness)));
  if (f.triggerTime !== undefined) e(0x0018, 0x1060, 'DS', str(String(f.triggerTime)));
  if (f.heartRate !== undefined) e(0x0018, 0x1088, 'IS', str(String(f.heartRate)));
  if (f.cardiacImages !== undefined) e(0x0018, 0x1090, 'IS', str(String(f.cardiacImages)));
  if (f.seriesUid !== undefined) e(0x0020, 0x000e, 'UI', str(f.seriesUid));
  if (f.instanceNumber !== undefined) e(0x0020, 0x0013, 'IS', str(String(f.instanceNumber)));
  if (f.position) e(0x0020, 0x0032, 'DS', str(f.position.map(decimal).join('\\')));
  if (f.orientation) e(0x0020, 0x0037, 'DS', str(f.orientation.map(decimal).join('\\')));
  if (f.sliceLocation !== undefined) e(0x0020, 0x1041, 'DS', str(decimal(f.sliceLocation)));
  e(0x0028, 0x0002, 'US', u16(1));
  e(0x0028, 0x0010, 'US', u16(f.rows));
  e(0x0028, 0x0011, 'US', u16(f.columns));
  if (f.spacing) e(0x0028, 0x0030, 'DS', str(f.spacing.join('\\')));
  e(0x0028, 0x0100, 'US', u16(f.bits));
  e(0x0028, 0x0101, 'US', u16(f.bits));
  e(0x0028, 0x0102, 'US', u16(f.bits - 1));
  e(0x0028, 0x0103, 'US', u16(f.signed ? 1 : 0));
  if (f.intercept !== undefined) e(0x0028, 0x1052, 'DS', str(String(f.intercept)));
  if (f.slope !== undefined) e(0x0028, 0x1053, 'DS', str(String(f.slope)));
  if (!f.omitPixelData) {
    const n = f.rows * f.columns;
    const px = new Uint8Array(n * (f.bits / 8));
    const dv = new DataView(px.buffer);
    for (let i = 0; i < n; i++) {
      const v = f.values[i] ?? 0;
      if (f.bits === 16) dv.setUint16(2 * i, v & 0xffff, true);
      else px[i] = v & 0xff;
    }
    e(0x7fe0, 0x0010, f.bits === 16 ? 'OW' : 'OB', px);
  }
  const preamble = new Uint8Array(132);
  preamble.set(str('DICM'), 128);
  return concat([preamble, meta, ...ds]);
}
