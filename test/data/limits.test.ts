import { crc32, deflateSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { decodePngGrey, encodePngGrey } from '../../src/imaging/png.js';
import { MAX_IMAGE_FILE_BYTES } from '../../src/io/limits.js';
import { readAllSamples, openSource } from '../../src/data/source.js';
import { readLinkCsv } from '../../src/data/sunnybrook.js';
import { readPngSlice } from '../../src/data/png-dataset.js';
import { encodeMaskPng } from '../../src/imaging/mask.js';
import { makeDicom } from './dicom-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvseg-limits-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A valid grey PNG of `width`x`height` zeros: a few hundred KB that claim any size. */
function zeroPng(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  // rows of (filter 0, zeros): compressed from one row repeated, without holding the whole image
  const row = Buffer.alloc(width + 1);
  const idat = deflateSync(Buffer.concat(Array.from({ length: Math.min(height, 64) }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

describe('image limits', () => {
  it('a PNG claiming 30000x30000 fails from its header, before any decoding', () => {
    const bytes = zeroPng(30000, 30000);
    expect(bytes.length).toBeLessThan(2_000_000);
    expect(() => decodePngGrey(bytes, 'bomb.png')).toThrow(DataError);
    expect(() => decodePngGrey(bytes, 'bomb.png')).toThrow(
      new RegExp(
        String.raw`^bomb\.png: a 30000x30000 image is larger than lvseg reads \(at most 16 M pixels, e\.g\. ` +
          String.raw`4096x4096\); resize it first$`,
      ),
    );
    expect(() => decodePngGrey(zeroPng(20000, 1), 'wide.png')).toThrow(/wide\.png: a 20000x1 image is larger/);
  });

  it('a PNG file names itself in the error, and ordinary sizes still decode', async () => {
    const file = join(tmp, 'bomb.png');
    writeFileSync(file, zeroPng(30000, 30000));
    await expect(readPngSlice(file)).rejects.toThrow(`${file}: a 30000x30000 image`);
    const ok = join(tmp, 'ok.png');
    writeFileSync(ok, encodePngGrey(4, 2, Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7])));
    expect(Array.from((await readPngSlice(ok)).pixels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('an image file larger than the limit is refused before it is read', async () => {
    const file = join(tmp, 'huge.png');
    writeFileSync(file, '');
    // a sparse file: its size, not its bytes
    truncateSync(file, MAX_IMAGE_FILE_BYTES + 1);
    await expect(readPngSlice(file)).rejects.toThrow(
      `${file}: ${MAX_IMAGE_FILE_BYTES + 1} bytes, more than lvseg reads as one PNG image ` +
        `(${MAX_IMAGE_FILE_BYTES} bytes = 256 MB); is it the right file?`,
    );
  });
});

describe('PNG datasets', () => {
  it('read .PNG files (any case) as they are listed, with masks of either case', async () => {
    const dir = join(tmp, 'upper');
    mkdirSync(join(dir, 'images', 'p1'), { recursive: true });
    mkdirSync(join(dir, 'masks', 'endo', 'p1'), { recursive: true });
    const label = Uint8Array.from([0, 1, 1, 0]);
    writeFileSync(join(dir, 'images', 'p1', 'a.PNG'), encodePngGrey(2, 2, Uint8Array.from([10, 20, 30, 40])));
    writeFileSync(join(dir, 'images', 'p1', 'b.png'), encodePngGrey(2, 2, Uint8Array.from([1, 2, 3, 4])));
    writeFileSync(join(dir, 'masks', 'endo', 'p1', 'a.png'), encodeMaskPng(label, 2, 2));
    writeFileSync(join(dir, 'masks', 'endo', 'p1', 'b.Png'), encodeMaskPng(label, 2, 2));
    const samples = await readAllSamples(await openSource(dir));
    expect(samples.map((s) => [s.name, Array.from(s.image), Array.from(s.label)])).toEqual([
      ['p1/a', [10, 20, 30, 40], [0, 1, 1, 0]],
      ['p1/b', [1, 2, 3, 4], [0, 1, 1, 0]],
    ]);
    renameSync(join(dir, 'masks', 'endo', 'p1', 'b.Png'), join(dir, 'masks', 'endo', 'p1', 'c.png'));
    await expect(readAllSamples(await openSource(dir))).rejects.toThrow(/b\.png: no mask at .*b\.png/);
  });
});

describe('link.csv', () => {
  function dicomFolder(name: string, link: string): string {
    const dir = join(tmp, name);
    mkdirSync(join(dir, 'dicoms', 'SCD0000101'), { recursive: true });
    mkdirSync(join(dir, 'contourfiles', 'SC-HF-I-1', 'i-contours'), { recursive: true });
    writeFileSync(join(dir, 'link.csv'), link);
    writeFileSync(
      join(dir, 'dicoms', 'SCD0000101', '7.dcm'),
      makeDicom({ rows: 16, columns: 16, bits: 16, values: Array(256).fill(100), instanceNumber: 7 }),
    );
    writeFileSync(
      join(dir, 'contourfiles', 'SC-HF-I-1', 'i-contours', 'IM-0001-0007-icontour-manual.txt'),
      '4 4\n12 4\n12 12\n4 12\n',
    );
    return dir;
  }

  it('a repeated row is read once, with a warning, so no sample is doubled', async () => {
    const dir = dicomFolder('dup', 'patient_id,original_id\nSCD0000101,SC-HF-I-1\nSCD0000101,SC-HF-I-1\n');
    const source = await openSource(dir);
    expect((await readAllSamples(source)).map((s) => s.name)).toEqual(['SC-HF-I-01/IM-0001-0007']);
    expect(source.report!.warnings).toEqual([
      `${join(dir, 'link.csv')}:3: repeats line 2 ('SCD0000101,SC-HF-I-1'); read once`,
    ]);
  });

  it('a folder or an id linked twice differently is an error naming both lines', () => {
    const a = dicomFolder('twofold', 'patient_id,original_id\nSCD0000101,SC-HF-I-1\nSCD0000101,SC-HF-I-2\n');
    expect(() => readLinkCsv(a)).toThrow(
      /link\.csv:3: DICOM folder 'SCD0000101' is linked to 'SC-HF-I-1' on line 2 and to 'SC-HF-I-2' here; keep one/,
    );
    const b = dicomFolder('twoid', 'patient_id,original_id\nSCD0000101,SC-HF-I-1\nSCD0000102,SC-HF-I-1\n');
    expect(() => readLinkCsv(b)).toThrow(
      /link\.csv:3: challenge id 'SC-HF-I-1' is linked to 'SCD0000101' on line 2 and to 'SCD0000102' here/,
    );
  });

  it('ids and folders that leave the dataset folder are refused', () => {
    for (const [row, bad] of [
      ['SCD0000101,../../../etc', "challenge id '../../../etc'"],
      ['../../x,SC-HF-I-1', "DICOM folder '../../x'"],
      ['..,SC-HF-I-1', "DICOM folder '..'"],
      ['SCD0000101,/etc', "challenge id '/etc'"],
    ] as const) {
      const dir = dicomFolder(`escape-${Math.random().toString(36).slice(2)}`, `patient_id,original_id\n${row}\n`);
      expect(() => readLinkCsv(dir)).toThrow(
        `link.csv:2: ${bad} is not a plain folder name; link.csv names folders inside ${dir}, not paths`,
      );
    }
  });
});
