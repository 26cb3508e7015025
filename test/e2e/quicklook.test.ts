/**
 * Quick Look end to end, in a workbench of its own (the view is off by default, and showing it
 * splits the sidebar): turned on from the palette, it draws the array selected in the tree,
 * samples arrays too big to read twice, opens its array in a preview editor, and lets go of a
 * segment that leaves the list; a table (a pandas record array saved by numpy) shows as its first
 * rows. Screenshots: test-results/screenshots/quicklook-*.png.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { py, PYTHON, SegmentJar } from '../fixtures/segments';
// The grid's own format of a cell (the webview's DOM-free module, as the test build transpiles it).
import { cellText } from '../../webview/table-grid';
import {
  clickUntil,
  focusSegmentList,
  heatmapFrame,
  openSharedMemoryView,
  openWorkbench,
  quickLookFrame,
  runCommand,
  shot,
  shotIfFailed,
  type Workbench,
} from './helpers';

// Functions given to waitForFunction run in the webview; the test build has no DOM types.
declare const document: any;

const MAKE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'make_tables.py');

describe('Quick Look', function () {
  this.timeout(180_000);
  const jar = new SegmentJar();
  let wb: Workbench | undefined;
  let page: Page;
  const ramp = jar.name('shmi_ql_ramp', '.npy');
  const ints = jar.name('shmi_ql_ints', '.npy');
  const gone = jar.name('shmi_ql_gone', '.npy');
  const big = jar.name('shmi_ql_big', '.npy');
  const cut = jar.name('shmi_ql_cut', '.npy');
  const records = jar.name('shmi_ql_records', '.npy');

  before(async () => {
    py(['npy', ramp.path, '<f4', '256,384', '--fill', 'gradient']);
    py(['npy', ints.path, '<i4', '50,70', '--fill', 'arange']);
    wb = await openWorkbench('quicklook', { 'workbench.colorTheme': 'Default Dark Modern' });
    page = wb.page;
    await openSharedMemoryView(page);
    await page.locator('.part.sidebar .monaco-list-row', { hasText: ramp.name }).waitFor({ timeout: 30_000 });
  });
  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'quicklook');
  });
  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  const row = (name: string) => page.locator('.part.sidebar .monaco-list-row', { hasText: name });
  const shows = (ql: Frame, name: string, timeout = 30_000) =>
    ql.waitForFunction((n: string) => document.getElementById('title')?.textContent === n && document.body.dataset.state === 'exact', name, { timeout });
  /** Clicks a row until Quick Look shows it and (with `editor`) the click's preview editor opened too. */
  const select = (ql: Frame, name: string, editor = false) =>
    clickUntil(page, row(name), async (ms) => {
      await shows(ql, name, ms);
      if (editor) await heatmapFrame(page, name, ms);
    });

  it('is off until asked for; then draws the selected array, opens it in an editor, and lets go of a segment that vanishes', async () => {
    assert.strictEqual(await page.locator('.part.sidebar .pane-header', { hasText: 'Quick Look' }).count(), 0, 'no Quick Look before it is asked for');
    await runCommand(page, 'SHM Inspector: Show Quick Look');
    const ql = await quickLookFrame(page, /Select an array/);
    assert.ok(await ql.isHidden('#toolbar'), 'no controls in Quick Look');
    // A click selects the row (and previews it in an editor, as before); Quick Look draws it too.
    await select(ql, ramp.name, true);
    const t = await ql.$eval('body', (b: any) => ({ ...b.dataset }));
    console.log(`      Quick Look: first pixels ${t.firstPixelsMs} ms after the selection, last tile ${t.exactMs} ms`);
    assert.ok(Number(t.firstPixelsMs) >= 0, 'the first pixels were timed');
    // Black at the top, white at the bottom (the gradient in gray would be checked by colour; viridis here: dark to bright).
    const lum = await ql.$eval('#heatmap', (c: any) => {
      const ctx = c.getContext('2d');
      const px = (y: number) => Array.from(ctx.getImageData(Math.floor(c.width / 2), y, 1, 1).data as Uint8ClampedArray).slice(0, 3);
      const l = (p: number[]) => 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
      return [l(px(1)), l(px(c.height - 2))];
    });
    assert.ok(lum[0] < lum[1] - 80, `dark at the top, bright at the bottom (${lum.map((x) => x.toFixed(0)).join(' → ')})`);
    await heatmapFrame(page, ramp.name);
    await shot(page, 'quicklook-1-selected');
    // Another row: Quick Look follows.
    await select(ql, ints.name);
    // Open shows Quick Look's array in a preview editor.
    await runCommand(page, 'View: Close All Editors', focusSegmentList);
    await page
      .locator('.tabs-container .tab', { hasText: 'Preview: ' })
      .first()
      .waitFor({ state: 'detached', timeout: 10_000 })
      .catch(() => undefined);
    await ql.click('#open');
    const opened = await heatmapFrame(page, ints.name);
    await opened.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    // A segment that vanishes: Quick Look says so (and gives its mapping back).
    py(['npy', gone.path, '<f4', '20,30', '--fill', 'arange']);
    await row(gone.name).waitFor({ timeout: 30_000 });
    await select(ql, gone.name);
    fs.rmSync(gone.path);
    await ql.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('no longer in the list'), undefined, { timeout: 30_000 });
    await shot(page, 'quicklook-2-gone');
  });

  it('says why it cannot show a truncated segment, offers nothing to retry, and shows the next array', async () => {
    // A header for 100 x 100 float32, and a quarter of the data.
    py(['npy', cut.path, '<f4', '100,100', '--fill', 'arange']);
    fs.truncateSync(cut.path, fs.statSync(cut.path).size - 30_000);
    const ql = await quickLookFrame(page, /.*/);
    await row(cut.name).waitFor({ timeout: 30_000 });
    await clickUntil(
      page,
      row(cut.name),
      (timeout) =>
        ql.waitForFunction((n: string) => document.getElementById('title')?.textContent === n && !document.getElementById('error')?.hidden, cut.name, { timeout }),
      { position: { x: 60, y: 8 } },
    );
    const text = await ql.innerText('#error-text');
    assert.match(text, new RegExp(`^${cut.name.replace(/\./g, '\\.')} cannot be shown: .*(truncat|short|bytes)`, 'i'));
    assert.ok(await ql.isHidden('#retry'), 'no Retry for an array that cannot be shown');
    assert.ok(await ql.isDisabled('#open'));
    await shot(page, 'quicklook-4-cannot-show');
    await select(ql, ramp.name);
    assert.ok(await ql.isHidden('#error'), 'the next array clears the error');
  });

  it('samples an array over 256 MiB (one element a cell) instead of reading all of it beside the preview editor', async () => {
    py(['npy', big.path, '<f4', '8400,8400', '--fill', 'gradient']); // 269 MiB
    await row(big.name).waitFor({ timeout: 30_000 });
    const ql = await quickLookFrame(page, /.*/);
    await select(ql, big.name, true);
    assert.match(await ql.innerText('#info'), /sampled/, 'Quick Look says it samples');
    const lum = await ql.$eval('#heatmap', (c: any) => {
      const ctx = c.getContext('2d');
      const px = (y: number) => Array.from(ctx.getImageData(Math.floor(c.width / 2), y, 1, 1).data as Uint8ClampedArray).slice(0, 3);
      const l = (p: number[]) => 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
      return [l(px(1)), l(px(c.height - 2))];
    });
    assert.ok(lum[0] < lum[1] - 80, `the gradient, sampled: dark at the top, bright at the bottom (${lum.map((x) => x.toFixed(0)).join(' → ')})`);
    // The preview editor the click opened reads every element.
    const editor = await heatmapFrame(page, big.name);
    await editor.waitForSelector('body[data-state="exact"]', { timeout: 60_000 });
    assert.doesNotMatch(await editor.innerText('#info'), /sampled/);
    await shot(page, 'quicklook-3-sampled');
  });

  it("shows a table's first rows: a pandas DataFrame saved by numpy as a record array, the columns that fit with names and types, the values Python wrote", async () => {
    const want = JSON.parse(execFileSync(PYTHON, [MAKE, 'records', records.path], { encoding: 'utf8', timeout: 60_000 })) as { names: string[]; rows: unknown[][] };
    // Quick Look is on (the first test turns it on; this one may run alone).
    if ((await page.locator('.part.sidebar .pane-header', { hasText: 'Quick Look' }).count()) === 0) await runCommand(page, 'SHM Inspector: Show Quick Look');
    const ql = await quickLookFrame(page, /.*/);
    await row(records.name).waitFor({ timeout: 30_000 });
    await clickUntil(page, row(records.name), (timeout) =>
      ql.waitForFunction(
        (n: string) => document.getElementById('title')?.textContent === n && document.body.dataset.view === 'grid' && document.body.dataset.state === 'exact',
        records.name,
        { timeout },
      ),
    );
    assert.match(await ql.innerText('#info'), /^1,000 rows × 7 columns · .* · npy$/);
    assert.ok(await ql.isHidden('#heatmap'), 'the grid, not a picture');
    const heads = await ql.$$eval('#vg-head .hcell:not(.corner)', (hs: any[]) =>
      hs.map((h) => [h.querySelector('.name').textContent, h.querySelector('.type').textContent]),
    );
    assert.ok(heads.length >= 2, `some columns fit (${heads.length})`);
    assert.deepStrictEqual(
      heads.map((h) => h[0]),
      want.names.slice(0, heads.length),
    );
    assert.deepStrictEqual(heads[0], ['id', '<i8']);
    // The first rows, each visible cell as Python wrote it; one value a visible cell, no more.
    const cells = (await ql.$$eval('#vg-rows .cell', (ds: any[]) => ds.map((d) => [Number(d.dataset.row), Number(d.dataset.col), d.textContent, d.className]))) as [
      number,
      number,
      string,
      string,
    ][];
    const rows = [...new Set(cells.map((c) => c[0]))];
    assert.strictEqual(rows[0], 0, 'from the first row');
    assert.ok(rows.length >= 5, `rows on screen: ${rows.length}`);
    assert.strictEqual(cells.length, rows.length * heads.length, 'a cell per visible row and column');
    const kinds = ['int', 'float', 'int', 'bool', 'string', 'string', 'timestamp'] as const;
    for (const [r, c, text, cls] of cells) {
      const w = cellText(want.rows[r][c] as never, kinds[c]);
      assert.strictEqual(text, w.text, `record ${r}, field ${want.names[c]}`);
      assert.match(cls, new RegExp(`\\b${w.cls}\\b`), `record ${r}, field ${want.names[c]}: class`);
    }
    const ms = await ql.$eval('body', (b: any) => b.dataset.firstRowsMs);
    console.log(`      (Quick Look shows ${rows.length} rows × ${heads.length} of 7 columns, drawn ${ms} ms after the selection)`);
    assert.ok(Number(ms) >= 0, 'timed');
    // The click opened the table viewer too (its own panel), which draws the same first rows.
    const viewer = await (async () => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await page.waitForTimeout(200)) {
        for (const f of page.frames()) {
          const title = await f.$eval('#title', (t: any) => t.textContent as string).catch(() => '');
          if (title === records.name && (await f.$('#scroller').catch(() => null))) return f;
        }
      }
      throw new Error(`no table viewer showing ${records.name}`);
    })();
    await viewer.waitForFunction(() => document.body.dataset.pending === '0', undefined, { timeout: 30_000 });
    assert.strictEqual(await viewer.$eval('.cell[data-row="3"][data-col="1"]', (d: any) => d.textContent), 'NaN');
    await shot(page, 'quicklook-5-table');
    // An array again: the picture comes back.
    await select(ql, ramp.name);
    assert.ok(await ql.isVisible('#heatmap'));
    assert.strictEqual(await ql.$eval('body', (b: any) => b.dataset.view), 'plot');
    // The table again (its viewer is open already: no new webview competes with Quick Look this time).
    await clickUntil(page, row(records.name), (timeout) =>
      ql.waitForFunction(() => document.body.dataset.view === 'grid' && document.body.dataset.firstRowsMs !== undefined, undefined, { timeout }),
    );
    console.log(`      (again: drawn ${await ql.$eval('body', (b: any) => b.dataset.firstRowsMs)} ms after the selection)`);
  });
});
