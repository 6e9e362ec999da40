import { generatePhantom } from '../../src/data/synthetic.js';
import { makeDicom } from '../data/dicom-fixture.js';

/** A 256×256 phantom slice written as a 16-bit DICOM with a 1.25 mm spacing. */
export function phantomDicom(): Uint8Array {
  const { image } = generatePhantom(3, 256);
  return makeDicom({
    rows: 256,
    columns: 256,
    bits: 16,
    values: Array.from(image, (v) => Math.round(v * 4)),
    spacing: [1.25, 1.25],
  });
}
