/**
 * Bad input to the table model (issue #16, item 8): Arrow files with a lying footer, blocks past
 * the file or overlapping, buffers shorter than their rows or past the body, offsets that fall,
 * a dictionary id with no dictionary batch, a node whose rows disagree with its batch; a
 * structured NPY whose records do not fit the file; a ShareableList whose offsets disagree with
 * its formats. Each gives a clear message (in the page's errors, or from open) and the CLI exits 1
 * naming it; nothing reads outside the file.
 */
import * as A from 'apache-arrow';
import { BodyCompression, BufferRegion, FieldNode, Message, RecordBatch as BatchHeader, DictionaryBatch } from 'apache-arrow/ipc/metadata/message';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArrowTable } from '../../extension/core/tables/arrow';
import { RecordTable } from '../../extension/core/tables/npy';
import { ShareableListTable } from '../../extension/core/tables/shareablelist';
import type { TableBytes, TableModel } from '../../extension/core/tables/types';
import { openView } from '../../extension/native';
import { refooter } from '../fixtures/arrow';
import { runCli } from '../fixtures/cli';
import { pyCode, pyTables, SegmentJar } from '../fixtures/segments';

/** The messages of a stream: [flatbuffer, body] each (end marker not included). */
function messages(stream: Uint8Array): { meta: Uint8Array; body: Uint8Array }[] {
  const out: { meta: Uint8Array; body: Uint8Array }[] = [];
  const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let pos = 0;
  while (pos + 8 <= stream.length) {
    const len = dv.getInt32(pos + 4, true);
    if (len === 0) break;
    const meta = stream.subarray(pos + 8, pos + 8 + len);
    const m = Message.decode(meta);
    const body = stream.subarray(pos + 8 + len, pos + 8 + len + Number(m.bodyLength));
    out.push({ meta, body });
    pos += 8 + len + Number(m.bodyLength);
  }
  return out;
}

/** A stream from messages, each flatbuffer padded to 8 bytes, with the end marker. */
function stream(parts: { meta: Uint8Array; body: Uint8Array }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const { meta, body } of parts) {
    const pad = (8 - (meta.length % 8)) % 8;
    const head = Buffer.alloc(8);
    head.writeUInt32LE(0xffffffff, 0);
    head.writeInt32LE(meta.length + pad, 4);
    chunks.push(head, Buffer.from(meta), Buffer.alloc(pad), Buffer.from(body));
  }
  chunks.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  return Buffer.concat(chunks);
}

/** The record batch message rewritten: nodes and buffers edited. */
function editBatch(meta: Uint8Array, edit: (nodes: FieldNode[], buffers: BufferRegion[]) => void, compression: BodyCompression | null = null): Uint8Array {
  const m = Message.decode(meta);
  const h = m.header() as BatchHeader;
  const nodes = h.nodes.map((n) => new FieldNode(n.length, n.nullCount));
  const buffers = h.buffers.map((b) => new BufferRegion(b.offset, b.length));
  edit(nodes, buffers);
  return Message.encode(Message.from(new BatchHeader(h.length, nodes, buffers, compression), Number(m.bodyLength)));
}

const ROWS = 10;
function table(): A.Table {
  return new A.Table({
    x: A.makeVector(Float64Array.from({ length: ROWS }, (_, i) => i)),
    s: A.vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => `s${i}`),
      new A.Utf8(),
    ),
    d: A.vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => ['p', 'q'][i % 2]),
      new A.Dictionary(new A.Utf8(), new A.Int32()),
    ),
  });
}

