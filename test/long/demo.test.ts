import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../temp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { testModelMetadata } from '../models/metadata-fixture.js';
import { selectBackend } from '../../src/backends/select.js';
import { saveModel } from '../../src/models/io.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { thresholdModel } from '../evaluation/tiny-model.js';
import { ensureBuilt, LVSEG, runCli } from '../cli/run-cli.js';

beforeAll(() => ensureBuilt());

/** `lvseg demo args…` with bundled models taken from `modelsDir`. */
async function demoWithModels(args: string[], modelsDir: string): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [LVSEG, 'demo', ...args], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, LVSEG_MODELS_DIR: modelsDir },
    maxBuffer: 1 << 24,
  });
}

describe('lvseg demo', () => {
  it(
    'with no arguments trains on the bundled Sunnybrook sample and reports Dice, APD in mm and the challenge ' +
      'protocol',
    async () => {
      const out = join(tempDir('lvseg-demo-'), 'run');
      const r = await demoWithModels(['--out', out], join(tmpdir(), 'lvseg-no-models'));
      for (const f of [
        'config.json',
        'history.json',
        'model/model.json',
        'best/model.json',
        'evaluation.json',
        'report.html',
        'panels/epoch-015.png',
      ])
        expect(existsSync(join(out, f)), f).toBe(true);
      const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
      expect(evaluation.unit).toBe('mm');
      expect(evaluation.count).toBe(40);
      expect(evaluation.meanDice).toBeGreaterThan(0.45);
      expect(Object.keys(evaluation.perPhase)).toEqual(['ED', 'ES']);
      expect(evaluation.perPatient.map((p: { patient: string }) => p.patient)).toEqual(['SC-HF-I-05', 'SC-HF-I-06']);
      expect(r.stdout).toMatch(/training a small FCN .* on real cardiac MRI/);
      expect(r.stdout).toMatch(/Validation \(40 images\): Dice 0\.\d{4}/);
      expect(r.stdout).toMatch(/APD \d+\.\d\d mm; Sunnybrook challenge protocol: \d+ of 40 contours good/);
      expect(r.stdout).toMatch(/The bundled model lv-sunnybrook is not installed/);
      expect(r.stdout).toContain(`Pictures: ${join(out, 'samples')}/`);
    },
  );

  it('also evaluates a bundled lv-sunnybrook model on the sample when one is installed', async () => {
    await selectBackend('cpu');
    const models = join(tempDir('lvseg-demo-models-'), 'models');
    mkdirSync(models);
    await saveModel(thresholdModel(null, null), join(models, 'lv-sunnybrook'));
    writeFileSync(join(models, 'lv-sunnybrook', 'lvseg.json'), JSON.stringify(testModelMetadata('1/255', 128)));
    const out = join(tempDir('lvseg-demo-'), 'run');
    const r = await demoWithModels(['--out', out, '--epochs', '1'], models);
    expect(r.stdout).toMatch(
      new RegExp(
        "The bundled model lv-sunnybrook on the 40 slices of the sample's validation patients: " +
          String.raw`mean per-image Dice 0\.\d{4}, \d+ of 40 contours good \(APD < 5 mm\)\. ` +
          'It has never seen these patients',
      ),
    );
    // a model whose lvseg.json lists those patients among its training data is not called unseen
    const seen = {
      ...testModelMetadata('1/255', 128),
      training: { data: { trainPatients: ['SC-HF-I-01', 'SC-HF-I-05'] } },
    };
    writeFileSync(join(models, 'lv-sunnybrook', 'lvseg.json'), JSON.stringify(seen));
    const again = await demoWithModels(['--out', `${out}-2`, '--epochs', '1'], models);
    expect(again.stdout).toMatch(
      /contours good \(APD < 5 mm\)\. It was trained on these patients too, so this is not a measure of unseen ones/,
    );
    expect(again.stdout).not.toMatch(/It has never seen these patients/);
  });

  it('with --data synthetic trains on phantoms and reaches validation Dice > 0.7', async () => {
    const out = join(tempDir('lvseg-demo-'), 'run');
    const r = await runCli(['demo', '--data', 'synthetic', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of [
      'config.json',
      'history.json',
      'model/model.json',
      'best/model.json',
      'evaluation.json',
      'report.html',
      'panels/epoch-015.png',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const dice = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')).dice;
    expect(dice).toBeGreaterThan(0.7);
    expect(r.stdout).toMatch(/Validation \(12 images\): Dice 0\.\d{4}/);
  });
});
