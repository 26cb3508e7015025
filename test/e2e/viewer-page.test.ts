/**
 * The viewer's page (dist/webview.js, the split webview: store, container, toolbar, drawing) in
 * headless Chromium, served by a real ViewerSession (real addon, real numpy files) in this process,
 * without the workbench: the first picture, the exact one, statistics, the hover value, wheel zoom
 * to single cells, settings saved, Keep open, a panel reused for the next array, an error.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ViewerSession, type ViewerIO, type ViewerPort } from '../../extension/preview/session';
import { viewerPage } from '../../extension/preview/page';
import { FileSource } from '../../extension/preview/source';
import { chromiumOptions } from '../harness/code-server';
import { PYTHON } from '../fixtures/segments';
import { execFileSync } from 'child_process';

// Code run in the page (the test build has no DOM types).
declare const document: any;
declare const window: any;

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Typed arrays cross into the page as base64 (what postMessage's structured clone carries). */
const encode = (m: unknown) =>
  JSON.stringify(m, (_k, v) =>
    ArrayBuffer.isView(v) ? { __ta: v.constructor.name, b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') } : v,
  );

describe('the viewer page in Chromium, served by a real session', function () {
  this.timeout(120_000);
  let dir: string;
  let browser: Browser;
  let page: Page;
  const sent: { type: string; to?: number }[] = [];
  const listeners = new Set<(m: unknown) => void>();
  const io: ViewerIO = { showSaveDialog: async () => undefined, writeFile: async () => undefined };
  const sessions: ViewerSession[] = [];
  const port: ViewerPort = {
    postMessage: async (m) => {
      await page.evaluate((text) => {
        const msg = JSON.parse(text, (_k, v) => {
          if (!v || typeof v !== 'object' || !v.__ta) return v;
          const bin = atob(v.b64);
          const bytes = new Uint8Array(bin.length);
          for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
          return new (globalThis as unknown as Record<string, new (b: ArrayBuffer) => unknown>)[v.__ta](bytes.buffer);
        });
        window.postMessage(msg, '*');
      }, encode(m));
      return true;
    },
    onDidReceiveMessage: (l) => {
      listeners.add(l);
      return { dispose: () => listeners.delete(l) };
    },
  };
  const npy = (name: string, expr: string) => {
    const f = path.join(dir, name);
    execFileSync(PYTHON, ['-c', `import numpy as np,sys; np.save(sys.argv[1], ${expr})`, f]);
    return f;
  };
  const session = (file: string, opts: { running?: boolean; plotArea?: { width: number; height: number } | null } = {}) => {
    const s = new ViewerSession(port, new FileSource(file), Date.now(), null, { io, reusable: true, ...opts });
    sessions.push(s);
    return s;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-page-'));
    const opts = chromiumOptions();
    browser = await chromium.launch({ ...opts, args: [...opts.args, '--allow-file-access-from-files'] });
    page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.exposeFunction('__post', (m: { type: string }) => {
      sent.push(m);
      for (const l of listeners) l(m);
    });
    await page.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => (w.__post as (m: unknown) => void)(m),
        getState: () => w.__state ?? null,
        setState: (s: unknown) => (w.__state = s),
      });
    });
  });
  after(async () => {
    for (const s of sessions) s.dispose();
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('draws, reads statistics and exact values, zooms, saves its settings, and shows the next array when reused', async () => {
    const a = npy('a.npy', 'np.arange(300*400, dtype=np.float32).reshape(300, 400)');
    const b = npy('b.npy', 'np.sin(np.linspace(0, 20, 5000))');
    const first = session(a, { plotArea: { width: 600, height: 400 } });
    const html = path.join(dir, 'page.html');
    fs.writeFileSync(html, viewerPage({ script: `file://${path.join(ROOT, 'dist', 'webview.js')}`, cspSource: 'file:', title: 'a.npy' }));
    await page.goto(`file://${html}`);
    await page.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    assert.strictEqual(await page.textContent('#title'), 'a.npy');
    assert.match((await page.textContent('#info')) ?? '', /^float32 · 300×400 · 468\.9 KiB/);
    assert.match((await page.textContent('#status')) ?? '', /^mean · 300×400 cells · range 0 … 119999/);
    await page.waitForFunction(() => (document.getElementById('stats')?.textContent ?? '').includes('values'), undefined, { timeout: 30_000 });
    assert.match((await page.textContent('#stats')) ?? '', /^min 0 · max 1\.2e5 · mean 60000 · std 34641 · 120\s000 values$/);
    // Hover: the exact stored value of the element under the cursor.
    const box = (await page.locator('#heatmap').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('#tooltip[data-value]', { timeout: 10_000 });
    const tip = await page.$eval('#tooltip', (t) => ({ ...(t as any).dataset }));
    assert.strictEqual(Number(tip.value), Number(tip.row) * 400 + Number(tip.col));
    // Wheel zoom down to single elements: the host sends exact cells of the new window.
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -300);
    await page.waitForFunction(() => /1 element per cell/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await page.selectOption('#colormap', 'magma');
    const state = await page.evaluate(() => (window as unknown as { __state: { name: string; colormap: string; viewport: unknown } }).__state);
    assert.deepStrictEqual([state.name, state.colormap, state.viewport !== null], ['a.npy', 'magma', true], 'the settings store saved the view');
    assert.ok(first.pinned, 'changing the view pinned the panel');
    // Requests went to the session that sent init; 'cancel' told it of superseded ones.
    assert.ok(sent.some((m) => m.type === 'view' && m.to !== 0));
    // The panel reused for the next array (a 1-D one): a new session on the same page.
    first.dispose();
    session(b, { running: true, plotArea: first.plotArea });
    await page.waitForFunction(() => document.getElementById('title')?.textContent === 'b.npy' && document.body.dataset.state === 'exact', undefined, {
      timeout: 30_000,
    });
    assert.strictEqual(await page.$eval('body', (e) => (e as any).dataset.plot), 'line');
    assert.strictEqual(await page.$eval('#colormap', (e) => (e as any).value), 'magma', 'display choices carried to the next array');
    // An array that cannot be read: the error, without a button to retry.
    sessions.at(-1)!.dispose();
    fs.truncateSync(a, 100);
    session(a, { running: true });
    await page.waitForSelector('body[data-state="error"]', { timeout: 30_000 });
    assert.match((await page.textContent('#error-text')) ?? '', /a\.npy/);
  });
});
