import { describe, expect, test } from 'vitest';

// Without the addon (LVSEG_NO_NATIVE=1 stands in for a machine without oneDNN): auto falls back to
// wasm with a one-line notice, and an explicit onednn is a BackendError saying how to get it.
describe('backend selection without the native addon', () => {
  test('auto falls back to wasm with a notice naming the reason and the fix', async () => {
    process.env.LVSEG_NO_NATIVE = '1';
    const { selectBackend } = await import('../../src/backends/select.js');
    const selected = await selectBackend('auto');
    expect(selected.name).toBe('wasm');
    expect(selected.notice).toBe(
      "training on wasm: LVSEG_NO_NATIVE=1 is set; for the fast native backend run 'apt-get install libdnnl-dev g++ " +
        "make && npm run setup'",
    );
  });

  test('--backend onednn is a BackendError with the same advice', async () => {
    process.env.LVSEG_NO_NATIVE = '1';
    const { selectBackend } = await import('../../src/backends/select.js');
    const { BackendError } = await import('../../src/errors.js');
    await expect(selectBackend('onednn')).rejects.toThrow(BackendError);
    await expect(selectBackend('onednn')).rejects.toThrow(
      new RegExp(
        String.raw`--backend onednn: LVSEG_NO_NATIVE=1 is set; run 'apt-get install libdnnl-dev g\+\+ make &` +
          "& npm run setup', or use --backend wasm",
      ),
    );
  });

  test('cpu stays selectable', async () => {
    const { selectBackend } = await import('../../src/backends/select.js');
    expect(await selectBackend('cpu')).toEqual({ name: 'cpu' });
  });
});
