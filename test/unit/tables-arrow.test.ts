/**
 * Arrow tables (issue #16, items 2 and 9): files and streams written by apache-arrow with a column
 * of every type, one batch and several; the cells the table model reads from the mapping are
 * checked against the values written, at the first row, the last row and either side of each
 * batch boundary; only the requested rows' bytes are read.
 */
import * as A from 'apache-arrow';
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { assertRowsAsWritten, mappedScratch } from './helpers';
import { ArrowTable } from '../../extension/core/tables/arrow';
import type { TableBytes } from '../../extension/core/tables/types';
import { openView } from '../../extension/native';
import { everyType, tableOf } from '../fixtures/tables';

const N = 43;
const CUTS = [7, 19, 20];

describe('tables: Arrow IPC files and streams (tables-arrow)', function () {
  this.timeout(60_000);
  const scratch = mappedScratch('shmi-tables-arrow-');
  const open = scratch.open;

  const cols = everyType(N);
  for (const kind of ['file', 'stream'] as const) {
    for (const cuts of [[], CUTS]) {
      it(`${kind}, ${cuts.length + 1} record batch(es): every type at the first and last rows and around each boundary`, async () => {
        const v = await open(`every-${kind}-${cuts.length}.arrow`, A.tableToIPC(tableOf(cols, N, cuts), kind));
        const t = await ArrowTable.open(v);
        assert.strictEqual(t.totalRows, N);
        assert.deepStrictEqual(
          t.columns.map((c) => c.name),
          cols.map((c) => c.name),
        );
        await assertRowsAsWritten(t, cols, [0, N - 1, ...CUTS.flatMap((c) => [c - 1, c])]);
        // A page across every boundary, and a subset of columns in another order.
        const all = await t.rows(0, N);
        assert.strictEqual(all.rows.length, N);
        all.rows.forEach((row, r) => cols.forEach((c, j) => assert.deepStrictEqual(row[j], c.expect(r), `row ${r}, column ${c.name}`)));
        const some = await t.rows(5, 20, [13, 0, 8]);
        assert.deepStrictEqual(some.columns, [13, 0, 8]);
        some.rows.forEach((row, k) => assert.deepStrictEqual(row, [cols[13].expect(5 + k), cols[0].expect(5 + k), cols[8].expect(5 + k)]));
        // Clipped at the end; an empty page past it.
        assert.strictEqual((await t.rows(N - 2, 10)).rows.length, 2);
        assert.deepStrictEqual((await t.rows(N + 5, 10)).rows, []);
      });
    }
  }

  it('column types are named as Arrow names them, with a kind for alignment', async () => {
    const t = await ArrowTable.open(await open('types.arrow', A.tableToIPC(tableOf(cols, N), 'file')));
    const byName = Object.fromEntries(t.columns.map((c) => [c.name, `${c.type} ${c.kind}`]));
    assert.strictEqual(byName.f64, 'Float64 float');
    assert.strictEqual(byName.dict, 'Dictionary<Int8, Utf8> string');
    assert.strictEqual(byName.ts_ns_kolkata, 'Timestamp<NANOSECOND, Asia/Kolkata> timestamp');
    assert.strictEqual(byName.struct, 'Struct<{x:Int32, y:Utf8}> struct');
  });

  it('dictionary deltas (a stream and a file): later batches see the entries appended', async () => {
    const type = new A.Dictionary(new A.Utf8(), new A.Int32(), 0);
    const d1 = A.vectorFromArray(['a', 'b'], new A.Utf8());
    const d2 = d1.concat(A.vectorFromArray(['c'], new A.Utf8()));
    const s = new A.Schema([new A.Field('d', type)]);
    const batch = (dict: A.Vector, ix: number[]) =>
      new A.RecordBatch(
        s,
        A.makeData({
          type: new A.Struct(s.fields),
          length: ix.length,
          children: [A.makeData({ type, length: ix.length, data: Int32Array.from(ix), dictionary: dict })],
        }),
      );
    const table = new A.Table([batch(d1, [0, 1, 0]), batch(d2, [2, 1, 2])]);
    for (const kind of ['stream', 'file'] as const) {
      const t = await ArrowTable.open(await open(`delta.${kind}`, A.tableToIPC(table, kind)));
      assert.deepStrictEqual((await t.rows(0, 6)).rows.flat(), ['a', 'b', 'a', 'c', 'b', 'c'], kind);
    }
  });

  it('reads only the bytes of the rows asked for: a page at the end of a 1-batch 300000-row file reads a few KiB', async () => {
    const n = 300_000;
    const table = new A.Table({
      x: A.makeVector(Float64Array.from({ length: n }, (_, i) => i)),
      s: A.vectorFromArray(
        Array.from({ length: n }, (_, i) => `v${i}`),
        new A.Utf8(),
      ),
    });
    const v = await open('big.arrow', A.tableToIPC(table, 'file'));
    let bytes = 0;
    const counted: TableBytes = { size: v.size, read: (o, l) => ((bytes += l), v.read(o, l)) };
    const t = await ArrowTable.open(counted);
    bytes = 0;
    const page = await t.rows(n - 50, 50);
    assert.deepStrictEqual(page.rows[49], [n - 1, `v${n - 1}`]);
    assert.ok(bytes < 4096, `${bytes} bytes read for 50 rows of a ${v.size}-byte file`);
  });

  it('a stream still being written (no end marker) shows the batches written so far; opened again, the new ones', async () => {
    const one = tableOf(cols.slice(0, 3), N, [10]);
    const full = A.tableToIPC(one, 'stream');
    // The same stream cut after its first batch (the schema, the dictionary-free first batch), no end marker yet.
    const first = A.tableToIPC(new A.Table([one.batches[0]]), 'stream');
    const p = path.join(scratch.dir(), 'growing.arrows');
    fs.writeFileSync(p, first.subarray(0, first.length - 8)); // without the end-of-stream marker
    const v1 = await openView(p);
    const t = await ArrowTable.open(v1);
    assert.strictEqual(t.totalRows, 10);
    v1.close();
    fs.writeFileSync(p, full);
    const v2 = await openView(p);
    try {
      const t2 = await ArrowTable.open(v2);
      assert.strictEqual(t2.totalRows, N);
      assert.deepStrictEqual((await t2.rows(N - 1, 1)).rows[0], [cols[0].expect(N - 1), cols[1].expect(N - 1), cols[2].expect(N - 1)]);
    } finally {
      v2.close();
    }
  });
});
