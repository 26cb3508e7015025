/**
 * The System V group of the Segments view in the real workbench: a segment Python made with
 * shmget (an orphaned numpy array) and one a live process attaches appear in their own group
 * with totals; Remove (context menu, modal warning) takes the orphan away. Every segment and
 * process made here is removed in `after` (IPC_RMID).
 */
import * as assert from 'assert';
import { execFileSync, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { PYTHON } from '../fixtures/segments';
import { holdSysv } from '../fixtures/sysv';
import { contextMenu, hoverUntil, openSharedMemoryView, openWorkbench, runCommand, shot, shotIfFailed, type Workbench } from './helpers';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'sysv_producer.py');

describe('System V segments in the sidebar', function () {
  this.timeout(180_000);
  const ids: number[] = [];
  const procs: ChildProcess[] = [];
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
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
  });

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
});
