/**
 * The System V group of the Segments view in the real workbench: a segment Python made with
 * shmget (an orphaned numpy array) and one a live process attaches appear in their own group
 * with totals; Remove (context menu, modal warning) takes the orphan away. A click on an orphaned
 * NPY segment's row opens the matrix viewer on a read-only attach (its picture checked pixel by
 * pixel), the tree names the preview as its holder, and removing the segment while it is shown is
 * said in the panel; closing the panel frees it. Every segment and process made here is removed
 * in `after` (IPC_RMID).
 */
import * as assert from 'assert';
import { execFileSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { PYTHON } from '../fixtures/segments';
import { holdSysv } from '../fixtures/sysv';
import {
  clickUntil,
  contextMenu,
  expandRow,
  heatmapFrame,
  hoverUntil,
  openSharedMemoryView,
  openWorkbench,
  quickLookFrame,
  runCommand,
  shot,
  shotIfFailed,
  whenStill,
  type Workbench,
} from './helpers';

// The webview's page, in functions run there (frame.waitForFunction).
declare const document: any;

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'sysv_producer.py');

describe('System V segments in the sidebar', function () {
  this.timeout(180_000);
  const ids: number[] = [];
  const procs: ChildProcess[] = [];
  let wb: Workbench | undefined;
  let page: Page;

  const savedConfigEnv = process.env.SHM_INSPECTOR_CONFIG_DIR;
  let configDir = '';

  before(async () => {
    // The extension host (started below) inherits this: Interpret As… stores into a file of this test's own.
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-e2e-sysv-'));
    process.env.SHM_INSPECTOR_CONFIG_DIR = configDir;
    wb = await openWorkbench('sysv');
    page = wb.page;
    await openSharedMemoryView(page);
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'sysv');
  });

  after(async () => {
    await wb?.close();
    for (const p of procs) p.kill('SIGKILL');
    if (ids.length > 0) execFileSync(PYTHON, [PRODUCER, 'rm', ...ids.map(String)]);
    if (savedConfigEnv === undefined) delete process.env.SHM_INSPECTOR_CONFIG_DIR;
    else process.env.SHM_INSPECTOR_CONFIG_DIR = savedConfigEnv;
    if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
  });

  /** An orphaned segment made by the producer (`make 0 ARGS`), listed after a refresh: its shmid, name and row (whose text must match `words`). */
  const orphanRow = async (args: string[], words: RegExp) => {
    const out = execFileSync(PYTHON, [PRODUCER, 'make', '0', ...args], { encoding: 'utf8' });
    const id = Number(/shmid (\d+)/.exec(out)![1]);
    ids.push(id);
    const name = `sysv:${id}`;
    await runCommand(page, 'SHM Inspector: Refresh');
    const row = rowOf(name);
    await row.first().waitFor({ timeout: 20_000 });
    assert.match((await row.first().innerText()).replace(/\s+/g, ' '), words);
    return { id, name, row };
  };

  /** The row whose label is exactly `label` (its text runs on into the description: `sysv:824.1 KiB`). */
  const rowOf = (label: string) =>
    page.locator('.part.sidebar .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) });

  it('shows a System V group with an orphaned numpy segment and an attached one; Remove takes the orphan away', async () => {
    const out = execFileSync(PYTHON, [PRODUCER, 'make', '0', '--npy', '<f4', '256,384'], { encoding: 'utf8' });
    const orphan = Number(/shmid (\d+)/.exec(out)![1]);
    ids.push(orphan);
    const { child, shmid: held } = await holdSysv(['65536']);
    procs.push(child);
    ids.push(held);
    // System V segments are not files: no watcher sees them; a refresh lists them.
    await runCommand(page, 'SHM Inspector: Refresh');
    const group = page.locator('.part.sidebar .monaco-list-row', { hasText: 'System V' }).first();
    await group.waitFor({ timeout: 20_000 });
    assert.match((await group.innerText()).replace(/\s+/g, ' '), /System V\s*\d+ · .*B · \d+ orphaned/);
    const row = page.locator('.part.sidebar .monaco-list-row', { hasText: `sysv:${orphan}` });
    await row.waitFor({ timeout: 10_000 });
    assert.match((await row.innerText()).replace(/\s+/g, ' '), /384\.1 KiB · float32 256×384 · 0x00000000 · orphan/);
    const heldRow = page.locator('.part.sidebar .monaco-list-row', { hasText: `sysv:${held}` });
    await heldRow.waitFor({ timeout: 10_000 });
    assert.match((await heldRow.innerText()).replace(/\s+/g, ' '), /64\.0 KiB · 0x00000000 · 1 attached/);
    const hover = page.locator('.monaco-hover', { hasText: 'System V segment' }).first();
    await hoverUntil(page, heldRow, hover);
    const text = (await hover.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /IPC_PRIVATE/);
    assert.match(text, new RegExp(`python3 \\(pid ${child.pid}\\)`));
    assert.match(text, /1 time/);
    await shot(page, 'sysv-sidebar');
    const dialog = page.locator('.monaco-dialog-box');
    await contextMenu(page, `sysv:${orphan}`, 'Remove System V Segment…', (ms) => dialog.waitFor({ timeout: ms }));
    assert.match(await dialog.innerText(), /No process attaches it/);
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached', timeout: 15_000 });
    await heldRow.waitFor({ timeout: 5_000 });
  });

  it('a click on an orphaned NPY segment opens the matrix viewer on it; removed while shown, the panel says its attachment keeps it', async () => {
    const { id, name, row } = await orphanRow(['--npy', '<f4', '64,96'], /24\.1 KiB · float32 64×96 · 0x00000000 · orphan/);
    const frame = await clickUntil(page, row, async (ms) => {
      const f = await heatmapFrame(page, name, ms);
      await f.waitForSelector('body[data-state="exact"]', { timeout: ms });
      return f;
    });
    // numpy.arange(6144) as 64×96: the exact range, dark at the top left, bright at the bottom right (viridis).
    assert.match(await frame.innerText('#status'), /range 0 … 6143 /);
    const px = (r: number, c: number) =>
      frame.$eval(
        '#heatmap',
        (cv: any, a: number[]) =>
          Array.from(
            cv.getContext('2d').getImageData(Math.floor(((a[1] + 0.5) * cv.width) / 96), Math.floor(((a[0] + 0.5) * cv.height) / 64), 1, 1)
              .data as Uint8ClampedArray,
          ),
        [r, c],
      );
    const near = (got: number[], want: number[], what: string) =>
      assert.ok(
        want.every((v, i) => Math.abs(got[i] - v) <= 6),
        `${what}: ${got.join(',')} is not ${want.join(',')}`,
      );
    near(await px(0, 0), [68, 1, 84, 255], 'top left (0)');
    near(await px(63, 95), [253, 231, 37, 255], 'bottom right (6143)');
    const mid = await px(32, 0);
    assert.ok(mid[1] > 100 && mid[1] < 200, `row 32 is mid-scale teal: ${mid.join(',')}`);
    await shot(page, 'sysv-preview');
    // The tree: attached once now, by this window's preview.
    await runCommand(page, 'SHM Inspector: Refresh');
    await rowOf(name).filter({ hasText: '1 attached' }).first().waitFor({ timeout: 20_000 });
    await expandRow(page, row);
    const holder = page.locator('.part.sidebar .monaco-list-row', { hasText: "this window's preview" }).first();
    await holder.waitFor({ timeout: 15_000 });
    assert.match(await holder.innerText(), new RegExp(`Preview: ${name}`));
    // Removed (IPC_RMID) by someone else while shown: the panel and its tab say so.
    execFileSync(PYTHON, [PRODUCER, 'rm', String(id)]);
    await runCommand(page, 'SHM Inspector: Refresh');
    const notice = await frame.waitForSelector('#notice[data-sticky="true"]:not([hidden])', { timeout: 30_000 });
    assert.match(
      (await notice.innerText()).replace(/\s+/g, ' '),
      new RegExp(`${name} was removed \\(IPC_RMID\\): .*this panel's attachment keeps its memory \\(24\\.1 KiB\\) in use`),
    );
    const tab = page.locator('.tab', { hasText: `Preview: ${name} (removed)` });
    await tab.waitFor({ timeout: 15_000 });
    await whenStill(page, tab);
    await shot(page, 'sysv-preview-removed');
    // Closing the panel detaches it: the segment is gone from the kernel's table.
    await tab.hover();
    await tab.locator('.codicon-close, .codicon-pinned, [aria-label^="Close"]').first().click();
    const deadline = Date.now() + 15_000;
    const listed = () =>
      execFileSync('cat', ['/proc/sysvipc/shm'], { encoding: 'utf8' })
        .split('\n')
        .some((l) => l.trim().split(/\s+/)[1] === String(id));
    while (listed() && Date.now() < deadline) await page.waitForTimeout(200);
    assert.ok(!listed(), `${name} freed once the panel closed`);
  });

  it('a click on a raw System V row opens Interpret As… (proposals from its bytes); the layout chosen is stored for it and drawn', async () => {
    const { id, name, row } = await orphanRow(['--raw', '<f8', '48,64'], /24\.0 KiB · 0x00000000 · orphan/);
    await clickUntil(page, row, (timeout) =>
      page.locator('.quick-input-widget .quick-input-title', { hasText: `Interpret ${name}` }).waitFor({ state: 'visible', timeout }),
    );
    const pick = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: 'float64 48×64' }).first();
    await pick.waitFor({ timeout: 30_000 });
    await shot(page, 'sysv-interpret-pick');
    await pick.click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    const frame = await heatmapFrame(page, name);
    await frame.waitForFunction(() => /^float64 · 48×64 · /.test(document.getElementById('info')?.textContent ?? ''), undefined, { timeout: 30_000 });
    await frame.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    assert.match(await frame.innerText('#status'), /range 0 … 3071 /);
    const entries = Object.values(
      (
        JSON.parse(fs.readFileSync(path.join(configDir, 'interpretations.json'), 'utf8')) as {
          entries: Record<string, { name: string; dtype: string; shape: number[]; ino: number }>;
        }
      ).entries,
    );
    assert.deepStrictEqual(
      entries.map((e) => [e.name, e.dtype, e.shape, e.ino]),
      [[name, '<f8', [48, 64], id]],
      'stored in the file the CLI shares, under its shmid',
    );
    // The tree reads it with the layout now.
    await rowOf(name).filter({ hasText: 'float64 48×64' }).first().waitFor({ timeout: 20_000 });
    await shot(page, 'sysv-interpret-drawn');
  });

  it('Quick Look draws a selected System V segment through its attach, and detaches it (freeing it) once it is removed', async () => {
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'SHM Inspector: Show Quick Look');
    const ql = await quickLookFrame(page, /.*/);
    const { id, name, row } = await orphanRow(['--npy', '<i2', '30,40'], /2\.5 KiB · int16 30×40 · 0x00000000 · orphan/);
    await clickUntil(page, row, (ms) =>
      ql.waitForFunction((n: string) => document.getElementById('title')?.textContent === n && document.body.dataset.state === 'exact', name, { timeout: ms }),
    );
    assert.match(await ql.innerText('#status'), /range 0 … 1199/);
    await shot(page, 'sysv-quicklook');
    // Removed (IPC_RMID) while Quick Look attaches it (and the click's preview editor, closed first): Quick Look lets go, which frees it.
    await runCommand(page, 'View: Close All Editors');
    execFileSync(PYTHON, [PRODUCER, 'rm', String(id)]);
    await runCommand(page, 'SHM Inspector: Refresh');
    await ql.waitForFunction(
      (n: string) => (document.getElementById('notice')?.textContent ?? '').includes(`${n} was removed (IPC_RMID): Quick Look detached it`),
      name,
      { timeout: 30_000 },
    );
    const listed = () =>
      fs
        .readFileSync('/proc/sysvipc/shm', 'utf8')
        .split('\n')
        .some((l) => l.trim().split(/\s+/)[1] === String(id));
    const deadline = Date.now() + 15_000;
    while (listed() && Date.now() < deadline) await page.waitForTimeout(200);
    assert.ok(!listed(), `${name} freed once Quick Look let go`);
    await shot(page, 'sysv-quicklook-removed');
  });
});
