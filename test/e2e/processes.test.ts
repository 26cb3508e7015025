/**
 * The Processes view in the real workbench, over a real Python fork family
 * (test/fixtures/fork_family.py): the family row with true RAM, shared and copied, the
 * warning badge when a child copied what it inherited, the hover that explains it, the
 * members, and a process's mappings by kind.
 */
import * as assert from 'assert';
import type { Locator, Page } from 'playwright-core';
import { startFamily, type RunningFamily } from '../fixtures/families';
import { PYTHON, SegmentJar } from '../fixtures/segments';
import { spawn, type ChildProcess } from 'child_process';
import { answerInput, contextMenu, openSharedMemoryView, openWorkbench, runCommand, setPanes, shot, shotIfFailed, type Workbench } from './helpers';

/** A row of the Processes view (not of Segments, which may show the same name). */
function row(page: Page, text: string | RegExp): Locator {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: /^Processes/i }) }).locator('.monaco-list-row', { hasText: text });
}

function segmentRow(page: Page, text: string): Locator {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: /^Segments/i }) }).locator('.monaco-list-row', { hasText: text });
}

/** Expands `parent` until a row with `child` shows (a refresh that lands with the click can swallow it). */
async function expand(page: Page, parent: Locator, child: string | RegExp): Promise<Locator> {
  const target = row(page, child);
  for (let attempt = 0; ; attempt++) {
    if ((await parent.getAttribute('aria-expanded')) !== 'true') await parent.locator('.monaco-tl-twistie').click();
    try {
      await target.first().waitFor({ timeout: 4000 });
      return target;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
}

async function hoverText(page: Page, target: Locator, text: string | RegExp): Promise<string> {
  const hover = page.locator('.monaco-hover', { hasText: text }).first();
  for (let attempt = 0; ; attempt++) {
    await page.mouse.move(1300, 850);
    await target.hover();
    try {
      await hover.waitFor({ timeout: 3000 });
      return (await hover.innerText()).replace(/\s+/g, ' ');
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
}

describe('the Processes view', function () {
  this.timeout(240_000);
  let wb: Workbench | undefined;
  let page: Page;
  let fam: RunningFamily | undefined;

  before(async () => {
    // A parent with a 16 MiB array and a dict of 300,000 objects; two workers iterate the dict
    // (copying most of what they inherited), one reads the array.
    fam = await startFamily(16, 300_000, ['iterate', 'iterate', 'read']);
    wb = await openWorkbench('processes', { 'shmInspector.processes.refreshInterval': 2 });
    page = wb.page;
    await openSharedMemoryView(page);
    // Give the Processes view the room: a wider sidebar (drag its sash), Segments collapsed, Processes expanded.
    const box = (await page.locator('.part.sidebar').boundingBox())!;
    await page.mouse.move(box.x + box.width + 1, box.y + 300);
    await page.mouse.down();
    await page.mouse.move(860, box.y + 300, { steps: 8 });
    await page.mouse.up();
    await setPanes(page, { Segments: false, Processes: true });
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'processes');
  });

  const jar = new SegmentJar();
  let holder: ChildProcess | undefined;
  after(async () => {
    await wb?.close();
    await fam?.stop();
    holder?.kill('SIGKILL');
    jar.cleanup();
  });

  it('lists the fork family with true RAM, shared and copied; flags it; the hover explains it with its figures', async () => {
    await runCommand(page, 'SHM Inspector: Filter Processes…');
    await answerInput(page, 'fork_family.py');
    const family = row(page, `python3 (${fam!.info.pid}) + 3 forked`);
    await family.waitFor({ timeout: 60_000 });
    const text = (await family.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /true · top .* · shared [\d.]+ MiB · copied [\d.]+ MiB/, text);
    assert.doesNotMatch(text, /~/, 'exact figures (the host runs as root)');
    // The dict iterator copied most of what it inherited: the family carries the warning badge.
    // The badge is drawn by CSS (::after) on the label; the icon turns to a warning.
    await family.locator('.codicon-warning').waitFor({ timeout: 15_000 });
    let badges: string[] = [];
    for (let i = 0; i < 40 && !badges.some((c) => c.includes('!')); i++) {
      if (i > 0) await page.waitForTimeout(250);
      badges = await family.evaluate((el) =>
        [...el.querySelectorAll('*')]
          .map((e) => (globalThis as any).getComputedStyle(e, '::after').content as string)
          .filter((c) => c && c !== 'none' && c !== 'normal'),
      );
    }
    assert.ok(
      badges.some((c) => c.includes('!')),
      `the warning badge (${badges.join(' ')})`,
    );
    const tip = await hoverText(page, family, 'Fork family');
    assert.match(
      tip,
      new RegExp(`copied most is PID (${fam!.info.workers[0].pid}|${fam!.info.workers[1].pid})`),
      'names a dict iterator as the child that copied most',
    );
    assert.match(tip, /reference count/);
    assert.match(tip, /np\.load\(path, mmap_mode='r'\)/);
    assert.match(tip, /gc\.freeze\(\)/);
    assert.match(tip, /top and ps add up to/);
    await shot(page, 'processes-1-family-hover');
    await page.mouse.move(1300, 850);
  });

  it('expands to the members with their shared and copied figures, and a process to its mappings by kind', async () => {
    const family = row(page, `python3 (${fam!.info.pid}) + 3 forked`);
    const iter = await expand(page, family, `python3 (${fam!.info.workers[0].pid})`);
    const it = (await iter.innerText()).replace(/\s+/g, ' ');
    const read = (await row(page, `python3 (${fam!.worker('read')})`).innerText()).replace(/\s+/g, ' ');
    const copied = (s: string) => {
      const m = /copied ([\d.]+) (KiB|MiB|GiB)/.exec(s)!;
      return Number(m[1]) * { KiB: 1 / 1024, MiB: 1, GiB: 1024 }[m[2] as 'KiB' | 'MiB' | 'GiB'];
    };
    assert.ok(copied(it) > 10 * copied(read), `the iterator (${it}) copied far more than the reader (${read})`);
    const root = row(page, `python3 (${fam!.info.pid})`).filter({ hasNotText: 'forked' });
    const heap = await expand(page, root, 'heap and anonymous');
    assert.match((await heap.innerText()).replace(/\s+/g, ' '), /RSS [\d.]+ MiB · PSS .* · shared .* · private/);
    await row(page, 'libraries and code').waitFor();
    await shot(page, 'processes-2-members-mappings');
  });

  it('a Segments row shows how much of the segment each holder has resident, and leads to that process', async () => {
    const seg = jar.name(`shmi_e2e_res_${process.pid}`, '.bin');
    // 8 MiB in /dev/shm, mapped by Python, which touches the first 3 MiB only.
    const code = `import mmap,os,sys
fd=os.open(sys.argv[1],os.O_RDWR|os.O_CREAT,0o600); os.ftruncate(fd,8<<20)
m=mmap.mmap(fd,8<<20); os.close(fd)
for i in range(0,3<<20,4096): m[i]=1
print('ready',flush=True); sys.stdin.read()`;
    holder = spawn(PYTHON, ['-c', code, seg.path], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((r) => holder!.stdout!.once('data', () => r()));
    const header = page.locator('.part.sidebar .pane-header', { hasText: /^Segments/i }).first();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.locator('h3').click();
    await runCommand(page, 'SHM Inspector: Filter…');
    await answerInput(page, seg.name);
    await runCommand(page, 'SHM Inspector: Refresh');
    await segmentRow(page, seg.name).waitFor({ timeout: 30_000 });
    const item = page.locator('.quick-input-list .monaco-list-row', { hasText: `(${holder.pid})` });
    // The menu's Enter can be lost under load: ask again (the pick lists holders once their smaps are read).
    for (let attempt = 1; ; attempt++) {
      await contextMenu(page, seg.name, 'Show Residency per Holder');
      try {
        await item.waitFor({ timeout: 30_000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
        await page.keyboard.press('Escape');
      }
    }
    assert.match((await item.innerText()).replace(/\s+/g, ' '), /3\.0 MiB of 8\.0 MiB resident · PSS 3\.0 MiB/);
    await shot(page, 'processes-3-residency');
    await item.click();
    // The Processes view now shows that process (filtered by its PID), with its segment under shared memory.
    const proc = row(page, `python3 (${holder.pid})`);
    await proc.waitFor({ timeout: 15_000 });
    const shm = await expand(page, proc, 'shared-memory segments');
    const mapped = await expand(page, shm, seg.name);
    assert.match((await mapped.innerText()).replace(/\s+/g, ' '), /RSS 3\.0 MiB of 8\.0 MiB/);
    await shot(page, 'processes-4-segment-mapping');
    // The mapping links to the segment's row in the Segments view.
    await mapped.click();
    await segmentRow(page, seg.name).and(page.locator('.selected')).waitFor({ timeout: 10_000 });
    await runCommand(page, 'SHM Inspector: Clear Filter');
  });
});
