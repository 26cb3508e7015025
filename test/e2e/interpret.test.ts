/**
 * Interpret As… in the real workbench, on SharedMemory segments Python wrote a float16
 * 1000x1000 gradient into (no header; padded to whole pages): a click on the raw row offers the
 * likely layouts, float16 1000x1000 first; the highlighted one is drawn in a preview before it is
 * chosen; choosing it stores it (the file the CLI reads) and the viewer draws the matrix (dark at
 * the top, bright at the bottom); Escape drops a layout tried. Screenshots:
 * test-results/screenshots/interpret-*.png.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { py, SegmentJar } from '../fixtures/segments';
import {
  answerInput,
  answerStep,
  clickUntil,
  contextMenu,
  heatmapFrame,
  quickLookFrame,
  openSharedMemoryView,
  openWorkbench,
  pickInPreviewPalette,
  runCommand,
  shot,
  shotIfFailed,
  type Workbench,
} from './helpers';

declare const document: any;

describe('Interpret As… (raw segments)', function () {
  this.timeout(240_000);
  const jar = new SegmentJar();
  let wb: Workbench | undefined;
  let page: Page;
  let configDir = '';
  const savedConfigEnv = process.env.SHM_INSPECTOR_CONFIG_DIR;
  const matrix = jar.name('shmi_e2e_interp');
  const other = jar.name('shmi_e2e_interp_x');
  const third = jar.name('shmi_e2e_interp_q');
  const padded = String(Math.ceil(2_000_000 / 4096) * 4096);

  before(async () => {
    // The extension host (started below) inherits this: its interpretations go to a file of this test's own.
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-e2e-interp-'));
    process.env.SHM_INSPECTOR_CONFIG_DIR = configDir;
    py(['shared_memory', matrix.name, '<f2', '1000,1000', '--fill', 'gradient', '--size', padded]);
    py(['shared_memory', other.name, '<f2', '1000,1000', '--fill', 'random', '--size', padded]);
    wb = await openWorkbench('interpret');
    page = wb.page;
    await openSharedMemoryView(page);
    // Only this suite's rows: other suites' segments in the shared /dev/shm would re-render the tree under the clicks.
    await runCommand(page, 'SHM Inspector: Filter…');
    await answerInput(page, 'shmi_e2e_interp');
    await row(matrix.name).waitFor({ timeout: 30_000 });
  });
  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'interpret');
  });
  after(async () => {
    await wb?.close();
    jar.cleanup();
    if (savedConfigEnv === undefined) delete process.env.SHM_INSPECTOR_CONFIG_DIR;
    else process.env.SHM_INSPECTOR_CONFIG_DIR = savedConfigEnv;
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  const row = (name: string) => page.locator('.part.sidebar .monaco-list-row', { hasText: name });
  /** Clicks a raw row until Interpret As… opens for it (helpers.ts clickUntil: a redraw can swallow a click). */
  const clickUntilPick = (name: string, position?: { x: number; y: number }) =>
    clickUntil(
      page,
      row(name),
      (timeout) => page.locator('.quick-input-widget .quick-input-title', { hasText: `Interpret ${name}` }).waitFor({ state: 'visible', timeout }),
      {
        position,
        tries: 4,
      },
    );
  const pickRows = () => page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  const stored = (): Record<string, { name: string; dtype: string; shape: number[]; offset: number; order: string }> => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(configDir, 'interpretations.json'), 'utf8')) as { entries: Record<string, never> }).entries;
    } catch {
      return {};
    }
  };
  const luminance = (f: Frame) =>
    f.$eval('#heatmap', (c: any) => {
      const ctx = c.getContext('2d');
      const px = (y: number) => Array.from(ctx.getImageData(Math.floor(c.width / 2), y, 1, 1).data as Uint8ClampedArray).slice(0, 3);
      const l = (p: number[]) => 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
      return [l(px(2)), l(px(Math.floor(c.height / 2))), l(px(c.height - 3))];
    });

  it('a click on the raw row offers layouts, float16 1000x1000 first, previewed live; choosing it stores it and the viewer draws the matrix', async () => {
    assert.match((await row(matrix.name).textContent()) ?? '', /1\.9 MiB/);
    await clickUntilPick(matrix.name);
    await pickRows().filter({ hasText: 'float16 1000×1000' }).first().waitFor({ timeout: 30_000 });
    const first = (await pickRows().first().textContent()) ?? '';
    assert.match(first, /float16 1000×1000.*page padding \(2944 bytes\)/, `first proposal: ${first}`);
    assert.match(first, /Leaves 2944 of 2002944 bytes after the data unread/, 'the bytes it leaves over are said');
    // The highlighted proposal is drawn before anything is chosen, and the pick stays open.
    const live = await heatmapFrame(page, matrix.name);
    await live.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    assert.ok(await page.locator('.quick-input-widget').isVisible(), 'the pick is still open while the preview draws');
    assert.deepStrictEqual(stored(), {}, 'nothing stored before a choice');
    await shot(page, 'interpret-1-live-preview');

    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    const frame = await heatmapFrame(page, matrix.name);
    await frame.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    await frame.waitForFunction(() => /^float16 · 1000×1000 · /.test(document.getElementById('info')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const [top, mid, bottom] = await luminance(frame);
    assert.ok(
      top < mid - 30 && mid < bottom - 30,
      `the gradient: dark at the top, bright at the bottom (${[top, mid, bottom].map((x) => x.toFixed(0)).join(' → ')})`,
    );
    const entries = Object.values(stored());
    assert.deepStrictEqual(
      entries.map((e) => [e.name, e.dtype, e.shape, e.offset, e.order]),
      [[matrix.name, '<f2', [1000, 1000], 0, 'C']],
      'stored in the file the CLI shares',
    );
    // The tree shows the layout now.
    await page.locator('.part.sidebar .monaco-list-row', { hasText: matrix.name }).filter({ hasText: '1000×1000' }).waitFor({ timeout: 15_000 });
    await shot(page, 'interpret-2-chosen');
  });

  it('Escape drops the layout tried (from the context menu): its preview closes, nothing is stored', async () => {
    await contextMenu(page, other.name, 'Interpret As…');
    await pickRows().filter({ hasText: 'float16 1000×1000' }).first().waitFor({ timeout: 30_000 });
    const live = await heatmapFrame(page, other.name);
    await live.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    await page.keyboard.press('Escape');
    await page.locator('.tabs-container .tab', { hasText: `Preview: ${other.name}` }).waitFor({ state: 'detached', timeout: 10_000 });
    assert.deepStrictEqual(
      Object.values(stored()).map((e) => e.name),
      [matrix.name],
      'only the first segment has a layout',
    );
    assert.doesNotMatch((await row(other.name).textContent()) ?? '', /1000×1000/);
  });

  it('Preview Segment lists the raw segment and sends it to Interpret As…; Other layout… asks dtype, offset, shape and order, and says what a layout leaves over', async () => {
    const listed = await pickInPreviewPalette(page, other.name);
    assert.match((await listed.textContent()) ?? '', /raw bytes: Interpret As…/);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: `Interpret ${other.name}` }).waitFor({ state: 'visible', timeout: 30_000 });
    await pickRows().filter({ hasText: 'Other layout…' }).first().click();
    await answerStep(page, '(1/4)', 'float16');
    await answerStep(page, '(2/4)', '0');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: '(3/4)' }).waitFor({ state: 'visible' });
    await page.locator('.quick-input-widget .quick-input-box input').fill('1000,999');
    const warning = page.locator('.quick-input-widget .quick-input-message', { hasText: 'leaves 4944 bytes after the data unread' });
    await warning.waitFor({ state: 'visible', timeout: 10_000 });
    await shot(page, 'interpret-3-other-layout-warning');
    await page.keyboard.press('Enter');
    await answerStep(page, '(4/4)', 'C');
    await page.locator('.notification-toast', { hasText: /interpreted as float16 1000×999.*leaves 4944 bytes after the data unread/ }).waitFor({ timeout: 15_000 });
    const mine = Object.values(stored()).find((e) => e.name === other.name);
    assert.deepStrictEqual(mine && [mine.dtype, mine.shape, mine.offset, mine.order], ['<f2', [1000, 999], 0, 'C']);
    const frame = await heatmapFrame(page, other.name);
    await frame.waitForFunction(() => /^float16 · 1000×999 · /.test(document.getElementById('info')?.textContent ?? ''), undefined, { timeout: 30_000 });
    await shot(page, 'interpret-4-other-layout-chosen');
  });

  it('Quick Look says a raw segment needs Interpret As…, and draws it once it has a layout', async () => {
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'SHM Inspector: Show Quick Look');
    const ql = await quickLookFrame(page, /.*/);
    py(['shared_memory', third.name, '<f2', '1000,1000', '--fill', 'gradient', '--size', padded]);
    await row(third.name).waitFor({ timeout: 30_000 });
    await clickUntilPick(third.name, { x: 60, y: 8 });
    await ql.waitForFunction((n: string) => document.getElementById('title')?.textContent === n && !document.getElementById('error')?.hidden, third.name, {
      timeout: 30_000,
    });
    assert.match(await ql.innerText('#error-text'), new RegExp(`^${third.name} cannot be shown: it is raw bytes .*Interpret As…`));
    // The click also opened Interpret As…: its first proposal, chosen.
    await pickRows().filter({ hasText: 'float16 1000×1000' }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    await ql.waitForFunction((n: string) => document.getElementById('title')?.textContent === n && document.body.dataset.state === 'exact', third.name, {
      timeout: 30_000,
    });
    assert.ok(await ql.isHidden('#error'), 'the error is gone');
    const [top, , bottom] = await luminance(ql);
    assert.ok(top < bottom - 80, `Quick Look draws the gradient (${top.toFixed(0)} → ${bottom.toFixed(0)})`);
    await shot(page, 'interpret-5-quicklook');
  });
});
