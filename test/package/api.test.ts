import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';

/**
 * What `import … from 'lvseg'` offers, reviewed: adding or removing a name is an API change, made here on
 * purpose (and in CHANGELOG.md), never by accident through a re-export.
 */
const PUBLIC_NAMES = [
  // workflows
  'train',
  'resume',
  'evaluate',
  'predict',
  'loadModel',
  'readRunConfig',
  'runSearch',
  'readSearchSpace',
  'runCrossValidation',
  'seriesVolumes',
  'modelSegmenter',
  // errors
  'LvsegError',
  'DataError',
  'ModelSpecError',
  'CheckpointError',
  'BackendError',
  'UsageError',
  'TrainingError',
  'OutputError',
  'QueueError',
  // building blocks
  'selectBackend',
  'BACKEND_NAMES',
  'openSource',
  'readAllSamples',
  'generatePhantom',
  'parseScaling',
  'applyScaling',
  'parsePixelSpacing',
  'readTfRecords',
  'writeTfRecords',
  'decodeLabExample',
  'encodeLabExample',
  'readDicomSlice',
  'splitSamples',
  'buildModel',
  'MODEL_NAMES',
  'PRESETS',
  'saveModel',
  'bundledModelNames',
  'readModelMetadata',
  'summarizeModel',
  'formatSummary',
  'fitModel',
  'resolveTrainConfig',
  'TRAIN_DEFAULTS',
  'getLoss',
  'LOSS_NAMES',
  'METRIC_NAMES',
  'diceCoefficient',
  'iou',
  'hausdorff95',
  'averagePerpendicularDistance',
  'extractContour',
  'measureMask',
  'computeVolumes',
  'evaluateModel',
  'renderCurvesSvg',
  'renderModelDiagram',
  'writeRunReport',
  'VERSION',
];

describe("the package's API", () => {
  it("Object.keys(await import('lvseg')) is the reviewed list", async () => {
    const api = await import('../../src/index.js');
    expect(Object.keys(api).sort()).toEqual([...PUBLIC_NAMES].sort());
    expect(PUBLIC_NAMES.length).toBeLessThanOrEqual(60);
  });

  it('documents each name in docs/api with its doc comment', () => {
    const sections = (page: string): Map<string, string> => {
      const text = readFileSync(join(PACKAGE_ROOT, 'docs', 'api', page), 'utf8');
      return new Map(
        text
          .split(/^### /m)
          .slice(1)
          .map((s) => [s.split('\n')[0]!.replace(/\\_/g, '_').replace(/\(\)$/, ''), s]),
      );
    };
    const root = sections('lvseg.md');
    const browser = sections('lvseg.browser.md');
    for (const name of PUBLIC_NAMES) {
      let section = root.get(name);
      expect(section, `docs/api/lvseg.md has no section for ${name}: run npm run docs:api`).toBeDefined();
      // a name lvseg/browser exports too is documented there, and lvseg.md links to it
      if (section!.startsWith(`${name}\n\nRe-exports [${name}](lvseg.browser.md#`)) section = browser.get(name);
      // typedoc writes the signature, "Defined in: …", then the doc comment's text before the next heading
      const prose = (section?.split(/^Defined in:.*$/m)[1] ?? '').split(/^#/m)[0]!.trim();
      expect(prose, `${name} has no doc comment in docs/api`).not.toBe('');
    }
  });
});
