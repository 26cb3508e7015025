/**
 * The table viewer's host session (issue #16) in plain Node: a fake webview (the real request
 * helper and the webview's own message checks), real tables in /dev/shm (Arrow files and streams
 * written by apache-arrow, a pandas DataFrame as a numpy record array, a nested structured NPY and
 * a ShareableList made by /usr/bin/python3), the real addon. Rows are served by range with the
 * values the producers wrote; column statistics; a segment that shrinks, is replaced or vanishes
 * while open gets its message and code.
 */
import * as A from 'apache-arrow';
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tablePaneBody, validateTableHostMessage, type TableHostMessage, type TableWebviewMessage } from '../../contract/table';
import type { ViewerPort } from '../../extension/preview/session';
import { segmentTableSource, tablePanePort, TableSession } from '../../extension/table/session';
import { FakeWebview } from '../fixtures/fake-webview';
import { bigTable, everyType, tableOf } from '../fixtures/tables';
import { PYTHON, SegmentJar } from '../fixtures/segments';

const MAKE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'make_tables.py');
const make = (args: string[]) => JSON.parse(execFileSync(PYTHON, [MAKE, ...args], { encoding: 'utf8', timeout: 60_000 }));

/** A table webview as the session sees it, with a helper that asks for rows and waits for that very reply. */
class FakeTableWebview extends FakeWebview<TableWebviewMessage, TableHostMessage> {
  constructor() {
    super(validateTableHostMessage);
  }

  async rows(offset: number, count: number, columns: number[]) {
    const id = this.request({ type: 'rows', offset, count, columns });
    return this.next('rows', (m) => m.re === id);
  }
}

