import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTrainPatients, resolveModelSettings } from '../../src/inference/run-config.js';
import { readModelMetadata } from '../../src/models/io.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { runTraining } from '../../src/workflows/train-run.js';
import { tempDir } from '../temp.js';

describe('a training run with the recipe options', () => {
  it('trains on augmented ROI crops, lists the transforms in config.json and writes an lvseg.json', async () => {
    const out = join(tempDir('lvseg-recipe-run-'), 'run');
    const config = resolveTrainConfig(
      {
        preset: 'sunnybrook-unet',
        train: 'synthetic:6:1:64',
        val: 'synthetic:3:50:64',
        epochs: 1,
        backend: 'cpu',
        out,
        tensorboard: false,
      },
      {
        unet: { depth: 2, baseFilters: 4, batchNorm: true, batchNormMomentum: 0.9 },
        preprocessing: {
          spacing: null,
          roi: { method: 'centre-crop', size: 32 },
          intensity: { method: 'percentile-zscore', low: 1, high: 99 },
        },
      },
    );
    const warnings: string[] = [];
    const result = await runTraining(config, undefined, {
      progress: { stream: { write: () => true } },
      warn: (line) => warnings.push(line),
    });
    expect(result.model.inputs[0]!.shape).toEqual([null, 32, 32, 1]);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    // the preset asks for bfloat16 convolutions, which the cpu backend does not have: float32, said once
    expect(config.precision).toBe('bfloat16');
    expect(saved.precision).toBe('float32');
    expect(warnings.filter((w) => w.includes('bfloat16'))).toEqual([
      '--precision bfloat16: the cpu backend computes in float32; training in float32',
    ]);
    expect(saved.augment.map((t: { type: string }) => t.type)).toEqual([
      'affine',
      'gamma',
      'contrast',
      'noise',
      'blur',
    ]);
    expect(saved.inputSize).toBe(32);
    const metadata = readModelMetadata(join(out, 'model', 'model.json'))!;
    expect(metadata.input).toEqual({ height: 32, width: 32, channels: 1 });
    expect(metadata.inference.tta).toBe('none');
    // the seeds 1-6 all belong to phantom patient p000 (seeds 0-7); the run and its model both say so, for evaluate's
    // check
    expect(saved.trainPatients).toEqual(['synthetic-p000']);
    expect((metadata.training!.data as { trainPatients: string[] }).trainPatients).toEqual(['synthetic-p000']);
    expect(readTrainPatients(out)).toEqual(['synthetic-p000']);
    expect(readTrainPatients(join(out, 'model'))).toEqual(['synthetic-p000']);
    // the final evaluation ran the pipeline on the full 64x64 validation images
    const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
    expect(evaluation.perImage).toHaveLength(3);
    // best/ has no lvseg.json of its own: the run's config.json gives the same pipeline
    expect(existsSync(join(out, 'best', 'lvseg.json'))).toBe(false);
    expect(resolveModelSettings(out).segment).toEqual({
      preprocessing: metadata.preprocessing,
      inference: metadata.inference,
    });
    expect(resolveModelSettings(out, { tta: false }).segment!.inference.tta).toBe('none');
    // the preset's masks include the contour's pixels: the model and the run both say so, for lvseg volumes
    expect(metadata.labels).toBe('contour-included');
    expect(resolveModelSettings(out).labels).toBe('contour-included');
    expect(resolveModelSettings(join(out, 'model')).labels).toBe('contour-included');
  }, 600_000);
});
