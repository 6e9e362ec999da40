import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../temp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { selectBackend } from '../../src/backends/select.js';
import { ensureBuilt, runCli } from '../cli/run-cli.js';

// The lab's Task 1 and Task 3 on the shared Sunnybrook TFRecords (234 training, 26 validation slices).
// Task 3 trains the full FCN for 30 epochs of 234 steps: hours on wasm, minutes on onednn, so it runs
// only where the native backend loads.
const DATA = join(PACKAGE_ROOT, '..', 'shared', 'data', 'sunnybrook', 'tfrecords');
const TRAIN = join(DATA, 'train_images.tfrecords.gz');
const VAL = join(DATA, 'val_images.tfrecords');
const hasData = existsSync(TRAIN) && existsSync(VAL);
if (!hasData)
  console.warn(`skipping the lab training checks: ${DATA} is missing (see ../shared/data/sunnybrook/README.md)`);

const backend = hasData ? (await selectBackend('auto')).name : 'none';
if (hasData && backend !== 'onednn')
  console.warn(
    `skipping lab-task3 from scratch: the onednn backend did not load (got ${backend}); run 'npm run setup'`,
  );

beforeAll(() => ensureBuilt());

function history(run: string): { epoch: number; loss: number; val_loss: number; val_dice: number }[] {
  return JSON.parse(readFileSync(join(run, 'history.json'), 'utf8')).epochs;
}

describe.skipIf(!hasData)('the lab on the shared Sunnybrook TFRecords', () => {
  it('lab-task1: the loss sits at 0.6931 and lvseg warns about softmax fed to a from-logits loss', async () => {
    const out = join(tempDir('lvseg-long-task1-'), 'run');
    const r = await runCli([
      'train',
      '--preset',
      'lab-task1',
      '--scale',
      '1/255',
      '--train',
      TRAIN,
      '--val',
      VAL,
      '--epochs',
      '2',
      '--out',
      out,
      '--no-tensorboard',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/last activation is softmax but the loss 'sparse-ce' expects logits/);
    for (const e of history(out)) {
      expect(e.loss).toBeCloseTo(Math.LN2, 4);
      expect(e.val_loss).toBeCloseTo(Math.LN2, 4);
    }
    expect(r.stdout.match(/^Epoch \d\/2 - 234\/234 - .* - loss: 0\.6931 - /gm)).toHaveLength(2);
  });

  it.skipIf(backend !== 'onednn')(
    'lab-task3 --scale 1/255 from scratch reaches validation Dice >= 0.80 (the lab: 0.83 after 30 epochs)',
    async () => {
      const out = join(tempDir('lvseg-long-task3-'), 'run');
      const r = await runCli([
        'train',
        '--preset',
        'lab-task3',
        '--scale',
        '1/255',
        '--train',
        TRAIN,
        '--val',
        VAL,
        '--out',
        out,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const epochs = history(out);
      expect(epochs.map((e) => e.epoch)).toEqual([...Array(30).keys()]);
      console.log(
        epochs
          .map(
            (e) =>
              `epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)} val_loss ${e.val_loss.toFixed(4)} val_dice ` +
              `${e.val_dice.toFixed(4)}`,
          )
          .join('\n'),
      );
      expect(epochs.at(-1)!.val_dice).toBeGreaterThanOrEqual(0.8);
      const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
      expect(evaluation.dice).toBeGreaterThanOrEqual(0.8);
      expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).backend).toBe('onednn');
    },
  );
});
