/**
 * The sidebar as a user meets it, in the real workbench: live updates, tooltips
 * with holders, sorting, filtering, grouping, the deleted group and the status bar.
 */
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { py, PYTHON, SegmentJar } from '../fixtures/segments';
import { answerInput, expandRow, heatmapFrame, openSharedMemoryView, openWorkbench, shot, shotIfFailed, type Workbench } from './helpers';

/** Visible tree rows' labels, in screen order. */
async function rowLabels(page: Page): Promise<string[]> {
  return page.$$eval('.part.sidebar .monaco-list-row .label-name', (els) => els.map((e) => (e.textContent ?? '').trim()));
}

/** With more than one view in the container, the Segments view's actions sit in its pane header, shown on hover. */
async function hoverSegmentsHeader(page: Page): Promise<void> {
  const header = page.locator('.part.sidebar .pane-header', { hasText: /^Segments/i }).first();
  if ((await header.count()) > 0) await header.hover();
}

async function clickViewAction(page: Page, label: string): Promise<void> {
  await hoverSegmentsHeader(page);
  await page.locator('.part.sidebar .title-actions, .part.sidebar .pane-header .actions').getByRole('button', { name: label }).first().click();
}

/** Picks an action of the view's "More Actions…" menu (grouping lives there, so that the view's title fits the default width). */
async function overflowAction(page: Page, label: string): Promise<void> {
  await hoverSegmentsHeader(page);
  // The Segments view's own "…" (in its pane header when the container has two views), not the container's.
  const paneMore = page.locator('.part.sidebar .pane-header', { hasText: /^Segments/i }).locator('.action-label.codicon-toolbar-more');
  await ((await paneMore.count()) > 0 ? paneMore.first() : page.locator('.part.sidebar .action-label.codicon-toolbar-more:visible').first()).click();
  const entry = page.getByRole('menuitem', { name: label });
  await entry.hover();
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
}

