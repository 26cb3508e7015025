import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as A from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { arrowValuesDtype } from '../../extension/core/formats/arrow';
import type { Segment } from '../../extension/core/types';
import { pyFormats, SegmentJar, uniqueName } from '../fixtures/segments';
import { listed } from './helpers';

/** A table of many column types; `dict` adds a dictionary column (the file format allows one per file). */
function table(dict: boolean, k = 0): A.Table {
  return new A.Table({
    f64: A.vectorFromArray([1.5 + k, 2.5, -3, 4e10], new A.Float64()),
    i32: A.vectorFromArray([1, null, 3, -4 - k], new A.Int32()),
    s: A.vectorFromArray(['a', 'bb', null, 'dddd'], new A.Utf8()),
    b: A.vectorFromArray([true, false, true, null], new A.Bool()),
    ts: A.vectorFromArray([1_700_000_000_000, 2, 3, 4], new A.TimestampMillisecond()),
    i8: A.vectorFromArray([1, -2, 3, -4], new A.Int8()),
    ...(dict ? { cat: A.vectorFromArray(['x', 'y', 'x', 'x'], new A.Dictionary(new A.Utf8(), new A.Int32())) } : {}),
    l: A.vectorFromArray([[1], [2, 3], [], [4]], new A.List(new A.Field('item', new A.Int16()))),
    u16: A.vectorFromArray([0, 1, 65535, 7], new A.Uint16()),
    f32: A.vectorFromArray([0.5, 1, 2, 3], new A.Float32()),
  });
}

const DTYPES: Record<string, string> = {
  f64: 'Float64',
  i32: 'Int32',
  s: 'Utf8',
  b: 'Bool',
  ts: 'Timestamp<MILLISECOND>',
  i8: 'Int8',
  cat: 'Dictionary<Int32, Utf8>',
  l: 'List<Int16>',
  u16: 'Uint16',
  f32: 'Float32',
};
/** numpy dtype and values of the fixed-width columns of table(…, 0). */
const FIXED: Record<string, [string, (number | null)[], number]> = {
  f64: ['<f8', [1.5, 2.5, -3, 4e10], 8],
  i32: ['<i4', [1, null, 3, -4], 4],
  ts: ['<i8', [1_700_000_000_000, 2, 3, 4], 8],
  i8: ['|i1', [1, -2, 3, -4], 1],
  u16: ['<u2', [0, 1, 65535, 7], 2],
  f32: ['<f4', [0.5, 1, 2, 3], 4],
};

/** The stream as written before Arrow 0.15: message prefixes without the 0xFFFFFFFF marker. */
function legacyStream(b: Uint8Array): Buffer {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos + 8 <= b.length) {
    const len = dv.getInt32(pos + 4, true);
    parts.push(Buffer.from(b.subarray(pos + 4, pos + 8)));
    if (len === 0) break;
    const meta = b.subarray(pos + 8, pos + 8 + len);
    const m = A.Message.decode(meta);
    parts.push(Buffer.from(b.subarray(pos + 8, pos + 8 + len + m.bodyLength)));
    pos += 8 + len + m.bodyLength;
  }
  return Buffer.concat(parts);
}

