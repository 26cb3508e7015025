/**
 * Table files on disk in the real workbench: a Feather file written by apache-arrow opens in the
 * table viewer on a double-click in the Explorer (VS Code has no other editor for it), with the
 * values written; a numpy record array (.npy, structured) sent to "Open in Array Viewer" opens as a
 * table, one row per record. Screenshots: tablefile-*.png.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { PYTHON, SegmentJar } from '../fixtures/segments';
import * as A from 'apache-arrow';
import { bigTable, everyType, tableOf } from '../fixtures/tables';
import { cellText } from '../../webview/table-grid';
import { answerStep, clickUntil, contextMenu, expandRow, openSharedMemoryView, openWorkbench, runCommand, shot, shotIfFailed, type Workbench } from './helpers';
import { cellAt, drawn, tableFrame } from './table-helpers';

const MAKE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'make_tables.py');

describe('table files from the Explorer', function () {
  this.timeout(240_000);
  const N = 100_000;
  let expect: (i: number) => unknown[];
  let records: unknown[][] = [];
  let workspaceDir = '';
  // An Arrow stream its writer is still appending to: two batches (20 rows) written, no end marker yet.
  const streamCols = everyType(43);
  const streamFull = A.tableToIPC(tableOf(streamCols, 43, [7, 20]), 'stream');
  const streamHead = A.tableToIPC(new A.Table(tableOf(streamCols, 43, [7, 20]).batches.slice(0, 2)), 'stream').slice(0, -8);
  const jar = new SegmentJar();
  const doomed = jar.name('shmi_e2e_tabledoomed', '.arrow');
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    wb = await openWorkbench('tablefiles', {}, (workspace) => {
      workspaceDir = workspace;
      fs.writeFileSync(path.join(workspace, 'growing.arrows'), streamHead);
      const t = bigTable(N);
      expect = t.expect;
      fs.writeFileSync(path.join(workspace, 'frame.feather'), t.bytes);
      records = JSON.parse(execFileSync(PYTHON, [MAKE, 'records', path.join(workspace, 'records.npy')], { encoding: 'utf8', timeout: 60_000 })).rows;
    });
    page = wb.page;
    // The Explorer shows at start (a click on its tab then would hide the sidebar).
    await page.locator('.explorer-folders-view').waitFor({ timeout: 30_000 });
    // The extension is up (its status bar item shows): VS Code knows its editors before a double-click.
    await page
      .locator('.statusbar-item', { hasText: /shm .* \/ / })
      .first()
      .waitFor({ timeout: 60_000 });
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'tablefile');
  });

  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  /** The Explorer's row of `file`, once listed (away from the activity bar, whose hover takes clicks). */
  async function explorerRow(file: string) {
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: file });
    await row.waitFor({ timeout: 30_000 });
    await page.mouse.move(900, 600);
    return row;
  }

  it('opens a Feather file on a double-click: its columns and the values written, first and last rows', async () => {
    await (await explorerRow('frame.feather')).dblclick();
    const f = await tableFrame(page, 'frame.feather');
    await drawn(f, 0);
    assert.match(await f.innerText('#info'), /^100,000 rows × 3 columns · /);
    const kinds = ['int', 'float', 'string'] as const;
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 3; c++) assert.strictEqual((await cellAt(f, r, c))?.text, cellText(expect(r)[c] as never, kinds[c]).text, `row ${r}, column ${c}`);
    await shot(page, 'tablefile-1-feather');
    await f.click('#scroller');
    await page.keyboard.press('End');
    await f.waitForFunction((n: number) => (globalThis as any).document.querySelector(`.cell[data-row="${n - 1}"]`) !== null, N, { timeout: 30_000 });
    await drawn(f);
    for (let c = 0; c < 3; c++) assert.strictEqual((await cellAt(f, N - 1, c))?.text, cellText(expect(N - 1)[c] as never, kinds[c]).text, `last row, column ${c}`);
  });

  it('opens a structured .npy sent to the array viewer as a table, one row per record', async () => {
    const row = await explorerRow('records.npy');
    await row.click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: 'Open in Array Viewer' });
    await item.hover();
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    const f = await tableFrame(page, 'records.npy');
    await drawn(f, 0);
    assert.match(await f.innerText('#info'), /^1,000 rows × 7 columns · /);
    const kinds = ['int', 'float', 'int', 'bool', 'string'] as const;
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 5; c++) assert.strictEqual((await cellAt(f, r, c))?.text, cellText(records[r][c] as never, kinds[c]).text, `record ${r}, field ${c}`);
    await shot(page, 'tablefile-2-records');
  });

  it('follows an Arrow stream being appended to: shown at its end, the new batch comes into view with its values, the row count grows', async () => {
    await (await explorerRow('growing.arrows')).dblclick();
    const f = await tableFrame(page, 'growing.arrows');
    await drawn(f, 0);
    assert.match(await f.innerText('#info'), /^20 rows × /);
    await f.click('#scroller');
    await page.keyboard.press('End');
    await f.waitForFunction(() => (globalThis as any).document.querySelector('.cell[data-row="19"]') !== null, undefined, { timeout: 30_000 });
    // The writer appends its third batch (23 rows).
    fs.appendFileSync(path.join(workspaceDir, 'growing.arrows'), streamFull.subarray(streamHead.length, streamFull.length - 8));
    await f.waitForFunction(
      () => {
        const d = (globalThis as any).document;
        return d.body.dataset.rows === '43' && d.body.dataset.pending === '0' && d.querySelector('.cell[data-row="42"]') !== null;
      },
      undefined,
      { timeout: 30_000 },
    );
    assert.match(await f.innerText('#info'), /^43 rows × /);
    for (const r of [20, 42])
      for (let c = 0; c < 3; c++)
        assert.strictEqual((await cellAt(f, r, c))?.text, cellText(streamCols[c].expect(r) as never, 'int').text, `row ${r}, ${streamCols[c].name}`);
    await shot(page, 'tablefile-3-stream-grown');
  });

  it('names the table panel as what keeps an unlinked Arrow segment in RAM, and closes it on request', async () => {
    fs.writeFileSync(doomed.path, bigTable(1000).bytes);
    await openSharedMemoryView(page);
    await runCommand(page, 'SHM Inspector: Filter…');
    await answerStep(page, 'Filter segments', 'shmi_e2e_tabledoomed_*');
    const segRow = page.locator('.part.sidebar .monaco-list-row', { hasText: doomed.name }).first();
    await segRow.waitFor({ timeout: 30_000 });
    const f = await clickUntil(page, segRow, (ms) => tableFrame(page, doomed.name, ms), { tries: 5 });
    await drawn(f, 0);
    fs.unlinkSync(doomed.path);
    // The deleted-but-mapped row names this window's table panel as its holder.
    await runCommand(page, 'SHM Inspector: Refresh');
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 'Deleted but still mapped' }).waitFor({ timeout: 30_000 });
    // The panel says so without being scrolled (the scan told it), and its tab too.
    await f.waitForFunction(
      () => {
        const n = (globalThis as any).document.getElementById('notice');
        return n && !n.hidden && /was unlinked/.test(n.textContent ?? '');
      },
      undefined,
      { timeout: 30_000 },
    );
    await page.locator('.tab', { hasText: `Table: ${doomed.name} (unlinked)` }).waitFor({ timeout: 10_000 });
    await expandRow(page, segRow);
    const holder = page.locator('.part.sidebar .monaco-list-row', { hasText: "this window's preview" });
    await holder.waitFor({ timeout: 30_000 });
    assert.match(await holder.innerText(), new RegExp(`“Table: ${doomed.name.replace(/\./g, '\\.')} \\(unlinked\\)”`));
    await shot(page, 'tablefile-3-unlinked-own-table');
    const tab = page.locator('.tab', { hasText: `Table: ${doomed.name}` });
    await contextMenu(page, "this window's preview", 'Close the Preview That Holds It', (ms) => tab.waitFor({ state: 'detached', timeout: ms }));
    await segRow.waitFor({ state: 'detached', timeout: 30_000 });
  });
});
