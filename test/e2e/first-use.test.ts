/**
 * What a new user trips over in the sidebar and the viewer (issue #12, items 2, 4, 5, 6), in the
 * real workbench: an Arrow column opens from a click like a tensor; a long name keeps the
 * header's facts visible; zoomed to single elements the cells are bordered, labelled and
 * coloured over the visible range; the user's own preview keeping an unlinked segment alive is
 * named in the tree (with Close) and said in the panel. Screenshots: first-use-*.png.
 */
import * as A from 'apache-arrow';
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import type { Frame, Page } from 'playwright-core';
import { PYTHON, SegmentJar } from '../fixtures/segments';
import {
  answerStep,
  clickUntil,
  contextMenu,
  expandRow,
  heatmapFrame,
  openSharedMemoryView,
  openWorkbench,
  previewFromPalette,
  runCommand,
  shot,
  shotIfFailed,
  type Workbench,
} from './helpers';

// Functions given to $eval/waitForFunction run in the webview; the test build has no DOM types.
declare const document: any;

function npy(file: string, code: string): void {
  execFileSync(PYTHON, ['-c', `import numpy as np, sys\na = ${code}\nnp.save(sys.argv[1], a)`, file], { encoding: 'utf8' });
}

/** The tree row whose label is exactly `label`. */
function row(page: Page, label: string) {
  return page.locator('.part.sidebar .monaco-list-row', {
    has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
  });
}

/** Zooms with the wheel at the plot's point (fx, fy) (fractions) until a cell spans at least `px` CSS pixels. */
async function zoomToCells(page: Page, frame: Frame, px: number, fx = 0.7, fy = 0.7): Promise<void> {
  const box = (await (await frame.$('#heatmap'))!.boundingBox())!;
  await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
  const rows = async () => {
    const [, , y0, y1] = (await frame.$eval('#heatmap', (c: any) => c.dataset.view as string)).split(',').map(Number);
    return y1 - y0;
  };
  for (let i = 0; i < 120 && (await rows()) * px > box.height; i++) {
    await page.mouse.wheel(0, -100);
    await page.waitForTimeout(25);
  }
  await frame.waitForFunction(() => document.getElementById('heatmap').dataset.cells === 'single' && document.body.dataset.state === 'exact', undefined, {
    timeout: 20_000,
  });
}

