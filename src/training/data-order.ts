import { createRng } from '../data/random.js';

/**
 * The order training samples are drawn in: the lab's `dataset.shuffle(buffer).repeat()`, as an
 * infinite stream of sample indices. Each pass over the data gets its own generator from (seed, pass),
 * so a position in the stream is all a checkpoint needs to resume the exact same order.
 */
export class SampleOrder {
  private passOrder: number[] = [];
  private pass = -1;

  constructor(
    readonly count: number,
    readonly shuffleBuffer: number,
    readonly seed: number,
    /** Samples drawn so far (the stream position). */
    public position = 0,
  ) {}

  /** The next `n` sample indices. */
  take(n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const pass = Math.floor(this.position / this.count);
      if (pass !== this.pass) {
        this.passOrder = shuffleBufferOrder(this.count, this.shuffleBuffer, this.seed * 7919 + pass);
        this.pass = pass;
      }
      out.push(this.passOrder[this.position % this.count]!);
      this.position++;
    }
    return out;
  }
}

/**
 * One pass of tf.data's shuffle with a bounded buffer: fill the buffer with the first `buffer` items,
 * then repeatedly emit a random slot and refill it with the next item. Buffer 1 keeps the order;
 * a buffer as large as the data is a full shuffle.
 */
export function shuffleBufferOrder(count: number, buffer: number, seed: number): number[] {
  const rng = createRng(seed);
  const size = Math.max(1, Math.min(buffer, count));
  const slots: number[] = [];
  let next = 0;
  while (next < size) slots.push(next++);
  const out: number[] = [];
  while (slots.length > 0) {
    const k = rng.int(slots.length);
    out.push(slots[k]!);
    if (next < count) slots[k] = next++;
    else slots.splice(k, 1);
  }
  return out;
}
