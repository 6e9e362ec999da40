/**
 * The page's volumes section without a browser: the dropped DICOM files decoded as the page decodes them,
 * masks as a segmentation would give them, and the numbers compared with `lvseg volumes`' library path on
 * the same folder (the same code, so the same numbers) and with the phantom's true volumes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDicom, type DicomSlice } from '../../src/data/dicom-decode.js';
import { seriesVolumes } from '../../src/evaluation/cine-volumes.js';
import { droppedVolumes, type SegmentedDicom } from '../../src/web/segment/volumes-view.js';
import { writePhantomCine } from '../data/cine-phantom.js';

const root = mkdtempSync(join(tmpdir(), 'lvseg-page-volumes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The phantom draws the LV at 1000, its wall at 300 and the rest at 100: this threshold is its LV mask. */
const lvMask = (image: DicomSlice): Uint8Array => Uint8Array.from(image.pixels, (v) => (v > 500 ? 1 : 0));

/** The folder's files as the page decodes dropped files, each with its mask. */
function dropped(dir: string): SegmentedDicom[] {
  return readdirSync(dir).map((f) => {
    const dicom = decodeDicom(readFileSync(join(dir, f)), f);
    return { dicom, mask: lvMask(dicom) };
  });
}

describe('the page volumes of a dropped cine', () => {
  it(
    'gives the numbers of lvseg volumes on the same series, within 2% of the phantom, basal atrial slice left ' + 'out',
    async () => {
      const phantom = writePhantomCine(join(root, 'cine'), { atrium: true, edPhase: 2 });
      const found = await droppedVolumes(dropped(phantom.dir));
      if (found.kind !== 'volumes') throw new Error(`expected volumes, got ${JSON.stringify(found)}`);
      const cli = (await seriesVolumes(phantom.dir, { segmenter: async ({ image }) => lvMask(image) })).measured.result;
      expect(found.result.edvMl).toBe(cli.edvMl);
      expect(found.result.esvMl).toBe(cli.esvMl);
      expect(found.result.efPct).toBe(cli.efPct);
      expect(found.result.slices.map((s) => [s.counted, s.reason])).toEqual(
        cli.slices.map((s) => [s.counted, s.reason]),
      );
      expect(Math.abs(found.result.edvMl - phantom.volumesMl[2]!) / phantom.volumesMl[2]!).toBeLessThan(0.02);
      expect(Math.abs(found.result.esvMl - phantom.volumesMl[12]!) / phantom.volumesMl[12]!).toBeLessThan(0.02);
      expect(found.result.slices[11]!.reason).toMatch(/the valve plane crosses it/);
      expect(found.cine.heartRate?.bpm).toBe(75);
      expect(found.warnings).toEqual([]);
    },
  );

  it(
    'says in one line why there is no volume for non-cine DICOMs, warns of a missing image, and is silent for one ' +
      'image',
    async () => {
      const still = writePhantomCine(join(root, 'still'), { phases: 1 });
      const refused = await droppedVolumes(dropped(still.dir));
      expect(refused.kind).toBe('refused');
      expect(refused.kind === 'refused' && refused.message).toMatch(
        new RegExp(
          '^the dropped files: no short-axis cine stack .*not a cine: each of its 12 slice positio' +
            String.raw`ns holds one image[^\n]*$`,
        ),
      );

      const files = dropped(writePhantomCine(join(root, 'gap')).dir);
      // An image the page failed to segment does not take part: a missing phase, said.
      const partial = await droppedVolumes(files.filter((f) => !(f.dicom.instanceNumber === 1 + 6 * 20 + 4)));
      expect(partial.kind === 'volumes' && partial.warnings.join('\n')).toMatch(
        /slice 6 has no image at phase 5.*\n.*no volume at phase 5/,
      );

      expect(await droppedVolumes(files.slice(0, 1))).toEqual({ kind: 'none' });
    },
  );
});