describe('first use: sidebar and viewer', function () {
  this.timeout(240_000);
  const jar = new SegmentJar();
  const long = jar.name('shmi_e2e_first_a_long_name_as_joblib_and_grid_searches_make_them_for_memmapped_feature_matrices_of_every_fold', '.npy');
  const outlier = jar.name('shmi_e2e_first_outlier', '.npy');
  const doomed = jar.name('shmi_e2e_first_doomed', '.npy');
  const table = jar.name('shmi_e2e_first_table', '.arrow');
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    npy(long.path, 'np.arange(64 * 80, dtype="<f4").reshape(64, 80)');
    // One huge element: the whole array's min-max paints every other cell alike.
    npy(outlier.path, 'np.arange(200 * 300, dtype="<f8").reshape(200, 300) * 1e-3; a[0, 0] = 1e9');
    npy(doomed.path, 'np.ones((256, 256), dtype="<f4")');
    const price = Float64Array.from({ length: 500 }, (_, i) => 100 + Math.sin(i / 20) * 10);
    fs.writeFileSync(
      table.path,
      A.tableToIPC(new A.Table({ price: A.vectorFromArray(price), qty: A.vectorFromArray(Int32Array.from(price, (p) => Math.round(p))) }), 'file'),
    );
    wb = await openWorkbench('first-use');
    page = wb.page;
    await openSharedMemoryView(page);
    await runCommand(page, 'SHM Inspector: Filter…');
    await answerStep(page, 'Filter segments', 'shmi_e2e_first_*');
    await row(page, table.name).waitFor({ timeout: 30_000 });
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'first-use');
  });

  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  it('opens an Arrow column from a click, as a tensor opens: a 1-D array of its values', async () => {
    await expandRow(page, row(page, table.name));
    const frame = await clickUntil(page, row(page, 'price'), (ms) => heatmapFrame(page, `${table.name}/price`, ms));
    await frame.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    assert.strictEqual(await frame.$eval('body', (b: any) => b.dataset.plot), 'line');
    assert.match(await frame.innerText('#info'), /^float64 · 500 · /);
    await shot(page, 'first-use-1-arrow-column');
  });

  it('keeps the facts of a long-named segment in view: the name is cut in its middle, dtype, shape, size and status stay', async () => {
    const frame = await previewFromPalette(page, long.name);
    const g = await frame.$eval('header', (h: any) => {
      const box = (s: string) => h.querySelector(s).getBoundingClientRect();
      const head = h.querySelector('#title .head');
      return {
        width: h.clientWidth,
        info: box('#info').toJSON(),
        status: box('#status').toJSON(),
        tail: box('#title .tail').toJSON(),
        headCut: head.scrollWidth > head.clientWidth,
        infoText: h.querySelector('#info').textContent,
        infoWhole: h.querySelector('#info').scrollWidth <= h.querySelector('#info').clientWidth + 1,
        title: h.querySelector('#title').textContent,
        tooltip: h.querySelector('#title').title,
      };
    });
    assert.strictEqual(g.title, long.name, 'the title element holds the whole name');
    assert.strictEqual(g.tooltip, long.name, 'hovering the name shows it whole');
    assert.ok(g.headCut, 'the start of the name is cut (ellipsis in the middle)');
    assert.ok(g.tail.right <= g.width && g.tail.width > 0, 'the end of the name stays visible');
    assert.match(g.infoText, /^float32 · 64×80 · /);
    assert.ok(g.infoWhole && g.info.right <= g.width, 'dtype, shape and size are whole and in view');
    assert.ok(g.status.width > 0 && g.status.right <= g.width + 1, 'the status is in view');
    assert.ok(g.info.top > g.tail.top, 'the facts have a line of their own');
    await shot(page, 'first-use-2-long-name-header');
  });

  it('zoomed to single elements: bordered cells with their values, colours over the visible cells, the hovered cell outlined', async () => {
    const frame = await previewFromPalette(page, outlier.name);
    // The whole array: the outlier takes the top of the colour range.
    assert.strictEqual(await frame.$eval('#heatmap', (c: any) => c.dataset.cells), 'reduced');
    await zoomToCells(page, frame, 60);
    // The colours over the visible cells come with the next statistics pass (the check below says if they never do).
    await frame
      .waitForFunction(
        () => document.getElementById('heatmap').dataset.domainUsed === 'visible' && Number(document.getElementById('heatmap').dataset.hi) < 1e6,
        undefined,
        {
          timeout: 20_000,
        },
      )
      .catch(() => undefined);
    const state = await frame.evaluate(() => {
      const c = document.getElementById('heatmap');
      const cells = document.getElementById('cells');
      const [x0, x1, y0, y1] = c.dataset.view.split(',').map(Number);
      const k = c.width / (x1 - x0);
      const col = Math.ceil(x0) + 1;
      const rowI = Math.ceil(y0) + 1;
      const at = (cv: any, x: number, y: number) => Array.from(cv.getContext('2d').getImageData(Math.round(x), Math.round(y), 1, 1).data as Uint8ClampedArray);
      const ky = c.height / (y1 - y0);
      const xEdge = (col - x0) * k;
      const yMid = (rowI + 0.5 - y0) * ky;
      return {
        domain: c.dataset.domainUsed,
        lo: Number(c.dataset.lo),
        hi: Number(c.dataset.hi),
        legend: document.getElementById('legend').textContent,
        border: at(cells, xEdge, yMid),
        // A quarter into the cell: away from the border and from the value written at its centre.
        inside: at(cells, xEdge + k / 4, (rowI + 0.2 - y0) * ky),
        // Two cells one above the other (their values differ by 0.3; the outlier is 1e9).
        upper: at(c, xEdge + k / 4, yMid),
        lower: at(c, xEdge + k / 4, yMid + ky),
      };
    });
    assert.strictEqual(state.domain, 'visible', 'the domain follows the visible cells');
    assert.ok(state.hi < 1e6, `not the outlier's range: ${state.lo} … ${state.hi}`);
    assert.match(state.legend, /colours: visible cells, \S+ … \S+/);
    assert.ok(state.border[3] > 0, `a border between cells: ${state.border}`);
    assert.strictEqual(state.inside[3], 0, 'nothing drawn over the inside of a cell');
    assert.notDeepStrictEqual(state.upper, state.lower, 'neighbours differing by 0.3 have different colours (not both the bottom of 0 … 1e9)');
    // The values are written in the cells: some dark or light text pixels at a cell's centre line.
    const text = await frame.evaluate(() => {
      const cells = document.getElementById('cells');
      const d = cells.getContext('2d').getImageData(0, 0, cells.width, cells.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 200) n++;
      return n;
    });
    assert.ok(text > 500, `cell values and borders drawn (${text} opaque pixels)`);
    // Hover: the tooltip says which colours the cells span and where this one falls.
    const box = (await (await frame.$('#heatmap'))!.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await frame.waitForSelector('#tooltip[data-value]', { timeout: 10_000 });
    assert.match(await frame.innerText('#tooltip'), /colour\s+\S+ … \S+ \(visible cells\) · \d+ %/);
    await shot(page, 'first-use-3-single-cells');
  });

  it("names this window's preview as what keeps an unlinked segment in RAM, says so in the panel, and closes it on request", async () => {
    const frame = await previewFromPalette(page, doomed.name);
    fs.unlinkSync(doomed.path);
    // The panel says it, for as long as it shows the segment.
    const notice = await frame.waitForSelector('#notice[data-sticky="true"]:not([hidden])', { timeout: 30_000 });
    assert.match(
      await notice.innerText(),
      new RegExp(
        `${doomed.name.replace(/\./g, '\\.')} was unlinked: .* this panel's mapping is what keeps its memory \\(256\\.\\d KiB\\) in use\\. Close the panel to free it\\.`,
      ),
    );
    await page.locator('.tab', { hasText: `Preview: ${doomed.name} (unlinked)` }).waitFor();
    // The tree names the panel, not "node pid N".
    const deleted = row(page, doomed.name);
    await deleted.waitFor({ timeout: 30_000 });
    await expandRow(page, deleted);
    const holder = page.locator('.part.sidebar .monaco-list-row', { hasText: "this window's preview" });
    await holder.waitFor();
    assert.match(await holder.innerText(), new RegExp(`maps it(, has it open)? · “Preview: ${doomed.name.replace(/\./g, '\\.')} \\(unlinked\\)”`));
    await shot(page, 'first-use-4-unlinked-own-preview');
    await contextMenu(page, "this window's preview", 'Close the Preview That Holds It');
    await page.locator('.tab', { hasText: `Preview: ${doomed.name}` }).waitFor({ state: 'detached', timeout: 15_000 });
    await row(page, doomed.name).waitFor({ state: 'detached', timeout: 30_000 });
  });
});
