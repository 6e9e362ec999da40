// Writes data/sunnybrook-sample/: the central 128×128 of the shared Sunnybrook PNG slices and endocardium
// masks of the five patients whose DICOM series are in ../shared (so their pixel spacing is read from
// the headers, not assumed), in the shared PNG dataset layout. Run from the repository root after
// `npm run build`:  node scripts/make-sunnybrook-sample.mjs [SHARED_PNG_DIR]
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePngGrey, encodePngGrey } from '../dist/src/imaging/png.js';

const SOURCE = process.argv[2] ?? '../shared/data/sunnybrook/png';
const OUT = 'data/sunnybrook-sample';
// Every expert LV of the 30 shared patients lies in rows 86–166 and columns 90–176 of the 256×256
// slices, so the crop at (64, 64) keeps all of it.
const CROP = { top: 64, left: 64, size: 128 };
// PixelSpacing (0028,0030) of each patient's DICOM series in ../shared/data/sunnybrook/dicom.
const PATIENTS = {
  training: { 'SC-HF-I-01': 1.367188, 'SC-HF-I-02': 1.367188, 'SC-HF-I-04': 1.2891 },
  validation: { 'SC-HF-I-05': 1.3672, 'SC-HF-I-06': 1.3672 },
};

function crop(file) {
  const png = decodePngGrey(readFileSync(file));
  if (png.bitDepth !== 8) throw new Error(`${file}: expected an 8-bit PNG`);
  const out = new Uint8Array(CROP.size * CROP.size);
  for (let r = 0; r < CROP.size; r++) {
    const from = (CROP.top + r) * png.width + CROP.left;
    out.set(png.data.subarray(from, from + CROP.size), r * CROP.size);
  }
  return encodePngGrey(CROP.size, CROP.size, out);
}

for (const [split, patients] of Object.entries(PATIENTS)) {
  rmSync(join(OUT, split), { recursive: true, force: true });
  for (const patient of Object.keys(patients)) {
    for (const kind of ['images', 'masks/endo']) {
      const from = join(SOURCE, split, kind, patient);
      const to = join(OUT, split, kind, patient);
      mkdirSync(to, { recursive: true });
      for (const f of readdirSync(from)
        .filter((f) => f.endsWith('.png'))
        .sort())
        writeFileSync(join(to, f), crop(join(from, f)));
    }
  }
  const rows = Object.entries(patients).map(([p, mm]) => `${p},${mm}`);
  writeFileSync(join(OUT, split, 'spacing.csv'), ['case,spacing_mm', ...rows, ''].join('\n'));
}
