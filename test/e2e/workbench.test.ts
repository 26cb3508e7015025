/**
 * End to end, as a user: the real workbench (code-server 4.100.3 = VS Code 1.100.3)
 * in headless Chromium, with the extension loaded from this repository. Clicks the
 * tree, runs the preview from the context menu and from the palette, and checks
 * what is on screen: DOM text and canvas pixels. Screenshots go to
 * test-results/screenshots/.
 */
import * as assert from 'assert';
import type { Frame, Page } from 'playwright-core';
import { py, SegmentJar } from '../fixtures/segments';
import { heatmapFrame, openWorkbench, previewFromPalette, shot, shotIfFailed, type Workbench } from './helpers';

/** Gray levels down the canvas's middle column: one sample per `step` pixels. */
async function columnGrays(frame: Frame): Promise<number[]> {
  // Runs in the webview (a browser); typed loosely since host code has no DOM types.
  return frame.$eval('#heatmap', (c: any) => {
    const canvas = c;
    const ctx = canvas.getContext('2d');
    const x = Math.floor(canvas.width / 2);
    const data = ctx.getImageData(x, 0, 1, canvas.height).data;
    const out: number[] = [];
    for (let y = 0; y < canvas.height; y++) out.push(data[y * 4]);
    return out;
  });
}

describe('the workbench, as a user sees it', function () {
  this.timeout(180_000);
  const jar = new SegmentJar();
  let wb: Workbench | undefined;
  let page: Page;
  const gradient = jar.name('shmi_e2e_gradient', '.npy');
  const other = jar.name('shmi_e2e_ints', '.npy');

  before(async () => {
    // 256 rows x 384 columns, value = row / 255: black at the top, white at the bottom.
    py(['npy', gradient.path, '<f4', '256,384', '--fill', 'gradient']);
    py(['npy', other.path, '<i4', '50,70', '--fill', 'arange']);
    wb = await openWorkbench('workbench');
    page = wb.page;
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'workbench');
  });

  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  it('shows the segments of /dev/shm in the Shared Memory view, with sizes, dtypes and shapes', async () => {
    await page.getByRole('tab', { name: /Shared Memory/ }).click();
    const row = page.locator('.monaco-list-row', { hasText: gradient.name });
    await row.waitFor({ timeout: 30_000 });
    const text = (await row.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /384\.1 KiB · float32 · 256×384/);
    const ints = page.locator('.monaco-list-row', { hasText: other.name });
    assert.match((await ints.innerText()).replace(/\s+/g, ' '), /int32 · 50×70/);
    await shot(page, '1-tree');
  });

  it('previews a matrix from the tree context menu: the canvas shows its values', async () => {
    const row = page.locator('.monaco-list-row', { hasText: gradient.name });
    await row.click({ button: 'right' });
    // VS Code's menus ignore a click that lands at once; hover then Enter, as a keyboard user would.
    const item = page.getByRole('menuitem', { name: 'Preview Segment' });
    await item.hover();
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    const frame = await heatmapFrame(page, gradient.name);
    await frame.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    assert.match(await frame.innerText('#info'), /float32 · 256×384/);
    assert.match(await frame.innerText('#status'), /mean · \d+×\d+ cells · range 0 … (1|0\.9\d*) ·/);
    // The viewer opens in viridis; these checks read gray levels.
    await frame.selectOption('#colormap', 'gray');
    const grays = await columnGrays(frame);
    assert.ok(grays.length > 50, `canvas is ${grays.length} px tall`);
    // Top row black, bottom row white, and never darker further down.
    assert.ok(grays[0] <= 8, `top pixel ${grays[0]}`);
    assert.ok(grays[grays.length - 1] >= 247, `bottom pixel ${grays[grays.length - 1]}`);
    for (let i = 1; i < grays.length; i++) assert.ok(grays[i] >= grays[i - 1], `pixel ${i} darker than ${i - 1}`);
    // Halfway down, half gray (value ~0.5).
    const mid = grays[Math.floor(grays.length / 2)];
    assert.ok(mid > 110 && mid < 145, `middle pixel ${mid}`);
    await shot(page, '2-preview-context-menu');
  });

  it('previews from the command palette with a quick pick of segments', async () => {
    const frame = await previewFromPalette(page, other.name);
    assert.match(await frame.innerText('#info'), /int32 · 50×70/);
    // arange: 0 at the top-left ... 3499 at the bottom-right: the top is darker than the bottom.
    await frame.selectOption('#colormap', 'gray');
    const grays = await columnGrays(frame);
    assert.ok(grays[0] < 30 && grays[grays.length - 1] > 225, `top ${grays[0]}, bottom ${grays[grays.length - 1]}`);
    await page.locator('.tab', { hasText: `Preview: ${other.name}` }).waitFor();
    await shot(page, '3-preview-palette');
  });
});
