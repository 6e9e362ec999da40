/**
 * Issue 27's fault cases, replayed as a careful and as a hostile user would: each gives the right result or
 * one line and exit 1, with nothing of the user's lost and nothing left behind.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { maskedCrc32c } from '../../src/data/crc32c.js';
import { openSource } from '../../src/data/source.js';
import { readTfRecords } from '../../src/data/tfrecord.js';
import { encodePngGrey } from '../../src/imaging/png.js';
import { saveModel } from '../../src/models/io.js';
import { writePhantomCine } from '../data/cine-phantom.js';
import { thresholdModel } from '../evaluation/tiny-model.js';
import { tempDir } from '../temp.js';
import { captureCli } from './run-cli.js';

let base: string;
let model: string;
let cine: string;

beforeAll(async () => {
  base = tempDir('lvseg-reliability-');
  await selectBackend('cpu');
  model = join(base, 'model');
  await saveModel(thresholdModel(null, null), model);
  cine = writePhantomCine(join(base, 'cine')).dir;
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Exit 1 and one line on stderr, `lvseg: …` matching `message`, with no control characters in it. */
function expectOneLine(r: { code: number; err: string }, message: RegExp): void {
  expect(r.code, r.err).toBe(1);
  const lines = r.err.trimEnd().split('\n');
  expect(lines.at(-1)).toMatch(/^lvseg: /);
  expect(lines.at(-1)).toMatch(message);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a message must carry none of them
  expect(lines.at(-1)).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
}

/** A copy of the saved model whose model.json or files `edit` changes. */
// biome-ignore lint/suspicious/noExplicitAny: the tests break a model.json's fields on purpose
function modelCopy(name: string, edit: (dir: string, json: Record<string, any>) => void): string {
  const dir = join(base, name);
  cpSync(model, dir, { recursive: true });
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  edit(dir, json);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  return dir;
}

const predict = (modelRef: string, out: string, ...extra: string[]) =>
  captureCli(['predict', modelRef, 'synthetic:1:1:32', '--out', out, '--backend', 'cpu', '--scale', 'none', ...extra]);

describe('1. lvseg volumes --out', () => {
  it(
    "refuses an earlier output holding the user's file and keeps it; replaces its own output only with " +
      '--overwrite',
    async () => {
      const out = join(base, 'vol');
      const volumes = (...extra: string[]) =>
        captureCli([
          'volumes',
          cine,
          '--model',
          model,
          '--scale',
          'minmax',
          '--backend',
          'cpu',
          '--out',
          out,
          ...extra,
        ]);
      const first = await volumes();
      expect(first.code, first.err).toBe(0);
      const firstRecord = readFileSync(join(out, 'volumes.json'), 'utf8');
      writeFileSync(join(out, 'notes.txt'), 'mine');
      expectOneLine(
        await volumes('--overwrite'),
        /--out .*vol holds files 'lvseg volumes' did not write \(notes\.txt\); pass an empty or new folder/,
      );
      expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
      expect(readFileSync(join(out, 'volumes.json'), 'utf8')).toBe(firstRecord);
      rmSync(join(out, 'notes.txt'));
      expectOneLine(await volumes(), /already holds the output of an earlier 'lvseg volumes'; pass --overwrite/);
      expect((await volumes('--overwrite')).code).toBe(0);
      expect(readdirSync(out).sort()).toEqual([
        'areas.csv',
        'masks-ed-es.png',
        'phases.csv',
        'volume-curve.png',
        'volume-curve.svg',
        'volumes.html',
        'volumes.json',
      ]);
      expect(readdirSync(base).filter((e) => e.includes('lvseg-'))).toEqual([]);
    },
  );
});

