/**
 * The memory picture's core and host session (issue #14 item 6): the squarified layout (areas
 * proportional to bytes, no overlap, inside the box, tiny entries lumped), the memory tree of the
 * real machine (families → processes → kinds summing to PSS), and the family timeline over a real
 * forked Python pair (test/fixtures/cow_on_signal.py): the child copies N pages of the parent's
 * numpy array when signalled, and the timeline's copied bytes rise by about N pages, in exact
 * points (root) and in the estimate. The session is driven through a fake webview that uses the
 * webview's own Requester and validator, with the real reports.
 */
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  isLastPictureReply,
  MEMORY_KINDS,
  PICTURE_REQUESTS,
  RECT_ROLES,
  validatePictureHostMessage,
  validatePictureWebviewMessage,
  type PictureHostMessage,
  type PictureMessage,
  type TimelinePoint,
} from '../../contract/picture';
import { exactAvailable, memoryReport } from '../../extension/core/processes/scan';
import { FamilySampler } from '../../extension/core/processes/timeline';
import { layoutTreemap, memoryTree, processKinds, readMemInfo, squarify, type Box, type MemoryNode } from '../../extension/core/processes/treemap';
import { writeUserFile } from '../../extension/core/fsutil';
import { PictureSession } from '../../extension/picture/session';
import type { SaveTarget } from '../../extension/preview/session';
import { FakeWebview } from '../fixtures/fake-webview';
import { PYTHON } from '../fixtures/segments';

const MiB = 1024 * 1024;
const COW = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'cow_on_signal.py');

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** A deterministic spread of sizes: a few large, many small (like a machine's processes). */
function sizes(n: number, seed: number): number[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => Math.floor(Math.exp(rnd() * 14)) + 1);
}

interface Pair {
  proc: ChildProcess;
  pid: number;
  child: number;
  page: number;
  arrayBytes: number;
  wrote: Promise<void>;
  stop(): Promise<void>;
}

function startPair(arrayMb: number, nPages: number): Promise<Pair> {
  const proc = spawn(PYTHON, [COW, String(arrayMb), String(nPages)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  let wroteResolve: () => void;
  const wrote = new Promise<void>((r) => (wroteResolve = r));
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`cow_on_signal.py exited (${code}): ${err}`)));
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('wrote\n')) wroteResolve();
      const line = out.split('\n')[0];
      if (!out.includes('\n') || !line.startsWith('{')) return;
      const info = JSON.parse(line) as { pid: number; child: number; page: number; arrayBytes: number };
      proc.removeAllListeners('exit');
      out = out.slice(line.length + 1);
      resolve({
        proc,
        ...info,
        wrote,
        async stop() {
          const gone = new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
          proc.stdin!.end();
          const t = setTimeout(() => {
            for (const p of [info.child, info.pid]) {
              try {
                process.kill(p, 'SIGKILL');
              } catch {
                // gone
              }
            }
          }, 5000);
          await gone;
          clearTimeout(t);
        },
      });
    });
  });
}

