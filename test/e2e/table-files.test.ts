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
import { PYTHON } from '../fixtures/segments';
import { bigTable } from '../fixtures/tables';
import { cellText } from '../../webview/table-grid';
import { openWorkbench, shot, shotIfFailed, type Workbench } from './helpers';
import { cellAt, drawn, tableFrame } from './table-helpers';

const MAKE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'make_tables.py');

describe('table files from the Explorer', function () {
  this.timeout(240_000);
  const N = 100_000;
  let expect: (i: number) => unknown[];
  let records: unknown[][] = [];
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    wb = await openWorkbench('tablefiles');
    page = wb.page;
    const t = bigTable(N);
    expect = t.expect;
    fs.writeFileSync(path.join(wb.workspace, 'frame.feather'), t.bytes);
    records = JSON.parse(execFileSync(PYTHON, [MAKE, 'records', path.join(wb.workspace, 'records.npy')], { encoding: 'utf8', timeout: 60_000 })).rows;
    // The Explorer shows at start; a click on its tab when it shows hides the sidebar.
    const explorer = page.locator('.explorer-folders-view');
    for (let attempt = 0; attempt < 3 && !(await explorer.isVisible()); attempt++) {
      await explorer.waitFor({ timeout: 5000 }).catch(() =>
        page
          .getByRole('tab', { name: /Explorer/ })
          .first()
          .click(),
      );
    }
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'tablefile');
  });

  after(async () => {
    await wb?.close();
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
});
