import { describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/training/config.js';
import { parseSearchSpace, sampleTrials, setPath, trialConfig } from '../../src/workflows/space.js';
import { halvingRungs, rankTrials, resultsCsv, type TrialRecord } from '../../src/workflows/search.js';

describe('search spaces', () => {
  it('takes a plain object of option -> choices as a grid, the last parameter varying fastest', () => {
    const space = parseSearchSpace({ lr: [0.001, 0.0003], batchSize: [1, 4] });
    expect(space.method).toBe('grid');
    expect(sampleTrials(space)).toEqual([
      { lr: 0.001, batchSize: 1 },
      { lr: 0.001, batchSize: 4 },
      { lr: 0.0003, batchSize: 1 },
      { lr: 0.0003, batchSize: 4 },
    ]);
    expect(sampleTrials(space, 3)).toHaveLength(3);
  });

  it('enumerates int ranges with a step and float ranges with steps on a log scale', () => {
    const space = parseSearchSpace({
      params: { epochs: { int: [2, 6], step: 2 }, lr: { float: [0.0001, 0.01], log: true, steps: 3 } },
    });
    expect(sampleTrials(space).map((t) => [t.epochs, t.lr])).toEqual([
      [2, 0.0001],
      [2, 0.001],
      [2, 0.01],
      [4, 0.0001],
      [4, 0.001],
      [4, 0.01],
      [6, 0.0001],
      [6, 0.001],
      [6, 0.01],
    ]);
  });

  it('draws random trials reproducibly for a seed, inside the ranges', () => {
    const raw = {
      method: 'random',
      trials: 20,
      seed: 5,
      params: { lr: { float: [0.0001, 0.01], log: true }, batchSize: { int: [1, 8] }, optimizer: ['adam', 'sgd'] },
    };
    const a = sampleTrials(parseSearchSpace(raw));
    expect(a).toEqual(sampleTrials(parseSearchSpace(raw)));
    expect(a).not.toEqual(sampleTrials(parseSearchSpace({ ...raw, seed: 6 })));
    for (const t of a) {
      expect(t.lr).toBeGreaterThanOrEqual(0.0001);
      expect(t.lr).toBeLessThanOrEqual(0.01);
      expect(Number.isInteger(t.batchSize)).toBe(true);
      expect(['adam', 'sgd']).toContain(t.optimizer);
    }
    // log scale: about half the draws below the geometric middle 0.001
    expect(a.filter((t) => (t.lr as number) < 0.001).length).toBeGreaterThan(4);
  });

  it('rejects unknown parameters and values a training option would reject, naming them', () => {
    expect(() => parseSearchSpace({ lrate: [1] }, 's.json')).toThrow("s.json: 'lrate' is neither a training option");
    expect(() => parseSearchSpace({ batchSize: [1, 0] }, 's.json')).toThrow(
      "s.json: 'batchSize' must be a positive integer, got 0",
    );
    expect(() => parseSearchSpace({ optimizer: ['adam', 'rmsprop'] }, 's.json')).toThrow(
      "'optimizer' must be adam or sgd",
    );
    expect(() => parseSearchSpace({ params: { lr: { float: [0, 1], log: true } } }, 's.json')).toThrow('log scale');
    expect(() => parseSearchSpace({ out: ['a'] }, 's.json')).toThrow("'out' is set by the search itself");
    expect(() => sampleTrials(parseSearchSpace({ params: { lr: { float: [0.1, 1] } } }))).toThrow('needs "steps"');
  });

  it('sets spec. paths and groups in the model spec, which travels with the trial', () => {
    const base = resolveTrainConfig({ train: 'synthetic:8', modelSpec: 'test/training/tiny-model.json' });
    const space = parseSearchSpace({
      params: {
        'spec.layers.0.args.filters': [8, 16],
        deeper: { group: [{ 'spec.layers.1.args.kernelSize': 1 }, { 'spec.layers.1.args.kernelSize': 5, lr: 0.01 }] },
      },
    });
    const trials = sampleTrials(space);
    expect(trials).toHaveLength(4);
    const config = trialConfig(base, trials[3]!, 'space.json');
    const spec = config.modelSpecContent as { layers: { args: Record<string, unknown> }[] };
    expect(spec.layers[0]!.args.filters).toBe(16);
    expect(spec.layers[1]!.args.kernelSize).toBe(5);
    expect(config.lr).toBe(0.01);
    expect(() => setPath({ layers: [] }, 'layers.2.args.filters', 1, 'x')).toThrow(
      "spec.layers.2.args.filters: '2' is not an index of a list of 0",
    );
    expect(() => trialConfig(base, { 'spec.layers.0.args.filters': -1 }, 'space.json')).toThrow('filters');
  });

  it('halves in rungs of eta up to the full epochs, and ranks done, then pruned, then failed trials', () => {
    expect(halvingRungs(9, 1, 3)).toEqual([1, 3, 9]);
    expect(halvingRungs(10, 2, 2)).toEqual([2, 4, 8, 10]);
    const record = (trial: number, status: TrialRecord['status'], dice: number | null): TrialRecord => ({
      trial,
      name: `trial-${trial}`,
      status,
      rank: null,
      params: { lr: trial },
      config: {} as TrialRecord['config'],
      metrics: { dice, meanDice: null, iou: null, hd95: null, bestValDice: dice, bestEpoch: 1, epochs: 1, seconds: 1 },
      host: 'h',
      runDir: null,
      dir: null,
    });
    const ranked = rankTrials([
      record(1, 'failed', null),
      record(2, 'pruned', 0.9),
      record(3, 'done', 0.5),
      record(4, 'done', 0.7),
    ]);
    expect(ranked.map((r) => [r.trial, r.rank])).toEqual([
      [4, 1],
      [3, 2],
      [2, 3],
      [1, null],
    ]);
    expect(resultsCsv(ranked).split('\n')[0]).toBe(
      'rank,trial,status,lr,dice,meanDice,iou,hd95,bestValDice,bestEpoch,epochs,seconds,host,runDir,error',
    );
  });
});
