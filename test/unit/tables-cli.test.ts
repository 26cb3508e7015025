/**
 * `shm-inspector head` on Arrow files and streams (issue #16, item 7), as built (dist/cli.js):
 * the JSON document's fixed names and value forms, CSV, the aligned table, NAME/COLUMN and
 * --columns, clipping, usage errors; `stats NAME/COLUMN` over batches.
 */
import * as A from 'apache-arrow';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../fixtures/cli';
import { everyType, tableOf } from '../fixtures/tables';

const N = 30;

describe('shm-inspector head (tables-cli)', function () {
  this.timeout(60_000);
  let dir = '';
  const cli = (args: string[]) => runCli([...args, '--dir', dir]);
  const cols = everyType(N);
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-tables-cli-'));
    fs.writeFileSync(path.join(dir, 'every.feather'), A.tableToIPC(tableOf(cols, N, [12]), 'file'));
    fs.writeFileSync(path.join(dir, 'every.arrows'), A.tableToIPC(tableOf(cols, N, [3, 17]), 'stream'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--json: columns with name and type, offset, totalRows, rows as the producer wrote them (file and stream)', async () => {
    for (const name of ['every.feather', 'every.arrows']) {
      const r = await cli(['head', name, '--json', '--offset', '10', '--rows', '5']);
      assert.strictEqual(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.deepStrictEqual(Object.keys(doc), ['columns', 'offset', 'totalRows', 'rows']);
      assert.deepStrictEqual(doc.columns[7], { name: 'f64', type: 'Float64' });
      assert.deepStrictEqual([doc.offset, doc.totalRows], [10, N]);
      assert.deepStrictEqual(
        doc.rows,
        [10, 11, 12, 13, 14].map((i) => cols.map((c) => c.expect(i))),
        name,
      );
    }
  });

  it('NAME/COLUMN and --columns pick columns; rows past the end are clipped; --csv quotes and writes JSON for nested cells', async () => {
    const one = JSON.parse((await cli(['head', 'every.feather/utf8', '--json', '--offset', '28'])).stdout);
    assert.deepStrictEqual(one.columns, [{ name: 'utf8', type: 'Utf8' }]);
    assert.deepStrictEqual(one.rows, [[cols[8].expect(28)], [cols[8].expect(29)]]);
    const csv = await cli(['head', 'every.arrows', '--csv', '--rows', '2', '--offset', '1', '--columns', 'struct,f64,utf8,list']);
    assert.strictEqual(
      csv.stdout,
      `struct,f64,utf8,list\r\n"{""x"":1,""y"":""s1""}",Infinity,row 1 é😀,[0]\r\n"{""x"":2,""y"":""s2""}",-Infinity,row 2 é😀é😀,"[0,1]"\r\n`,
    );
    const none = JSON.parse((await cli(['head', 'every.arrows', '--json', '--offset', '99'])).stdout);
    assert.deepStrictEqual([none.offset, none.rows], [N, []]);
  });

  it('the aligned table: row numbers, names and types, numbers to the right, nulls written null', async () => {
    const r = await cli(['head', 'every.feather', '--rows', '2', '--columns', 'i32,utf8']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(
      r.stdout,
      ['every.feather: 30 rows x 25 columns; rows 0..1', '     i32  utf8', '   Int32  Utf8', '0   null  null', '1  -1000  row 1 é😀', ''].join('\n'),
    );
  });

  it('usage errors (exit 2) and failures (exit 1) say what is wrong', async () => {
    const bad = async (args: string[], code: number, re: RegExp) => {
      const r = await cli(['head', ...args]);
      assert.strictEqual(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    };
    await bad(['every.feather', '--json', '--csv'], 2, /give --json or --csv, not both/);
    await bad(['every.feather', '--rows', '1.5'], 2, /--rows takes a non-negative integer/);
    await bad(['every.feather', '--offset', 'x'], 2, /--offset takes a non-negative integer \(got 'x'\)/);
    await bad(['every.feather', '--columns', 'nope'], 1, /every\.feather: no column 'nope' \(it has i8, u16, i32/);
    await bad(['every.feather/utf8', '--columns', 'f64'], 2, /names a column already/);
    await bad(['missing.arrow'], 1, /missing\.arrow: no such segment/);
  });

  it('stats NAME/COLUMN of an Arrow column over three batches, with nulls', async () => {
    const r = await cli(['stats', 'every.arrows/i32', '--json']);
    assert.strictEqual(r.code, 0, r.stderr);
    const vals = Array.from({ length: N }, (_, i) => cols[2].expect(i)).filter((x): x is number => x !== null);
    const st = JSON.parse(r.stdout);
    assert.deepStrictEqual([st.count, st.nullCount, st.min, st.max], [vals.length, N - vals.length, Math.min(...vals), Math.max(...vals)]);
  });
});
