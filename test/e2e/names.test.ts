/**
 * Names in the real workbench (issue #11 items 10 and 11): a directory of hostile and non-UTF-8
 * names (made by Python from bytes paths, in a private directory) shows each name spelled as
 * docs/cli.md says, with no control character in the tree, and a Latin-1 name previews.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { PYTHON } from '../fixtures/segments';
import { openSharedMemoryView, openWorkbench, previewFromPalette, shot, shotIfFailed, type Workbench } from './helpers';

const CONTROL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe('names in the workbench', function () {
  this.timeout(180_000);
  let dir: string;
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-e2e-names-'));
    execFileSync(PYTHON, [
      '-c',
      'import os, sys\nimport numpy as np\nd = os.fsencode(sys.argv[1])\n' +
        "for n in [b'esc\\x1b[31mRED\\x1b[0m.npy', b'two\\nrows.npy', b'caf\\xe9.npy']:\n" +
        "    np.save(open(d + b'/' + n, 'wb'), np.arange(48, dtype='<f4').reshape(6, 8))",
      dir,
    ]);
    wb = await openWorkbench('names', { 'shmInspector.directories': [dir], 'shmInspector.groupByProducer': false });
    page = wb.page;
    await openSharedMemoryView(page);
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'names');
  });

  after(async () => {
    await wb?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the tree shows each name escaped: no control character, no extra row', async () => {
    const row = page.locator('.part.sidebar .monaco-list-row', { hasText: 'caf\\xe9.npy' });
    await row.waitFor({ timeout: 30_000 });
    const labels = await page.$$eval('.part.sidebar .monaco-list-row .label-name', (els) => els.map((e) => e.textContent ?? ''));
    assert.deepStrictEqual(labels.filter((l) => l.endsWith('.npy')).sort(), ['caf\\xe9.npy', 'esc\\x1b[31mRED\\x1b[0m.npy', 'two\\x0arows.npy']);
    for (const l of labels) assert.ok(!CONTROL.test(l), `no control character in ${JSON.stringify(l)}`);
    await shot(page, 'names-tree');
  });

  it('a segment whose name is not UTF-8 previews: the title is its spelling', async () => {
    const frame = await previewFromPalette(page, 'caf\\xe9.npy');
    assert.strictEqual((await frame.locator('#title').textContent())?.trim(), 'caf\\xe9.npy');
    await shot(page, 'names-preview');
  });
});
