/**
 * The matrix viewer on System V segments (issue #15, item 2): a ViewerSession (fake webview, real
 * addon) over a segment made by a real producer (test/fixtures/sysv_producer.py: ctypes shmget,
 * an NPY written into it), attached read-only while the session is open and detached when it is
 * disposed; a segment removed (IPC_RMID) while shown, which the attachment keeps (the panel says
 * so); one removed between list and attach (ENOENT, "vanished"); one another user may not attach
 * (EACCES, run as nobody with setpriv); one of a private IPC namespace (unshare -i, sysv:NS/SHMID);
 * a raw one given a layout (Interpret As…, `interpret sysv:ID`), kept in a private interpretations file.
 * Every segment and process made here is removed in `after`.
 */
import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { inspectSysv, readSysvTable, type SysvSegment } from '../../extension/core/sysv';
import { applySysvInterpretations, interpretSysv, sysvIdentity } from '../../extension/core/sysv-interpret';
import { lookupSysv, openSysvSegmentView, proposeForSysv } from '../../extension/core/sysv-view';
import { runCli } from '../fixtures/cli';
import { removeSysv } from '../../extension/native';
import { ViewerSession, type ViewerIO } from '../../extension/preview/session';
import { SegmentSource } from '../../extension/preview/source';
import type { Segment } from '../../extension/core/types';
import { ViewerWebview as FakeWebview, viewRequest } from '../fixtures/viewer-webview';
import { PYTHON, untilReady } from '../fixtures/segments';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'sysv_producer.py');
const OUT = path.resolve(__dirname, '..', '..');
const NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'];

const noIO: ViewerIO = { showSaveDialog: async () => undefined, writeFile: async () => undefined };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const view = viewRequest;

async function nattch(shmid: number): Promise<number | null> {
  return (await readSysvTable()).find((r) => r.shmid === shmid)?.nattch ?? null;
}

