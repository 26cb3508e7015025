/**
 * Managing segments as a user does it, in the real workbench: create (palette),
 * preview, persist (context menu, save dialog), unlink (modal confirmation) and
 * restore (open dialog); each step checked on screen and on disk.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { chromiumOptions, ROOT, startCodeServer, workbenchUrl, type CodeServer } from '../harness/code-server';
import { PYTHON, SegmentJar } from '../fixtures/segments';
import { execFileSync } from 'child_process';


/** Moves keyboard focus to the workbench (out of a webview, which keeps F1 to itself): a click on the empty bottom of the sidebar. */
async function focusWorkbench(page: Page): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (box) await page.mouse.click(box.x + box.width / 2, box.y + box.height - 12);
}

const SHOTS = path.join(ROOT, process.env.SHM_RESULTS ?? 'test-results', 'screenshots');

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Waits for the quick input step whose title contains `title`, types `text`, presses Enter. */
async function answerStep(page: Page, title: string | RegExp, text: string): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.fill(text);
  await page.waitForTimeout(150);
  await page.keyboard.press('Enter');
}

/** The simple file dialog of the web workbench: type the full path, accept. */
async function answerFileDialog(page: Page, file: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  // The dialog fills in its starting folder a moment after it opens: wait for that, then type over it.
  await page.waitForFunction(
    () => ((globalThis as any).document.querySelector('.quick-input-widget .quick-input-box input')?.value ?? '').length > 0,
  );
  await page.waitForTimeout(300);
  await input.fill(file);
  await page.waitForFunction(
    (f) => (globalThis as any).document.querySelector('.quick-input-widget .quick-input-box input')?.value === f,
    file,
  );
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
}

async function runCommand(page: Page, title: string): Promise<void> {
  await focusWorkbench(page);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}

async function contextMenu(page: Page, rowText: string, item: string): Promise<void> {
  const row = page.locator('.part.sidebar .monaco-list-row', { hasText: rowText });
  await row.click({ button: 'right' });
  const entry = page.getByRole('menuitem', { name: item });
  await entry.hover();
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
}

async function heatmapFrame(page: Page, title: string, ms = 30_000): Promise<Frame> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.$eval('#title', (el) => el.textContent)) === title && (await f.$('#heatmap'))) return f;
      } catch {
        // not ours
      }
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no preview of ${title}`);
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('managing segments in the workbench', function () {
  this.timeout(240_000);
  const jar = new SegmentJar();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-e2e-manage-'));
  const snapDir = path.join(scratch, 'snapshots');
  const seg = jar.name('shmi_e2e_made', '.npy');
  let server: CodeServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    fs.mkdirSync(snapDir);
    const workspace = path.join(scratch, 'workspace');
    fs.mkdirSync(workspace);
    server = await startCodeServer({
      userDataDir: path.join(scratch, 'user-data'),
      extensionsDir: path.join(scratch, 'extensions'),
      folder: workspace,
      settings: { 'files.simpleDialog.enable': true },
    });
    browser = await chromium.launch(chromiumOptions());
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(workbenchUrl(server.base, { folder: workspace, extensionPath: ROOT }));
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.getByRole('tab', { name: /Shared Memory/ }).click();
    // The tree, or its welcome content when the directory is empty (a fresh machine).
    await page.locator('.part.sidebar .monaco-list:visible, .part.sidebar .welcome-view:visible').first().waitFor();
    // Show only this test's segment, so the virtual list always has it in view.
    await runCommand(page, 'SHM Inspector: Filter…');
    await answerStep(page, 'Filter segments', 'shmi_e2e_made_*');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      await shot(page, `failed-manage-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => undefined);
    }
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    server?.stop();
    jar.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('creates a float32 arange matrix from the palette, which numpy then reads', async () => {
    await runCommand(page, 'SHM Inspector: Create Segment…');
    await answerStep(page, '(1/4)', seg.name);
    await answerStep(page, '(2/4)', 'float32');
    await answerStep(page, '(3/4)', '120,200');
    await answerStep(page, '(4/4)', 'arange');
    await answerStep(page, 'format', 'npy');
    await page.locator('.notification-list-item', { hasText: `Created ${seg.name}` }).waitFor({ timeout: 30_000 });
    await page.locator('.part.sidebar .monaco-list-row', { hasText: seg.name }).waitFor();
    const check = execFileSync(
      PYTHON,
      ['-c', 'import numpy as np,sys; a=np.load(sys.argv[1]); print(a.dtype, a.shape, bool((a.ravel()==np.arange(a.size)).all()))', seg.path],
      { encoding: 'utf8' },
    ).trim();
    assert.strictEqual(check, 'float32 (120, 200) True');
    await shot(page, '8-manage-created');
  });

  it('previews it from the notification', async () => {
    await page.locator('.notification-list-item', { hasText: `Created ${seg.name}` }).getByRole('button', { name: 'Preview' }).click();
    const frame = await heatmapFrame(page, seg.name);
    await frame.waitForSelector('body[data-state="exact"]', { timeout: 30_000 });
    await shot(page, '9-manage-preview');
  });

  it('persists it to disk with a SHA-256 beside it', async () => {
    const target = path.join(snapDir, seg.name);
    await contextMenu(page, seg.name, 'Persist to Disk…');
    await answerFileDialog(page, target);
    await page.locator('.notification-list-item', { hasText: `Persisted ${seg.name}` }).waitFor({ timeout: 30_000 });
    assert.ok(fs.existsSync(target));
    assert.strictEqual(fs.readFileSync(target).equals(fs.readFileSync(seg.path)), true);
    assert.strictEqual(fs.readFileSync(`${target}.sha256`, 'utf8'), `${sha256(target)}  ${seg.name}\n`);
    await shot(page, '10-manage-persisted');
  });

  it('unlinks it after a confirmation naming who holds it; the open preview keeps it alive until closed', async () => {
    await contextMenu(page, seg.name, 'Unlink…');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    const text = (await dialog.innerText()).replace(/\s+/g, ' ');
    assert.match(text, new RegExp(`Unlink ${seg.name.replace(/\./g, '\\.')}\\?`));
    // The preview opened above maps it: the dialog says so, and that no RAM is freed yet.
    assert.match(text, /held by this window's SHM Inspector \(a preview maps it\)/);
    assert.match(text, /frees no RAM until those processes let go/);
    await shot(page, '11-manage-unlink-confirm');
    await dialog.getByRole('button', { name: 'Unlink' }).click();
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 'Deleted but still mapped' }).waitFor();
    assert.strictEqual(fs.existsSync(seg.path), false);
    await shot(page, '11b-manage-unlinked-still-mapped');
    // Closing the preview lets go of the mapping: the segment is gone for good.
    await page.locator('.tab', { hasText: `Preview: ${seg.name}` }).locator('.codicon-close').click();
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 'Deleted but still mapped' }).waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('restores the snapshot, verifying its checksum', async () => {
    await runCommand(page, 'SHM Inspector: Restore Snapshot…');
    await answerFileDialog(page, path.join(snapDir, seg.name));
    await page.locator('.notification-list-item', { hasText: 'checksum verified' }).waitFor({ timeout: 30_000 });
    await page.locator('.part.sidebar .monaco-list-row', { hasText: seg.name }).waitFor();
    assert.strictEqual(fs.readFileSync(seg.path).equals(fs.readFileSync(path.join(snapDir, seg.name))), true);
    await shot(page, '12-manage-restored');
  });
});
