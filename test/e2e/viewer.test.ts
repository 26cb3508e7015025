/**
 * The matrix viewer end to end, in the real workbench (code-server + headless Chromium):
 * colours sampled from the canvas against the colormaps of known values, wheel zoom down
 * to single cells with the exact value in the tooltip (compared with numpy), N-D slices,
 * complex parts, 1-D line plots, a segment truncated while previewed, live mode watching a
 * Python writer, export of the window as .npy, a window reload, and the .npy/.safetensors
 * custom editor. Screenshots: test-results/screenshots/viewer-*.png.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { chromiumOptions, ROOT, startCodeServer, workbenchUrl, type CodeServer } from '../harness/code-server';
import { PYTHON, SegmentJar } from '../fixtures/segments';
// The webview's DOM-free modules, as the test build transpiles them (webview/ too, into out/webview/).
import * as cm from '../../contract/colormaps';
import * as sc from '../../webview/scales';
import { focusSegmentList, heatmapFrame, previewFromPalette, quickLookFrame, runCommand, shot as saveShot } from './helpers';

// Functions given to waitForFunction run in the webview; the test build has no DOM types.
declare const document: any;

/** Screenshots of this suite are named viewer-*. */
function shot(page: Page, name: string): Promise<void> {
  return saveShot(page, `viewer-${name}`);
}

/** Runs Python (Debian's numpy) with the script on stdin-free `-c`; returns stdout. */
function python(code: string, ...args: string[]): string {
  return execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const viewerFrame = heatmapFrame;

/** RGBA of the plot canvas at cell (row, col) of the full view (the centre of the cell). */
async function pixelAtCell(frame: Frame, row: number, col: number, rows: number, cols: number): Promise<number[]> {
  return frame.$eval(
    '#heatmap',
    (c: any, a: number[]) => {
      const x = Math.floor(((a[1] + 0.5) * c.width) / a[3]);
      const y = Math.floor(((a[0] + 0.5) * c.height) / a[2]);
      return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data as Uint8ClampedArray);
    },
    [row, col, rows, cols],
  );
}

function near(actual: number[], expected: number[], tol = 2, what = ''): void {
  const ok = expected.every((v, i) => Math.abs(actual[i] - v) <= tol);
  assert.ok(ok, `${what}: pixel ${actual.join(',')} is not ${expected.join(',')}`);
}

async function domain(frame: Frame): Promise<{ lo: number; hi: number; scale: string }> {
  return frame.$eval('#heatmap', (c: any) => ({ lo: Number(c.dataset.lo), hi: Number(c.dataset.hi), scale: c.dataset.scale }));
}

/** Canvas centre in page coordinates. */
async function canvasBox(frame: Frame): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = await (await frame.$('#heatmap'))!.boundingBox();
  assert.ok(box, 'canvas is visible');
  return box!;
}

