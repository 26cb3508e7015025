/**
 * Managing segments as a user does it, in the real workbench: create (palette),
 * preview, persist (context menu, save dialog), unlink (modal confirmation) and
 * restore (open dialog); each step checked on screen and on disk.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { PYTHON, SegmentJar } from '../fixtures/segments';
import { answerStep, contextMenu, heatmapFrame, openSharedMemoryView, openWorkbench, runCommand, shot, shotIfFailed, type Workbench } from './helpers';

/** The simple file dialog of the web workbench: type the full path, accept. */
async function answerFileDialog(page: Page, file: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  // The dialog fills in its starting folder a moment after it opens: wait for that, then type over it.
  await page.waitForFunction(() => ((globalThis as any).document.querySelector('.quick-input-widget .quick-input-box input')?.value ?? '').length > 0);
  await page.waitForTimeout(300);
  await input.fill(file);
  await page.waitForFunction((f) => (globalThis as any).document.querySelector('.quick-input-widget .quick-input-box input')?.value === f, file);
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('managing segments in the workbench', function () {
  this.timeout(240_000);
  const jar = new SegmentJar();
  let snapDir = '';
  const seg = jar.name('shmi_e2e_made', '.npy');
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    wb = await openWorkbench('manage', { 'files.simpleDialog.enable': true });
    page = wb.page;
    snapDir = path.join(wb.scratch, 'snapshots');
    fs.mkdirSync(snapDir);
    await openSharedMemoryView(page);
    // Show only this test's segment, so the virtual list always has it in view.
    await runCommand(page, 'SHM Inspector: Filter…');
    await answerStep(page, 'Filter segments', 'shmi_e2e_made_*');
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'manage');
  });

  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  it('creates a float32 arange matrix from the palette, which numpy then reads', async () => {
    await runCommand(page, 'SHM Inspector: Create Segment…');
    // Five steps, each numbered out of five (issue #12: the fifth used to come after "(4/4)").
    await answerStep(page, '(1/5) — name', seg.name);
    await answerStep(page, '(2/5) — dtype', 'float32');
    // The shape the CLI refuses is refused here too, saying how to write it.
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: '(3/5) — shape' }).waitFor();
    await input.fill('512x512');
    const refusal = page.locator('.quick-input-widget .quick-input-message', { hasText: "bad dimension '512x512'" });
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /whole numbers separated by commas, e\.g\. 512,512/);
    await shot(page, '8a-manage-create-shape-refused');
    await page.keyboard.press('Enter'); // refused: the step stays
    await answerStep(page, '(3/5) — shape', '120,200');
    await answerStep(page, '(4/5) — contents', 'arange');
    await answerStep(page, '(5/5) — format', 'npy');
    // The toast words the dtype as the tree does.
    const toast = page.locator('.notification-list-item', { hasText: `Created ${seg.name}` });
    await toast.waitFor({ timeout: 30_000 });
    assert.match(await toast.innerText(), /· float32 · 120×200/);
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
    await page
      .locator('.notification-list-item', { hasText: `Created ${seg.name}` })
      .getByRole('button', { name: 'Preview' })
      .click();
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

  it('persisting where a FILE.sha256 is already (no FILE) asks first: Cancel leaves it, Replace replaces it', async () => {
    const target = path.join(snapDir, `again_${seg.name}`);
    fs.writeFileSync(`${target}.sha256`, 'an old checksum\n');
    const dialog = page.locator('.monaco-dialog-box');
    for (const answer of ['Cancel', 'Replace']) {
      await contextMenu(page, seg.name, 'Persist to Disk…');
      await answerFileDialog(page, target);
      await dialog.waitFor();
      const text = (await dialog.innerText()).replace(/\s+/g, ' ');
      assert.match(text, /Replace the snapshot at .*\?/);
      assert.match(text, new RegExp(`again_${seg.name.replace(/\./g, '\\.')}\\.sha256 already exists there and would be replaced`));
      if (answer === 'Cancel') {
        await shot(page, '10b-manage-persist-replace-confirm');
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'detached' });
        assert.strictEqual(fs.readFileSync(`${target}.sha256`, 'utf8'), 'an old checksum\n', 'Cancel: untouched');
        assert.ok(!fs.existsSync(target));
      } else {
        await dialog.getByRole('button', { name: 'Replace' }).click();
      }
    }
    await page.locator('.notification-list-item', { hasText: `Persisted ${seg.name} to ${target}` }).waitFor({ timeout: 30_000 });
    assert.strictEqual(fs.readFileSync(`${target}.sha256`, 'utf8'), `${sha256(target)}  again_${seg.name}\n`);
    assert.deepStrictEqual(
      fs.readdirSync(snapDir).filter((n) => n.startsWith('.shmi-')),
      [],
    );
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
    await page
      .locator('.tab', { hasText: `Preview: ${seg.name}` })
      .locator('.codicon-close')
      .click();
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