describe('tables: bad input (tables-bad)', function () {
  this.timeout(60_000);
  let dir = '';
  const jar = new SegmentJar();
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-tables-bad-'))));
  after(() => {
    jar.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Opens `bytes` as `name` with `open`; every read is checked to lie inside the file. */
  async function withFile<T>(name: string, bytes: Uint8Array, open: (src: TableBytes) => Promise<T>): Promise<T> {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    const v = await openView(p);
    const src: TableBytes = {
      size: v.size,
      read: (o, l) => {
        assert.ok(o >= 0 && o + l <= v.size, `a read of ${o}+${l} outside the ${v.size}-byte file`);
        return v.read(o, l);
      },
      decompress: (c, o, l, d) => {
        assert.ok(o >= 0 && o + l <= v.size, `a frame at ${o}+${l} outside the ${v.size}-byte file`);
        return v.decompress(c, o, l, d);
      },
    };
    try {
      return await open(src);
    } finally {
      v.close();
    }
  }
  const failsToOpen = async (name: string, bytes: Uint8Array, re: RegExp) => {
    await assert.rejects(
      withFile(name, bytes, (s) => ArrowTable.open(s)),
      re,
    );
    const r = await runCli(['head', name, '--dir', dir]);
    assert.strictEqual(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
  };
  const pageErrors = async (name: string, bytes: Uint8Array, open: (s: TableBytes) => Promise<TableModel> = (s) => ArrowTable.open(s)) =>
    withFile(name, bytes, async (s) => (await (await open(s)).rows(0, 100)).errors);

  it('a footer whose length lies, blocks past the file, blocks that overlap', async () => {
    const good = Buffer.from(A.tableToIPC(table(), 'file'));
    const lying = Buffer.from(good);
    lying.writeInt32LE(good.length * 2, good.length - 10);
    await failsToOpen('lying-footer.arrow', lying, /Arrow footer length \d+ does not fit the (\d+-byte )?file/);
    await failsToOpen(
      'past.arrow',
      refooter(good, (b) => b.map((x) => Object.assign(x, { offset: good.length * 4 }))),
      /record batch 0 \(\d+\+\d+\+\d+\) lies outside the data/,
    );
    await failsToOpen(
      'overlap.arrow',
      refooter(good, (b) => [b[0], b[0]]),
      /record batch 1 .* overlaps record batch 0/,
    );
  });

  it('buffers shorter than their rows, or past the body; offsets that fall; rows that disagree with the batch', async () => {
    const parts = messages(A.tableToIPC(table(), 'stream'));
    const at = parts.findIndex((p) => Message.decode(p.meta).isRecordBatch());
    const edited = (edit: (nodes: FieldNode[], buffers: BufferRegion[]) => void) =>
      stream(parts.map((p, i) => (i === at ? { meta: editBatch(p.meta, edit), body: p.body } : p)));
    // x: buffers 0 (validity), 1 (values); s: 2, 3 (offsets), 4 (data); d: 5, 6 (indices).
    let errors = await pageErrors(
      'short.arrows',
      edited((_n, b) => (b[1] = new BufferRegion(b[1].offset, 24))),
    );
    assert.match(errors[0]!, /column 'x', record batch 0: its values buffer holds 24 bytes; rows need bytes 0\.\.80/);
    assert.deepStrictEqual(errors.slice(1), [null, null], 'the other columns still read');
    errors = await pageErrors(
      'past-body.arrows',
      edited((_n, b) => (b[4] = new BufferRegion(1 << 20, 8))),
    );
    assert.match(errors[0]!, /record batch 0: a buffer of column 's' \(1048576\+8\) lies outside the \d+-byte body/);
    errors = await pageErrors(
      'rows.arrows',
      edited((n) => (n[1] = new FieldNode(ROWS + 5, 0))),
    );
    assert.match(errors[1]!, /record batch 0: column 's' has 15 rows, the batch 10/);
    // Offsets that fall: the body's offsets of column s written downwards.
    const h = Message.decode(parts[at].meta).header() as BatchHeader;
    const body = Buffer.from(parts[at].body);
    body.writeInt32LE(1000, h.buffers[3].offset + 4 * 3);
    errors = await pageErrors('falling.arrows', stream(parts.map((p, i) => (i === at ? { meta: p.meta, body } : p))));
    assert.match(errors[1]!, /column 's', record batch 0: offset 4 is \d+: offsets must rise from 0|its data buffer holds/);
    const r = await runCli(['head', 'falling.arrows', '--dir', dir]);
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /falling\.arrows: column 's', record batch 0: /);
  });

  it('a record batch that says LZ4 frame over raw buffers: said in every column, not misread as raw values', async () => {
    const parts = messages(A.tableToIPC(table(), 'stream'));
    const at = parts.findIndex((p) => Message.decode(p.meta).isRecordBatch());
    const lz4 = stream(parts.map((p, i) => (i === at ? { meta: editBatch(p.meta, () => undefined, new BodyCompression(0, 0)), body: p.body } : p)));
    const errors = await pageErrors('lz4.arrows', lz4);
    // The first 8 bytes of each raw buffer read as a length: no frame follows, or an absurd length.
    for (const e of errors)
      assert.match(
        e!,
        /its \w+ buffer(: the LZ4 frame \(\d+ bytes\) is corrupt| declares -\d+ bytes uncompressed| is \d+ bytes: a compressed buffer starts)|record batch 0 decompresses to [\d.]+ MiB, more than the 256 MiB/,
      );
  });

  it('a dictionary id that no dictionary batch has; an index past the dictionary', async () => {
    const parts = messages(A.tableToIPC(table(), 'stream'));
    const di = parts.findIndex((p) => Message.decode(p.meta).isDictionaryBatch());
    const m = Message.decode(parts[di].meta);
    const d = m.header() as DictionaryBatch;
    const renamed = Message.encode(Message.from(new DictionaryBatch(d.data, 7, d.isDelta), Number(m.bodyLength)));
    const errors = await pageErrors('no-dict.arrows', stream(parts.map((p, i) => (i === di ? { meta: renamed, body: p.body } : p))));
    assert.match(errors[2]!, /column 'd', record batch 0: dictionary id \d+ has no dictionary batch before this record batch/);
    assert.deepStrictEqual(errors.slice(0, 2), [null, null]);
    const at = parts.findIndex((p) => Message.decode(p.meta).isRecordBatch());
    const h = Message.decode(parts[at].meta).header() as BatchHeader;
    const body = Buffer.from(parts[at].body);
    body.writeInt32LE(99, h.buffers[6].offset + 4);
    const past = await pageErrors('past-dict.arrows', stream(parts.map((p, i) => (i === at ? { meta: p.meta, body } : p))));
    assert.match(past[2]!, /dictionary index 99 is past the 2 entries of dictionary \d+/);
  });

  it('a structured NPY whose records do not fit the file (the dtype disagrees with it)', async () => {
    const p = path.join(dir, 'rec.npy');
    pyCode(`import numpy as np; np.save('${p}', np.zeros(100, dtype=[('a', '<f8'), ('b', 'S4')]))`);
    const bytes = fs.readFileSync(p);
    // The header says 24-byte records (a wider b) over the 12-byte records written.
    const text = bytes.toString('latin1').replace("('b', '|S4')", "('b', '|S16')");
    await assert.rejects(
      withFile('wide.npy', Buffer.from(text, 'latin1'), (s) => RecordTable.open(s)),
      /truncated: 100 records of 24 bytes need 2400 bytes of data, the file has 120\d after its header \(the dtype's itemsize disagrees with the file, or it was cut\)/,
    );
    const r = await runCli(['head', 'wide.npy', '--dir', dir]);
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /wide\.npy: truncated: 100 records of 24 bytes/);
  });

  it('a ShareableList whose offsets disagree with its formats', async () => {
    const { name, path: p } = jar.name('shmi_test_badsl');
    pyTables(['shareablelist', name]);
    const bytes = fs.readFileSync(p);
    bytes.writeBigInt64LE(4n, 8 + 8 * 2); // item 1 (8 bytes, a float) now ends past item 2's start
    fs.rmSync(p);
    const errs = await withFile('badsl', bytes, async (s) => (await ShareableListTable.open(s)).rows(0, 5)).catch((e: Error) => e.message);
    assert.match(String(errs), /item 1: offsets 8\.\.4 are inconsistent with its 8-byte format 'q'/);
  });
});
