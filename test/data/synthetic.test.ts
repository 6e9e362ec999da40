import { describe, expect, it } from 'vitest';
import { generatePhantom, openSource, readAllSamples, PHANTOM_SLICES_PER_PATIENT } from '../../src/data/index.js';

describe('generatePhantom', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generatePhantom(7, 64);
    const b = generatePhantom(7, 64);
    const c = generatePhantom(8, 64);
    expect(Array.from(a.image)).toEqual(Array.from(b.image));
    expect(Array.from(a.label)).toEqual(Array.from(b.label));
    expect(Array.from(a.image)).not.toEqual(Array.from(c.image));
  });

  it('has integer values 0-255, a bright LV whose fraction is like the real data', () => {
    let fracSum = 0;
    for (let seed = 0; seed < 8; seed++) {
      const p = generatePhantom(seed);
      expect(p.height).toBe(256);
      expect(p.image.length).toBe(256 * 256);
      let lv = 0,
        lvSum = 0,
        otherSum = 0,
        bad = 0;
      for (let i = 0; i < p.image.length; i++) {
        const v = p.image[i]!;
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) bad++;
        if (p.label[i]) {
          lv++;
          lvSum += v;
        } else otherSum += v;
      }
      expect(bad).toBe(0);
      expect(lv).toBeGreaterThan(50);
      // the blood pool is much brighter than the rest of the image on average
      expect(lvSum / lv).toBeGreaterThan(2 * (otherSum / (p.image.length - lv)));
      fracSum += lv / p.image.length;
    }
    const meanFrac = fracSum / 8;
    expect(meanFrac).toBeGreaterThan(0.005);
    expect(meanFrac).toBeLessThan(0.05);
  });

  it('groups consecutive seeds into pseudo-patients', () => {
    expect(generatePhantom(0, 32).patient).toBe(generatePhantom(PHANTOM_SLICES_PER_PATIENT - 1, 32).patient);
    expect(generatePhantom(0, 32).patient).not.toBe(generatePhantom(PHANTOM_SLICES_PER_PATIENT, 32).patient);
  });
});

describe('openSource synthetic', () => {
  it('yields N phantoms from SEED at SIZE, scaled as asked', async () => {
    const src = await openSource('synthetic:3:10:32', { scale: 1 / 255 });
    expect(src.kind).toBe('synthetic');
    const samples = await readAllSamples(src);
    expect(samples.map((s) => s.name)).toEqual([
      'synthetic-p001/slice-0010',
      'synthetic-p001/slice-0011',
      'synthetic-p001/slice-0012',
    ]);
    expect(samples[0]!.width).toBe(32);
    const raw = generatePhantom(10, 32).image;
    expect(samples[0]!.image[100]).toBeCloseTo(raw[100]! / 255, 6);
  });

  it('rejects a malformed spec and a missing path with what was expected', async () => {
    await expect(openSource('synthetic:abc')).rejects.toThrow(/synthetic:N\[:SEED\]\[:SIZE\]/);
    await expect(openSource('/nonexistent/x.tfrecords')).rejects.toThrow(/does not exist; expected a TFRecord file/);
  });
});

describe('openSource with several sources', () => {
  it('reads comma-joined sources one after another, each scaled as asked', async () => {
    const src = await openSource('synthetic:2:0:32, synthetic:2:20:32', { scale: 1 / 255 });
    const samples = await readAllSamples(src);
    expect(samples.map((s) => s.name)).toEqual([
      'synthetic-p000/slice-0000',
      'synthetic-p000/slice-0001',
      'synthetic-p002/slice-0020',
      'synthetic-p002/slice-0021',
    ]);
    expect(samples[2]!.image[100]).toBeCloseTo(generatePhantom(20, 32).image[100]! / 255, 6);
    expect(src.description).toMatch(/seeds 0\.\.1 \+ .*seeds 20\.\.21/);
  });

  it('rejects a slice listed twice and an empty part, naming them', async () => {
    await expect(readAllSamples(await openSource('synthetic:3:0:32,synthetic:2:2:32'))).rejects.toThrow(
      /sample 'synthetic-p000\/slice-0002' is in both .*seeds 0\.\.2.* and .*seeds 2\.\.3/,
    );
    await expect(openSource('synthetic:2,')).rejects.toThrow(/has an empty part/);
    await expect(openSource('synthetic:2,/nonexistent/x')).rejects.toThrow(/source '\/nonexistent\/x' does not exist/);
  });
});
