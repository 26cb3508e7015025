/**
 * Clear Segments in the real workbench (issue #11 item 1, issue #12 item 9): the plan is shown,
 * a segment's name is given to another file while the user looks at it, and the clear removes
 * exactly the segments shown (the new file is left alone); Show Details opens the report as a
 * read-only document that closes without asking to be saved.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import type { Page } from 'playwright-core';
import { py, SegmentJar } from '../fixtures/segments';
import { answerStep, openSharedMemoryView, openWorkbench, runCommand, shot, shotIfFailed, type Workbench } from './helpers';

describe('clearing segments in the workbench', function () {
  this.timeout(240_000);
  const jar = new SegmentJar();
  const prefix = `shmi_e2e_clear_${process.pid}`;
  const a = jar.name(prefix, '.npy');
  const b = jar.name(prefix, '.npy');
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    py(['npy', a.path, '<f4', '64,64']);
    py(['npy', b.path, '<f4', '32,32']);
    wb = await openWorkbench('clear');
    page = wb.page;
    await openSharedMemoryView(page);
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'clear');
  });

  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  it('removes exactly the planned segments: one whose name went to another file meanwhile is left alone', async () => {
    await runCommand(page, 'SHM Inspector: Clear Segments…');
    await answerStep(page, '(1/2)', `${prefix}_*`);
    await page.locator('.quick-input-widget .quick-input-title', { hasText: '(2/2)' }).waitFor();
    await page.keyboard.press('Enter');
    const plan = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Clear 2 segments' });
    await plan.waitFor();
    await page.locator('.quick-input-list .monaco-list-row', { hasText: b.name }).waitFor();
    await shot(page, '13-clear-plan');
    // While the plan is on screen, a producer rewrites b atomically (a new file renamed over its name).
    fs.writeFileSync(`${b.path}.tmp`, 'rewritten by its producer');
    fs.renameSync(`${b.path}.tmp`, b.path);
    await page.keyboard.press('Enter');
    const note = page.locator('.notification-list-item', { hasText: 'Cleared 1 segment:' });
    await note.waitFor({ timeout: 30_000 });
    assert.match(await note.innerText(), /1 skipped/);
    assert.strictEqual(fs.existsSync(a.path), false, 'the planned segment is gone');
    assert.strictEqual(fs.readFileSync(b.path, 'utf8'), 'rewritten by its producer', 'the new file is kept');
    await shot(page, '14-clear-done');
  });

  it('Show Details opens the report read-only; closing it asks nothing', async () => {
    await page.locator('.notification-list-item', { hasText: 'Cleared 1 segment:' }).getByRole('button', { name: 'Show Details' }).click();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.waitFor();
    await page.locator('.editor-instance .view-lines', { hasText: '"removed"' }).waitFor();
    const text = (await page.locator('.editor-instance .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, new RegExp(`"${a.name.replace(/\./g, '\\.')}"`));
    assert.match(text, /replaced by a different file since it was listed; left alone/);
    const tab = page.locator('.tabs-container .tab.active');
    assert.match(await tab.innerText(), /clear-.*\.json/);
    // Typing changes nothing: the document is read-only, so it never becomes dirty.
    await editor.click();
    await page.keyboard.type('xyz');
    await page.waitForTimeout(500);
    assert.doesNotMatch(await page.locator('.editor-instance .view-lines').first().innerText(), /xyz/);
    assert.strictEqual(await tab.evaluate((el) => el.classList.contains('dirty')), false);
    await shot(page, '15-clear-details-readonly');
    await tab.locator('.codicon-close').click();
    await tab.waitFor({ state: 'detached' });
    await page.waitForTimeout(500);
    assert.strictEqual(await page.locator('.monaco-dialog-box').count(), 0, 'no "Do you want to save" dialog');
  });
});
