import { createRng } from '../data/random.js';

/**
 * Runs `fn` with Math.random replaced by a seeded generator. TF.js initialisers draw an unseeded
 * random seed from Math.random, so this is what makes `--seed` reproduce a model's initial weights.
 */
export function withSeededRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  const rng = createRng(seed);
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
