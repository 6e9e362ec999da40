import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../temp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { readRunFile } from '../../src/runs/run-dir.js';
import { selectBackend } from '../../src/backends/select.js';
import { ensureBuilt, runCli } from '../cli/run-cli.js';

// Issue 25's check: the sunnybrook-lv-myo preset on the 15 training patients, measured on the 15 unseen
// validation patients through the model's pipeline (post-processing). SC-N-06's shared masks lie off
// the ventricle (docs/sc-n-06.png), so the thresholds hold over the other 14 patients: the blood pool's
// mean per-image Dice over every slice, the myocardium's and the epicardial region's over the slices with
// an epicardial mask.
const THRESHOLDS = { lv: 0.905, myocardium: 0.85, epicardium: 0.95 };
const MISPLACED = 'SC-N-06';
const DATA = join(PACKAGE_ROOT, '..', 'shared', 'data', 'sunnybrook', 'png');
const hasData =
  existsSync(join(DATA, 'training', 'masks', 'epi')) && existsSync(join(DATA, 'validation', 'masks', 'epi'));
if (!hasData)
  console.warn(
    `skipping the sunnybrook-lv-myo check: ${DATA} with masks/epi is missing (see ../shared/data/sunnybrook/README.md)`,
  );
const backend = hasData ? (await selectBackend('auto')).name : 'none';
if (hasData && backend !== 'onednn')
  console.warn(`skipping sunnybrook-lv-myo: the onednn backend did not load (got ${backend}); run 'npm run setup'`);

beforeAll(() => ensureBuilt());

interface ImageRow {
  patient: string;
  dice: number;
  classes?: Record<string, { dice: number }>;
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

describe.skipIf(!hasData || backend !== 'onednn')('the sunnybrook-lv-myo preset on unseen patients', () => {
  it(
    `reaches blood-pool Dice >= ${THRESHOLDS.lv}, myocardium >= ${THRESHOLDS.myocardium}, epicardium >= ` +
      `${THRESHOLDS.epicardium} without ${MISPLACED}`,
    async () => {
      const out = join(tempDir('lvseg-long-lv-myo-'), 'run');
      const r = await runCli([
        'train',
        '--preset',
        'sunnybrook-lv-myo',
        '--train',
        join(DATA, 'training'),
        '--val',
        join(DATA, 'validation'),
        '--spacing',
        '1.367',
        '--out',
        out,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const evaluation = readRunFile(out, 'evaluation')! as unknown as {
        count: number;
        meanDice: number;
        classes: Record<string, { meanDice: number; count: number }>;
        perImage: ImageRow[];
      };
      expect(evaluation.count).toBe(266);
      const kept = evaluation.perImage.filter((i) => i.patient !== MISPLACED);
      const lv = mean(kept.map((i) => i.dice));
      const of = (name: string): number[] => kept.flatMap((i) => (i.classes?.[name] ? [i.classes[name]!.dice] : []));
      console.log(
        `without ${MISPLACED}: lv ${lv.toFixed(4)}, myocardium ` +
          `${mean(of('myocardium')).toFixed(4)} (${of('myocardium').length} slices), epicardium ` +
          `${mean(of('epicardium')).toFixed(4)}; all 15: lv ${evaluation.meanDice.toFixed(4)}, myocardium ` +
          `${evaluation.classes.myocardium!.meanDice.toFixed(4)}, epicardium ` +
          `${evaluation.classes.epicardium!.meanDice.toFixed(4)}`,
      );
      expect(lv).toBeGreaterThanOrEqual(THRESHOLDS.lv);
      expect(mean(of('myocardium'))).toBeGreaterThanOrEqual(THRESHOLDS.myocardium);
      expect(mean(of('epicardium'))).toBeGreaterThanOrEqual(THRESHOLDS.epicardium);
    },
  );
});
