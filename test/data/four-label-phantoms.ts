/**
 * Phantoms with four labels, for the K-class tests of issue 25: 0 background, 1 lv (a bright disc),
 * 2 myocardium (the dark ring around it), 3 rv (a bright crescent to the image-left of the ring), each
 * with its own intensity plus noise, so a small network can learn all four. Written as an nnU-Net
 * dataset (dataset.json names the classes) by writeFourLabelDataset.
 */
import { createRng } from '../../src/data/random.js';
import { writeNnunetDataset, type WrittenDataset } from '../../src/data/nnunet.js';
import type { Sample } from '../../src/data/sample.js';

export const FOUR_CLASSES = ['background', 'lv', 'myocardium', 'rv'] as const;

/** `count` phantoms of `size`×`size` from `seed`; `perPatient` consecutive ones share a patient. */
export function fourLabelPhantoms(count: number, seed: number, size: number, perPatient = 4): Sample[] {
  const out: Sample[] = [];
  for (let n = 0; n < count; n++) {
    const rng = createRng(seed * 7919 + n);
    const cx = size * rng.uniform(0.45, 0.6);
    const cy = size * rng.uniform(0.4, 0.6);
    const lvR = size * rng.uniform(0.1, 0.16);
    const wall = size * rng.uniform(0.04, 0.07);
    const rvR = (lvR + wall) * rng.uniform(1.0, 1.3);
    const rvX = cx - (lvR + wall) * rng.uniform(0.9, 1.2);
    const image = new Float32Array(size * size);
    const label = new Uint8Array(size * size);
    const levels = [40, 200, 70, 170];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        const dRv = Math.hypot(x + 0.5 - rvX, y + 0.5 - cy);
        const k = d <= lvR ? 1 : d <= lvR + wall ? 2 : dRv <= rvR ? 3 : 0;
        label[y * size + x] = k;
        image[y * size + x] = Math.max(0, Math.min(255, Math.round(levels[k]! + 12 * rng.normal())));
      }
    }
    const patient = `four-p${String(Math.floor(n / perPatient)).padStart(3, '0')}`;
    out.push({
      name: `${patient}/slice-${String(n).padStart(4, '0')}`,
      patient,
      image,
      label,
      height: size,
      width: size,
      spacing: [1.5, 1.5],
    });
  }
  return out;
}

/** The phantoms as an nnU-Net raw dataset in `dir` (an existing empty folder). */
export function writeFourLabelDataset(dir: string, count: number, seed: number, size: number): Promise<WrittenDataset> {
  return writeNnunetDataset(dir, fourLabelPhantoms(count, seed, size), {
    classes: FOUR_CLASSES,
    name: 'four-label phantoms',
    description: 'phantoms: background, lv, myocardium, rv',
    channel: 'MRI',
  });
}