async function until<T>(what: string, f: () => T | undefined | null | false, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('memory picture: treemap layout', () => {
  it('squarify: areas proportional to bytes within 1%, no overlap, inside the box', () => {
    for (const [n, box] of [
      [1, { x: 0, y: 0, w: 300, h: 200 }],
      [7, { x: 10, y: 20, w: 640, h: 360 }],
      [200, { x: 0, y: 0, w: 1200, h: 700 }],
      [50, { x: 5, y: 5, w: 90, h: 900 }],
    ] as [number, Box][]) {
      const values = sizes(n, n * 7 + 1);
      const boxes = squarify(values, box);
      const total = values.reduce((s, v) => s + v, 0);
      boxes.forEach((b, i) => {
        const want = (values[i] / total) * box.w * box.h;
        assert.ok(Math.abs(b.w * b.h - want) <= want * 0.01 + 1e-6, `entry ${i} of ${n}: area ${b.w * b.h} for ${want}`);
        assert.ok(b.x >= box.x - 1e-6 && b.y >= box.y - 1e-6, 'inside (top left)');
        assert.ok(b.x + b.w <= box.x + box.w + 1e-6 && b.y + b.h <= box.y + box.h + 1e-6, 'inside (bottom right)');
      });
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) assert.ok(overlap(boxes[i], boxes[j]) < 1e-6, `${i} and ${j} overlap`);
      const covered = boxes.reduce((s, b) => s + b.w * b.h, 0);
      assert.ok(Math.abs(covered - box.w * box.h) < 1e-6 * box.w * box.h, 'the boxes tile the whole box');
    }
    // Squarified: the biggest of a few similar entries is not a sliver.
    const b = squarify([5, 4, 3, 3, 2], { x: 0, y: 0, w: 400, h: 300 });
    for (const r of b) assert.ok(Math.max(r.w / r.h, r.h / r.w) < 3, `aspect ${r.w}x${r.h}`);
  });

  it('layout: nested levels inside their parents, tiny entries lumped, never more rectangles than pixels', () => {
    const values = sizes(3000, 3);
    const nodes: MemoryNode[] = values.map((v, i) => ({
      id: `proc:${i + 1}`,
      role: 'process',
      label: `p${i}`,
      bytes: v * 2,
      pid: i + 1,
      children: [
        { id: `proc:${i + 1}/private`, role: 'kind', label: 'private', bytes: v, kind: 'private' },
        { id: `proc:${i + 1}/file`, role: 'kind', label: 'mapped files', bytes: v, kind: 'file' },
      ],
    }));
    const box = { x: 0, y: 0, w: 400, h: 300 };
    const rects = layoutTreemap(nodes, box, { minArea: 16 });
    assert.ok(rects.length <= box.w * box.h, `${rects.length} rectangles for ${box.w * box.h} pixels`);
    assert.ok(rects.length < 3000, 'the tail is lumped');
    const lump = rects.find((r) => r.role === 'lump' && r.depth === 0);
    assert.ok(lump, 'a lump at the top level');
    assert.match(lump.label, /^\d+ other processes$/);
    const top = rects.filter((r) => r.depth === 0);
    const total = values.reduce((s, v) => s + v * 2, 0);
    assert.strictEqual(
      top.reduce((s, r) => s + r.bytes, 0),
      total,
      'the top level stands for every byte',
    );
    for (const r of top) {
      const want = (r.bytes / total) * box.w * box.h;
      assert.ok(Math.abs(r.w * r.h - want) <= want * 0.01, `${r.id} proportional`);
      assert.ok(r.role === 'lump' || r.w * r.h >= 16 - 1e-9, `${r.id} (${r.w * r.h} px²) not below minArea`);
    }
    for (let i = 0; i < top.length; i++) for (let j = i + 1; j < top.length; j++) assert.ok(overlap(top[i], top[j]) < 1e-6);
    // Children inside their parent, proportional among themselves.
    const kids = rects.filter((r) => r.depth === 1);
    assert.ok(kids.length > 0);
    for (const k of kids) {
      const parent = top.find((t) => k.id.startsWith(`${t.id}/`))!;
      assert.ok(parent, `${k.id} has its parent`);
      assert.ok(k.x >= parent.x && k.y >= parent.y && k.x + k.w <= parent.x + parent.w + 1e-6 && k.y + k.h <= parent.y + parent.h + 1e-6, `${k.id} inside`);
      const sib = kids.filter((s) => s.id.startsWith(`${parent.id}/`));
      const area = sib.reduce((s, r) => s + r.w * r.h, 0);
      const bytes = sib.reduce((s, r) => s + r.bytes, 0);
      assert.ok(Math.abs((k.w * k.h) / area - k.bytes / bytes) < 0.01, `${k.id} proportional among its siblings`);
    }
  });

  it("the machine's memory tree: families → processes → kinds that sum to each PSS; unmapped shared memory", async () => {
    const [report, mem] = await Promise.all([memoryReport(), readMemInfo()]);
    const tree = memoryTree(report, mem);
    assert.ok(mem.memTotal > 0);
    const self = tree.find((n) => n.id === `proc:${process.pid}`) ?? tree.flatMap((n) => n.children ?? []).find((n) => n.id === `proc:${process.pid}`);
    assert.ok(self, 'this test process is in the tree');
    const p = report.processes.find((x) => x.pid === process.pid)!;
    assert.strictEqual(self.bytes, p.pss);
    const kinds = self.children!.reduce((s, k) => s + k.bytes, 0);
    assert.strictEqual(kinds, p.pss, 'kinds sum to PSS');
    if (p.family === null) assert.ok(!self.children!.some((k) => k.kind === 'family'), 'no family: nothing shared with one');
    for (let i = 1; i < tree.length; i++) assert.ok(tree[i - 1].bytes >= tree[i].bytes, 'largest first');
    for (const f of tree.filter((n) => n.role === 'family')) {
      assert.strictEqual(
        f.bytes,
        f.children!.reduce((s, c) => s + c.bytes, 0),
      );
    }
    // Shared memory nobody maps (an orphaned segment) still takes RAM: one entry says how much.
    const name = `/dev/shm/shmi_picture_${process.pid}_orphan`;
    fs.writeFileSync(name, Buffer.alloc(8 * MiB, 1));
    try {
      const [r2, m2] = await Promise.all([memoryReport(), readMemInfo()]);
      const un = memoryTree(r2, m2).find((n) => n.role === 'unmapped');
      assert.ok(un && un.bytes >= 8 * MiB, `unmapped shared memory ${un?.bytes} counts the 8 MiB orphan`);
    } finally {
      fs.rmSync(name, { force: true });
    }
  });

  it('kinds: a forked child splits its anonymous memory into private and shared with family', () => {
    const p = {
      pss: 100,
      rss: 180,
      anon: { rss: 150, pss: 70 },
      file: { rss: 20, pss: 20 },
      shmem: { rss: 10, pss: 10 },
    } as Parameters<typeof processKinds>[0];
    assert.deepStrictEqual(processKinds(p, 120), { private: 30, family: 40, shm: 10, file: 20 });
    assert.deepStrictEqual(processKinds(p, 0), { private: 70, family: 0, shm: 10, file: 20 });
  });
});

