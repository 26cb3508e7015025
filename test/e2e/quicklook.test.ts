/**
 * Quick Look end to end, in a workbench of its own (the view is off by default, and showing it
 * splits the sidebar): turned on from the palette, it draws the array selected in the tree,
 * samples arrays too big to read twice, opens its array in a preview editor, and lets go of a
 * segment that leaves the list. Screenshots: test-results/screenshots/quicklook-*.png.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import type { Frame, Page } from 'playwright-core';
import { py, SegmentJar } from '../fixtures/segments';
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
});
