/**
 * ViewerSession's state machine in plain Node: a fake webview (the real request helper and the
 * real message checks of the webview's side), real numpy files in a private directory, the real
 * addon. First picture, a panel reused by the next array, pinning, live mode, a segment replaced
 * under its name (and Reopen finding the new one), stats superseded, saving through the injected IO.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectSegment } from '../../extension/core/catalog';
import { writeUserFile } from '../../extension/core/fsutil';
import { ViewerSession, type SaveTarget, type ViewerIO } from '../../extension/preview/session';
import { FileSource, SegmentSource } from '../../extension/preview/source';
import { ViewerWebview as FakeWebview, viewRequest } from '../fixtures/viewer-webview';
import { pyCode } from '../fixtures/segments';

const py = (code: string, ...args: string[]) => pyCode(code, args);

/** Saving into the test's directory: the dialog answers from a script, the writer is the real one. */
function fileIO(answers: (string | undefined)[]): ViewerIO & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    showSaveDialog: async (o) => {
      asked.push(o.fileName);
      const a = answers.shift();
      return a === undefined ? undefined : { label: a };
    },
    writeFile: (t: SaveTarget, parts) => writeUserFile(t.label, parts),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const view = viewRequest;

describe('viewer session (fake webview, real addon, real numpy files)', function () {
  this.timeout(20_000);
  let dir: string;
  const sessions: ViewerSession[] = [];
  const open = (port: FakeWebview, file: string, opts: Partial<ConstructorParameters<typeof ViewerSession>[4]> = {}, io: ViewerIO = fileIO([])) => {
    const s = new ViewerSession(port, new FileSource(file), Date.now(), null, { io, ...opts });
    sessions.push(s);
    return s;
  };
  /** Writes `expr` (numpy, `np`) as an .npy file; its values as JSON. */
  const npy = (name: string, expr: string): number[] => {
    const file = path.join(dir, name);
    return JSON.parse(py(`import numpy as np,sys,json; a=${expr}; np.save(sys.argv[1], a); print(json.dumps(a.ravel().tolist()))`, file));
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-session-'));
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.dispose();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends init with the first picture at the plot size it is told; the view that follows gets the exact picture only', async () => {
    const values = npy('first.npy', 'np.arange(40*60, dtype=np.float32).reshape(40, 60)');
    const port = new FakeWebview();
    open(port, path.join(dir, 'first.npy'), { plotArea: { width: 400, height: 300 } });
    port.send({ type: 'ready', plotArea: { width: 120, height: 80 } });
    const init = await port.next('init');
    assert.deepStrictEqual([init.segment.shape, init.segment.dtype, init.reusable], [[40, 60], '<f4', false]);
    const first = init.first!;
    assert.ok(first, 'a first picture comes with init');
    // At most half the plot's size each way (60 x 40 cells for 120 x 80 pixels): every element here.
    assert.deepStrictEqual([first.width, first.height, first.exact], [60, 40, true]);
    assert.deepStrictEqual(Array.from(first.values), values);
    const id = port.request(view(40, 60));
    const tile = await port.next('tile', (t) => t.final);
    assert.strictEqual(tile.re, id);
    assert.deepStrictEqual(Array.from(tile.values), values);
    assert.strictEqual(port.of('tile').length, 1, 'no sampled tile first: the first picture was that');
  });

  it('carries init in the page (embeddableInit): the ready that follows gets no second init', async () => {
    npy('embed.npy', 'np.ones((30, 30), dtype=np.float64)');
    const port = new FakeWebview();
    const s = open(port, path.join(dir, 'embed.npy'), { plotArea: { width: 100, height: 100 } });
    const init = await s.embeddableInit();
    assert.ok(init);
    const msg = JSON.parse(init.json);
    assert.strictEqual(msg.type, 'init');
    assert.ok(Number.isInteger(msg.from), 'stamped with the session, so the page addresses it');
    // The page puts the float32 values back beside the JSON (webview/main.ts does the same).
    const bytes = Buffer.from(init.values, 'base64');
    msg.first.values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    assert.strictEqual(msg.first.values.length, msg.first.width * msg.first.height);
    assert.ok(Array.from(msg.first.values as Float32Array).every((v) => v === 1));
    await port.postMessage(msg);
    assert.strictEqual(port.of('init').length, 1, 'the page took the embedded init');
    port.send({ type: 'ready', plotArea: { width: 100, height: 100 }, embedded: true });
    await sleep(100);
    assert.strictEqual(port.of('init').length, 1);
  });

  it('a panel handed to the next layout before its page started: the page, carrying the first init, says ready to that session; the new one answers it', async () => {
    npy('early-a.npy', 'np.zeros((16, 16), dtype=np.float32)');
    npy('early-b.npy', 'np.full((12, 24), 3, dtype=np.float32)');
    const port = new FakeWebview();
    const a = open(port, path.join(dir, 'early-a.npy'), { plotArea: { width: 100, height: 100 } });
    const carried = await a.embeddableInit();
    assert.ok(carried);
    // Interpret As… shows another layout while the page (which carries a's init) is still loading:
    // what the new session posts now is lost.
    port.deaf = true;
    a.dispose();
    open(port, path.join(dir, 'early-b.npy'), { plotArea: { width: 100, height: 100 }, running: true, reusable: true });
    await sleep(300);
    port.deaf = false;
    const msg = JSON.parse(carried.json);
    const bytes = Buffer.from(carried.values, 'base64');
    msg.first.values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    await port.postMessage(msg);
    port.send({ type: 'ready', plotArea: { width: 100, height: 100 }, embedded: true });
    const init = await port.next('init', (m) => m.segment.name === 'early-b.npy', 0, 5000);
    assert.deepStrictEqual(init.segment.shape, [12, 24]);
    const id = port.request(view(12, 24));
    const tile = await port.next('tile', (t) => t.final && t.re === id);
    assert.deepStrictEqual([tile.width, tile.height, tile.max], [24, 12, 3], 'the page draws the layout shown last');
  });

  it('a reused panel shows the next array; requests still addressed to the last one are not answered about it', async () => {
    npy('a.npy', 'np.zeros((20, 20), dtype=np.float32)');
    npy('b.npy', 'np.full((10, 30), 7, dtype=np.float32)');
    const port = new FakeWebview();
    const a = open(port, path.join(dir, 'a.npy'), { plotArea: { width: 100, height: 100 }, reusable: true });
    port.send({ type: 'ready', plotArea: { width: 100, height: 100 } });
    const initA = await port.next('init');
    assert.strictEqual(initA.reusable, true, 'offers Keep open');
    // The page asks about a (20 x 20) just as the panel is handed to b: a new session on the same webview.
    const stale = port.request(view(20, 20));
    a.dispose();
    const b = open(port, path.join(dir, 'b.npy'), { plotArea: a.plotArea, running: true, reusable: true });
    const initB = await port.next('init', (m) => m.segment.name === 'b.npy');
    assert.notStrictEqual(initB.from, initA.from);
    assert.ok(!port.page.pending('view'), 'the page forgot what it asked the last session');
    const id = port.request(view(10, 30));
    const tile = await port.next('tile', (t) => t.final);
    assert.strictEqual(tile.re, id);
    assert.notStrictEqual(tile.re, stale);
    assert.deepStrictEqual([tile.width, tile.height, tile.max], [30, 10, 7]);
    assert.ok(!b.pinned);
  });

  it('Keep open (pin) keeps the panel for its array: init no longer offers it', async () => {
    npy('pin.npy', 'np.eye(8, dtype=np.float32)');
    const port = new FakeWebview();
    const s = open(port, path.join(dir, 'pin.npy'), { reusable: true });
    port.send({ type: 'ready', plotArea: null });
    assert.strictEqual((await port.next('init')).reusable, true);
    port.send({ type: 'pin' });
    await sleep(20);
    assert.ok(s.pinned);
    port.send({ type: 'retry' });
    const again = await port.next('init', () => true, 1);
    assert.strictEqual(again.reusable, false);
  });

  it('live mode re-reads what the producer wrote, and says once that the segment was unlinked', async () => {
    npy('live.npy', 'np.zeros((16, 16), dtype=np.float64)');
    const file = path.join(dir, 'live.npy');
    const port = new FakeWebview();
    const s = open(port, file);
    port.send({ type: 'ready', plotArea: null });
    await port.next('init');
    port.request(view(16, 16));
    assert.strictEqual((await port.next('tile', (t) => t.final)).max, 0);
    // The producer writes in place (same file, same inode).
    py(`import numpy as np,sys; a=np.load(sys.argv[1], mmap_mode='r+'); a[3, 4]=42; a.flush()`, file);
    const n = port.got.length;
    port.request(view(16, 16, { live: true }));
    const t2 = await port.next('tile', (t) => t.final, n);
    assert.strictEqual(t2.max, 42);
    assert.strictEqual(t2.values[3 * 16 + 4], 42);
    fs.unlinkSync(file);
    port.request(view(16, 16, { live: true }));
    const notice = await port.next('notice', (m) => m.sticky === true);
    assert.match(notice.message, /live\.npy was unlinked: .*mapping is what keeps its memory \(.*\) in use/);
    assert.ok(s.unlinked);
    // The mapping still shows the memory, and it is said once only.
    port.request(view(16, 16, { live: true }));
    await port.next('tile', (t) => t.final, port.got.length);
    assert.strictEqual(port.of('notice').length, 1);
  });

  it('a segment replaced under its name: live mode says so (CHANGED), Reopen finds the new one by name', async () => {
    npy('seg.npy', 'np.zeros((8, 8), dtype=np.float32)');
    const lookup = (name: string) => inspectSegment(name, { dirs: [dir] });
    const port = new FakeWebview();
    const first = await lookup('seg.npy');
    assert.ok(first);
    const s = new ViewerSession(port, new SegmentSource(first, 'seg.npy', first.path, lookup), Date.now(), null, { io: fileIO([]) });
    sessions.push(s);
    port.send({ type: 'ready', plotArea: null });
    await port.next('init');
    // Another producer makes a new segment of the same name (a new file renamed over it).
    npy('seg.new.npy', 'np.full((4, 5), 3, dtype=np.float64)');
    fs.renameSync(path.join(dir, 'seg.new.npy'), path.join(dir, 'seg.npy'));
    port.request(view(8, 8, { live: true }));
    const err = await port.next('error');
    assert.deepStrictEqual([err.kind, err.code], ['changed', 'CHANGED']);
    assert.match(err.message, /replaced by a new segment of the same name/);
    port.send({ type: 'retry' });
    const init = await port.next('init', (m) => m.segment.shape[0] === 4);
    assert.deepStrictEqual([init.segment.shape, init.segment.dtype], [[4, 5], '<f8']);
    port.request(view(4, 5));
    const tile = await port.next('tile', (t) => t.final);
    assert.deepStrictEqual([tile.min, tile.max, tile.width, tile.height], [3, 3, 5, 4]);
    assert.strictEqual(s.error, null);
  });

  it('a stats request superseded before its passes ran gets no reply; the newer one is answered', async () => {
    // 3 slices of 1000 x 1000: the first request's passes are still running when the second comes.
    const file = path.join(dir, 'cube.npy');
    py(`import numpy as np,sys; a=np.arange(3*1000*1000, dtype=np.float64).reshape(3, 1000, 1000); np.save(sys.argv[1], a)`, file);
    const port = new FakeWebview();
    open(port, file);
    port.send({ type: 'ready', plotArea: null });
    await port.next('init');
    const slice = (k: number) => ({ axes: [1, 2] as [number, number], index: [k, 0, 0], part: 'magnitude' as const });
    const first = port.request({ type: 'stats', slice: slice(0), quantiles: [0.01, 0.99], fresh: false });
    const second = port.request({ type: 'stats', slice: slice(2), quantiles: [0.5], fresh: false });
    const reply = await port.next('stats');
    assert.strictEqual(reply.re, second);
    assert.deepStrictEqual([reply.min, reply.max, reply.count], [2e6, 3e6 - 1, 1e6]);
    assert.ok(Math.abs(reply.mean! - (2e6 + (1e6 - 1) / 2)) < 1e-6);
    assert.strictEqual(reply.quantiles.length, 1);
    await sleep(100);
    assert.deepStrictEqual(
      port.of('stats').map((m) => m.re),
      [second],
      `no reply to the superseded request ${first}`,
    );
    // Cancelled with nothing after it: no reply either, and the next request is answered.
    port.request({ type: 'stats', slice: slice(1), quantiles: [], fresh: false });
    port.page.cancel('stats');
    const third = port.request({ type: 'stats', slice: slice(2), quantiles: [0.5], fresh: false });
    const r3 = await port.next('stats', (m) => m.re === third);
    assert.strictEqual(r3.min, 2e6);
    await sleep(50);
    assert.strictEqual(port.of('stats').length, 2);
  });

  it("the Table toggle's cells: a window of elements each written as stored (numpy's shortest form), clipped to the slice; an N-D slice's too", async () => {
    const f32 = path.join(dir, 'cells32.npy');
    const i64 = path.join(dir, 'cells64.npy');
    // float32 sevenths (the shortest text of the float32, not of its double), NaN and ±inf; int64 beyond 2^53 in a 3-D array.
    const want = JSON.parse(
      py(
        [
          'import numpy as np,sys,json',
          'a=(np.arange(30*40).reshape(30,40)/7).astype(np.float32); a[3,4]=np.nan; a[5,6]=np.inf; a[5,7]=-np.inf',
          'np.save(sys.argv[1], a)',
          'b=np.arange(2*5*6,dtype=np.int64).reshape(2,5,6)*1000003+2**60',
          'np.save(sys.argv[2], b)',
          "t=lambda v: str(v)[:-2] if str(v).endswith('.0') else str(v)",
          'print(json.dumps([[t(v) for v in a[2:8,3:9].ravel()], [t(v) for v in a[28:,38:].ravel()], [str(v) for v in b[1,1:4,2:5].ravel()]]))',
        ].join('\n'),
        f32,
        i64,
      ),
    ) as string[][];
    const port = new FakeWebview();
    open(port, f32);
    port.send({ type: 'ready', plotArea: null });
    await port.next('init');
    const slice = { axes: [0, 1] as [number, number], index: [0, 0], part: 'magnitude' as const };
    const id = port.request({ type: 'cells', slice, window: { r0: 2, r1: 8, c0: 3, c1: 9 } });
    const got = await port.next('cells', (m) => m.re === id);
    assert.deepStrictEqual(got.window, { r0: 2, r1: 8, c0: 3, c1: 9 });
    assert.deepStrictEqual(got.texts, want[0]);
    assert.ok(got.texts.includes('nan') && got.texts.includes('inf') && got.texts.includes('-inf'));
    // A window past the edges: clipped to the 30×40 slice.
    const id2 = port.request({ type: 'cells', slice, window: { r0: 28, r1: 60, c0: 38, c1: 70 } });
    const edge = await port.next('cells', (m) => m.re === id2);
    assert.deepStrictEqual([edge.window, edge.texts], [{ r0: 28, r1: 30, c0: 38, c1: 40 }, want[1]]);
    // The 2-D slice [1, :, :] of a 3-D int64 array: exact beyond 2^53.
    const port3 = new FakeWebview();
    open(port3, i64);
    port3.send({ type: 'ready', plotArea: null });
    await port3.next('init');
    const id3 = port3.request({ type: 'cells', slice: { axes: [1, 2], index: [1, 0, 0], part: 'magnitude' }, window: { r0: 1, r1: 4, c0: 2, c1: 5 } });
    assert.deepStrictEqual((await port3.next('cells', (m) => m.re === id3)).texts, want[2]);
  });

  it('saves the visible window as .npy and the view as PNG where the dialog says; a cancelled dialog writes nothing', async () => {
    npy('save.npy', 'np.arange(12*10, dtype=np.int16).reshape(12, 10)');
    const out = path.join(dir, 'out.npy');
    const png = path.join(dir, 'out.png');
    const io = fileIO([out, undefined, png]);
    const port = new FakeWebview();
    open(port, path.join(dir, 'save.npy'), {}, io);
    port.send({ type: 'ready', plotArea: null });
    await port.next('init');
    const slice = { axes: [0, 1] as [number, number], index: [0, 0], part: 'magnitude' as const };
    port.send({ type: 'saveNpy', slice, window: { r0: 2, r1: 5, c0: 3, c1: 7 } });
    const saved = await port.next('notice', (m) => m.level === 'info');
    assert.match(saved.message, /^Saved rows 2:5, columns 3:7 \(3×4 <i2\) to .*out\.npy/);
    assert.deepStrictEqual(io.asked, ['save_r2-5_c3-7.npy']);
    assert.strictEqual(py(`import numpy as np,sys; print(np.load(sys.argv[1]).tolist())`, out).trim(), '[[23, 24, 25, 26], [33, 34, 35, 36], [43, 44, 45, 46]]');
    port.send({ type: 'exportPng', dataUrl: 'data:image/png;base64,' + Buffer.from('not a real png').toString('base64'), suggestedName: 'my view' });
    await sleep(50);
    assert.strictEqual(port.of('notice').length, 1, 'the cancelled dialog: nothing said, nothing written');
    port.send({ type: 'exportPng', dataUrl: 'data:image/png;base64,' + Buffer.from('png bytes').toString('base64'), suggestedName: 'my view' });
    await port.next('notice', (m) => m.message === `Saved ${png}`);
    assert.deepStrictEqual(io.asked.slice(1), ['my_view.png', 'my_view.png']);
    assert.strictEqual(fs.readFileSync(png, 'utf8'), 'png bytes');
  });
});