describe('formats: Arrow IPC (written by apache-arrow)', () => {
  const jar = new SegmentJar();
  let dir = '';
  before(() => {
    dir = jar.folder('shmi_fmt_arrow');
  });
  after(() => jar.cleanup());

  async function put(bytes: Uint8Array, suffix = ''): Promise<Segment> {
    const name = uniqueName('arrow') + suffix;
    fs.writeFileSync(path.join(dir, name), bytes);
    return listed(dir, name);
  }

  for (const ipc of ['file', 'stream'] as const) {
    it(`${ipc} format, one batch: columns, types, rows; numpy reads fixed-width values at dataOffset`, async () => {
      const t = table(true);
      t.schema.metadata.set('origin', 'shm-inspector test');
      const seg = await put(A.tableToIPC(t, ipc), ipc === 'file' ? '.arrow' : '.arrows');
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.format, 'arrow');
      assert.strictEqual(seg.dtype, null);
      assert.strictEqual(seg.shape, null);
      assert.deepStrictEqual(seg.details, {
        ipc,
        version: 'V5',
        rows: 4,
        batches: 1,
        dictionaryBatches: 1,
        metadata: { origin: 'shm-inspector test' },
      });
      assert.deepStrictEqual(
        seg.children!.map((c) => [c.name.slice(seg.name.length + 1), c.format, c.dtype]),
        Object.entries(DTYPES).map(([n, d]) => [n, 'column', d]),
      );
      for (const c of seg.children!) {
        const col = c.name.slice(seg.name.length + 1);
        assert.strictEqual(c.error, null);
        const fixed = FIXED[col];
        if (!fixed) {
          assert.strictEqual(c.dataOffset, null, `${col} has no single values buffer`);
          assert.strictEqual(c.shape, null);
          continue;
        }
        assert.deepStrictEqual(c.shape, [4]);
        assert.strictEqual(c.size, 4 * fixed[2]);
        assert.strictEqual(arrowValuesDtype(c.dtype!), fixed[0], `${col}: numpy dtype of its values`);
        assert.ok(c.dataOffset! % 8 === 0, 'Arrow buffers are 8-byte aligned');
        const check = pyFormats(['check-values', seg.path, fixed[0], '4', String(c.dataOffset), JSON.stringify(fixed[1])]);
        assert.strictEqual(check.equal, true, `${col}: numpy reads ${JSON.stringify(check.got)}`);
      }
    });

    it(`${ipc} format, three batches: rows summed from the batch headers, no single values buffer`, async () => {
      const t = table(false, 0).concat(table(false, 1), table(false, 2));
      const seg = await put(A.tableToIPC(t, ipc));
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.details?.rows, 12);
      assert.strictEqual(seg.details?.batches, 3);
      assert.strictEqual(seg.children!.length, 9);
      assert.ok(seg.children!.every((c) => c.dataOffset === null && c.shape === null));
    });

    it(`${ipc} format, a schema of 150 columns (metadata beyond the first 1024 bytes)`, async () => {
      const cols: Record<string, A.Vector> = {};
      for (let k = 0; k < 150; k++) cols[`column_number_${k}`] = A.vectorFromArray([k, k + 1], new A.Float64());
      const seg = await put(A.tableToIPC(new A.Table(cols), ipc));
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.children!.length, 150);
      assert.strictEqual(seg.details?.rows, 2);
      const last = seg.children![149];
      assert.ok(last.name.endsWith('/column_number_149'));
      const check = pyFormats(['check-values', seg.path, '<f8', '2', String(last.dataOffset), '[149, 150]']);
      assert.strictEqual(check.equal, true);
    });

    it(`${ipc} format, an empty table`, async () => {
      const seg = await put(A.tableToIPC(new A.Table({ x: A.vectorFromArray([], new A.Int32()) }), ipc));
      assert.strictEqual(seg.format, 'arrow');
      assert.strictEqual(seg.error, null);
      assert.deepStrictEqual(
        seg.children!.map((c) => c.dtype),
        ['Int32'],
      );
    });
  }

  it('maps Arrow type names to the numpy dtype of their values buffer', () => {
    const cases: [A.DataType, string | null][] = [
      [new A.Float64(), '<f8'],
      [new A.Float16(), '<f2'],
      [new A.Uint8(), '|u1'],
      [new A.Int64(), '<i8'],
      [new A.DateDay(), '<i4'],
      [new A.DateMillisecond(), '<i8'],
      [new A.TimeSecond(), '<i4'],
      [new A.TimeNanosecond(), '<i8'],
      [new A.TimestampNanosecond('UTC'), '<i8'],
      [new A.DurationMicrosecond(), '<i8'],
      [new A.Utf8(), null],
      [new A.Bool(), null],
      [new A.Decimal(2, 10, 128), null],
      [new A.Dictionary(new A.Utf8(), new A.Int32()), null],
    ];
    for (const [t, want] of cases) assert.strictEqual(arrowValuesDtype(String(t)), want, String(t));
  });

  it('more record batches than it reads headers for (2000): row count left unknown, no error', async () => {
    const one = new A.Table({ v: A.vectorFromArray([1, 2], new A.Int32()) });
    const t = one.concat(...Array.from({ length: 2000 }, () => one));
    const file = await put(A.tableToIPC(t, 'file'));
    assert.strictEqual(file.error, null);
    assert.strictEqual(file.details?.batches, 2001);
    assert.strictEqual(file.details?.rows, null);
    const stream = await put(A.tableToIPC(t, 'stream'));
    assert.strictEqual(stream.error, null);
    assert.strictEqual(stream.details?.batches, null);
    assert.strictEqual(stream.details?.rows, null);
    assert.deepStrictEqual(
      stream.children!.map((c) => c.dtype),
      ['Int32'],
    );
  });

  it('stream format before Arrow 0.15 (no continuation marker)', async () => {
    const seg = await put(legacyStream(A.tableToIPC(table(true), 'stream')));
    assert.strictEqual(seg.format, 'arrow');
    assert.strictEqual(seg.error, null);
    assert.strictEqual(seg.details?.rows, 4);
    assert.strictEqual(seg.children!.length, 10);
  });

  it('a file cut before its footer: rows from the batches inside, columns when the schema is there, and an error', async () => {
    const b = A.tableToIPC(table(false, 0).concat(table(false, 1)), 'file');
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const footerLength = dv.getInt32(b.length - 10, true);
    // apache-arrow's file writer keeps the schema only in the footer.
    const seg = await put(b.subarray(0, b.length - 10 - footerLength));
    assert.strictEqual(seg.format, 'arrow');
    assert.match(seg.error ?? '', /truncated Arrow file: no footer/);
    assert.deepStrictEqual(seg.children, []);
    assert.strictEqual(seg.details?.rows, 8);
    // Other writers (pyarrow, arrow C++) repeat the schema after the magic, as the stream format does.
    const stream = A.tableToIPC(table(false, 0).concat(table(false, 1)), 'stream');
    const withSchema = await put(Buffer.concat([Buffer.from('ARROW1\0\0'), stream.subarray(0, stream.length - 8)]));
    assert.match(withSchema.error ?? '', /truncated Arrow file: no footer/);
    assert.strictEqual(withSchema.children!.length, 9);
    assert.strictEqual(withSchema.details?.rows, 8);
  });

  it('a stream cut inside a record batch body, and one without its end marker', async () => {
    const b = A.tableToIPC(table(false), 'stream');
    const cut = await put(b.subarray(0, b.length - 40));
    assert.match(cut.error ?? '', /^truncated: Arrow message at \d+ has a \d+-byte body/);
    assert.strictEqual(cut.children!.length, 9);
    const open = await put(b.subarray(0, b.length - 8));
    assert.strictEqual(open.error, null);
    assert.strictEqual(open.details?.rows, 4);
  });

  it('reports a lying footer length, a footer of garbage and a record-batch block outside the file', async () => {
    const b = Buffer.from(A.tableToIPC(table(false), 'file'));
    const lying = Buffer.from(b);
    lying.writeInt32LE(b.length * 2, b.length - 10);
    assert.match((await put(lying)).error ?? '', /footer length \d+ does not fit/);
    const garbage = Buffer.from(b);
    const footerLength = b.readInt32LE(b.length - 10);
    garbage.fill(0xab, b.length - 10 - footerLength, b.length - 10);
    const g = await put(garbage);
    assert.strictEqual(g.format, 'arrow');
    assert.match(g.error ?? '', /malformed Arrow metadata/);
    const block = Buffer.from(b);
    // The footer's only Block struct: {offset: i64, metaDataLength: i32, pad, bodyLength: i64}; push its offset out.
    const footer = Footer.decode(b.subarray(b.length - 10 - footerLength, b.length - 10));
    const rb = footer.getRecordBatch(0)!;
    const needle = Buffer.alloc(8);
    needle.writeBigInt64LE(BigInt(rb.offset));
    const at = block.indexOf(needle, b.length - 10 - footerLength);
    assert.ok(at > 0, 'block found in the footer');
    block.writeBigInt64LE(BigInt(b.length * 4), at);
    assert.match((await put(block)).error ?? '', /record batch 0 .* lies outside the data/);
  });

  it('does not claim a file with only the magic, but reports a broken one', async () => {
    const seg = await put(Buffer.from('ARROW1\0\0garbage garbage garbage'));
    assert.strictEqual(seg.format, 'arrow');
    assert.ok(seg.error);
    const raw = await put(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2, 3]));
    assert.strictEqual(raw.format, 'raw');
  });
});