describe('memory picture: family timeline (real forked Python)', function () {
  this.timeout(120_000);
  const N_PAGES = 2000;
  const NOISE_PAGES = 64;
  let pair: Pair;

  before(async () => {
    pair = await startPair(48, N_PAGES);
  });
  after(async () => {
    await pair?.stop();
  });

  it("copied bytes rise by about N pages after the child writes; exact points when root; the child's exit ends its line", async () => {
    const exact = exactAvailable();
    const points: TimelinePoint[] = [];
    const updates: { done: boolean; ended: boolean }[] = [];
    const sampler = new FamilySampler({
      root: pair.child, // any member: the sampler follows its family's root
      exact,
      onUpdate: (u) => {
        points.push(...u.points);
        updates.push({ done: u.done, ended: u.members.some((m) => m.pid === pair.child && m.endMs !== null) });
      },
    });
    sampler.start();
    try {
      const mine = (ex: boolean) => points.filter((p) => p.pid === pair.child && p.exact === ex);
      await until('estimates before the write', () => mine(false).length >= 2);
      if (exact) await until('an exact point before the write', () => mine(true).length >= 1);
      assert.strictEqual(sampler.rootPid, pair.pid, 'the root is the parent');
      const before = { est: mine(false).at(-1)!, ex: mine(true).at(-1) };
      const t = Date.now();
      process.kill(pair.child, 'SIGUSR1');
      await pair.wrote;
      const after = (ex: boolean) => mine(ex).filter((p) => p.t > t + 50);
      await until('estimates after the write', () => after(false).length >= 2);
      if (exact) await until('exact points after the write', () => after(true).length >= 2);
      const page = pair.page;
      const estRise = after(false).at(-1)!.copiedBytes - before.est.copiedBytes;
      assert.ok(Math.abs(estRise - N_PAGES * page) <= 4 * NOISE_PAGES * page, `the estimate rose ${estRise / page} pages for ${N_PAGES} written`);
      if (exact) {
        const exRise = after(true).at(-1)!.copiedBytes - before.ex!.copiedBytes;
        assert.ok(Math.abs(exRise - N_PAGES * page) <= NOISE_PAGES * page, `exact: rose ${exRise / page} pages for ${N_PAGES} written`);
        assert.ok(after(true).at(-1)!.sharedBytes >= pair.arrayBytes * 0.9 - N_PAGES * page, 'the rest of the array is still shared');
      } else {
        assert.strictEqual(points.filter((p) => p.exact).length, 0, 'without the privilege every point is an estimate');
      }
      // Points come every second or so (never overlapping passes).
      const est = mine(false);
      for (let i = 1; i < est.length; i++) assert.ok(est[i].t - est[i - 1].t >= 990, 'estimates a second apart');
      // The child exits: its line ends; the family (no forked child left) goes on while the root runs.
      process.kill(pair.child, 'SIGKILL');
      await until("the child's line ends", () => updates.some((u) => u.ended));
      assert.ok(!updates.some((u) => u.done), 'the root still runs');
    } finally {
      sampler.stop();
      await sampler.idle();
    }
    const n = points.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.strictEqual(points.length, n, 'no point after stop');
  });
});

