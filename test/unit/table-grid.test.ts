/**
 * The table viewer's DOM-free part (webview/table-grid.ts) and its message checks (contract/table.ts):
 * a 100-million-row table scrolls end to end (a scaled scrollbar, every row reachable by Go to row),
 * only the visible rows and columns are wanted, cells read as the user expects (nulls, NaN, long
 * text), and malformed messages are refused on both sides; columns resized by the user keep to
 * their bounds and fit their widest text; a list or struct cell reads as a tree of its value.
 */
import * as assert from 'assert';
import { MAX_PAGE_ROWS, parseTableWebviewMessage, validateTableHostMessage } from '../../contract/table';
import * as ag from '../../webview/array-grid';
import * as g from '../../webview/table-grid';
import * as vt from '../../webview/value-tree';

describe('table viewer: grid layout, cells and messages (table-grid)', () => {
  it('scrolls a small table pixel by pixel and a 100-million-row one through a scaled scrollbar, to its last row', () => {
    const viewH = 600;
    assert.deepStrictEqual(g.visibleRows(0, viewH, 1000), { first: 0, end: Math.ceil(viewH / g.ROW_H), shift: 0 });
    assert.deepStrictEqual(g.firstRowAt(g.ROW_H * 10 + 5, viewH, 1000), { row: 10, shift: 5 });
    const n = 100_000_000;
    const h = g.rowsHeight(n);
    assert.ok(h <= g.MAX_SCROLL_PX, 'below the largest element a browser makes');
    const last = g.visibleRows(h - viewH, viewH, n);
    assert.strictEqual(last.end, n, 'the bottom of the scrollbar shows the last row');
    assert.ok(last.end - last.first <= g.rowsInView(viewH), 'no more rows than fit');
    // Go to row: any row comes first (but those of the last screen, which show with it).
    for (const row of [0, 1, 12_345_678, 50_000_000, n - 1000]) {
      const a = g.anchorAt(row, viewH, n);
      assert.strictEqual(g.visibleRows(a.top, viewH, n, a).first, row, `row ${row}`);
      // Near it without the anchor (one pixel spans many rows), and the keyboard moves one row at a time from it.
      assert.ok(Math.abs(g.firstRowAt(a.top, viewH, n).row - row) <= n / h + 1, `row ${row}, by the pixel`);
      assert.strictEqual(g.rowForKey('ArrowDown', row, viewH, n), row + 1);
    }
    const end = g.anchorAt(g.rowForKey('End', 0, viewH, n)!, viewH, n);
    assert.strictEqual(g.visibleRows(end.top, viewH, n, end).end, n, 'End shows the last row');
    assert.strictEqual(g.visibleRows(g.scrollTopFor(n - 1, viewH, n), viewH, n).end, n);
  });

  it('wants only the visible columns, and only the rows whose cells are not known', () => {
    const widths = [100, 120, 200, 80, 300];
    const { left, total } = g.columnEdges(widths);
    assert.deepStrictEqual([left, total], [[0, 100, 220, 420, 500], 800]);
    assert.deepStrictEqual(g.visibleColumns(left, widths, 0, 250), { first: 0, end: 3 });
    assert.deepStrictEqual(g.visibleColumns(left, widths, 230, 100), { first: 2, end: 3 });
    assert.deepStrictEqual(g.visibleColumns(left, widths, 790, 100), { first: 4, end: 5 });
    const known = new Set(['10,1', '10,2', '11,1', '13,2']);
    assert.deepStrictEqual(
      g.missingRows((r, c) => known.has(`${r},${c}`), { first: 10, end: 14 }, { first: 1, end: 3 }),
      { first: 11, end: 14 },
    );
    assert.strictEqual(
      g.missingRows(() => true, { first: 0, end: 30 }, { first: 0, end: 5 }),
      null,
    );
  });

  it('reads cells as a pandas user expects: one number format right-aligned, null and NaN distinct, long text cut with the whole on hover', () => {
    assert.deepStrictEqual(g.cellText(null, 'float'), { text: 'null', title: 'null', cls: 'null' });
    assert.deepStrictEqual(g.cellText('NaN', 'float'), { text: 'NaN', title: 'NaN', cls: 'nan' });
    assert.deepStrictEqual(g.cellText('-Infinity', 'float'), { text: '-∞', title: '-Infinity', cls: 'nan' });
    assert.deepStrictEqual(g.cellText('NaN', 'string'), { text: 'NaN', title: 'NaN', cls: 'text' }, 'a string column’s "NaN" is text');
    assert.deepStrictEqual(g.cellText(0.1 + 0.2, 'float'), { text: '0.3', title: '0.30000000000000004', cls: 'num' });
    assert.deepStrictEqual(g.cellText(1.5e-7, 'float').text, '1.5e-7');
    assert.deepStrictEqual(g.cellText(-12345678901234, 'int'), { text: '-12345678901234', title: '-12345678901234', cls: 'num' });
    assert.deepStrictEqual(g.cellText('18446744073709551615', 'int'), { text: '18446744073709551615', title: '18446744073709551615', cls: 'num' });
    const long = 'x'.repeat(5000);
    const c = g.cellText(long, 'string');
    assert.strictEqual(c.text.length, g.MAX_CELL_CHARS + 1);
    assert.strictEqual(c.title, long);
    assert.strictEqual(g.cellText('a\u202eb', 'string').text, 'a\\xe2\\x80\\xaeb', 'a bidi override is shown escaped');
    assert.deepStrictEqual(g.cellText({ a: [1, null] }, 'struct').text, '{"a":[1,null]}');
    // Copy: TSV of the rows on screen, a header of names, whole values, tabs and line breaks escaped.
    assert.strictEqual(
      g.tsvOf(
        ['a', 'b\tc'],
        [
          [1, 'x\ny'],
          [null, { k: [1] }],
          [undefined, 'NaN'],
        ],
      ),
      'a\tb\\tc\n1\tx\\ny\n\t{"k":[1]}\n\tNaN\n',
    );
    assert.strictEqual(
      g.statsText({ count: 10, nullCount: 2, nanCount: 1, infCount: 0, min: -1.5, max: 3, mean: 0.25, std: 1 }),
      'min -1.5 · max 3 · mean 0.25 · nulls 2 · NaN 1',
    );
  });

  it('refuses malformed messages: pages too big, cells that are not JSON values, replies without their request', () => {
    const ok = { type: 'rows', offset: 5, count: 10, columns: [0, 2], id: 3, to: 1 };
    assert.deepStrictEqual(parseTableWebviewMessage(ok), ok);
    assert.strictEqual(parseTableWebviewMessage({ ...ok, count: MAX_PAGE_ROWS + 1 }), null);
    assert.strictEqual(parseTableWebviewMessage({ ...ok, offset: -1 }), null);
    assert.strictEqual(parseTableWebviewMessage({ ...ok, id: undefined }), null, 'a request without its number');
    assert.strictEqual(parseTableWebviewMessage({ type: 'eval', code: '1' }), null);
    const reply = { type: 'rows', re: 3, from: 1, offset: 5, columns: [0], rows: [[1], [null]], errors: [null], totalRows: 7, elapsedMs: 1 };
    assert.ok(validateTableHostMessage(reply));
    assert.strictEqual(validateTableHostMessage({ ...reply, re: undefined }), null);
    assert.strictEqual(validateTableHostMessage({ ...reply, rows: [[1, 2]] }), null, 'a row wider than its columns');
    assert.strictEqual(validateTableHostMessage({ ...reply, rows: [[NaN]] }), null, 'NaN travels as a string');
    assert.strictEqual(validateTableHostMessage({ type: 'error', message: 'x', kind: 'changed', code: 'NOPE' }), null);
  });

  it("the matrix viewer's Table toggle: columns by the dtype, elements' texts as cells, the centre cell and the heatmap centred back on a cell", () => {
    assert.deepStrictEqual(
      ['<f4', '>f8', '<i8', '|u1', '|b1', 'bfloat16', '<c8'].map((d) => ag.arrayCellKind(d, d.includes('c'))),
      ['float', 'float', 'int', 'int', 'bool', 'float', 'other'],
    );
    assert.ok(ag.arrayColumnWidth('<f8', 'float') > ag.arrayColumnWidth('<f4', 'float'), 'a double needs more room');
    assert.deepStrictEqual(ag.arrayColumns('<f4', 'float32', false, 3), [
      { name: '0', type: 'float32', kind: 'float' },
      { name: '1', type: 'float32', kind: 'float' },
      { name: '2', type: 'float32', kind: 'float' },
    ]);
    // The host's texts as stored; NaN and ±inf shown as the grid shows them (distinct), the rest as written.
    const rows = ag.arrayRows(['0.1', 'nan', 'inf', '-inf', '1152921504606846976', 'True'], 3);
    assert.deepStrictEqual(rows, [
      ['0.1', 'NaN', 'Infinity'],
      ['-Infinity', '1152921504606846976', 'True'],
    ]);
    assert.deepStrictEqual(
      rows[0].map((c) => g.cellText(c, 'float')),
      [
        { text: '0.1', title: '0.1', cls: 'num' },
        { text: 'NaN', title: 'NaN', cls: 'nan' },
        { text: '∞', title: 'Infinity', cls: 'nan' },
      ],
    );
    assert.strictEqual(g.cellText(rows[1][1], 'int').text, '1152921504606846976', 'an int64 beyond 2^53, exact');
    const e = { rows: 1000, cols: 500 };
    assert.deepStrictEqual(ag.centreCell({ x0: 100, x1: 140, y0: 10, y1: 30 }, e), { row: 20, col: 120 });
    assert.deepStrictEqual(ag.centreCell({ x0: 0, x1: 500, y0: 0, y1: 1000 }, e), { row: 500, col: 250 });
    // Back from the grid: the same zoom, centred on the grid's centre cell (clamped at the edges).
    assert.deepStrictEqual(ag.viewportCentredOn({ x0: 100, x1: 140, y0: 10, y1: 30 }, 200, 300, e), { x0: 280.5, x1: 320.5, y0: 190.5, y1: 210.5 });
    assert.deepStrictEqual(ag.viewportCentredOn({ x0: 100, x1: 140, y0: 10, y1: 30 }, 999, 0, e), { x0: 0, x1: 40, y0: 980, y1: 1000 });
  });

  it('keeps a resized column between 40 and 1200 px, and fits it to its widest text', () => {
    assert.deepStrictEqual([g.clampWidth(10), g.clampWidth(40), g.clampWidth(123.4), g.clampWidth(5000), g.clampWidth(NaN)], [40, 40, 123, 1200, 40]);
    assert.deepStrictEqual([g.MIN_COL_W, g.MAX_COL_W], [40, 1200]);
    // The widest of the texts (cells, name, type) plus the padding, whole pixels up.
    assert.strictEqual(g.fitWidth([31.2, 80.5, 12], 23), 104);
    assert.strictEqual(g.fitWidth([], 23), 40, 'nothing measured: the narrowest');
    assert.strictEqual(g.fitWidth([1, 2], 2), 40, 'short texts: not below the narrowest');
    assert.strictEqual(g.fitWidth([99_999, NaN, Infinity], 23), 1200, 'a huge text: not beyond the widest (NaN and Infinity ignored)');
    // Resized widths move the columns after them.
    assert.deepStrictEqual(g.columnEdges([40, 1200, 100]), { left: [0, 40, 1240], total: 1340 });
  });

  it('reads a nested list or struct as a tree, one level at a time, long strings cut with the whole in the hover', () => {
    const value = { id: 7, tags: ['a', 'b'], inner: { xs: [1, 2.5, null], ok: true }, note: 'z'.repeat(300), '<b>x</b>': 'i' };
    assert.strictEqual(vt.expandable(value), true);
    assert.deepStrictEqual([vt.expandable([]), vt.expandable(null), vt.expandable('[1]'), vt.expandable(undefined)], [true, false, false, false]);
    const root = vt.valueNode(value);
    assert.deepStrictEqual([root.key, root.text, root.cls, root.count], ['', '{5 fields}', 'struct', 5]);
    assert.ok(root.preview.startsWith('{id: 7, tags: ["a", "b"], inner: {xs: [1, 2.5, null]'), root.preview);
    assert.ok(root.preview.length <= vt.MAX_PREVIEW + 1 && root.preview.endsWith('…'), 'the preview is cut');
    const kids = vt.childNodes(root);
    assert.strictEqual(kids.more, 0);
    assert.deepStrictEqual(
      kids.nodes.map((n) => [n.key, n.text, n.cls, n.count]),
      [
        ['id', '7', 'num', 0],
        ['tags', '[2 items]', 'list', 2],
        ['inner', '{2 fields}', 'struct', 2],
        ['note', `"${'z'.repeat(vt.MAX_TREE_TEXT - 1)}…`, 'str', 0],
        ['<b>x</b>', '"i"', 'str', 0],
      ],
    );
    assert.strictEqual(kids.nodes[3].title, JSON.stringify('z'.repeat(300)), 'the whole string in the hover');
    assert.strictEqual(kids.nodes[0].title, '', 'nothing cut, no hover');
    const inner = vt.childNodes(kids.nodes[2]).nodes;
    assert.deepStrictEqual(
      inner.map((n) => [n.key, n.text, n.preview]),
      [
        ['xs', '[3 items]', '[1, 2.5, null]'],
        ['ok', 'true', ''],
      ],
    );
    assert.deepStrictEqual(
      vt.childNodes(inner[0]).nodes.map((n) => [n.key, n.text, n.cls]),
      [
        ['[0]', '1', 'num'],
        ['[1]', '2.5', 'num'],
        ['[2]', 'null', 'null'],
      ],
    );
    // A long list: its first items, and how many more; one item says so in the singular.
    const many = vt.valueNode(Array.from({ length: 1234 }, (_, i) => i));
    assert.strictEqual(many.text, '[1,234 items]');
    const page = vt.childNodes(many, 100);
    assert.deepStrictEqual([page.nodes.length, page.nodes[99].key, page.more], [100, '[99]', 1134]);
    assert.strictEqual(vt.valueNode([[]]).text, '[1 item]');
    assert.deepStrictEqual(vt.childNodes(vt.valueNode(3)), { nodes: [], more: 0 }, 'a leaf has no children');
    // Unprintable characters escaped (names and values are shown as text).
    assert.strictEqual(vt.valueNode('a\u202eb').text, '"a\\\\xe2\\\\x80\\\\xaeb"');
    assert.strictEqual(vt.childNodes(vt.valueNode({ 'k\n': 1 })).nodes[0].key, 'k\\x0a');
  });
});
