/**
 * Tables made by Python (issue #16, items 3, 5 and 9): pandas DataFrames as numpy record arrays
 * (fixed-width strings, NaN, datetimes), nested structured dtypes (packed and aligned, both byte
 * orders, sub-arrays), 2-D and N-D numeric arrays, a ShareableList in /dev/shm, and pickles
 * described without running them (a `__reduce__` that would run a command: nothing runs). Every
 * value is checked against what the producer wrote; `head` and `stats` through the real CLI.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectSegment, listCatalog } from '../../extension/core/catalog';
import { RecordTable } from '../../extension/core/tables/npy';
import { openNamedTable } from '../../extension/core/tables/resolve';
import { ShareableListTable } from '../../extension/core/tables/shareablelist';
import { openView } from '../../extension/native';
import { runCli } from '../fixtures/cli';
import { pyCode, pyTables, SegmentJar } from '../fixtures/segments';

type Cell = unknown;

describe('tables: numpy records, ShareableList and pickles from Python (tables-python)', function () {
  this.timeout(120_000);
  let dir = '';
  const jar = new SegmentJar();
  const cli = (args: string[]) => runCli([...args, '--dir', dir]);
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-tables-py-'))));
  after(() => {
    jar.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a pandas DataFrame as a record array: every row read at its record, as pandas wrote it', async () => {
    const file = path.join(dir, 'frame.npy');
    const want = pyTables(['records', file]) as { names: string[]; rows: Cell[][] };
    const v = await openView(file);
    try {
      const t = await RecordTable.open(v);
      assert.deepStrictEqual(
        t.columns.map((c) => c.name),
        want.names,
      );
      assert.deepStrictEqual(
        t.columns.map((c) => c.type),
        ['<i8', '<f8', '<u2', '|b1', '|S8', '<U10', '<M8[ns]'],
      );
      assert.strictEqual(t.totalRows, want.rows.length);
      const all = await t.rows(0, t.totalRows);
      assert.deepStrictEqual(all.rows, want.rows);
      assert.deepStrictEqual((await t.rows(999, 5)).rows, [want.rows[999]], 'the last row, clipped');
    } finally {
      v.close();
    }
    // The CLI: JSON and CSV of a window, a column by name, stats of a field (NaN rows counted apart).
    const j = await cli(['head', 'frame.npy', '--json', '--offset', '995', '--rows', '3']);
    assert.strictEqual(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    assert.deepStrictEqual(doc.rows, want.rows.slice(995, 998));
    assert.deepStrictEqual([doc.offset, doc.totalRows, doc.columns[1]], [995, 1000, { name: 'price', type: '<f8' }]);
    const c = await cli(['head', 'frame.npy', '--csv', '--rows', '2', '--columns', 'name,price']);
    assert.strictEqual(c.stdout, `name,price\r\nx,-11.25\r\nnév 1,-10.75\r\n`);
    const one = JSON.parse((await cli(['head', 'frame.npy/when', '--json', '--rows', '1'])).stdout);
    assert.deepStrictEqual(one.rows, [[want.rows[0][6]]]);
    const st = await cli(['stats', 'frame.npy/price', '--json']);
    assert.strictEqual(st.code, 0, st.stderr);
    const prices = want.rows.map((r) => r[1]).filter((x): x is number => typeof x === 'number');
    const s = JSON.parse(st.stdout);
    assert.deepStrictEqual(
      [s.count, s.finiteCount, s.nanCount, s.nullCount, s.min, s.max],
      [1000, prices.length, 1000 - prices.length, 0, Math.min(...prices), Math.max(...prices)],
    );
    assert.ok(Math.abs(s.mean - prices.reduce((a, b) => a + b, 0) / prices.length) < 1e-9);
  });

  for (const layout of ['packed', 'aligned']) {
    for (const order of ['<', '>']) {
      it(`a nested structured dtype, ${layout}, ${order === '<' ? 'little' : 'big'}-endian, with a sub-array: columns a, pt.x, pt.tag, v, u, b`, async () => {
        const file = path.join(dir, `nested-${layout}-${order === '<' ? 'le' : 'be'}.npy`);
        const want = pyTables(['nested', file, layout, order]) as { itemsize: number; rows: Cell[][] };
        const v = await openView(file);
        try {
          const t = await RecordTable.open(v);
          assert.deepStrictEqual(
            t.columns.map((c) => c.name),
            ['a', 'pt.x', 'pt.tag', 'v', 'u', 'b'],
          );
          assert.strictEqual(t.itemsize, want.itemsize);
          assert.deepStrictEqual((await t.rows(0, 100)).rows, want.rows);
        } finally {
          v.close();
        }
      });
    }
  }

  it('numeric arrays: 1-D as `value`, 2-D C and Fortran as columns "0".."n-1", N-D only through --index', async () => {
    pyCode(
      `import numpy as np
np.save('${dir}/v.npy', (np.arange(5) - 2).astype('>i4'))
np.save('${dir}/c.npy', np.arange(12, dtype='f8').reshape(3, 4) / 8)
np.save('${dir}/f.npy', np.asfortranarray(np.arange(12, dtype='i2').reshape(3, 4)))
np.save('${dir}/nd.npy', np.arange(24, dtype='u1').reshape(2, 3, 4))`,
    );
    const head = async (args: string[]) => {
      const r = await cli(['head', ...args, '--json']);
      assert.strictEqual(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { columns: { name: string; type: string }[]; rows: Cell[][] };
    };
    const v = await head(['v.npy']);
    assert.deepStrictEqual(v.columns, [{ name: 'value', type: '>i4' }]);
    assert.deepStrictEqual(v.rows, [[-2], [-1], [0], [1], [2]]);
    const c = await head(['c.npy', '--offset', '1', '--columns', '3,0']);
    assert.deepStrictEqual(c.rows, [
      [7 / 8, 4 / 8],
      [11 / 8, 8 / 8],
    ]);
    const f = await head(['f.npy']);
    assert.deepStrictEqual(
      f.columns.map((x) => x.name),
      ['0', '1', '2', '3'],
    );
    assert.deepStrictEqual(f.rows, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    const nd = await cli(['head', 'nd.npy']);
    assert.strictEqual(nd.code, 2);
    assert.match(nd.stderr, /nd\.npy is a 3-D array \[2, 3, 4\]: pick the 2-D slice to show with --index/);
    assert.deepStrictEqual((await head(['nd.npy', '--index', '1'])).rows, [
      [12, 13, 14, 15],
      [16, 17, 18, 19],
      [20, 21, 22, 23],
    ]);
    assert.deepStrictEqual((await head(['nd.npy', '--index', '2', '--axes', '0,1'])).rows, [
      [2, 6, 10],
      [14, 18, 22],
    ]);
  });

  it('a ShareableList made by /usr/bin/python3: format shareablelist, its items typed in one column `value`', async () => {
    const { name, path: p } = jar.name('shmi_test_sl');
    const want = pyTables(['shareablelist', name]) as { rows: Cell[][] };
    const seg = await inspectSegment(name, { holders: false });
    assert.ok(seg);
    assert.strictEqual(seg.format, 'shareablelist');
    assert.deepStrictEqual(seg.shape, [want.rows.length]);
    const v = await openView(p);
    try {
      const t = await ShareableListTable.open(v);
      assert.deepStrictEqual((await t.rows(0, 100)).rows, want.rows);
      assert.deepStrictEqual((await t.rows(9, 2)).rows, want.rows.slice(9, 11));
    } finally {
      v.close();
    }
    const r = await runCli(['head', name, '--json', '--rows', '3', '--offset', '1']);
    assert.deepStrictEqual(JSON.parse(r.stdout).rows, want.rows.slice(1, 4));
  });

  it('pickles are described by walking them, never run: a dict, a DataFrame, and one whose __reduce__ would run a command', async () => {
    const marker = path.join(dir, 'RAN');
    pyTables(['pickle', path.join(dir, 'dict.pkl'), 'dict']);
    pyTables(['pickle', path.join(dir, 'frame.pkl'), 'frame']);
    pyTables(['pickle', path.join(dir, 'hostile'), 'hostile', marker]);
    const cat = await listCatalog({ dirs: [dir], holders: false });
    const details = (n: string) =>
      cat.segments.find((s) => s.name === n)?.details?.pickle as { type: string; length: number | null; preview: string; classes: string[] };
    assert.strictEqual(cat.segments.find((s) => s.name === 'dict.pkl')?.format, 'pickle');
    assert.deepStrictEqual([details('dict.pkl').type, details('dict.pkl').length], ['builtins.dict', 5004]);
    assert.match(details('dict.pkl').preview, /^\{'alpha': 1, 'beta': \[1, 2, 3\], 'gamma': 'text', 'delta': None, 'k0': 0/);
    assert.deepStrictEqual([details('frame.pkl').type, details('frame.pkl').length], ['pandas.core.frame.DataFrame', null]);
    const hostile = details('hostile');
    assert.strictEqual(hostile.type, 'builtins.dict');
    assert.deepStrictEqual(hostile.classes, ['posix.system']);
    const insp = await cli(['inspect', 'hostile', '--json']);
    assert.deepStrictEqual(JSON.parse(insp.stdout).details.pickle.classes, ['posix.system']);
    const head = await cli(['head', 'hostile']);
    assert.strictEqual(head.code, 1);
    assert.match(head.stderr, /hostile: a pickle \(builtins\.dict of length 1\), not a table/);
    assert.strictEqual(fs.existsSync(marker), false, 'nothing in the pickle ran');
  });

  it('a table opens by NAME and FILE/COLUMN alike (the core the CLI and the viewer call)', async () => {
    const t = await openNamedTable(dir, 'frame.npy/qty');
    try {
      assert.strictEqual(t.model.columns[t.column!].name, 'qty');
      assert.deepStrictEqual((await t.model.rows(13, 2, [t.column!])).rows, [[0], [1]]);
    } finally {
      t.view.close();
    }
  });
});
