import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { isLoopback, startServer } from '../server/app.js';
import { withOutputFolder } from '../io/output.js';
import { staticSiteEntries, writeStaticSegmentPage } from '../server/static-site.js';
import type { Command } from './command.js';

const serve: Command = {
  name: 'serve',
  usage: 'serve [RUNS_DIR] [--port N] [--host H]',
  summary: 'a local web app: runs with live curves, comparisons, and the in-browser segmentation and lab pages',
  description:
    'Serves the run directories under RUNS_DIR (default: runs): their configs, final metrics and reports, the curves ' +
    'of a run training now as they grow, runs side by side, and at /segment the segmentation page, which runs a ' +
    'model ' +
    'on your DICOM/PNG/JPEG images inside the browser (nothing is uploaded), and at /lab the lab page, which trains ' +
    'a ' +
    "network on the lab's TFRecords or a PNG dataset in the browser (WebGPU where there is one). Read-only; binds " +
    '127.0.0.1 unless --host ' +
    'says otherwise. Stop it with Ctrl-C.',
  options: [
    { name: 'port', type: 'number', value: 'N', description: 'TCP port (0: any free one)', default: 8100 },
    {
      name: 'host',
      type: 'string',
      value: 'H',
      description: 'interface to listen on; another than 127.0.0.1 exposes your runs to the network',
      default: '127.0.0.1',
    },
  ],
  async run(args) {
    const runsDir = resolve(args.positionals[0] ?? 'runs');
    if (args.positionals.length > 1)
      throw new UsageError('serve takes one RUNS_DIR; put the runs to show in one folder');
    if (!existsSync(runsDir)) {
      throw new UsageError(
        `runs folder ${runsDir} not found; pass the folder holding your run directories ('lvseg serve runs')`,
      );
    }
    if (!statSync(runsDir).isDirectory()) {
      throw new UsageError(
        `${runsDir} is a file, not a runs folder: serve shows run directories (open images in the page it serves at ` +
          `/segment/); pass the folder holding your runs ('lvseg serve runs')`,
      );
    }
    const port = args.options.port as number;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port takes a port number 0-65535, not ${port}`);
    const host = String(args.options.host);
    if (!isLoopback(host)) {
      console.error(`warning: listening on ${host}: anyone who can reach this machine can read the runs in ${runsDir}`);
    }
    const { url, app } = await startServer({ runsDir, port, host });
    console.log(
      `lvseg serve: ${url} (runs in ${runsDir}); segmentation page: ${url}segment/; lab (training in the browser): ` +
        `${url}lab/`,
    );
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void app.close().then(done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};

const webBuild: Command = {
  name: 'web build',
  usage: 'web build --out DIR',
  summary:
    'write the segmentation page (DIR/segment/) and the lab page (DIR/lab/) as a static folder that any static file ' +
    'server can serve',
  description:
    'Copies the in-browser segmentation page (HTML, script, worker, tfjs wasm binaries) to DIR/segment/ with a ' +
    'models.json ' +
    'listing the models bundled with lvseg (in DIR/models/), and the lab page (training in the browser) to DIR/lab/: ' +
    'the paths ' +
    'lvseg serve uses. Serve DIR with any static file server (e.g. python3 -m http.server) and open it; a server ' +
    'that sends ' +
    "'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' (DIR/_headers says " +
    'so for ' +
    'Netlify and Cloudflare Pages) lets the wasm backend run with threads.',
  options: [
    {
      name: 'out',
      type: 'string',
      value: 'DIR',
      description: 'folder to write (created; it appears once the whole site is written)',
      default: '',
    },
    {
      name: 'overwrite',
      type: 'boolean',
      description: 'replace the site of an earlier web build in --out',
      default: false,
    },
  ],
  async run(args) {
    const out = String(args.options.out);
    if (!out) throw new UsageError("web build needs --out DIR: 'lvseg web build --out site'");
    const output = {
      flag: '--out',
      command: 'lvseg web build',
      overwrite: args.options.overwrite as boolean,
      ownEntries: staticSiteEntries,
    };
    const models = await withOutputFolder(resolve(out), output, async (tmp) => writeStaticSegmentPage(tmp));
    console.log(
      `wrote the segmentation page to ${join(out, 'segment')} (${models} bundled model${models === 1 ? '' : 's'}) ` +
        `and the lab page to ${join(out, 'lab')}; serve ${out} with any static file server`,
    );
    return 0;
  },
};

export const commands: Command[] = [serve, webBuild];
