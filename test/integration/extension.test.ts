/** Inside a real extension host: the extension activates, lists and previews real segments. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { ShmInspectorApi } from '../../extension/api';
import { py, SegmentJar } from '../fixtures/segments';

const EXTENSION_ID = 'shm-inspector.shm-inspector';

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('SHM Inspector in a real extension host', function () {
  const jar = new SegmentJar();
  let api: ShmInspectorApi;

  before(async () => {
    const ext = vscode.extensions.getExtension<ShmInspectorApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    api = await ext.activate();
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    jar.cleanup();
  });

  it('loads its native addon in the extension host', () => {
    assert.strictEqual(api.nativeError(), null);
  });

  it('registers its commands', async () => {
    const cmds = await vscode.commands.getCommands(true);
    for (const c of ['shmInspector.refresh', 'shmInspector.preview']) assert.ok(cmds.includes(c), c);
  });

  it('lists a segment numpy just wrote, with its logical size, dtype and shape', async () => {
    const { name, path } = jar.name('shmi_int', '.npy');
    py(['npy', path, '<f8', '64,48']);
    const seg = await waitFor('segment in the tree', () => api.segments().find((s) => s.name === name));
    assert.strictEqual(seg.size, fs.statSync(path).size);
    assert.strictEqual(seg.dtype, '<f8');
    assert.deepStrictEqual(seg.shape, [64, 48]);
  });

  it('drops an unlinked segment from the tree', async () => {
    const { name, path } = jar.name('shmi_int', '.npy');
    py(['npy', path, '<f4', '8,8']);
    await api.refresh();
    assert.ok(api.segments().some((s) => s.name === name));
    fs.unlinkSync(path);
    await api.refresh();
    assert.ok(!api.segments().some((s) => s.name === name));
  });

  it('previews a numpy matrix: the panel draws values read through the mapping', async () => {
    const { name, path } = jar.name('shmi_int', '.npy');
    // Top half 0, bottom half 1: whatever the grid, the exact means span [0, 1].
    py(['npy', path, '<f4', '200,300', '--fill', 'halves']);
    await api.refresh();
    await vscode.commands.executeCommand('shmInspector.preview', name);
    const preview = await waitFor('an exact image in the preview', () => api.previews().find((p) => p.name === name && p.lastTile?.mode === 'mean'));
    assert.strictEqual(preview.error, null);
    assert.strictEqual(preview.lastTile!.min, 0);
    assert.strictEqual(preview.lastTile!.max, 1);
    assert.ok(preview.lastTile!.width > 1 && preview.lastTile!.height > 1);
    assert.ok(preview.lastTile!.width <= 300 && preview.lastTile!.height <= 200, 'never more cells than elements');
  });

  it('filters by glob, sorts by size and groups by producer, as the view shows it', async () => {
    const tag = `shmi_intsort${process.pid}`;
    const small = jar.name(`${tag}_a`, '.npy');
    const big = jar.name(`${tag}_b`, '.npy');
    py(['npy', small.path, '|u1', '4,4']);
    py(['npy', big.path, '<f8', '256,256']);
    await api.refresh();
    try {
      await vscode.commands.executeCommand('shmInspector.filter', `${tag}_*`);
      assert.deepStrictEqual(api.shown().names, [small.name, big.name]);
      await vscode.commands.executeCommand('shmInspector.sortBy', 'size');
      await waitFor('size order', () => api.shown().names[0] === big.name);
      assert.deepStrictEqual(api.shown().names, [big.name, small.name]);
      await vscode.commands.executeCommand('shmInspector.filter', `${tag}_a*`);
      assert.deepStrictEqual(api.shown().names, [small.name]);
      await vscode.commands.executeCommand('shmInspector.groupByProducer');
      await waitFor('groups', () => api.shown().groups.length > 0);
      assert.deepStrictEqual(api.shown().groups, ['Other']);
    } finally {
      await vscode.commands.executeCommand('shmInspector.ungroup');
      await vscode.commands.executeCommand('shmInspector.sortBy', 'name');
      await vscode.commands.executeCommand('shmInspector.clearFilter');
    }
  });

  it('says so when the configured directory does not exist (as on macOS or Windows)', async () => {
    const cfg = vscode.workspace.getConfiguration('shmInspector');
    await cfg.update('directories', ['/nonexistent/shm-inspector-test'], vscode.ConfigurationTarget.Global);
    try {
      await waitFor('missing state', () => api.shown().state === 'missing');
      assert.deepStrictEqual(api.segments(), []);
    } finally {
      await cfg.update('directories', undefined, vscode.ConfigurationTarget.Global);
      await waitFor('back to /dev/shm', () => api.shown().state === 'ok' || api.shown().state === 'empty');
    }
  });

  it('shows /dev/shm usage in the status bar', async () => {
    await api.refresh();
    assert.match(api.statusBar().text, /shm .*B \/ .*GiB/);
  });

  it('refuses to preview a segment that is not a numeric array, and opens no panel', async () => {
    // Strings (numpy '<U3'): no picture can be made of them. (Raw bytes are no longer refused: a raw
    // segment goes to Interpret As…, issue #12, so they are not the example here.)
    const { name, path } = jar.name('shmi_int', '.npy');
    py(['npy', path, '<U3', '4,4']);
    await api.refresh();
    assert.strictEqual(api.segments().find((s) => s.name === name)?.dtype, '<U3');
    const before = api.previews().length;
    await vscode.commands.executeCommand('shmInspector.preview', name);
    assert.strictEqual(api.previews().length, before);
  });
});