describe('table viewer session (fake webview, real producers, real addon) (table-session)', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  const sessions: TableSession[] = [];
  const open = (seg: { name: string; path: string }, opts: ConstructorParameters<typeof TableSession>[3] = {}) => {
    const port = new FakeTableWebview();
    const s = new TableSession(port, segmentTableSource(seg), Date.now(), opts);
    sessions.push(s);
    port.send({ type: 'ready' });
    return { port, session: s };
  };
  afterEach(() => sessions.splice(0).forEach((s) => s.dispose()));
  after(() => jar.cleanup());

  const N = 43;
  const cols = everyType(N);
  for (const kind of ['file', 'stream'] as const) {
    it(`an Arrow ${kind} of every type in three batches: init names the columns; rows by range hold what apache-arrow wrote`, async () => {
      const seg = jar.name('shmi_tsession', kind === 'file' ? '.arrow' : '.arrows');
      fs.writeFileSync(seg.path, A.tableToIPC(tableOf(cols, N, [7, 20]), kind));
      const { port } = open(seg);
      const init = await port.next('init');
      assert.deepStrictEqual(
        init.table.columns.map((c) => c.name),
        cols.map((c) => c.name),
      );
      assert.deepStrictEqual([init.table.totalRows, init.table.source, init.reusable], [N, 'arrow', false]);
      // Around a batch boundary, two columns in the order asked for.
      const page = await port.rows(5, 4, [3, 0]);
      assert.strictEqual(page.offset, 5);
      assert.deepStrictEqual(page.columns, [3, 0]);
      for (let i = 0; i < 4; i++) assert.deepStrictEqual(page.rows[i], [cols[3].expect(5 + i), cols[0].expect(5 + i)], `row ${5 + i}`);
      // The last rows, every column; a range past the end is clipped.
      const last = await port.rows(N - 2, 10, [...cols.keys()]);
      assert.strictEqual(last.rows.length, 2);
      last.rows.forEach((r, i) => cols.forEach((c, j) => assert.deepStrictEqual(r[j], c.expect(N - 2 + i), `row ${N - 2 + i}, ${c.name}`)));
      assert.ok(last.errors.every((e) => e === null));
    });
  }

  it('an Arrow stream being appended to: its new batches are read from the file mapped again, the webview told the new row count; a half-written batch waits; the end marker ends the watch', async () => {
    const N2 = 43;
    const every = everyType(N2);
    const t = tableOf(every, N2, [7, 20]);
    const full = A.tableToIPC(t, 'stream');
    // The first two batches as a stream writer leaves them before its next batch: no end marker (8 bytes) yet.
    const part = A.tableToIPC(new A.Table(t.batches.slice(0, 2)), 'stream');
    const head = part.subarray(0, part.length - 8);
    assert.strictEqual(Buffer.compare(Buffer.from(full.subarray(0, head.length)), Buffer.from(head)), 0, 'the stream of 2 batches is how the one of 3 begins');
    const seg = jar.name('shmi_tsession_append', '.arrows');
    fs.writeFileSync(seg.path, head);
    // The test looks for appended rows itself (the session's own timer would race it).
    const { port, session } = open(seg, { appendPollMs: 0 });
    assert.strictEqual((await port.next('init')).table.totalRows, 20);
    assert.strictEqual(await session.readAppended(), false, 'nothing appended yet');
    // Half of the third batch: not read yet.
    const rest = full.subarray(head.length, full.length - 8);
    fs.appendFileSync(seg.path, rest.subarray(0, rest.length >> 1));
    assert.strictEqual(await session.readAppended(), false, 'a batch being written is not read');
    fs.appendFileSync(seg.path, rest.subarray(rest.length >> 1));
    assert.strictEqual(await session.readAppended(), true);
    const grown = await port.next('grown');
    assert.deepStrictEqual([grown.totalRows, grown.size], [N2, full.length - 8]);
    const page = await port.rows(18, 25, [...every.keys()]);
    assert.strictEqual(page.rows.length, 25);
    page.rows.forEach((r, i) => every.forEach((c, j) => assert.deepStrictEqual(r[j], c.expect(18 + i), `row ${18 + i}, ${c.name}`)));
    // The writer closes the stream: nothing more to watch.
    fs.appendFileSync(seg.path, full.subarray(full.length - 8));
    assert.strictEqual(await session.readAppended(), false);
    assert.strictEqual(await session.readAppended(), false);
    assert.strictEqual(port.of('grown').length, 1);
  });

  it('a 1,000,000-row Arrow file: the last rows served alone, their values as written; column statistics', async () => {
    const n = 1_000_000;
    const seg = jar.name('shmi_tsession_big', '.arrow');
    const big = bigTable(n);
    fs.writeFileSync(seg.path, big.bytes);
    const { port } = open(seg);
    assert.strictEqual((await port.next('init')).table.totalRows, n);
    const page = await port.rows(n - 40, 40, [0, 1, 2]);
    assert.strictEqual(page.rows.length, 40);
    page.rows.forEach((r, k) => assert.deepStrictEqual(r, big.expect(n - 40 + k), `row ${n - 40 + k}`));
    const idStats = port.page.request({ type: 'colstats', column: 1 });
    const st = await port.next('colstats', (m) => m.re === idStats);
    const finite = Array.from({ length: n }, (_, i) => big.expect(i)[1]).filter((v): v is number => typeof v === 'number');
    assert.strictEqual(st.error, null);
    assert.deepStrictEqual([st.stats!.count, st.stats!.nanCount, st.stats!.nullCount, st.stats!.min, st.stats!.max], [n, n / 1000, 0, 0, finite[finite.length - 1]]);
    assert.ok(Math.abs(st.stats!.mean! - finite.reduce((a, b) => a + b, 0) / finite.length) < 1e-6);
    // A string column has no numeric statistics: the reply says why.
    const idName = port.page.request({ type: 'colstats', column: 2 });
    const sn = await port.next('colstats', (m) => m.re === idName);
    assert.strictEqual(sn.stats, null);
    assert.match(sn.error ?? '', /not a number/);
  });

  it('a pandas DataFrame saved as a numpy record array, and a nested structured NPY: one row per record, as Python wrote them', async () => {
    const frame = jar.name('shmi_tsession_frame', '.npy');
    const want = make(['records', frame.path]) as { names: string[]; rows: unknown[][] };
    const { port } = open(frame);
    const init = await port.next('init');
    assert.deepStrictEqual([init.table.source, init.table.totalRows], ['npy', 1000]);
    assert.deepStrictEqual(
      init.table.columns.map((c) => c.name),
      want.names,
    );
    const all = [...want.names.keys()];
    assert.deepStrictEqual((await port.rows(0, 3, all)).rows, want.rows.slice(0, 3));
    assert.deepStrictEqual((await port.rows(990, 10, all)).rows, want.rows.slice(990));
    const nested = jar.name('shmi_tsession_nested', '.npy');
    const wantN = make(['nested', nested.path, 'aligned', '>']) as { rows: unknown[][] };
    const n = open(nested).port;
    const initN = await n.next('init');
    const last = wantN.rows.length - 1;
    assert.deepStrictEqual((await n.rows(last, 1, [...initN.table.columns.keys()])).rows, [wantN.rows[last]]);
  });

  it("in Quick Look's page (tablePanePort): its messages wrapped both ways, the viewer's own ignored; the first rows of a pandas record array as Python wrote them", async () => {
    const frame = jar.name('shmi_tsession_ql', '.npy');
    const want = make(['records', frame.path]) as { names: string[]; rows: unknown[][] };
    // The page: what the host posts arrives wrapped; the table pane's messages leave wrapped; the heatmap viewer's do not.
    const pane = new FakeTableWebview();
    const posted: unknown[] = [];
    const fromPage = new Set<(m: unknown) => void>();
    const page: ViewerPort = {
      postMessage: (m) => {
        posted.push(m);
        const body = tablePaneBody(m);
        return body === undefined ? Promise.resolve(true) : pane.postMessage(body);
      },
      onDidReceiveMessage: (l) => {
        fromPage.add(l);
        return { dispose: () => fromPage.delete(l) };
      },
    };
    pane.onDidReceiveMessage((m) => fromPage.forEach((l) => l({ type: 'table', body: m })));
    const s = new TableSession(tablePanePort(page), segmentTableSource(frame), Date.now(), { running: true });
    sessions.push(s);
    // Running: init comes without a 'ready' (the page is up); a viewer message (unwrapped) is not the table's.
    const init = await pane.next('init');
    assert.deepStrictEqual([init.table.source, init.table.totalRows, init.reusable], ['npy', 1000, false]);
    fromPage.forEach((l) => l({ type: 'retry', to: 0 }));
    fromPage.forEach((l) => l({ type: 'rows', id: 99, to: 0, offset: 0, count: 5, columns: [0] }));
    // The columns that fit, the rows on screen.
    const page1 = await pane.rows(0, 15, [0, 1, 2, 3]);
    assert.deepStrictEqual(
      page1.rows,
      want.rows.slice(0, 15).map((r) => r.slice(0, 4)),
    );
    assert.ok(
      posted.every((m) => tablePaneBody(m) !== undefined),
      'everything the session posted is wrapped',
    );
    assert.strictEqual(pane.of('init').length, 1, 'the unwrapped retry was not heard');
    assert.strictEqual(pane.of('rows').length, 1, 'the unwrapped rows request was not answered');
    // A table that fails before its first rows: the error names it (Quick Look titles it so).
    const gone = jar.name('shmi_tsession_ql_gone', '.npy');
    const failing = new TableSession(tablePanePort(page), segmentTableSource(gone), Date.now(), { running: true });
    sessions.push(failing);
    const err = await pane.next('error');
    assert.deepStrictEqual([err.subject, err.code], [gone.name, 'ENOENT']);
  });

  it('a ShareableList from multiprocessing.shared_memory: one column of typed items', async () => {
    const seg = jar.name('shmi_tsession_sl');
    const want = make(['shareablelist', seg.name]) as { rows: unknown[][] };
    const { port } = open(seg);
    const init = await port.next('init');
    assert.deepStrictEqual([init.table.source, init.table.totalRows, init.table.columns[0].name], ['shareablelist', want.rows.length, 'value']);
    assert.deepStrictEqual((await port.rows(0, 100, [0])).rows, want.rows);
  });

  it('a segment that vanishes, shrinks or is replaced while open: a message with its code, never a crash; Reopen reads what is there now', async () => {
    const make1 = (p: string, rows: number) => fs.writeFileSync(p, A.tableToIPC(A.tableFromArrays({ v: Float64Array.from({ length: rows }, (_, i) => i) }), 'file'));
    // Unlinked: the mapping still holds the rows; a sticky notice says so; Reopen says it no longer exists.
    const gone = jar.name('shmi_tsession_gone', '.arrow');
    make1(gone.path, 100);
    const g = open(gone).port;
    await g.next('init');
    fs.unlinkSync(gone.path);
    const page = await g.rows(95, 5, [0]);
    assert.deepStrictEqual(page.rows, [[95], [96], [97], [98], [99]]);
    const notice = await g.next('notice');
    assert.strictEqual(notice.sticky, true);
    assert.match(notice.message, /was unlinked/);
    g.send({ type: 'retry' });
    const err = await g.next('error');
    assert.deepStrictEqual([err.kind, err.code], ['vanished', 'ENOENT']);
    assert.match(err.message, /no longer exists/);
    // Shrunk under the mapping: SHRANK, with Reopen.
    const shrunk = jar.name('shmi_tsession_shrunk', '.arrow');
    make1(shrunk.path, 10_000);
    const s = open(shrunk).port;
    await s.next('init');
    fs.truncateSync(shrunk.path, 1000);
    s.page.request({ type: 'rows', offset: 9000, count: 10, columns: [0] });
    const e2 = await s.next('error');
    assert.deepStrictEqual([e2.kind, e2.code], ['changed', 'SHRANK']);
    assert.match(e2.message, /shrank from .* to 1000 B.*Reopen/);
    // Replaced by another file of the same name: CHANGED; Reopen shows the new table.
    const swapped = jar.name('shmi_tsession_swapped', '.arrow');
    make1(swapped.path, 10);
    const w = open(swapped).port;
    await w.next('init');
    make1(`${swapped.path}.new`, 20);
    fs.renameSync(`${swapped.path}.new`, swapped.path);
    w.page.request({ type: 'rows', offset: 0, count: 5, columns: [0] });
    const e3 = await w.next('error');
    assert.deepStrictEqual([e3.kind, e3.code], ['changed', 'CHANGED']);
    w.send({ type: 'retry' });
    await w.next('init', (m) => m.table.totalRows === 20);
    assert.deepStrictEqual((await w.rows(15, 10, [0])).rows, [[15], [16], [17], [18], [19]]);
  });

  it('a panel kept for the next table until pinned; malformed requests are dropped, never answered', async () => {
    const seg = jar.name('shmi_tsession_pin', '.arrow');
    fs.writeFileSync(seg.path, A.tableToIPC(A.tableFromArrays({ v: Int32Array.of(1, 2, 3) }), 'file'));
    const port = new FakeTableWebview();
    const s = new TableSession(port, segmentTableSource(seg), Date.now(), { running: true, reusable: true });
    sessions.push(s);
    assert.strictEqual((await port.next('init')).reusable, true, 'a running webview gets init without asking');
    port.send({ type: 'pin' });
    // Malformed: a page bigger than the contract allows, a negative offset.
    port.page.request({ type: 'rows', offset: 0, count: 100_000, columns: [0] });
    port.page.request({ type: 'rows', offset: -1, count: 1, columns: [0] });
    const ok = await port.rows(0, 3, [0]);
    assert.deepStrictEqual(ok.rows, [[1], [2], [3]]);
    assert.strictEqual(port.got.filter((m) => m.type === 'rows').length, 1);
    assert.strictEqual(s.pinned, true);
  });
});