describe('the matrix viewer on System V segments (real producer, real addon)', function () {
  this.timeout(60_000);
  const ids = new Set<number>();
  const procs = new Set<ChildProcess>();
  const sessions: ViewerSession[] = [];

  /** An orphaned segment holding numpy.arange(ROWS*COLS) as an NPY of `dtype` (`--raw`: the data alone); its shmid. */
  const make = (dtype: string, rows: number, cols: number, more: string[] = [], as = '--npy'): number => {
    const out = execFileSync(PYTHON, [PRODUCER, 'make', '0', as, dtype, `${rows},${cols}`, ...more], { encoding: 'utf8', timeout: 60_000 });
    const id = Number(/shmid (\d+)/.exec(out)![1]);
    ids.add(id);
    return id;
  };
  const session = (port: FakeWebview, s: Segment) => {
    const x = new ViewerSession(port, new SegmentSource(s, s.name, s.path, (n) => lookupSysv(n) as unknown as Promise<Segment | null>), Date.now(), null, {
      io: noIO,
    });
    sessions.push(x);
    return x;
  };

  afterEach(() => {
    for (const s of sessions.splice(0)) s.dispose();
  });
  after(() => {
    for (const c of procs) c.kill('SIGKILL');
    if (ids.size > 0) execFileSync(PYTHON, [PRODUCER, 'rm', ...[...ids].map(String)], { timeout: 60_000 });
  });

  it('draws an NPY segment from a read-only attach (exact values), attached while open and detached on dispose', async () => {
    const id = make('float32', 24, 40);
    const s = await inspectSysv(id, { holders: false });
    assert.ok(s);
    assert.deepStrictEqual([s.format, s.dtype, s.shape], ['npy', '<f4', [24, 40]]);
    assert.strictEqual(await nattch(id), 0, 'an orphan before');
    const port = new FakeWebview();
    const x = session(port, s as unknown as Segment);
    port.send({ type: 'ready', plotArea: { width: 80, height: 48 } });
    const init = await port.next('init');
    assert.deepStrictEqual([init.segment.name, init.segment.shape, init.segment.dtype], [`sysv:${id}`, [24, 40], '<f4']);
    port.request(view(24, 40));
    const tile = await port.next('tile', (t) => t.final);
    assert.deepStrictEqual(
      Array.from(tile.values),
      Array.from({ length: 24 * 40 }, (_, i) => i),
    );
    assert.deepStrictEqual(x.mapped, { dev: 0, ino: id, path: `sysv:${id}` });
    assert.strictEqual(await nattch(id), 1, 'the session attaches it');
    // A hover reads the exact element from the attachment.
    port.request({ type: 'hover', slice: { axes: [0, 1], index: [0, 0], part: 'magnitude' }, row: 3, col: 7 });
    assert.strictEqual((await port.next('value')).value, 3 * 40 + 7);
    x.dispose();
    await sleep(50);
    assert.strictEqual(await nattch(id), 0, 'detached when the viewer closes');
  });

  it('a segment removed (IPC_RMID) while shown: live mode says the attachment keeps it; dispose frees it', async () => {
    const id = make('float64', 8, 8);
    const s = await inspectSysv(id, { holders: false });
    const port = new FakeWebview();
    const x = session(port, s as unknown as Segment);
    port.send({ type: 'ready', plotArea: null });
    await port.next('init');
    await removeSysv(id);
    const rec = (await readSysvTable()).find((r) => r.shmid === id);
    assert.ok(rec && (rec.perms & 0o1000) !== 0 && rec.nattch === 1, 'marked for removal, kept by our attachment');
    port.request(view(8, 8, { live: true }));
    const notice = await port.next('notice', (m) => m.sticky === true);
    assert.match(notice.message, new RegExp(`sysv:${id} was removed \\(IPC_RMID\\): .*this panel's attachment keeps its memory \\(.*\\) in use`));
    assert.ok(x.unlinked);
    // Still drawn from the attachment.
    const tile = await port.next('tile', (t) => t.final);
    assert.strictEqual(tile.max, 63);
    x.dispose();
    await sleep(50);
    assert.strictEqual(await nattch(id), null, 'gone with our detach');
    ids.delete(id);
  });

  it('a segment removed between list and attach: a vanished error with the stable code ENOENT', async () => {
    const id = make('float32', 4, 4);
    const s = await inspectSysv(id, { holders: false });
    await removeSysv(id);
    ids.delete(id);
    await assert.rejects(openSysvSegmentView(s!), (e: Error & { code?: string }) => e.code === 'ENOENT' && /no longer exists: it was removed/.test(e.message));
    const port = new FakeWebview();
    session(port, s as unknown as Segment);
    port.send({ type: 'ready', plotArea: null });
    const err = await port.next('error');
    assert.deepStrictEqual([err.kind, err.code], ['vanished', 'ENOENT']);
    assert.match(err.message, new RegExp(`sysv:${id} no longer exists`));
  });

  it("another user's segment (mode 0600, as nobody): EACCES with its mode and owner, a permission error in the panel", async () => {
    const id = make('float32', 4, 4);
    const script = `
      const { inspectSysv } = require(${JSON.stringify(path.join(OUT, 'extension/core/sysv.js'))});
      const { openSysvSegmentView } = require(${JSON.stringify(path.join(OUT, 'extension/core/sysv-view.js'))});
      const { describeFailure } = require(${JSON.stringify(path.join(OUT, 'extension/preview/session.js'))});
      (async () => {
        const s = await inspectSysv(${id}, { holders: false });
        try { await openSysvSegmentView(s); console.log(JSON.stringify({ opened: true })); }
        catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, d: describeFailure(e, s.name), listed: s.errorCode })); }
      })();`;
    const out = execFileSync('setpriv', [...NOBODY, process.execPath, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    assert.strictEqual(r.listed, 'EACCES', 'the listing already says it cannot be read');
    assert.strictEqual(r.code, 'EACCES');
    assert.match(r.message, /shmat refused: its mode rw------- \(0600\) belongs to uid 0, gid 0, and does not let this user \(uid 65534\) read it/);
    assert.deepStrictEqual([r.d.kind, r.d.code], ['permission', 'EACCES']);
  });

  it('a raw segment given a layout (Interpret As…, `interpret sysv:ID`): proposed from its bytes, listed and drawn with it, kept under its shmid and creation only', async () => {
    const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-sysv-interp-'));
    const file = path.join(cfg, 'interpretations.json');
    try {
      const id = make('float64', 12, 20, [], '--raw');
      const raw = await inspectSysv(id, { holders: false, interpretations: file });
      assert.ok(raw);
      assert.deepStrictEqual([raw.format, raw.dtype, raw.size], ['raw', null, 12 * 20 * 8]);
      // Likely layouts from a sample read through a read-only attach: float64 among the plausible ones.
      const proposals = await proposeForSysv(raw, 12);
      assert.ok(
        proposals.some((p) => p.dtype === '<f8' && p.plausibility === 1),
        JSON.stringify(proposals.slice(0, 3)),
      );
      assert.strictEqual(await nattch(id), 0, 'the sample attach is detached at once');
      const { interpretation, leftoverBytes } = await interpretSysv(raw, { dtype: 'float64', shape: [12, 20], offset: 0, order: 'C' }, file);
      assert.deepStrictEqual([interpretation.dtype, leftoverBytes], ['<f8', 0]);
      await assert.rejects(interpretSysv(raw, { dtype: 'float64', shape: [13, 20], offset: 0, order: 'C' }, file), /needs 2080 bytes, the segment has 1920/);
      // Listed with it (format stays raw), and drawn by the viewer.
      const now = await inspectSysv(id, { holders: false, interpretations: file });
      assert.deepStrictEqual([now!.format, now!.dtype, now!.shape], ['raw', '<f8', [12, 20]]);
      assert.deepStrictEqual((now!.details as { interpretation: { leftoverBytes: number } }).interpretation.leftoverBytes, 0);
      const port = new FakeWebview();
      session(port, now as unknown as Segment);
      port.send({ type: 'ready', plotArea: null });
      await port.next('init');
      port.request(view(12, 20));
      const tile = await port.next('tile', (t) => t.final);
      assert.deepStrictEqual([tile.min, tile.max, tile.values[21]], [0, 239, 21]);
      // Another segment under the same shmid later (a reused id) would have another creation: the identity says so.
      const id2 = sysvIdentity(now!);
      assert.deepStrictEqual([id2.dev, id2.ino, id2.name], [0, id, `sysv:${id}`]);
      assert.strictEqual(id2.birth, `s${now!.sysv.ctimeMs}p${now!.sysv.cpid}`);
      const other = {
        ...now!,
        sysv: { ...now!.sysv, ctimeMs: now!.sysv.ctimeMs + 1000 },
        format: 'raw',
        dtype: null,
        shape: null,
        details: undefined,
      } as unknown as SysvSegment;
      await applySysvInterpretations([other], file);
      assert.strictEqual(other.dtype, null, 'not inherited by a newer segment of that shmid');
      // The CLI: proposals, set, stats with it, clear.
      const env = { SHM_INSPECTOR_CONFIG_DIR: cfg };
      const listed = await runCli(['interpret', `sysv:${id}`, '--json'], { env });
      const doc = JSON.parse(listed.stdout) as { interpretation: { dtype: string } | null; proposals: { dtype: string }[] };
      assert.deepStrictEqual([doc.interpretation?.dtype, doc.proposals.some((p) => p.dtype === '<f8')], ['<f8', true]);
      const st = await runCli(['stats', `sysv:${id}`, '--json'], { env });
      assert.strictEqual(st.code, 0, st.stderr);
      assert.deepStrictEqual([JSON.parse(st.stdout).count, JSON.parse(st.stdout).max], [240, 239]);
      const set = await runCli(['interpret', `sysv:${id}`, '--dtype', 'float32', '--shape', '24,20'], { env });
      assert.match(set.stdout, new RegExp(`sysv:${id}: interpreted as float32 24×20, C order`));
      const cleared = await runCli(['interpret', `sysv:${id}`, '--clear'], { env });
      assert.match(cleared.stdout, /interpretation cleared \(raw bytes again\)/);
      assert.strictEqual((await inspectSysv(id, { holders: false, interpretations: file }))!.dtype, null);
      const npy = make('float32', 2, 2);
      const refused = await runCli(['interpret', `sysv:${npy}`], { env });
      assert.deepStrictEqual([refused.code, /is npy: its layout is known/.test(refused.stderr)], [1, true]);
    } finally {
      fs.rmSync(cfg, { recursive: true, force: true });
    }
  });

  it('a segment of a private IPC namespace (sysv:NS/SHMID): found by name, attached inside it, drawn', async function () {
    if (process.getuid?.() !== 0) this.skip(); // entering another IPC namespace needs CAP_SYS_ADMIN
    const child = spawn('unshare', ['-i', PYTHON, PRODUCER, 'make', '0', '--npy', 'int16', '6,9', '--hold'], { stdio: ['pipe', 'pipe', 'inherit'] });
    procs.add(child);
    const id = Number(/shmid (\d+)/.exec(await untilReady(child, 'producer'))![1]);
    const ns = Number(/\[(\d+)\]/.exec(execFileSync('readlink', [`/proc/${child.pid}/ns/ipc`], { encoding: 'utf8' }))![1]);
    const s = await lookupSysv(`sysv:${ns}/${id}`);
    assert.ok(s, 'found in its namespace');
    assert.deepStrictEqual([s.name, s.dtype, s.shape], [`sysv:${ns}/${id}`, '<i2', [6, 9]]);
    const port = new FakeWebview();
    const x = session(port, s as unknown as Segment);
    port.send({ type: 'ready', plotArea: null });
    await port.next('init');
    port.request(view(6, 9));
    const tile = await port.next('tile', (t) => t.final);
    assert.deepStrictEqual([tile.min, tile.max, tile.values[9 + 2]], [0, 53, 11]);
    assert.deepStrictEqual(x.mapped, { dev: 0, ino: id, path: `sysv:${ns}/${id}` });
    x.dispose();
    child.stdin!.end();
  });
});
