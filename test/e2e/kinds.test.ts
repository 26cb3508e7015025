/**
 * The *memfd and anonymous* group of the Segments view in the real workbench (issue #15): a memfd
 * that Python made with os.memfd_create, holding an .npy and kept alive by a forked child, appears
 * under its label with its name, size, dtype and shape; its hover says who holds it and why it
 * cannot be removed from here; a click previews it (read through the child's /proc/PID/fd link).
 * A "container" (a process in its own mount namespace with a tmpfs on /dev/shm) shows in the
 * Containers group, and Unlink… on one of its files removes it inside the container's root.
 * The producers are killed in `after` (the container's mounts go with its namespace).
 */
import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { PYTHON, py } from '../fixtures/segments';
import { holdSysv, SYSV_PRODUCER } from '../fixtures/sysv';
import {
  clickUntil,
  contextMenu,
  expandRow,
  heatmapFrame,
  hoverUntil,
  openSharedMemoryView,
  openWorkbench,
  runCommand,
  shot,
  shotIfFailed,
  whenStill,
  type Workbench,
} from './helpers';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'memfd_producer.py');
const CONTAINER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'container_producer.py');

describe('memfd regions in the sidebar', function () {
  this.timeout(180_000);
  let child: ChildProcess | undefined;
  let sysvChild: ChildProcess | undefined;
  let ctChild: ChildProcess | undefined;
  const ctHost = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-e2e-ct-host-'));
  let wb: Workbench | undefined;
  let page: Page;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-e2e-kinds-'));
  const label = `shmi_e2e_memfd_${process.pid}.npy`;
  /** System V segments this file made (removed in `after`). */
  const sysvIds: number[] = [];

  before(async () => {
    // A /dev/shm stand-in of our own, empty: the machine's many other segments would push the groups out of view.
    wb = await openWorkbench('kinds', { 'shmInspector.directories': [dir] });
    page = wb.page;
    await openSharedMemoryView(page);
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'kinds');
  });

  after(async () => {
    await wb?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    // Its segment goes with its private IPC namespace; the container's mounts with its mount namespace.
    sysvChild?.kill('SIGKILL');
    if (sysvIds.length > 0) execFileSync(PYTHON, [SYSV_PRODUCER, 'rm', ...sysvIds.map(String)]);
    if (ctChild && ctChild.exitCode === null) {
      const gone = new Promise((r) => ctChild!.once('exit', r));
      ctChild.kill('SIGKILL');
      await gone;
    }
    fs.rmSync(ctHost, { recursive: true, force: true });
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  /** Scrolls the Segments list down until `l` is drawn (rows out of view are not in the DOM). */
  const scrollTo = async (l: ReturnType<Page['locator']>, ms: number) => {
    const list = page.locator('.part.sidebar .monaco-list').first();
    const deadline = Date.now() + ms;
    while (!(await l.isVisible())) {
      if (Date.now() > deadline) throw new Error(`not shown within ${ms} ms: ${l.toString()}`);
      await list.hover();
      await page.mouse.wheel(0, 300);
      await page.waitForTimeout(300);
    }
  };
  const row0 = (text: string) => page.locator('.part.sidebar .monaco-list-row', { hasText: text });

  it('shows a memfd under its label in its own group with totals; the hover names its holder; a click previews it', async () => {
    child = spawn(PYTHON, [PRODUCER, 'memfd', label, '512', '1024'], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    const forked = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /ready parent=\d+ child=(\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      child!.on('exit', (code) => reject(new Error(`producer exited with ${code}`)));
    });
    // No directory holds it: no watcher sees it; a refresh lists it.
    await runCommand(page, 'SHM Inspector: Refresh');
    // The groups sit below the /dev/shm rows (the machine's other segments, drawn only when in view): the
    // Processes view is folded and the list scrolled until each row is drawn.
    const processes = page.locator('.part.sidebar .pane-header', { hasText: 'Processes' }).first();
    if ((await processes.count()) > 0 && (await processes.getAttribute('aria-expanded')) === 'true') await processes.click();
    const group = page.locator('.part.sidebar .monaco-list-row', { hasText: 'memfd and anonymous' }).first();
    await scrollTo(group, 90_000);
    assert.match((await group.innerText()).replace(/\s+/g, ' '), /memfd and anonymous\s*\d+ · [\d.]+ [KMG]iB/);
    // Over 20 regions (this browser's own), the group starts folded: open it (again if a redraw swallowed the click).
    await expandRow(page, group);
    // Largest first: the test's 4 MiB region is drawn just below the group once it is open (scrolling before then passes it).
    await row0(label)
      .waitFor({ state: 'visible', timeout: 10_000 })
      .catch(() => undefined);
    const row = row0(label);
    await scrollTo(row, 30_000);
    const text = (await row.innerText()).replace(/\s+/g, ' ');
    const m = /(memfd:\d+) · 4\.0 MiB · float64 · 512×1024/.exec(text);
    assert.ok(m, text);
    const hover = page.locator('.monaco-hover', { hasText: 'Not removable from here' }).first();
    await hoverUntil(page, row, hover);
    const tip = (await hover.innerText()).replace(/\s+/g, ' ');
    assert.match(tip, new RegExp(`python3 \\(pid ${forked}\\)`));
    assert.match(tip, /no name to unlink/);
    await shot(page, 'kinds-memfd-sidebar');
    await page.mouse.move(900, 600);
    const frame = await clickUntil(page, row, (ms) => heatmapFrame(page, m[1], ms), { ms: 60_000 });
    await frame.waitForSelector('body[data-state="exact"]', { timeout: 60_000 });
    await shot(page, 'kinds-memfd-preview');
  });

  it("shows another IPC namespace's System V segment in a group of its own under System V, with the process attached; its row offers attach code and persist", async () => {
    const held = await holdSysv(['0', '--npy', '<f4', '64,32'], true);
    sysvChild = held.child;
    const { shmid, ns } = held;
    await runCommand(page, 'SHM Inspector: Refresh');
    // Every group folded (the machine's memfd regions, opened by the test above, would push these rows out of view), then System V opened.
    const header = page.locator('.part.sidebar .pane-header', { hasText: 'Segments' }).first();
    await header.hover();
    await header.locator('.action-label[aria-label*="Collapse All"]').click();
    await expandRow(page, row0('System V').first());
    const group = row0(`IPC namespace ${ns}`).first();
    await scrollTo(group, 60_000);
    await expandRow(page, group);
    assert.match((await group.innerText()).replace(/\s+/g, ' '), new RegExp(`pid ${sysvChild.pid} \\(IPC namespace ${ns}\\)\\s*1 · [\\d.]+ KiB`));
    const row = row0(`sysv:${ns}/${shmid}`).first();
    await scrollTo(row, 10_000);
    assert.match((await row.innerText()).replace(/\s+/g, ' '), /8\.1 KiB · float32 64×32 · 0x00000000 · 1 attached/);
    await expandRow(page, row);
    const holder = row0(`pid ${sysvChild.pid} · maps it`).first();
    await scrollTo(holder, 10_000);
    assert.match((await holder.innerText()).replace(/\s+/g, ' '), /python3/);
    const hover = page.locator('.monaco-hover', { hasText: 'IPC namespace' }).first();
    await hoverUntil(page, row, hover);
    assert.match((await hover.innerText()).replace(/\s+/g, ' '), new RegExp(`${ns} · pid ${sysvChild.pid} \\(entered through pid ${sysvChild.pid}\\)`));
    await shot(page, 'kinds-sysv-namespace');
    await page.mouse.move(900, 600);
    await whenStill(page, row);
    await row.click({ button: 'right' });
    const menu = page.locator('.monaco-menu-container .action-label');
    await menu.first().waitFor();
    const items = (await menu.allInnerTexts()).map((t) => t.trim());
    await shot(page, 'kinds-sysv-namespace-menu');
    await page.keyboard.press('Escape');
    for (const want of ['Copy Python Attach Code', 'Persist to Disk…', 'Remove System V Segment…'])
      assert.ok(items.includes(want), `${want} in ${JSON.stringify(items)}`);
  });

  it("Unlink… on a container's file removes it inside the container's root; the file the container's process holds stays", async () => {
    const held = `shmi_e2e_ct_${process.pid}.npy`;
    const orphan = `shmi_e2e_ct_orphan_${process.pid}.bin`;
    ctChild = spawn('unshare', ['-m', '--propagation', 'private', PYTHON, CONTAINER, ctHost, held, '16', '32'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const pid = ctChild.pid!;
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      ctChild!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (/ready ns=\d+/.test(buf)) resolve();
      });
      ctChild!.on('exit', (code) => reject(new Error(`container producer exited with ${code}`)));
    });
    const shm = `/proc/${pid}/root/dev/shm`;
    fs.writeFileSync(`${shm}/${orphan}`, Buffer.alloc(8192, 5));
    await runCommand(page, 'SHM Inspector: Refresh');
    // Every group folded (the machine's memfd regions would push these rows out of view), then Containers opened.
    const header = page.locator('.part.sidebar .pane-header', { hasText: 'Segments' }).first();
    await header.hover();
    await header.locator('.action-label[aria-label*="Collapse All"]').click();
    const group = row0('Containers').first();
    await scrollTo(group, 60_000);
    await expandRow(page, group);
    const mine = row0(`pid ${pid}`).first();
    await scrollTo(mine, 30_000);
    await expandRow(page, mine);
    const row = row0(orphan).first();
    await scrollTo(row, 30_000);
    assert.match((await row.innerText()).replace(/\s+/g, ' '), /8\.0 KiB/);
    const dialog = page.locator('.monaco-dialog-box');
    await contextMenu(page, orphan, 'Unlink…', (ms) => dialog.waitFor({ timeout: ms }));
    assert.match((await dialog.innerText()).replace(/\s+/g, ' '), new RegExp(`Unlink ns:\\d+/${orphan.replace(/\./g, '\\.')}\\?`));
    await shot(page, 'kinds-container-unlink');
    await dialog.getByRole('button', { name: 'Unlink' }).click();
    await row0(orphan).first().waitFor({ state: 'detached', timeout: 20_000 });
    assert.ok(!fs.existsSync(`${shm}/${orphan}`), "removed inside the container's /dev/shm");
    assert.ok(fs.existsSync(`${shm}/${held}`), 'the held file stays');
    await shot(page, 'kinds-container-unlinked');
  });

  it('Clear on a selection across kinds: the file and the orphaned System V segment are planned and removed; the memfd is listed as skipped, with why, and stays', async () => {
    const file = `shmi_e2e_kclear_${process.pid}.npy`;
    py(['npy', path.join(dir, file), '<f4', '16,16']);
    const out = execFileSync(PYTHON, [SYSV_PRODUCER, 'make', '0', '--npy', '<f4', '8,8'], { encoding: 'utf8' });
    const id = Number(/shmid (\d+)/.exec(out)![1]);
    sysvIds.push(id);
    await runCommand(page, 'SHM Inspector: Refresh');
    // Each row found from the top of the list (scrolled down until it is drawn), groups opened as needed.
    const list = page.locator('.part.sidebar .monaco-list').first();
    const fromTop = async (l: ReturnType<Page['locator']>) => {
      await list.hover();
      await page.mouse.wheel(0, -100_000);
      await page.waitForTimeout(300);
      await scrollTo(l, 30_000);
    };
    const fileRow = row0(file).first();
    await fromTop(fileRow);
    await fromTop(row0('System V').first());
    await expandRow(page, row0('System V').first());
    const sysvRow = page
      .locator('.part.sidebar .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^sysv:${id}$`) }) })
      .first();
    await fromTop(sysvRow);
    await fromTop(row0('memfd and anonymous').first());
    await expandRow(page, row0('memfd and anonymous').first());
    const memRow = row0(label).first();
    await fromTop(memRow);
    // The three selected: a click, then Ctrl+clicks (which add to the selection and open nothing).
    await fromTop(fileRow);
    await page.mouse.move(900, 600);
    await whenStill(page, fileRow);
    await fileRow.click();
    for (const r of [sysvRow, memRow]) {
      await fromTop(r);
      await whenStill(page, r);
      await r.click({ modifiers: ['Control'] });
    }
    // The click previewed the file, and an open preview maps it (in use): closed, so that the plan may remove it.
    await runCommand(page, 'View: Close All Editors');
    await fromTop(fileRow);
    for (const r of [fileRow, sysvRow, memRow]) {
      await fromTop(r);
      assert.strictEqual(await r.getAttribute('aria-selected'), 'true', String(r));
    }
    const plan = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Clear 2 segments' });
    await memRow.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Clear Segments…' }).hover();
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    await plan.waitFor({ timeout: 30_000 });
    const rows = page.locator('.quick-input-list .monaco-list-row');
    await rows.filter({ hasText: file }).first().waitFor();
    await rows
      .filter({ hasText: `sysv:${id}` })
      .first()
      .waitFor();
    const memName = /memfd:\d+/.exec(await memRow.innerText())![0];
    const skipped = rows.filter({ hasText: memName }).first();
    await skipped.waitFor();
    assert.match((await skipped.innerText()).replace(/\s+/g, ' '), /no name to unlink/);
    // Named as the tree names it: the producer's label, then memfd:INO.
    assert.ok((await skipped.innerText()).includes(`${label} (${memName})`), await skipped.innerText());
    await shot(page, 'kinds-clear-plan');
    await page.keyboard.press('Enter');
    const note = page.locator('.notification-list-item', { hasText: 'Cleared 2 segments:' });
    await note.waitFor({ timeout: 30_000 });
    assert.match(await note.innerText(), /1 skipped/);
    assert.ok(!fs.existsSync(path.join(dir, file)), 'the file is gone');
    assert.ok(
      !fs
        .readFileSync('/proc/sysvipc/shm', 'utf8')
        .split('\n')
        .some((l) => l.trim().split(/\s+/)[1] === String(id)),
      'the System V segment is gone',
    );
    await memRow.waitFor({ timeout: 5000 });
    await shot(page, 'kinds-clear-done');
  });
});
