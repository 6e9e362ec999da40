import { describe, expect, it } from 'vitest';
import { mean, median } from '../../src/imaging/statistics.js';

describe('mean and median', () => {
  it('average a list, NaN when it is empty', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(mean([])).toBeNaN();
    expect(mean([1, NaN])).toBeNaN();
  });

  it('take the middle value, or the mean of the middle two, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