describe('2. lvseg web build --out', () => {
  it("refuses a folder holding the user's index.html, and replaces its own site only with --overwrite", async () => {
    const site = join(base, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<p>my page</p>');
    expectOneLine(
      await captureCli(['web', 'build', '--out', site]),
      /--out .*site holds files 'lvseg web build' did not write \(index\.html\)/,
    );
    expect(readFileSync(join(site, 'index.html'), 'utf8')).toBe('<p>my page</p>');
    expect(readdirSync(site)).toEqual(['index.html']);

    const fresh = join(base, 'site2');
    expect((await captureCli(['web', 'build', '--out', fresh])).code).toBe(0);
    expect(readdirSync(fresh)).toEqual(expect.arrayContaining(['index.html', '_headers', 'segment', 'lab', 'models']));
    expectOneLine(
      await captureCli(['web', 'build', '--out', fresh]),
      /already holds the output of an earlier 'lvseg web build'; pass --overwrite/,
    );
    expect((await captureCli(['web', 'build', '--out', fresh, '--overwrite'])).code).toBe(0);
    expect(readdirSync(base).filter((e) => e.includes('lvseg-'))).toEqual([]);
  });

  it('a path under a file fails in one line and writes nothing', async () => {
    writeFileSync(join(base, 'plain'), 'x');
    expectOneLine(
      await captureCli(['web', 'build', '--out', join(base, 'plain', 'site')]),
      /cannot write --out .*plain is a file, not a folder/,
    );
    expect(readFileSync(join(base, 'plain'), 'utf8')).toBe('x');
  });
});

describe('search and cv --out', () => {
  it("refuse a folder holding the user's files instead of growing a study among them", async () => {
    const out = join(base, 'study');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const space = join(base, 'space.json');
    writeFileSync(space, JSON.stringify({ lr: [0.01] }));
    expectOneLine(
      await captureCli(['search', space, '--train', 'synthetic:4:1:32', '--out', out]),
      /--out .*study holds files 'lvseg search' did not write \(notes\.txt\); pass an empty or new folder/,
    );
    expect(readdirSync(out)).toEqual(['notes.txt']);
  });
});

describe('6. a gzipped TFRecord declaring a huge record', () => {
  it('is refused from its header, before its bytes are gathered', async () => {
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setUint32(0, 2 ** 30 - 16, true);
    view.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true);
    const file = join(base, 'huge.tfrecords.gz');
    writeFileSync(file, gzipSync(Buffer.concat([header, Buffer.alloc(1 << 20)])));
    const read = async () => {
      for await (const _ of readTfRecords(file)) void _;
    };
    await expect(read()).rejects.toThrow(
      `${file}: record 0 at byte 0 (offset in the decompressed stream): implausible length ${2 ** 30 - 16} bytes, ` +
        `more than one record may hold (256 MB; corrupt file)`,
    );
  });
});

describe('8. a model that lvseg cannot run', () => {
  it('a model.json whose input has 3 channels (weights for 1) names the file', async () => {
    const dir = modelCopy('rgb', (_, json) => {
      const topology = json.modelTopology.model_config ?? json.modelTopology;
      topology.config.layers[0].config.batch_input_shape = [null, null, null, 3];
    });
    expectOneLine(
      await predict(dir, join(base, 'p-rgb')),
      new RegExp(
        `${join(dir, 'model.json')}: not a model lvseg can load: .*Shape mismatch.*; are model.json and its weights ` +
          `from the same saved model\\?`,
      ),
    );
  });

  it('a model with a 1-D input names the file and the input lvseg needs', async () => {
    const dir = join(base, 'flat');
    const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [16], units: 2 })] });
    await saveModel(m, dir);
    m.dispose();
    expectOneLine(
      await predict(dir, join(base, 'p-flat')),
      new RegExp(
        `${join(dir, 'model.json')}: the model's input is \\[null,16\\]; lvseg's models take one grey image, ` +
          `\\[batch, height, width, 1\\]`,
      ),
    );
  });

  it.each([
    ['negative', [-1, 1, 1, 2]],
    ['huge', [65536, 65536, 1, 2]],
  ])('a manifest with a %s shape names the file and the weight', async (name, shape) => {
    const dir = modelCopy(`shape-${name}`, (_, json) => {
      json.weightsManifest[0].weights[0].shape = shape;
    });
    expectOneLine(
      await predict(dir, join(base, `p-${name}`)),
      new RegExp(
        `${join(dir, 'model.json')}: weight '.*' has the shape \\[${shape.join(',')}\\], not a list of at most \\d+ ` +
          `elements; the manifest is corrupt`,
      ),
    );
  });

  it('weights.bin being a folder is named as such', async () => {
    const dir = modelCopy('bin-dir', (d) => {
      rmSync(join(d, 'weights.bin'));
      mkdirSync(join(d, 'weights.bin'));
    });
    expectOneLine(
      await predict(dir, join(base, 'p-bin')),
      new RegExp(`${join(dir, 'weights.bin')}: weights file named by .*model\\.json is a folder, not a file`),
    );
  });
});

