// Benchmark: the Segments view with 10,000 segments, in the real workbench
// (code-server + headless Chromium). Not part of npm test; prints figures.
//
//   node scripts/build.mjs && node bench/tree.mjs [--count N]
//
// Measures, with the extension listing a fresh directory of N NPY segments:
//   - first render: from opening the view to the first rows on screen;
//   - live update: from creating one more segment to its row on screen;
//   - scrolling: End / Home in the tree until the last / first row shows;
//   - hover: until the tooltip (built on demand) shows.
// The directory is unique and removed at the end, even on failure.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(new URL('..', import.meta.url).pathname);
const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' } } });
const COUNT = Number(values.count);
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const h = require(join(root, process.env.SHM_OUT || 'out', 'test', 'harness', 'code-server.js'));

const dir = `/dev/shm/shmi_treebench_${process.pid}_${randomBytes(3).toString('hex')}`;
const scratch = mkdtempSync(join(tmpdir(), 'shmi-treebench-'));
let server, browser;
function cleanup() {
  rmSync(dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  server?.stop();
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));

try {
  mkdirSync(dir);
  execFileSync('/usr/bin/python3', [
    '-c',
    `
import numpy as np, sys
d, n = sys.argv[1], int(sys.argv[2])
a = np.zeros((4, 4), dtype='<f4')
for i in range(n): np.save(f'{d}/seg_{i:05d}.npy', a)
`,
    dir,
    String(COUNT),
  ]);
  console.log(
    `${COUNT} segments in ${dir}; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const ws = join(scratch, 'ws');
  mkdirSync(ws);
  server = await h.startCodeServer({
    userDataDir: join(scratch, 'ud'),
    extensionsDir: join(scratch, 'ext'),
    folder: ws,
    settings: { 'shmInspector.directories': [dir], 'shmInspector.refreshInterval': 0, 'shmInspector.logLevel': 'debug' },
  });
  browser = await chromium.launch(h.chromiumOptions());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(h.workbenchUrl(server.base, { folder: ws, extensionPath: root }));
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  await page.waitForTimeout(3000); // let activation and the first scan finish
  const rows = page.locator('.part.sidebar .monaco-list-row');
  let t0 = Date.now();
  await page.getByRole('tab', { name: /Shared Memory/ }).click();
  await rows.filter({ hasText: 'seg_00000.npy' }).first().waitFor({ timeout: 60_000 });
  const firstRender = Date.now() - t0;

  t0 = Date.now();
  execFileSync('/usr/bin/python3', ['-c', `import numpy as np, sys; np.save(sys.argv[1], np.ones((8, 8), dtype='<f8'))`, `${dir}/aaa_new.npy`]);
  const pyMs = Date.now() - t0;
  await rows.filter({ hasText: 'aaa_new.npy' }).first().waitFor({ timeout: 60_000 });
  const live = Date.now() - t0;

  console.log(`first render ${firstRender} ms; live ${live} ms`);
  await page.locator('.part.sidebar .monaco-list').first().focus();
  t0 = Date.now();
  await page.keyboard.press('End');
  await rows
    .filter({ hasText: `seg_${String(COUNT - 1).padStart(5, '0')}.npy` })
    .first()
    .waitFor({ timeout: 30_000 });
  const toEnd = Date.now() - t0;
  t0 = Date.now();
  await page.keyboard.press('Home');
  await rows.filter({ hasText: 'aaa_new.npy' }).first().waitFor({ timeout: 30_000 });
  const toHome = Date.now() - t0;

  t0 = Date.now();
  await page.keyboard.press('ArrowRight'); // expand the first range
  const row = rows.filter({ hasText: 'seg_00003.npy' }).last();
  await row.waitFor({ timeout: 30_000 });
  const expand = Date.now() - t0;
  console.log(`expanding the first range of 500 rows: ${expand} ms`);
  t0 = Date.now();
  await row.hover();
  await page.locator('.monaco-hover', { hasText: 'seg_00003.npy' }).waitFor({ timeout: 30_000 });
  const hover = Date.now() - t0;

  console.log(`first render after opening the view: ${firstRender} ms`);
  console.log(`live update (new segment on screen): ${live} ms (of which ${pyMs} ms Python writing it)`);
  console.log(`End key to last row: ${toEnd} ms; Home key to first row: ${toHome} ms`);
  console.log(`hover tooltip shown: ${hover} ms (includes the workbench's hover delay)`);
  await page.screenshot({ path: join(root, 'test-results', 'bench-tree-10k.png') });
  console.log(
    execFileSync('sh', ['-c', `find ${scratch}/ud/logs -name '*.log' -path '*shm-inspector*' -print0 | xargs -0 cat`], { encoding: 'utf8' })
      .split('\n')
      .slice(-12)
      .join('\n'),
  );
  await browser.close();
} catch (e) {
  console.error(e);
  try {
    console.error(execFileSync('sh', ['-c', `find ${scratch}/ud/logs -name '*.log' -path '*shm*' | xargs -d '\\n' tail -n 20`], { encoding: 'utf8' }));
  } catch {}
  process.exitCode = 1;
}
cleanup();
process.exit(process.exitCode ?? 0);
