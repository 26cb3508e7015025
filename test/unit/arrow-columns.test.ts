/**
 * Arrow columns as arrays (issue #12, item 2): a numeric column is a 1-D array for the tree (click,
 * menus, palette: isPreviewable), the preview and the CLI, named `FILE/CHILD` as the tree names it;
 * a dictionary column's size is its indices; nulls are said, never silently counted; a column over
 * several record batches is refused, saying so. Tables written by apache-arrow, tensors by the
 * safetensors fixture writer; the real CLI (dist/cli.js) on a scratch directory.
 */
import * as A from 'apache-arrow';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectSegment, listCatalog } from '../../extension/core/catalog';
import { arrayLimit, isPreviewable, segmentFacts } from '../../extension/core/format-words';
import type { Segment } from '../../extension/core/types';
import { runCli } from '../fixtures/cli';
import { pyFormats } from '../fixtures/segments';

const ROWS = 10;
const price = Float64Array.from({ length: ROWS }, (_, i) => i * 1.5 + 0.25);

function table(): A.Table {
  return new A.Table({
    price: A.vectorFromArray(price),
    cat: A.vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => ['a', 'b', 'c'][i % 3]),
      new A.Dictionary(new A.Utf8(), new A.Int32()),
    ),
    nul: A.vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => (i % 3 ? i : null)),
      new A.Float64(),
    ),
    name: A.vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => `n${i}`),
      new A.Utf8(),
    ),
  });
}

