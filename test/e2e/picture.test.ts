/**
 * The memory picture in the real workbench, over a real Python fork family
 * (test/fixtures/fork_family.py): the treemap has a rectangle for the family whose hover gives
 * its PSS and a click on which shows its timeline, Watch Family Over Time on another family's row
 * in the Processes view switches the timeline to that family,
 * whose points come in (exact ones: the host runs as root), and Export PNG writes a valid PNG
 * through the save dialog, and the panel comes back after a window reload. Screenshots: picture-*.png.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { formatBytes } from '../../contract/bytes';
import { memoryReport } from '../../extension/core/processes/scan';
import { startFamily, type RunningFamily } from '../fixtures/families';
import { setPanes, openSharedMemoryView, openWorkbench, runCommand, shot, shotIfFailed, SHOTS, whenStill, type Workbench } from './helpers';

// Functions given to evaluate run in the webview; the test build has no DOM types.
declare const document: any;

async function pictureFrame(page: Page, ms = 60_000): Promise<Frame> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if (await f.$('#treemap')) return f;
      } catch {
        // detached or not ours
      }
    }
    await page.waitForTimeout(200);
  }
  throw new Error('no memory picture webview');
}

interface TopRect {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  bytes: number;
}

async function topRects(frame: Frame): Promise<TopRect[]> {
  return JSON.parse(
    (await frame.$eval('#treemap', (c) => (c as unknown as { dataset: Record<string, string | undefined> }).dataset.top ?? '[]')) || '[]',
  ) as TopRect[];
}

describe('the memory picture', function () {
  this.timeout(240_000);
  let wb: Workbench | undefined;
  let page: Page;
  let fam: RunningFamily | undefined;
  /** A second family, watched from its row in the Processes view. */
  let other: RunningFamily | undefined;
  let frame: Frame;

  before(async () => {
    // A parent with a 64 MiB array (large enough to stand out in the treemap) and two workers: one
    // writes 2000 pages of it, one idles.
    fam = await startFamily(64, 20_000, ['write:2000', 'idle']);
    other = await startFamily(16, 1000, ['write:500', 'idle']);
    wb = await openWorkbench('picture', { 'shmInspector.processes.refreshInterval': 2 });
    page = wb.page;
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'picture');
  });

  after(async () => {
    await wb?.close();
    await fam?.stop();
    await other?.stop();
  });

  it("Show Memory Picture: a treemap rectangle for the test's own family, its PSS in the hover", async () => {
    // The view first: the palette lists the extension's commands once the workbench has it.
    await openSharedMemoryView(page);
    await runCommand(page, 'SHM Inspector: Show Memory Picture');
    frame = await pictureFrame(page);
    const id = `family:${fam!.info.pid}`;
    await frame.waitForFunction((want) => (document.getElementById('treemap')?.dataset.top ?? '').includes(`"${want}"`), id, { timeout: 30_000 });
    const rect = (await topRects(frame)).find((r) => r.id === id)!;
    assert.ok(rect.w > 10 && rect.h > 10, `the family's rectangle is visible (${rect.w}×${rect.h})`);
    // Its PSS agrees with what the kernel says of the family now (give or take what moved meanwhile).
    const report = await memoryReport({ family: fam!.info.pid });
    const truth = report.families[0].trueBytes;
    assert.ok(Math.abs(rect.bytes - truth) < truth * 0.25, `treemap PSS ${rect.bytes}, family's true RAM ${truth}`);
    // Hover the rectangle's label strip (the family itself, not a member inside it).
    const canvas = frame.locator('#treemap');
    await canvas.hover({ position: { x: rect.x + Math.min(rect.w / 2, 40), y: rect.y + 5 } });
    const tip = frame.locator('#tooltip');
    await tip.waitFor({ state: 'visible', timeout: 10_000 });
    const text = (await tip.innerText()).replace(/\s+/g, ' ');
    assert.match(text, new RegExp(`python3 \\(${fam!.info.pid}\\) \\+ 2 forked`), text);
    assert.ok(text.includes(`PSS ${formatBytes(rect.bytes)}`), `hover gives the PSS: ${text}`);
    assert.match(text, /RSS [\d.]+ MiB/);
    assert.match(text, /copied ~?[\d.]+ MiB since fork/);
    assert.match(await frame.innerText('#info'), /RAM in use .* of .* · processes' PSS/);
    await shot(page, 'picture-1-treemap-hover');
    // A click on the family picks it for the timeline.
    await canvas.click({ position: { x: rect.x + Math.min(rect.w / 2, 40), y: rect.y + 5 } });
    await frame.waitForFunction((pid) => document.getElementById('timeline')?.dataset.root === String(pid), fam!.info.pid, { timeout: 20_000 });
    await frame.waitForFunction(() => Number(document.getElementById('timeline')?.dataset.points ?? 0) >= 2, undefined, { timeout: 20_000 });
  });

  it('Watch Family Over Time on the family row shows its timeline: points come in, exact ones marked', async () => {
    await page.mouse.move(5, 5);
    // The Shared Memory view is open since the first test (its tab toggles it).
    if (!(await page.locator('.part.sidebar .pane-header', { hasText: /^Processes/i }).isVisible())) await openSharedMemoryView(page);
    await setPanes(page, { Segments: false, Processes: true });
    // Filter the view to the second family (the command again when a redraw swallowed the palette's Enter).
    const input = page.locator('.quick-input-widget .quick-input-box input');
    for (let attempt = 1; ; attempt++) {
      await runCommand(page, 'SHM Inspector: Filter Processes…');
      try {
        await page.locator('.quick-input-widget', { hasText: 'Text in the name or command line' }).waitFor({ timeout: 10_000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
        await page.keyboard.press('Escape');
      }
    }
    await input.fill(String(other!.info.pid));
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
    const row = page
      .locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: /^Processes/i }) })
      .locator('.monaco-list-row', { hasText: `python3 (${other!.info.pid}) + 2 forked` });
    await whenStill(page, row, 500, 60_000);
    await row.hover();
    await row.locator('.action-label[aria-label="Watch Family Over Time"]').click();
    frame = await pictureFrame(page);
    await frame.waitForFunction((pid) => document.getElementById('timeline')?.dataset.root === String(pid), other!.info.pid, { timeout: 20_000 });
    // Estimates every second and exact passes between them: several points, some exact.
    await frame.waitForFunction(
      () => {
        const d = document.getElementById('timeline')?.dataset;
        return Number(d?.points ?? 0) >= 6 && Number(d?.exact ?? 0) >= 2;
      },
      undefined,
      { timeout: 30_000 },
    );
    const info = await frame.innerText('#timeline-info');
    assert.match(info, /2 forked members running/);
    assert.match(info, /dots: exact \(pagemap\), \d+ so far/);
    assert.match(await frame.innerText('#timeline-title'), new RegExp(`python3 \\(${other!.info.pid}\\) over time`));
    // The timeline has pixels drawn in it (lines and dots, not an empty canvas).
    const drawn = await frame.evaluate(() => {
      const cv = document.getElementById('timeline');
      const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data as Uint8ClampedArray;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(drawn > 2000, `${drawn} pixels drawn in the timeline`);
    await shot(page, 'picture-2-timeline');
    await runCommand(page, 'SHM Inspector: Clear Process Filter');
  });

  it('Export PNG writes the picture as a valid PNG file', async () => {
    await frame.click('#export-png');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    const deadline = Date.now() + 10_000;
    while (!/\.png$/.test(await input.inputValue()) && Date.now() < deadline) await page.waitForTimeout(100);
    const png = await input.inputValue();
    assert.match(png, /workspace\/memory-picture-[\d-]+\.png$/);
    await page.keyboard.press('Enter');
    await frame.waitForFunction(() => /^Saved .*\.png$/.test(document.getElementById('notice')?.textContent ?? ''), undefined, { timeout: 20_000 });
    const bytes = fs.readFileSync(png);
    assert.deepStrictEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'the PNG signature');
    assert.strictEqual(bytes.subarray(12, 16).toString(), 'IHDR');
    assert.ok(bytes.readUInt32BE(16) > 400 && bytes.readUInt32BE(20) > 300, `the picture's size ${bytes.readUInt32BE(16)}×${bytes.readUInt32BE(20)}`);
    assert.strictEqual(bytes.subarray(-8, -4).toString(), 'IEND');
    await shot(page, 'picture-3-exported');
    // The file itself beside the screenshots, to look at.
    fs.copyFileSync(png, path.join(SHOTS, 'picture-4-exported-file.png'));
  });

  it('comes back after a window reload, still watching the family it watched, with the timeline it had drawn', async () => {
    // The points drawn so far (saved with the panel's state within a few seconds).
    const before = Number(await frame.$eval('#timeline', (c: any) => c.dataset.points));
    await page.waitForTimeout(5500);
    const saved = Number(await frame.$eval('#timeline', (c: any) => c.dataset.points));
    assert.ok(saved >= before && before >= 2, `${before} then ${saved} points`);
    // Developer: Reload Window (the workbench saves its state, as on any reload).
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForTimeout(2000);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.locator('.tab', { hasText: 'Memory Picture' }).click({ timeout: 60_000 });
    frame = await pictureFrame(page);
    await frame.waitForFunction((pid) => document.getElementById('timeline')?.dataset.root === String(pid), other!.info.pid, { timeout: 30_000 });
    // The history is back at once (no new point needed), and new points add to it.
    const restored = Number(await frame.$eval('#timeline', (c: any) => c.dataset.points));
    assert.ok(restored >= before, `the timeline kept its points: ${restored} after the reload, ${before} before`);
    await frame.waitForFunction((n: number) => Number(document.getElementById('timeline')?.dataset.points ?? 0) > n, restored, { timeout: 30_000 });
    // The treemap is read again (every process: seconds under load), then drawn.
    await frame.waitForFunction(() => JSON.parse(document.getElementById('treemap')?.dataset.top || '[]').length > 0, undefined, { timeout: 60_000 });
    await shot(page, 'picture-5-after-reload');
  });

  it('steps through the treemap with the arrow keys, the hover following, and Enter watches a family', async () => {
    const canvas = frame.locator('#treemap');
    await canvas.focus();
    await page.keyboard.press('Home');
    const tops = await topRects(frame);
    assert.strictEqual(await canvas.getAttribute('data-focused'), tops[0].id, 'Home: the largest rectangle');
    assert.ok(await frame.locator('#tooltip').isVisible(), 'its hover shows');
    const want = `family:${fam!.info.pid}`;
    for (let i = 0; i < 200 && (await canvas.getAttribute('data-focused')) !== want; i++) await page.keyboard.press('ArrowRight');
    assert.strictEqual(await canvas.getAttribute('data-focused'), want, "the test's family is reached");
    assert.match(await frame.innerText('#tooltip'), /PSS/);
    assert.match((await frame.textContent('#announce')) ?? '', /\+ 2 forked: .* PSS \(\d+ of \d+; Enter watches a family\)/, 'said to a screen reader');
    await shot(page, 'picture-6-keyboard');
    await page.keyboard.press('Enter');
    await frame.waitForFunction((pid) => document.getElementById('timeline')?.dataset.root === String(pid), fam!.info.pid, { timeout: 20_000 });
  });
});