describe('memory picture: host session', function () {
  this.timeout(120_000);
  let pair: Pair;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-picture-'));

  before(async () => {
    pair = await startPair(16, 100);
  });
  after(async () => {
    await pair?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a treemap at the asked size with the family in it; the timeline streams; hidden stops it; export writes the PNG', async () => {
    const saved: string[] = [];
    const web = new FakeWebview<PictureMessage, PictureHostMessage>(validatePictureHostMessage, isLastPictureReply);
    const session = new PictureSession(web, {
      exact: () => true,
      io: {
        showSaveDialog: async (o) => ({ label: path.join(dir, o.fileName) }),
        writeFile: async (t: SaveTarget, parts) => {
          saved.push(t.label);
          await writeUserFile(t.label, parts);
        },
      },
    });
    try {
      web.page.send({ type: 'ready' });
      session.select(pair.child);
      const sel = await until('select', () => web.of('select')[0]);
      assert.strictEqual(sel.root, pair.child);
      web.page.request({ type: 'treemap', width: 800, height: 500 });
      const tm = await until('treemap', () => web.of('treemap')[0]);
      assert.strictEqual(tm.width, 800);
      const fam = tm.rects.find((r) => r.id === `family:${pair.pid}`);
      assert.ok(fam, 'the family has its rectangle');
      assert.strictEqual(fam.role, 'family');
      assert.ok(fam.bytes > 0 && fam.rss! >= fam.bytes, 'PSS and RSS for the hover');
      assert.ok(
        tm.rects.some((r) => r.pid === pair.child && r.family === pair.pid && r.role === 'process'),
        'the child inside its family',
      );
      assert.ok(tm.rects.length <= 800 * 500);
      // Timeline: the first reply resets, the next ones add points.
      web.page.request({ type: 'watch', root: pair.pid });
      await until('two timeline replies', () => web.of('timeline').length >= 2);
      const tl = web.of('timeline');
      assert.strictEqual(tl[0].reset, true);
      assert.strictEqual(tl[1].reset, false);
      assert.strictEqual(tl[0].root, pair.pid);
      assert.ok(tl[0].members.some((m) => m.pid === pair.child && !m.root));
      assert.ok(
        tl.some((m) => m.points.some((p) => p.pid === pair.child)),
        'points of the child',
      );
      // Hidden: no more sampling; shown again: it goes on.
      session.setVisible(false);
      await session.sampler?.idle();
      const n = web.of('timeline').length;
      await new Promise((r) => setTimeout(r, 2500));
      assert.strictEqual(web.of('timeline').length, n, 'nothing while hidden');
      session.setVisible(true);
      await until('timeline again when shown', () => web.of('timeline').length > n);
      // Export: the host writes the PNG the webview made.
      const png = Buffer.from(
        '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082',
        'hex',
      );
      web.page.send({ type: 'exportPng', dataUrl: `data:image/png;base64,${png.toString('base64')}`, suggestedName: 'memory picture' });
      await until('saved', () => web.of('notice').find((m) => /^Saved /.test(m.message)));
      assert.deepStrictEqual(fs.readFileSync(saved[0]), png);
      assert.match(saved[0], /memory_picture\.png$/);
    } finally {
      session.dispose();
    }
    const n = web.got.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.strictEqual(web.got.length, n, 'nothing after the panel closed');
  });

  it('the validators take every kind and role of the registries, and nothing else', () => {
    const treemap = (rect: Record<string, unknown>) => ({
      type: 'treemap',
      re: 1,
      width: 10,
      height: 10,
      rects: [{ id: 'x', role: 'kind', depth: 0, x: 0, y: 0, w: 1, h: 1, label: '', bytes: 1, ...rect }],
      totalBytes: 1,
      memTotal: 1,
      memUsed: 1,
      processes: 1,
      uninspectable: 0,
      exactAvailable: true,
      scannedAtMs: 0,
    });
    for (const kind of Object.keys(MEMORY_KINDS)) assert.ok(validatePictureHostMessage(treemap({ kind })), kind);
    for (const role of RECT_ROLES) assert.ok(validatePictureHostMessage(treemap({ role })), role);
    assert.strictEqual(validatePictureHostMessage(treemap({ kind: 'heap' })), null);
    assert.strictEqual(validatePictureHostMessage(treemap({ role: 'segment' })), null);
    for (const type of PICTURE_REQUESTS) assert.strictEqual(validatePictureWebviewMessage({ type, to: 0 }), null, `${type} is a request: it needs its number`);
  });

  it('malformed messages from either side are dropped', () => {
    assert.strictEqual(validatePictureWebviewMessage({ type: 'treemap', to: 0, id: 1, width: -1, height: 10 }), null);
    assert.strictEqual(validatePictureWebviewMessage({ type: 'watch', to: 0, id: 1, root: 'x' }), null);
    assert.strictEqual(validatePictureWebviewMessage({ type: 'exportPng', to: 0, dataUrl: 'data:text/html,<b>', suggestedName: 'x' }), null);
    assert.strictEqual(validatePictureWebviewMessage({ type: 'watch', to: 0, root: 5 }), null, 'a request without its number');
    assert.ok(validatePictureWebviewMessage({ type: 'watch', to: 0, id: 3, root: 5 }));
    assert.strictEqual(validatePictureHostMessage({ type: 'treemap', re: 1, width: 1, height: 1, rects: [{ id: 'x' }] }), null);
    assert.strictEqual(
      validatePictureHostMessage({ type: 'timeline', root: 1, label: '', reset: true, done: false, members: [], points: [], exactOn: true }),
      null,
      'a reply without re',
    );
  });
});