describe('Arrow columns as arrays', function () {
  this.timeout(60_000);
  let dir = '';
  const col = (s: Segment | undefined, name: string): Segment => {
    const c = s?.children?.find((x) => x.name.endsWith(`/${name}`));
    assert.ok(c, `column ${name}`);
    return c;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-arrow-cols-'));
    fs.writeFileSync(path.join(dir, 'table.arrow'), A.tableToIPC(table(), 'file'));
    const one = table(); // two batches sharing one dictionary (the file format allows no replacement)
    fs.writeFileSync(path.join(dir, 'two.arrow'), A.tableToIPC(one.concat(one), 'file'));
    fs.mkdirSync(path.join(dir, 'folder'));
    fs.writeFileSync(path.join(dir, 'folder', 'inner.arrow'), A.tableToIPC(table(), 'stream'));
    pyFormats(['safetensors', path.join(dir, 'model.safetensors'), 'layer/w:F32:7,9;b:BF16:5']);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a numeric column is previewable; a dictionary, a string, a column over two batches are not, and say why', async () => {
    const cat = await listCatalog({ dirs: [dir], holders: false });
    const t = cat.segments.find((s) => s.name === 'table.arrow');
    assert.strictEqual(isPreviewable(col(t, 'price')), true, 'Float64 column: click, context menu and palette open it');
    assert.strictEqual(isPreviewable(col(t, 'nul')), true, 'a column with nulls opens (with a note)');
    assert.strictEqual(isPreviewable(col(t, 'cat')), false);
    assert.strictEqual(isPreviewable(col(t, 'name')), false);
    assert.match(arrayLimit(col(t, 'name')) ?? '', /Cannot be previewed: Arrow type Utf8 is not numeric/);
    assert.match(arrayLimit(col(t, 'nul')) ?? '', /^4 of 10 rows are null/);
    const two = cat.segments.find((s) => s.name === 'two.arrow');
    assert.strictEqual(isPreviewable(col(two, 'price')), false);
    assert.match(arrayLimit(col(two, 'price')) ?? '', /Cannot be previewed: its 20 rows are spread over 2 record batches: not one contiguous array/);
  });

  it('a dictionary column takes the bytes of its indices, not 0 B', async () => {
    const t = await inspectSegment('table.arrow', { dirs: [dir], holders: false });
    assert.strictEqual(col(t!, 'cat').size, ROWS * 4, 'int32 indices');
    const facts = Object.fromEntries(segmentFacts(col(t!, 'cat')));
    assert.match(facts.size, /^40 B of 32-bit dictionary indices/);
  });

  it("the tooltip's facts: one dtype, no memory order for a 1-D column, the table's rows and columns", async () => {
    const t = (await inspectSegment('table.arrow', { dirs: [dir], holders: false }))!;
    const price = Object.fromEntries(segmentFacts(col(t, 'price')));
    assert.strictEqual(price.dtype, 'Float64 (Arrow; read as float64 `<f8`)', 'not "Float64 `Float64`"');
    assert.strictEqual(price.order, undefined, 'a 1-D column has no row-major order');
    assert.strictEqual(price.shape, '10 rows');
    assert.strictEqual(Object.fromEntries(segmentFacts(col(t, 'nul'))).nulls, '4');
    const table = Object.fromEntries(segmentFacts(t));
    assert.strictEqual(table.table, '10 rows × 4 columns');
    assert.strictEqual(table.batches, '1 record batch · IPC file');
    const npyLike = Object.fromEntries(segmentFacts({ ...col(t, 'price'), format: 'npy', dtype: '<f4', shape: [3, 4], fortranOrder: false }));
    assert.strictEqual(npyLike.dtype, 'float32 `<f4`');
    assert.strictEqual(npyLike.order, 'C (row-major)');
  });

  it('the CLI takes the name the tree shows, FILE/CHILD, for columns and tensors alike', async () => {
    const cli = (args: string[]) => runCli([...args, '--dir', dir]);
    const direct = await cli(['stats', 'table.arrow/price', '--json']);
    assert.strictEqual(direct.code, 0, direct.stderr);
    const byFlag = await cli(['stats', 'table.arrow', '--column', 'price', '--json']);
    assert.strictEqual(direct.stdout, byFlag.stdout);
    const st = JSON.parse(direct.stdout) as { count: number; min: number; max: number };
    assert.deepStrictEqual([st.count, st.min, st.max], [ROWS, price[0], price[ROWS - 1]]);
    const insp = JSON.parse((await cli(['inspect', 'table.arrow/price', '--json'])).stdout) as Segment;
    assert.deepStrictEqual([insp.name, insp.format, insp.dtype, insp.shape], ['table.arrow/price', 'column', 'Float64', [ROWS]]);
    // In a folder: the longest prefix that is a file wins.
    assert.strictEqual((await cli(['stats', 'folder/inner.arrow/price', '--json'])).stdout, direct.stdout);
    // Tensors, a name with a slash in it included.
    const w = await cli(['stats', 'model.safetensors/layer/w', '--json']);
    assert.strictEqual(w.code, 0, w.stderr);
    assert.strictEqual(w.stdout, (await cli(['stats', 'model.safetensors', '--tensor', 'layer/w', '--json'])).stdout);
    assert.strictEqual(JSON.parse(w.stdout).count, 63);
    const wrong = await cli(['stats', 'table.arrow/price', '--column', 'price']);
    assert.strictEqual(wrong.code, 2);
    assert.match(wrong.stderr, /is a column already/);
  });

  // Issue #16 asked for this change: stats of a column over several batches, or with nulls, used to be
  // refused (exit 1); it is now counted, nulls left out and counted apart (docs/cli.md, "Table commands").
  it('the CLI counts a column with nulls (left out) and one over several batches; says what it cannot count: a dictionary, a missing column', async () => {
    const cli = (args: string[]) => runCli([...args, '--dir', dir]);
    const nul = await cli(['stats', 'table.arrow/nul', '--json']);
    assert.strictEqual(nul.code, 0, nul.stderr);
    const valid = Array.from({ length: ROWS }, (_, i) => i).filter((i) => i % 3);
    const n = JSON.parse(nul.stdout);
    assert.deepStrictEqual([n.count, n.nullCount, n.min, n.max, n.mean], [valid.length, ROWS - valid.length, 1, 8, valid.reduce((a, b) => a + b, 0) / valid.length]);
    const two = await cli(['stats', 'two.arrow/price', '--json']);
    assert.strictEqual(two.code, 0, two.stderr);
    const t = JSON.parse(two.stdout);
    const mean = price.reduce((a, b) => a + b, 0) / ROWS;
    assert.deepStrictEqual([t.count, t.nullCount, t.min, t.max], [2 * ROWS, 0, price[0], price[ROWS - 1]]);
    assert.ok(Math.abs(t.mean - mean) < 1e-12);
    assert.ok(Math.abs(t.std - Math.sqrt(price.reduce((a, b) => a + (b - mean) ** 2, 0) / ROWS)) < 1e-12);
    const dict = await cli(['stats', 'table.arrow/cat']);
    assert.strictEqual(dict.code, 1);
    assert.match(dict.stderr, /Arrow type Dictionary<Int32, Utf8> is not numeric/);
    const none = await cli(['stats', 'table.arrow/nope']);
    assert.strictEqual(none.code, 1);
    assert.match(none.stderr, /table\.arrow\/nope: no such segment/);
  });
});