/** Clicks a view action that opens a quick pick, and picks `choice` (clicking again if the pick did not open). */
async function pickFromViewAction(page: Page, label: string, choice: string): Promise<void> {
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: choice });
  for (let attempt = 0; ; attempt++) {
    await clickViewAction(page, label);
    try {
      await row.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
  await row.click();
}

describe('the Segments sidebar', function () {
  this.timeout(180_000);
  const jar = new SegmentJar();
  const tag = `shmi_side${process.pid}`;
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    wb = await openWorkbench('sidebar');
    page = wb.page;
    await openSharedMemoryView(page);
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'sidebar');
  });

  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  it('shows /dev/shm usage in the status bar from the start', async () => {
    const item = page.locator('.statusbar-item', { hasText: /shm .* \/ .*B/ }).first();
    await item.waitFor({ timeout: 30_000 });
    assert.match(await item.innerText(), /shm \d+(\.\d)? [KMGT]?i?B \/ \d+(\.\d)? [KMGT]iB/);
  });

  it('a segment created by Python appears without a click, and vanishes when unlinked', async () => {
    // Narrow the view to this test's segments so the virtual list shows them.
    await clickViewAction(page, 'Filter…');
    await answerInput(page, `${tag}*`);
    const seg = jar.name(`${tag}_live`, '.npy');
    const t0 = Date.now();
    py(['npy', seg.path, '<f4', '256,384']);
    const row = page.locator('.part.sidebar .monaco-list-row', { hasText: seg.name });
    await row.waitFor({ timeout: 10_000 });
    const appeared = Date.now() - t0;
    console.log(`      (appeared ${appeared} ms after Python wrote it, including Python's exit)`);
    assert.match((await row.innerText()).replace(/\s+/g, ' '), /384\.1 KiB · float32 · 256×384/);
    await shot(page, '4-sidebar-live');
    fs.unlinkSync(seg.path);
    await row.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('the tooltip shows dtype, shape, order and the process holding it', async () => {
    const seg = jar.name(`${tag}_held`, '.npy');
    py(['npy', seg.path, '<f8', '100,20', '--order', 'F']);
    const holder = await jar.holder(['hold', seg.path]);
    await clickViewAction(page, 'Refresh');
    const row = page.locator('.part.sidebar .monaco-list-row', { hasText: seg.name });
    await row.waitFor();
    const hover = page.locator('.monaco-hover', { hasText: seg.name }).first();
    for (let attempt = 0; ; attempt++) {
      await page.mouse.move(900, 600);
      await row.hover();
      try {
        await hover.waitFor({ timeout: 3000 });
        break;
      } catch (e) {
        if (attempt >= 4) throw e;
      }
    }
    const text = (await hover.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /float64/);
    assert.match(text, /100×20/);
    assert.match(text, /Fortran/);
    assert.match(text, new RegExp(`python3 \\(pid ${holder.pid}, map`));
    await shot(page, '5-sidebar-tooltip');
    await page.mouse.move(900, 600);
    // The holder is also a child item.
    await expandRow(page, row);
    await page.locator('.part.sidebar .monaco-list-row', { hasText: `pid ${holder.pid}` }).waitFor();
  });

  it('sorting by size and by name changes the order; filtering changes the set', async () => {
    const small = jar.name(`${tag}_a_small`, '.npy');
    const big = jar.name(`${tag}_b_big`, '.npy');
    py(['npy', small.path, '|u1', '10,10']);
    py(['npy', big.path, '<f8', '300,300']);
    await clickViewAction(page, 'Refresh');
    await page.locator('.part.sidebar .monaco-list-row', { hasText: big.name }).waitFor();
    let labels = await rowLabels(page);
    assert.ok(labels.indexOf(small.name) < labels.indexOf(big.name), `by name: ${labels.join(', ')}`);

    await pickFromViewAction(page, 'Sort By…', 'Size');
    await page.waitForFunction(
      ([a, b]) => {
        const names = [...(globalThis as any).document.querySelectorAll('.part.sidebar .monaco-list-row .label-name')].map((e: any) => e.textContent?.trim());
        return names.indexOf(b) >= 0 && names.indexOf(b) < names.indexOf(a);
      },
      [small.name, big.name],
    );
    await shot(page, '6-sidebar-sorted-by-size');

    await clickViewAction(page, 'Filter…');
    await answerInput(page, `${tag}_a_*`);
    await page.locator('.part.sidebar .monaco-list-row', { hasText: big.name }).waitFor({ state: 'detached' });
    labels = await rowLabels(page);
    assert.ok(labels.includes(small.name), labels.join(', '));
    assert.ok(!labels.includes(big.name), labels.join(', '));

    await clickViewAction(page, 'Clear Filter');
    await page.locator('.part.sidebar .monaco-list-row', { hasText: big.name }).waitFor();
    await pickFromViewAction(page, 'Sort By…', 'Name');
  });

  it('groups by producer, and shows deleted-but-mapped segments in their own group', async () => {
    const psm = `psm_${tag}_${Date.now().toString(36)}`;
    jar.track(path.join('/dev/shm', psm));
    py(['shared_memory', psm, '<f4', '64,64']);
    const doomed = jar.name(`${tag}_deleted`, '.npy');
    py(['npy', doomed.path, '<f4', '512,512']);
    await jar.holder(['hold', doomed.path, '--unlink']);
    await clickViewAction(page, 'Filter…');
    await answerInput(page, tag);
    await overflowAction(page, 'Group by Producer');
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 'Python SharedMemory' }).waitFor();
    await page.locator('.part.sidebar .monaco-list-row', { hasText: psm }).waitFor();
    const deletedGroup = page.locator('.part.sidebar .monaco-list-row', { hasText: 'Deleted but still mapped' });
    await deletedGroup.waitFor();
    assert.match((await deletedGroup.innerText()).replace(/\s+/g, ' '), /still in RAM/);
    await page.locator('.part.sidebar .monaco-list-row', { hasText: doomed.name }).waitFor();
    await shot(page, '7-sidebar-grouped-deleted');
    await overflowAction(page, 'Show as a Flat List');
    await clickViewAction(page, 'Clear Filter');
  });

  it('every click opens its row, also while the tree redraws (a producer rewriting a segment beside it every 50 ms)', async () => {
    // Ten segments, one click each: a preview can only show a segment its own click opened.
    const targets = Array.from({ length: 10 }, (_, i) => jar.name(`${tag}_click_${i}`, '.npy'));
    const churn = jar.name(`${tag}_click_churn`, '.bin');
    for (const t of targets) py(['npy', t.path, '<f4', '20,30', '--fill', 'arange']);
    await clickViewAction(page, 'Filter…');
    await answerInput(page, `${tag}_click*`);
    // Its size changes with every write: each scan changes what the tree shows, and the tree redraws.
    const producer = spawn(
      PYTHON,
      ['-c', 'import sys, time\ni = 0\nwhile True:\n    open(sys.argv[1], "wb").write(b"x" * 4096 * (1 + i % 7))\n    i += 1\n    time.sleep(0.05)', churn.path],
      { stdio: 'ignore' },
    );
    try {
      await page.locator('.part.sidebar .monaco-list-row', { hasText: churn.name }).waitFor({ timeout: 10_000 });
      // One click each, never repeated: before the rows' commands carried no arguments, a click that
      // landed during a redraw selected the row and opened nothing.
      for (const target of targets) {
        const row = page.locator('.part.sidebar .monaco-list-row', { hasText: target.name });
        await row.waitFor();
        await row.click();
        await heatmapFrame(page, target.name, 15_000);
      }
    } finally {
      producer.kill();
    }
    await clickViewAction(page, 'Clear Filter');
  });
});