describe('the matrix viewer', function () {
  this.timeout(300_000);
  const jar = new SegmentJar();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-viewer-'));
  const workspace = path.join(scratch, 'workspace');
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  const pattern = jar.name('shmi_view_pattern', '.npy');
  const big = jar.name('shmi_view_big', '.npy');
  const cube = jar.name('shmi_view_cube', '.npy');
  const waves = jar.name('shmi_view_waves', '.npy');
  const cplx = jar.name('shmi_view_complex', '.npy');
  const doomed = jar.name('shmi_view_doomed', '.npy');
  const live = jar.name('shmi_view_live', '.npy');
  const sparse = jar.name('shmi_view_sparse', '.npy');
  // Pattern: 4 x 6 blocks of 12 x 12 cells; block k = 6*bi + bj holds 10^(k/8) for k < 21, then NaN, +Inf, -Inf.
  const blockValue = (k: number) => (k < 21 ? Math.fround(Math.pow(10, k / 8)) : k === 21 ? NaN : k === 22 ? Infinity : -Infinity);

  before(async () => {
    fs.mkdirSync(workspace, { recursive: true });
    python(
      `
import numpy as np, sys, json, struct
def mm(p, dt, shape):
    return np.lib.format.open_memmap(p, mode='w+', dtype=dt, shape=shape)
a = mm(sys.argv[1], '<f4', (48, 72))
for k in range(24):
    bi, bj = divmod(k, 6)
    v = 10 ** (k / 8) if k < 21 else [np.nan, np.inf, -np.inf][k - 21]
    a[bi*12:(bi+1)*12, bj*12:(bj+1)*12] = v
a.flush()
b = mm(sys.argv[2], '<f4', (3000, 4000))
rng = np.random.default_rng(7)
for i in range(0, 3000, 500):
    b[i:i+500] = (rng.standard_normal((500, 4000)) * 100).astype('<f4')
b.flush()
c = mm(sys.argv[3], '<f4', (6, 40, 50))
k, r, cc = np.meshgrid(np.arange(6), np.arange(40), np.arange(50), indexing='ij')
c[...] = k * 1000 + r + cc / 100
c.flush()
w = mm(sys.argv[4], '<f8', (200000,))
w[...] = np.sin(np.arange(200000) / 5000.0) * 10 + np.arange(200000) % 7
w.flush()
z = mm(sys.argv[5], '<c8', (32, 48))
rr, ci = np.meshgrid(np.arange(32), np.arange(48), indexing='ij')
z[...] = rr + 1j * ci
z.flush()
d = mm(sys.argv[6], '<f4', (2000, 2000))
d[...] = np.arange(4_000_000, dtype='<f4').reshape(2000, 2000)
d.flush()
l = mm(sys.argv[7], '<f4', (64, 64))
l[...] = 0
l.flush()
# Files for the custom editor, in the workspace.
np.save(sys.argv[8] + '/grid.npy', np.arange(30 * 40, dtype='<i2').reshape(30, 40))
tensors = {'embed.weight': np.arange(16 * 24, dtype='<f4').reshape(16, 24), 'head.bias': np.linspace(-1, 1, 50).astype('<f4')}
header, blobs, off = {}, [], 0
for name, t in tensors.items():
    raw = t.tobytes()
    header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
header['__metadata__'] = {'format': 'pt'}
h = json.dumps(header).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open(sys.argv[8] + '/model.safetensors', 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
`,
      pattern.path,
      big.path,
      cube.path,
      waves.path,
      cplx.path,
      doomed.path,
      live.path,
      workspace,
    );
    server = await startCodeServer({
      userDataDir: path.join(scratch, 'user-data'),
      extensionsDir: path.join(scratch, 'extensions'),
      folder: workspace,
      settings: { 'workbench.colorTheme': 'Default Dark Modern' },
    });
    browser = await chromium.launch(chromiumOptions());
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(workbenchUrl(server.base, { folder: workspace, extensionPath: ROOT }));
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.getByRole('tab', { name: /Shared Memory/ }).click();
    await page.locator('.monaco-list-row', { hasText: pattern.name }).waitFor({ timeout: 30_000 });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      await shot(page, `failed-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
    }
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    server?.stop();
    jar.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs "SHM Inspector: Preview Segment" from the palette and picks `name`. */
  const preview = (name: string): Promise<Frame> => previewFromPalette(page, name);

  /** Waits until the save dialog's path input shows the suggested file (it fills in the folder first). */
  async function settled(input: ReturnType<Page['locator']>, re: RegExp): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!re.test(await input.inputValue()) && Date.now() < deadline) await page.waitForTimeout(100);
  }

  async function waitForStats(frame: Frame): Promise<void> {
    await frame.waitForFunction(() => (document.getElementById('stats')?.textContent ?? '').includes('values'), undefined, { timeout: 30_000 });
  }

  it('draws known values in the colormap, with NaN and ±Inf in their own colours, and follows colormap, inversion and scale changes', async () => {
    const frame = await preview(pattern.name);
    await waitForStats(frame);
    assert.match(await frame.innerText('#info'), /float32 · 48×72/);
    const check = async (cmap: string, inverted: boolean, scale: 'linear' | 'log') => {
      const d = await domain(frame);
      assert.strictEqual(d.scale, scale);
      assert.ok(Math.abs(d.lo - 1) < 1e-6 && Math.abs(d.hi - Math.fround(Math.pow(10, 20 / 8))) < 1e-3, `domain ${d.lo} … ${d.hi}`);
      const norm = sc.makeNorm(scale, d.lo, d.hi);
      for (let k = 0; k < 24; k++) {
        const bi = Math.floor(k / 6);
        const bj = k % 6;
        const px = await pixelAtCell(frame, bi * 12 + 6, bj * 12 + 6, 48, 72);
        const v = blockValue(k);
        const sp = cm.specialColors(cmap as never);
        if (Number.isNaN(v)) assert.strictEqual(px[3], 0, 'NaN is transparent');
        else if (v === Infinity) near(px, sp.posInf, 0, '+Inf');
        else if (v === -Infinity) near(px, sp.negInf, 0, '-Inf');
        else near(px, [...cm.colorAt(cmap as never, norm.t(v), inverted), 255], 2, `${cmap}${inverted ? '_r' : ''} ${scale} block ${k} = ${v}`);
      }
    };
    await check('viridis', false, 'linear');
    await shot(page, '1-pattern-viridis');
    await frame.selectOption('#colormap', 'magma');
    await check('magma', false, 'linear');
    await frame.selectOption('#scale', 'log');
    await check('magma', false, 'log');
    await frame.check('#invert');
    await check('magma', true, 'log');
    await frame.selectOption('#colormap', 'RdBu');
    await frame.uncheck('#invert');
    await check('RdBu', false, 'log');
    await shot(page, '2-pattern-rdbu-log');
    // The legend names the special colours.
    assert.match(await frame.innerText('#legend'), /NaN 144[\s\S]*\+Inf 144[\s\S]*−Inf 144/);
    // Theme-aware chrome: axis labels are light on the dark theme, dark on the light one; the colours of the data stay.
    const ink = () =>
      frame.$eval('#xaxis', (c: any) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let sum = 0;
        let n = 0;
        // The axis title's row (below the tick labels), drawn in the theme's foreground.
        for (let i = 4 * c.width * Math.floor(c.height * 0.55); i < d.length; i += 4)
          if (d[i + 3] > 200) {
            sum += (d[i] + d[i + 1] + d[i + 2]) / 3;
            n++;
          }
        return n ? sum / n : -1;
      });
    const first = await ink();
    const block0 = await pixelAtCell(frame, 6, 6, 48, 72);
    // The workbench's own theme (Dark Modern here; light when its theme does not load): switch the
    // webview to the other kind the way VS Code does (its variables and body class), then back.
    const themeOf = () =>
      frame.evaluate(() => ({ classes: document.body.className as string, style: document.documentElement.getAttribute('style') as string | null }));
    const before = await themeOf();
    const startsDark = /\bvscode-(dark|high-contrast)\b/.test(before.classes) && !/\bvscode-high-contrast-light\b/.test(before.classes);
    await frame.evaluate((toDark: boolean) => {
      const s = document.documentElement.style;
      s.setProperty('--vscode-foreground', toDark ? '#cccccc' : '#3b3b3b');
      s.setProperty('--vscode-descriptionForeground', toDark ? '#9d9d9d' : '#717171');
      s.setProperty('--vscode-editor-background', toDark ? '#1f1f1f' : '#ffffff');
      document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
      document.body.classList.add(toDark ? 'vscode-dark' : 'vscode-light');
    }, !startsDark);
    await page.waitForTimeout(200);
    const second = await ink();
    const [light, dark] = startsDark ? [second, first] : [first, second];
    assert.ok(
      light >= 0 && light < 128 && dark > 128,
      `axis ink ${light} on the light theme, ${dark} on the dark one (the workbench started ${startsDark ? 'dark' : 'light'})`,
    );
    assert.deepStrictEqual(await pixelAtCell(frame, 6, 6, 48, 72), block0, 'the data keeps its colours');
    await shot(page, startsDark ? '2b-pattern-light-theme' : '2b-pattern-dark-theme');
    await frame.evaluate((t: { classes: string; style: string | null }) => {
      document.body.className = t.classes;
      if (t.style === null) document.documentElement.removeAttribute('style');
      else document.documentElement.setAttribute('style', t.style);
    }, before);
  });

  it('zooms with the wheel down to single cells; the tooltip shows the exact stored value; keys pan and zoom', async () => {
    const frame = await preview(big.name);
    await waitForStats(frame);
    // Percentile clip: the host's quantiles agree with numpy's.
    await frame.selectOption('#domain', 'p1');
    await frame.waitForFunction(
      () => {
        const c = document.getElementById('heatmap');
        return Number(c.dataset.lo) > -300 && Number(c.dataset.lo) < -200;
      },
      undefined,
      { timeout: 30_000 },
    );
    const d = await domain(frame);
    const [p1, p99] = JSON.parse(
      python(`import numpy as np,sys,json; a=np.load(sys.argv[1], mmap_mode='r'); print(json.dumps([float(x) for x in np.percentile(a, [1, 99])]))`, big.path),
    );
    assert.ok(Math.abs(d.lo - p1) < 0.05 && Math.abs(d.hi - p99) < 0.05, `1-99% ${d.lo} … ${d.hi}, numpy ${p1} … ${p99}`);
    await shot(page, '3-big-percentile');
    const box = await canvasBox(frame);
    const fx = box.x + box.width * 0.37;
    const fy = box.y + box.height * 0.61;
    await page.mouse.move(fx, fy);
    // Wheel in until each element is a block of at least 12 pixels.
    const visibleRows = async () => {
      const [, , y0, y1] = (await frame.$eval('#heatmap', (c: any) => c.dataset.view as string)).split(',').map(Number);
      return y1 - y0;
    };
    for (let i = 0; i < 80 && (await visibleRows()) * 12 > box.height; i++) {
      await page.mouse.wheel(0, -100);
      await page.waitForTimeout(25);
    }
    await frame.waitForFunction(
      (maxRows: number) => {
        const s = document.getElementById('status')?.textContent ?? '';
        const m = /· (\d+)×\d+ cells/.exec(s);
        return /1 element per cell/.test(s) && m && Number(m[1]) <= maxRows && document.body.dataset.state === 'exact';
      },
      Math.ceil(box.height / 12) + 1,
      { timeout: 20_000 },
    );
    const cellsText = await frame.innerText('#status');
    const m = /· (\d+)×(\d+) cells/.exec(cellsText);
    assert.ok(m && Number(m[1]) < box.height / 8 && Number(m[1]) > 2, `zoomed to single cells: ${cellsText}`);
    await page.mouse.move(fx + 3, fy + 2);
    await frame.waitForSelector('#tooltip[data-value]', { timeout: 10_000 });
    const tip = await frame.$eval('#tooltip', (t: any) => ({ row: Number(t.dataset.row), col: Number(t.dataset.col), value: t.dataset.value, text: t.innerText }));
    const expected = python(
      `import numpy as np,sys; a=np.load(sys.argv[1], mmap_mode='r'); print(repr(float(a[int(sys.argv[2]), int(sys.argv[3])])))`,
      big.path,
      String(tip.row),
      String(tip.col),
    ).trim();
    assert.strictEqual(Math.fround(Number(tip.value)), Math.fround(Number(expected)), `tooltip ${tip.value} vs numpy ${expected}`);
    assert.match(tip.text, new RegExp(`\\(${tip.row}, ${tip.col}\\)`));
    // The block under the cursor has the colour of that exact value.
    const dz = await domain(frame);
    const px = await frame.$eval(
      '#heatmap',
      (c: any, p: number[]) => {
        const r = c.getBoundingClientRect();
        const k = c.width / r.width;
        return Array.from(c.getContext('2d').getImageData(Math.floor(p[0] * k), Math.floor(p[1] * k), 1, 1).data as Uint8ClampedArray);
      },
      [fx + 3 - box.x, fy + 2 - box.y],
    );
    near(px, [...cm.colorAt('viridis', sc.makeNorm('linear', dz.lo, dz.hi).t(Number(expected))), 255], 2, 'cell colour');
    await shot(page, '4-zoomed-tooltip');
    // Keyboard: arrows pan, minus zooms out, 0 resets.
    await frame.focus('#heatmap');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('-');
    await page.keyboard.press('0');
    await frame.waitForFunction(
      () =>
        /· \d+×\d+ cells/.test(document.getElementById('status')?.textContent ?? '') &&
        !/1 element per cell/.test(document.getElementById('status')?.textContent ?? ''),
      undefined,
      { timeout: 20_000 },
    );
  });

  it('shows the slice of an N-D array picked with the sliders, and complex parts', async () => {
    const frame = await preview(cube.name);
    assert.match(await frame.innerText('#info'), /float32 · 6×40×50/);
    assert.match(await frame.innerText('#status'), /range 0 … 39\.49/);
    await frame.focus('#index-0');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    await frame.waitForFunction(() => /range 3000 … 3039\.49/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 20_000 });
    assert.match(await frame.innerText('#slicer'), /3 \/ 5/);
    // Show axes 0 and 2: 6 rows x 50 columns; the slider is now for axis 1.
    await frame.selectOption('#axis-col', '2');
    await frame.selectOption('#axis-row', '0');
    await frame.waitForSelector('#index-1');
    await frame.waitForFunction(() => /· 6×50 cells/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 20_000 });
    await shot(page, '5-nd-slice');

    const z = await preview(cplx.name);
    assert.match(await z.innerText('#info'), /complex64 · 32×48/);
    await z.selectOption('#part', 'imag');
    await z.waitForFunction(() => /range 0 … 47 /.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 20_000 });
    await z.selectOption('#part', 'real');
    await z.waitForFunction(() => /range 0 … 31 /.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 20_000 });
  });

  it('plots a 1-D array as a line with a min/max envelope, zoomable to single samples', async () => {
    const frame = await preview(waves.name);
    assert.strictEqual(await frame.$eval('body', (b) => b.dataset.plot), 'line');
    assert.match(await frame.innerText('#status'), /min\/max · \d+ columns of 200\u2009000/);
    const inked = await frame.$eval('#heatmap', (c: any) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(inked > 1000, `line drawn (${inked} pixels)`);
    const box = await canvasBox(frame);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 30; i++) await page.mouse.wheel(0, -500);
    await frame.waitForFunction(() => /^samples/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 20_000 });
    await page.mouse.move(box.x + box.width / 2 + 5, box.y + box.height / 2);
    await frame.waitForSelector('#tooltip[data-value]', { timeout: 10_000 });
    const tip = await frame.$eval('#tooltip', (t: any) => ({ col: Number(t.dataset.col), value: Number(t.dataset.value) }));
    const expected = Number(
      python(`import numpy as np,sys; a=np.load(sys.argv[1], mmap_mode='r'); print(repr(float(a[int(sys.argv[2])])))`, waves.path, String(tip.col)),
    );
    assert.strictEqual(tip.value, expected);
    await shot(page, '6-line');

    // T over the hovered sample: the grid of its elements, one a row (index, value), that sample outlined in the middle.
    await page.keyboard.press('t');
    await frame.waitForFunction(() => document.body.dataset.view === 'grid' && document.getElementById('vg-scroller')?.dataset.pending === '0', undefined, {
      timeout: 30_000,
    });
    const cells = (await frame.$$eval('#vg-rows .cell', (ds: any[]) =>
      ds.map((d) => [Number(d.dataset.row), Number(d.dataset.col), d.textContent, d.className]),
    )) as [number, number, string, string][];
    assert.deepStrictEqual([...new Set(cells.map((c) => c[1]))], [0], 'one column of values');
    assert.match(await frame.innerText('#vg-head'), /value/);
    assert.deepStrictEqual(
      cells.filter((c) => /\bmarked\b/.test(c[3])).map((c) => c[0]),
      [tip.col],
      'the hovered sample is outlined',
    );
    const shown = cells.map((c) => c[0]);
    const numpy: string[] = JSON.parse(
      python(
        `import numpy as np,sys,json; a=np.load(sys.argv[1], mmap_mode='r'); print(json.dumps([repr(float(a[i])) for i in range(int(sys.argv[2]), int(sys.argv[3]))]))`,
        waves.path,
        String(shown[0]),
        String(shown.at(-1)! + 1),
      ),
    );
    for (const [r, , text] of cells) assert.strictEqual(Number(text.replace(/\u2212/g, '-')), Number(numpy[r - shown[0]]), `element ${r}`);
    assert.match(await frame.innerText('#status'), /^elements [\d,]+–[\d,]+ · exact values/);
    await shot(page, '6b-line-grid');
    await page.keyboard.press('t');
    await frame.waitForFunction(() => document.body.dataset.view === 'plot', undefined, { timeout: 10_000 });
  });

  it('says clearly that a segment shrank while previewed, offers Reopen, and the extension host keeps answering', async () => {
    const frame = await preview(doomed.name);
    fs.truncateSync(doomed.path, 4096);
    await frame.focus('#heatmap');
    await page.keyboard.press('+');
    await frame.waitForSelector('body[data-state="error"]', { timeout: 20_000 });
    const text = await frame.innerText('#error-text');
    assert.match(text, /shrank/);
    assert.match(text, /Reopen/);
    assert.strictEqual(await frame.innerText('#retry'), 'Reopen');
    await shot(page, '7-truncated');
    await frame.click('#retry');
    await frame.waitForFunction(
      () => /truncated/.test(document.getElementById('error-text')?.textContent ?? '') && !document.getElementById('error')!.hidden,
      undefined,
      { timeout: 20_000 },
    );
    // The extension host still runs commands: another preview opens and draws.
    const other = await preview(pattern.name);
    assert.match(await other.innerText('#info'), /float32 · 48×72/);
  });

  it('live mode sees what a Python process writes; pause holds the picture, resume catches up', async () => {
    const frame = await preview(live.name);
    assert.match(await frame.innerText('#status'), /range 0 … 0 /);
    await frame.selectOption('#live', '0.5');
    const write = (expr: string) => python(`import numpy as np,sys; m=np.load(sys.argv[1], mmap_mode='r+'); m[...] = ${expr}; m.flush()`, live.path);
    write('np.arange(64*64, dtype=np.float32).reshape(64, 64) / 4095');
    await frame.waitForFunction(() => /range 0 … 1 /.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const top = await pixelAtCell(frame, 0, 0, 64, 64);
    const bottom = await pixelAtCell(frame, 63, 63, 64, 64);
    assert.notDeepStrictEqual(top, bottom, 'the gradient shows');
    await shot(page, '8-live');
    await frame.click('#pause');
    assert.match(await frame.innerText('#status'), /live paused/);
    write('5');
    await page.waitForTimeout(2000);
    assert.match(await frame.innerText('#status'), /range 0 … 1 /);
    await frame.click('#pause');
    await frame.waitForFunction(() => /range 5 … 5 /.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    // Python makes a new segment under the same name: live mode says so, and Reopen maps the new one.
    jar.track(`${live.path}.new.npy`);
    python(
      `import numpy as np,sys,os; np.save(sys.argv[1] + '.new.npy', np.full((64, 64), 7, dtype='<f4')); os.replace(sys.argv[1] + '.new.npy', sys.argv[1])`,
      live.path,
    );
    await frame.waitForSelector('#error:not([hidden])', { timeout: 10_000 });
    assert.match(await frame.innerText('#error-text'), /replaced by a new segment of the same name/);
    await shot(page, '8c-live-replaced');
    await frame.click('#retry');
    await frame.waitForFunction(() => /range 7 … 7 /.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await frame.selectOption('#live', '0');
  });

  it('previews a sparse 1 GiB segment, exact picture and stats, without giving its holes a page', async () => {
    // numpy writes the header and the last element; 64 rows of 5 are written at row 8000 (pwrite: no other page).
    python(
      `import numpy as np, os, sys
m = np.lib.format.open_memmap(sys.argv[1], mode='w+', dtype='<f4', shape=(16384, 16384)); off = m.offset; del m
fd = os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, np.full(64 * 16384, 5, '<f4').tobytes(), off + 8000 * 16384 * 4); os.close(fd)`,
      sparse.path,
    );
    const before = fs.statSync(sparse.path).blocks;
    assert.ok(before * 512 < 8 << 20, 'the fixture is sparse');
    const frame = await preview(sparse.name);
    await frame.waitForFunction(() => /range 0 … 5 /.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 60_000 });
    await frame.selectOption('#live', '0.5');
    await page.waitForTimeout(2000);
    await frame.selectOption('#live', '0');
    await shot(page, '8d-sparse');
    assert.strictEqual(fs.statSync(sparse.path).blocks, before, 'the preview gave no hole a page');
  });

  it('saves the visible window as .npy (numpy reads back the same elements) and the figure as PNG', async () => {
    const frame = await preview(big.name);
    await frame.focus('#heatmap');
    await page.keyboard.press('0');
    const box = await canvasBox(frame);
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.3);
    for (let i = 0; i < 12; i++) await page.mouse.wheel(0, -100);
    await frame.waitForSelector('body[data-state="exact"]');
    await page.waitForTimeout(300);
    await frame.click('#save-npy');
    // code-server's save dialog is VS Code's own: a path in a quick input; its default is in the workspace.
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await settled(input, /\.npy$/);
    assert.match(await input.inputValue(), /workspace\/shmi_view_big_[^/]*_r\d+-\d+_c\d+-\d+\.npy$/);
    await page.keyboard.press('Enter');
    await frame.waitForFunction(() => /Saved/.test(document.getElementById('notice')?.textContent ?? ''), undefined, { timeout: 20_000 });
    const notice = await frame.innerText('#notice');
    const w = /rows (\d+):(\d+), columns (\d+):(\d+)/.exec(notice);
    assert.ok(w, notice);
    const [r0, r1, c0, c1] = w!.slice(1).map(Number);
    assert.ok(r1 - r0 > 10 && c1 - c0 > 10 && r1 - r0 < 3000 && c1 - c0 < 4000, `window ${notice}`);
    const same = python(
      `import numpy as np, sys
w = np.load(sys.argv[2])
a = np.load(sys.argv[1], mmap_mode='r')
r0, r1, c0, c1 = map(int, sys.argv[3:7])
print(w.dtype.str, w.shape == (r1 - r0, c1 - c0) and bool(np.array_equal(w, a[r0:r1, c0:c1])))`,
      big.path,
      / to (\S+\.npy)/.exec(notice)![1],
      String(r0),
      String(r1),
      String(c0),
      String(c1),
    ).trim();
    assert.strictEqual(same, '<f4 True');
    await frame.click('#export-png');
    await input.waitFor({ timeout: 10_000 });
    await settled(input, /\.png$/);
    const png = await input.inputValue();
    assert.match(png, /workspace\/shmi_view_big_[^/]*\.png$/);
    await page.keyboard.press('Enter');
    await frame.waitForFunction(() => /\.png/.test(document.getElementById('notice')?.textContent ?? ''), undefined, { timeout: 20_000 });
    const head = fs.readFileSync(png).subarray(0, 24);
    assert.strictEqual(head.subarray(1, 4).toString(), 'PNG');
    assert.ok(head.readUInt32BE(16) > 300 && head.readUInt32BE(20) > 200, 'PNG has the figure size');
  });

  it('shows the next segment in the preview panel until the user changes it, like VS Code preview editors', async () => {
    await runCommand(page, 'View: Close All Editors');
    const previewTabs = page.locator('.tabs-container .tab', { hasText: 'Preview: ' });
    await previewTabs
      .first()
      .waitFor({ state: 'detached', timeout: 10_000 })
      .catch(() => undefined);
    const first = await preview(pattern.name);
    assert.strictEqual(await previewTabs.count(), 1);
    // Untouched: the next preview replaces it, in the same running webview.
    const second = await preview(cplx.name);
    assert.strictEqual(second, first, 'the same webview frame shows the next segment');
    assert.strictEqual(await previewTabs.count(), 1, 'one preview tab');
    await page.locator('.tabs-container .tab', { hasText: `Preview: ${cplx.name}` }).waitFor();
    // The first picture came with init, before any view was asked for.
    const t = await second.$eval('body', (b: any) => ({ ...b.dataset }));
    assert.ok(Number(t.firstPixelsMs) <= Number(t.tileMs ?? Infinity), `first pixels ${t.firstPixelsMs} ms, first tile ${t.tileMs} ms`);
    assert.strictEqual(await second.innerText('#title'), cplx.name);
    // Changed (zoomed): the panel keeps its array and the next preview opens a panel of its own.
    await second.focus('#heatmap');
    await page.keyboard.press('+');
    await second.waitForSelector('body[data-state="exact"]');
    await page.waitForTimeout(200);
    const third = await preview(pattern.name);
    assert.notStrictEqual(third, second);
    assert.strictEqual(await previewTabs.count(), 2, 'a second preview tab');
    assert.strictEqual(await second.innerText('#title'), cplx.name, 'the changed panel still shows its array');
    assert.ok(await second.isHidden('#keep'), 'a kept panel offers no Keep open');
    // Keep open: the same, without changing anything.
    assert.ok(await third.isVisible('#keep'), 'an untouched preview offers Keep open');
    await shot(page, '8b-reused-panel');
    await third.click('#keep');
    assert.ok(await third.isHidden('#keep'));
    await page.waitForTimeout(200);
    const fourth = await preview(cube.name);
    assert.notStrictEqual(fourth, third);
    assert.strictEqual(await previewTabs.count(), 3, 'a third preview tab');
    assert.strictEqual(await third.innerText('#title'), pattern.name);
  });

  it('draws a tensor whose name is hostile markup as text, in a new panel whose page carries its init', async () => {
    const st = jar.name('shmi_view_hostile', '.safetensors');
    // No quotes: JSON would escape them, and the markup must survive JSON to be a test of the page.
    const evil = '</script><b id=pwn>x</b><script>document.title=document.URL.length</script>';
    python(
      `
import json, struct, sys
import numpy as np
t = np.arange(12, dtype='<f4').reshape(3, 4)
h = json.dumps({sys.argv[2]: {'dtype': 'F32', 'shape': [3, 4], 'data_offsets': [0, t.nbytes]}}).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + t.tobytes())
`,
      st.path,
      evil,
    );
    await runCommand(page, 'View: Close All Editors');
    await page.locator('.monaco-list-row', { hasText: st.name }).waitFor({ timeout: 15_000 });
    const frame = await preview(`${st.name}/${evil}`);
    assert.strictEqual(await frame.innerText('#title'), `${st.name}/${evil}`, 'the name is shown as text');
    assert.ok(await frame.$('#init-json'), 'the page carried its init');
    assert.strictEqual(await frame.$('#pwn'), null, 'no markup from the name made it into the page');
    assert.doesNotMatch(await frame.evaluate(() => document.title), /^\d+$/, 'no script from the name ran');
    assert.match(await frame.innerText('#info'), /float32 · 3×4/);
  });

  it('survives a window reload with its colormap and zoom', async () => {
    const frame = await preview(pattern.name);
    await frame.selectOption('#colormap', 'cividis');
    await frame.focus('#heatmap');
    await page.keyboard.press('+');
    await frame.waitForSelector('body[data-state="exact"]');
    await page.waitForTimeout(300);
    // Developer: Reload Window (the workbench saves its state, as on any reload).
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForTimeout(2000);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // Every editor comes back; a webview loads once its tab is shown.
    await page.locator('.tab', { hasText: `Preview: ${pattern.name}` }).click({ timeout: 60_000 });
    const again = await viewerFrame(page, pattern.name, 60_000);
    await again.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    assert.strictEqual(await again.$eval('#colormap', (s: any) => s.value), 'cividis');
    assert.doesNotMatch(await again.innerText('#status'), /48×72 cells/, 'still zoomed in');
  });

  it('opens .npy and .safetensors files from the Explorer in the viewer, with a tensor picker', async () => {
    await page
      .getByRole('tab', { name: /Explorer/ })
      .first()
      .click();
    const open = async (file: string) => {
      const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: file });
      await row.waitFor({ timeout: 30_000 });
      // Away from the activity bar: its hover ("Explorer (Ctrl+Shift+E)") would take the click.
      await page.mouse.move(900, 600);
      await row.click({ button: 'right' });
      const item = page.getByRole('menuitem', { name: 'Open in Array Viewer' });
      await item.hover();
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      const f = await viewerFrame(page, file);
      await f.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
      return f;
    };
    const npy = await open('grid.npy');
    assert.match(await npy.innerText('#info'), /int16 · 30×40/);
    assert.match(await npy.innerText('#status'), /range 0 … 1199 /);
    const st = await open('model.safetensors');
    assert.match(await st.innerText('#info'), /float32 · 16×24/);
    assert.deepStrictEqual(await st.$$eval('#tensor option', (o: any[]) => o.map((x) => x.value)), ['embed.weight', 'head.bias']);
    await st.selectOption('#tensor', 'head.bias');
    await st.waitForFunction(() => /float32 · 50 /.test(document.getElementById('info')?.textContent ?? '') && document.body.dataset.state === 'exact', undefined, {
      timeout: 20_000,
    });
    assert.strictEqual(await st.$eval('body', (b) => b.dataset.plot), 'line');
    await shot(page, '9-safetensors');
  });
});

describe('the matrix viewer on a 1 GiB matrix', function () {
  this.timeout(600_000);
  if (!process.env.SHM_VIEWER_BIG) {
    it.skip('times the first pixels (set SHM_VIEWER_BIG=1)', () => undefined);
    return;
  }
  const jar = new SegmentJar();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-viewer-big-'));
  const huge = jar.name('shmi_view_1gib', '.npy');
  const small = jar.name('shmi_view_small', '.npy');
  let server: CodeServer;
  let browser: Browser;

  after(async () => {
    await browser?.close().catch(() => undefined);
    server?.stop();
    jar.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('times the first pixels of a 16384×16384 float32 segment, in a new panel and in a reused one', async () => {
    python(
      `
import numpy as np, sys
a = np.lib.format.open_memmap(sys.argv[1], mode='w+', dtype='<f4', shape=(16384, 16384))
x = np.arange(16384, dtype=np.float32)
for i in range(0, 16384, 1024):
    r = np.arange(i, i + 1024, dtype=np.float32)[:, None]
    a[i:i+1024] = np.sin(r / 900) * np.cos(x / 1300) + (r + x) / 32768
a.flush()
s = np.lib.format.open_memmap(sys.argv[2], mode='w+', dtype='<f4', shape=(30, 40))
s[...] = np.arange(1200, dtype='<f4').reshape(30, 40)
s.flush()
`,
      huge.path,
      small.path,
    );
    const workspace = path.join(scratch, 'ws');
    fs.mkdirSync(workspace);
    server = await startCodeServer({
      userDataDir: path.join(scratch, 'ud'),
      extensionsDir: path.join(scratch, 'ext'),
      folder: workspace,
      settings: { 'workbench.colorTheme': 'Default Dark Modern' },
    });
    browser = await chromium.launch(chromiumOptions());
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(workbenchUrl(server.base, { folder: workspace, extensionPath: ROOT }));
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.getByRole('tab', { name: /Shared Memory/ }).click();
    await page.locator('.monaco-list-row', { hasText: huge.name }).waitFor({ timeout: 30_000 });
    const times: string[] = [];
    let quickLookShown = false;
    const closeAll = async () => {
      await runCommand(page, 'View: Close All Editors', quickLookShown ? focusSegmentList : undefined);
      await page.waitForTimeout(1500);
    };
    const previewByPalette = (name: string) => previewFromPalette(page, name, 120_000);
    const record = async (what: string, frame: Frame) => {
      await frame.waitForFunction(() => (document.getElementById('stats')?.textContent ?? '').includes('values'), undefined, { timeout: 120_000 });
      const t = await frame.$eval('body', (b: any) => ({ ...b.dataset }));
      times.push(
        `${what}: webview script ran at ${t.scriptMs} ms, init at ${t.initMs} ms, first pixels ${t.firstPixelsMs} ms, ` +
          `first view asked at ${t.viewMs} ms, first tile in at ${t.tileMs ?? '—'} ms, exact ${t.exactMs} ms after the request; status: ${await frame.innerText('#status')}`,
      );
    };
    for (let run = 1; run <= 3; run++) {
      // A new panel: the webview starts from nothing.
      await closeAll();
      await record(`new panel, run ${run}`, await previewByPalette(huge.name));
      await shot(page, `big-new-${run}`);
      // The running panel, showing another (small) array first, is reused.
      await closeAll();
      await previewByPalette(small.name);
      await record(`reused panel, run ${run}`, await previewByPalette(huge.name));
      await shot(page, `big-reused-${run}`);
    }
    // Quick Look: a click on the row (which also shows the array in the preview editor, reused).
    await runCommand(page, 'SHM Inspector: Show Quick Look');
    quickLookShown = true;
    for (let run = 1; run <= 3; run++) {
      await closeAll();
      await page.locator('.part.sidebar .monaco-list-row', { hasText: small.name }).click();
      const ql = await quickLookFrame(page, small.name, 120_000);
      await ql.waitForSelector('body[data-state="exact"]', { timeout: 120_000 });
      await page.waitForTimeout(1500);
      await page.locator('.part.sidebar .monaco-list-row', { hasText: huge.name }).click();
      await ql.waitForFunction((n: string) => document.getElementById('title')?.textContent === n && document.body.dataset.state === 'exact', huge.name, {
        timeout: 120_000,
      });
      const t = await ql.$eval('body', (b: any) => ({ ...b.dataset }));
      times.push(
        `Quick Look after a click (the reused preview editor draws it too), run ${run}: init at ${t.initMs} ms, first pixels ${t.firstPixelsMs} ms, last tile ${t.exactMs ?? '—'} ms after the selection`,
      );
      await shot(page, `big-quick-look-${run}`);
    }
    console.log(times.join('\n'));
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'test-results', 'viewer-timing.txt'), times.join('\n') + '\n');
  });
});
