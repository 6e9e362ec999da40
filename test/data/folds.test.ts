import { describe, expect, it } from 'vitest';
import { holdOutPatients, patientFolds } from '../../src/data/split.js';

const samples = ['a', 'a', 'a', 'b', 'b', 'c', 'd', 'd', 'e', 'f', 'f', 'f', 'f'].map((patient, i) => ({ patient, i }));

describe('cross-validation folds by patient', () => {
  it('puts every patient in exactly one fold, balanced by images, the same for a seed', () => {
    const folds = patientFolds(samples, 3, 1);
    expect(folds.flat().sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    const sizes = folds.map((f) => samples.filter((s) => f.includes(s.patient)).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(2);
    expect(patientFolds(samples, 3, 1)).toEqual(folds);
    expect(() => patientFolds(samples, 7, 1)).toThrow('cannot make 7 folds of 6 patient(s)');
  });

  it('holds out exactly the fold patients, no patient on both sides', () => {
    const { train, val } = holdOutPatients(samples, ['a', 'e']);
    expect(val.map((s) => s.i)).toEqual([0, 1, 2, 8]);
    expect(train.some((s) => s.patient === 'a' || s.patient === 'e')).toBe(false);
    expect(train.length + val.length).toBe(samples.length);
    expect(() => holdOutPatients(samples, ['z'])).toThrow('validation patient(s) z have no samples');
  });
});
