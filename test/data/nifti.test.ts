import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readHeader } from 'nifti-reader-js';
import { afterAll, describe, expect, it } from 'vitest';
import { compactImageData, encodeLabelMapLike, encodeNifti, readNifti, volumeSlice } from '../../src/data/nifti.js';
import { createRng } from '../../src/data/random.js';
import { DataError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvseg-nifti-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A 1.25 x 1.5 mm in-plane, 8 mm slice grid rotated 90° about z, with an offset: an oblique-enough affine. */
const AFFINE = [
  [0, -1.5, 0, 10],
  [1.25, 0, 0, -20],
  [0, 0, 8, 30],
];

function write(name: string, bytes: Uint8Array): string {
  const file = join(tmp, name);
  writeFileSync(file, bytes);
  return file;
}

describe('NIfTI volumes', () => {
  it('a written 4D .nii.gz reads back with its shape, voxels, affine, spacing and time step', async () => {
    const shape = [5, 4, 3, 2];
    const data = Int16Array.from({ length: 5 * 4 * 3 * 2 }, (_, i) => i - 7);
    const bytes = encodeNifti(data, { shape, affine: AFFINE, timeStepMs: 40 }, { gzip: true });
    // no time stamp in the gzip header (bytes 4-7), so the same volume written later gives the same bytes
    expect(Array.from(bytes.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    const file = write('cine.nii.gz', bytes);
    const v = await readNifti(file);
    expect(v.shape).toEqual([5, 4, 3, 2]);
    expect(Array.from(v.data)).toEqual(Array.from(data));
    expect(v.affine.slice(0, 3)).toEqual(AFFINE);
    expect(v.spacing).toEqual([1.25, 1.5, 8]);
    expect(v.timeStepMs).toBe(40);
    // slice z=1 at t=1 is the 20 values from (1*3+1)*20, a row-major 4x5 image
    expect(Array.from(volumeSlice(v, 1, 1))).toEqual(Array.from({ length: 20 }, (_, i) => 80 + i - 7));
    // the library reads our qform as the same affine as our sform
    const header = readHeader(
      gunzipSync(await import('node:fs').then((fs) => fs.readFileSync(file))).buffer as ArrayBuffer,
    );
    expect(header.qform_code).toBe(1);
    header.sform_code = 0;
    const q = header.getQformMat();
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(q[r]![c]!).toBeCloseTo(AFFINE[r]![c]!, 5);
  });

  it('takes the affine from the sform, else from the qform, else from the pixdims', async () => {
    const bytes = encodeNifti(new Uint8Array(8), { shape: [2, 2, 2], affine: AFFINE }, { gzip: false });
    const edit = (change: (v: DataView) => void): Uint8Array => {
      const copy = bytes.slice();
      change(new DataView(copy.buffer));
      return copy;
    };
    // qform only: the sform rows hold garbage the reader must not use
    const qformOnly = edit((v) => {
      v.setInt16(254, 0, true);
      for (let i = 0; i < 12; i++) v.setFloat32(280 + 4 * i, 99, true);
    });
    const q = await readNifti(write('qform.nii', qformOnly));
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(q.affine[r]![c]!).toBeCloseTo(AFFINE[r]![c]!, 5);
    // sform only, in metres: scaled to mm
    const sformMetres = edit((v) => {
      v.setInt16(252, 0, true);
      v.setUint8(123, 1);
    });
    expect((await readNifti(write('sform-m.nii', sformMetres))).spacing).toEqual([1250, 1500, 8000]);
    // neither: the pixdims
    const neither = edit((v) => {
      v.setInt16(252, 0, true);
      v.setInt16(254, 0, true);
    });
    const p = await readNifti(write('pixdim.nii', neither));
    expect(p.spacing).toEqual([1.25, 1.5, 8]);
    expect(p.affine[0]![3]).toBe(0);
  });

  it('applies scl_slope and scl_inter, and reads a plain .nii of float32', async () => {
    const bytes = encodeNifti(Uint8Array.from([0, 1, 2, 3]), { shape: [2, 2, 1], affine: AFFINE }, { gzip: false });
    const view = new DataView(bytes.buffer);
    view.setFloat32(112, 2.5, true);
    view.setFloat32(116, -1, true);
    const v = await readNifti(write('scaled.nii', bytes));
    expect(Array.from(v.data)).toEqual([-1, 1.5, 4, 6.5]);
    const f = await readNifti(
      write(
        'float.nii',
        encodeNifti(Float32Array.from([0.5, -2, 3.25, 1e6]), { shape: [2, 2, 1], affine: AFFINE }, { gzip: false }),
      ),
    );
    expect(Array.from(f.data)).toEqual([0.5, -2, 3.25, 1e6]);
  });

  it('a label map keeps the dims, pixdim, qform and sform of the volume it was predicted from', async () => {
    const image = await readNifti(
      write(
        'img.nii.gz',
        encodeNifti(new Float32Array(5 * 4 * 3).fill(7), { shape: [5, 4, 3], affine: AFFINE }, { gzip: true }),
      ),
    );
    const labels = Uint8Array.from({ length: 60 }, (_, i) => i % 3);
    const out = await readNifti(write('seg.nii.gz', encodeLabelMapLike(image, labels, { gzip: true, classes: 3 })));
    expect(out.shape).toEqual(image.shape);
    expect(out.affine).toEqual(image.affine);
    expect(out.header.pixDims.slice(0, 4)).toEqual(image.header.pixDims.slice(0, 4));
    expect([out.header.qform_code, out.header.sform_code]).toEqual([image.header.qform_code, image.header.sform_code]);
    expect([out.header.quatern_b, out.header.quatern_c, out.header.quatern_d]).toEqual([
      image.header.quatern_b,
      image.header.quatern_c,
      image.header.quatern_d,
    ]);
    expect(out.header.datatypeCode).toBe(2);
    expect(Array.from(out.data)).toEqual(Array.from(labels));
  });

  it('stores whole numbers as int16 and anything else as float32', () => {
    expect(compactImageData(Float32Array.from([0, 4095, -3]))).toBeInstanceOf(Int16Array);
    expect(compactImageData(Float32Array.from([0, 40000]))).toBeInstanceOf(Float32Array);
    expect(compactImageData(Float32Array.from([0.5]))).toBeInstanceOf(Float32Array);
  });
});

describe('broken NIfTI files give one-line errors naming the file', () => {
  const good = encodeNifti(
    Int16Array.from({ length: 64 * 64 * 4 }, (_, i) => i % 300),
    { shape: [64, 64, 4], affine: AFFINE },
    { gzip: false },
  );

  async function failure(name: string, bytes: Uint8Array): Promise<string> {
    const file = write(name, bytes);
    const err = await readNifti(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataError);
    const message = (err as Error).message;
    expect(message).toContain(file);
    expect(message).not.toContain('\n');
    return message;
  }

  it('a truncated .nii', async () => {
    expect(await failure('cut.nii', good.subarray(0, 352 + 1000))).toMatch(
      /truncated: its header describes 64x64x4x1 int16 voxels from byte 352 \(33120 bytes\) but the file has 1352/,
    );
  });

  it('a truncated .nii.gz, cut inside its voxels and inside its header', async () => {
    const gz = gzipSync(good);
    expect(await failure('cut.nii.gz', gz.subarray(0, Math.floor(gz.length / 2)))).toMatch(
      /corrupt or truncated gzip data/,
    );
    expect(await failure('head.nii.gz', gzipSync(good.subarray(0, 200)))).toMatch(
      /200 bytes, shorter than a NIfTI header/,
    );
  });

  it('not NIfTI, garbage gzip, an unknown datatype, 5 dimensions and a header claiming too many voxels', async () => {
    expect(await failure('text.nii', new TextEncoder().encode('hello '.repeat(100)))).toMatch(
      /not a NIfTI-1 or NIfTI-2 file/,
    );
    expect(await failure('junk.nii.gz', Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))).toMatch(
      /corrupt gzip data/,
    );
    const rgb = good.slice();
    new DataView(rgb.buffer).setInt16(70, 128, true);
    expect(await failure('rgb.nii', rgb)).toMatch(/NIfTI datatype 128 is not read by lvseg/);
    const fiveD = good.slice();
    new DataView(fiveD.buffer).setInt16(40, 5, true);
    new DataView(fiveD.buffer).setInt16(50, 3, true);
    expect(await failure('5d.nii', fiveD)).toMatch(/lvseg reads 2D, 3D and 4D/);
    const huge = good.slice();
    for (const [i, n] of [
      [1, 4096],
      [2, 4096],
      [3, 4096],
    ] as const)
      new DataView(huge.buffer).setInt16(40 + 2 * i, n, true);
    expect(await failure('huge.nii.gz', gzipSync(huge))).toMatch(/voxels, more than lvseg reads as one volume/);
  });

  it('a .nii.gz that inflates to far more than its header describes is stopped at the bound', async () => {
    const bomb = new Uint8Array(good.length + 8 * 2 ** 20);
    bomb.set(good);
    expect(await failure('bomb.nii.gz', gzipSync(bomb))).toMatch(
      /inflates to more than the 33120 bytes its header describes/,
    );
  });
});

describe('a seeded fuzz of NIfTI files', () => {
  it('300 mutations of a .nii and a .nii.gz give only one-line DataErrors or volumes', async () => {
    const valid = encodeNifti(
      Int16Array.from({ length: 16 * 16 * 3 * 2 }, (_, i) => i % 500),
      { shape: [16, 16, 3, 2], affine: AFFINE, timeStepMs: 30 },
      { gzip: false },
    );
    const rng = createRng(25);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const gz = i % 3 === 2;
      let bytes = Uint8Array.from(gz ? gzipSync(valid) : valid);
      const kind = rng.int(3);
      // flip bytes (mostly in the header, where the fields are), truncate, or both
      if (kind !== 1)
        for (let k = 1 + rng.int(4); k > 0; k--) bytes[rng.int(gz ? bytes.length : 352)] ^= 1 + rng.int(255);
      if (kind !== 0) bytes = bytes.subarray(0, rng.int(bytes.length));
      const file = write(`fuzz-${i}.nii${gz ? '.gz' : ''}`, bytes);
      let outcome = 'volume';
      try {
        await readNifti(file);
      } catch (err) {
        outcome =
          err instanceof DataError && !(err as Error).message.includes('\n') && (err as Error).message.startsWith(file)
            ? 'DataError'
            : `mutation ${i}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect([...outcomes.keys()].filter((k) => k !== 'volume' && k !== 'DataError')).toEqual([]);
    expect(outcomes.get('DataError')).toBeGreaterThan(100);
  });
});