describe('9. synthetic sources', () => {
  it('refuse a count and size beyond what lvseg generates, saying the largest allowed', async () => {
    await expect(openSource('synthetic:99999999:1:64')).rejects.toThrow(
      "source 'synthetic:99999999:1:64': 99999999 phantoms of 64x64 is more than lvseg generates (128 M pixels, " +
        'about 1 GB cached); use at most synthetic:32768:1:64',
    );
    await expect(openSource('synthetic:2:1:99999')).rejects.toThrow(
      "source 'synthetic:2:1:99999': phantom size 99999 is more than 2048 pixels a side",
    );
    expect(
      (await captureCli(['data', 'synth', '--count', '1', '--size', '99999', '--out', join(base, 'big')])).err,
    ).toMatch(/--size takes a whole number from 16 to 2048, not 99999/);
  });
});

describe('10. messages that say what is wrong', () => {
  it('volumes on a file says it needs the folder', async () => {
    const file = join(cine, readdirSync(cine).find((f) => f.endsWith('.dcm'))!);
    expectOneLine(
      await captureCli(['volumes', file, '--model', model]),
      new RegExp(
        String.raw`\.dcm is a file, not a folder: volumes reads a whole cine series; pass the folder that ho` +
          "lds the series' DICOM files",
      ),
    );
  });

  it('serve on a file says it is a file', async () => {
    const png = join(base, 'slice.png');
    writeFileSync(png, encodePngGrey(4, 4, new Uint8Array(16)));
    expectOneLine(await captureCli(['serve', png]), /slice\.png is a file, not a runs folder/);
  });

  it('a PNG given as the model is named as a PNG, without its bytes in the line', async () => {
    const png = join(base, 'model.png');
    writeFileSync(png, encodePngGrey(4, 4, new Uint8Array(16)));
    expectOneLine(
      await predict(png, join(base, 'p-png')),
      new RegExp(
        String.raw`model\.png: not a TF\.js model\.json: it holds a PNG image; pass a model\.json, a run dir` +
          "ectory or a bundled model's name",
      ),
    );
  });

  it("a truncated PNG input is called truncated, not in pngjs' words", async () => {
    const png = encodePngGrey(
      32,
      32,
      new Uint8Array(32 * 32).map((_, i) => i % 251),
    );
    const cut = join(base, 'cut.png');
    writeFileSync(cut, png.subarray(0, png.length - 30));
    const r = await captureCli(['predict', model, cut, '--out', join(base, 'p-cut'), '--backend', 'cpu']);
    expectOneLine(
      r,
      new RegExp(
        String.raw`cut\.png: not a readable PNG: truncated \(its \d+ bytes end before the image data does\);` +
          String.raw` is the file complete\?`,
      ),
    );
    expect(r.err).not.toMatch(/waitng/);
  });
});

describe('11. leftovers of killed runs', () => {
  it("a later predict removes the hidden folder a killed one left, and keeps a running one's", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = join(base, `.pred.lvseg-tmp-${dead}-0`);
    const live = join(base, `.pred.lvseg-tmp-${process.pid}-999`);
    mkdirSync(stale);
    writeFileSync(join(stale, 'x.mask.png'), 'half');
    mkdirSync(live);
    expect((await predict(model, join(base, 'pred'))).code).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(live, { recursive: true });
  });
});

describe('12. a weights.bin linked from outside the model folder', () => {
  it('is refused, naming the link and the fix; a link inside the folder is read', async () => {
    const outside = join(base, 'elsewhere');
    mkdirSync(outside);
    const dir = modelCopy('linked', (d) => {
      renameSync(join(d, 'weights.bin'), join(outside, 'weights.bin'));
      symlinkSync(join(outside, 'weights.bin'), join(d, 'weights.bin'));
    });
    expectOneLine(
      await predict(dir, join(base, 'p-link')),
      new RegExp(
        `${join(dir, 'weights.bin')}: a link to a file outside the model's folder .*; lvseg reads weights only from ` +
          `inside the folder: copy the file there`,
      ),
    );
    const inside = modelCopy('linked-inside', (d) => {
      renameSync(join(d, 'weights.bin'), join(d, 'real.bin'));
      symlinkSync('real.bin', join(d, 'weights.bin'));
    });
    expect((await predict(inside, join(base, 'p-inside'))).code).toBe(0);
  });
});
