/**
 * Feeds thousands of mutated and truncated headers of every format to decodeFile: nothing may
 * throw (decodeFile's own catch-all, "decoder failed", counts as a throw), every result must be
 * a well-formed Decoded, no read() may reach past the file or ask for more than its size, and
 * nothing decoded without an error may claim data beyond the end of the file.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as A from 'apache-arrow';
import { listCatalog } from '../../extension/core/catalog';
import { parseNumericDType } from '../../extension/core/dtype';
import { decodeFile } from '../../extension/core/formats';
import { checkExtent } from '../../extension/core/formats/util';
import { HEAD_BYTES, TAIL_BYTES, type Decoded, type FileBytes } from '../../extension/core/types';
import { scanDirListing } from '../../extension/native';
import { pyFormats, pyTables, SegmentJar } from '../fixtures/segments';

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function npy(major: 1 | 2 | 3, descr: string, shape: number[], fortran = false): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = major === 1 ? 10 : 12;
  let header = Buffer.from(dict, major === 3 ? 'utf8' : 'latin1');
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = Buffer.concat([header, Buffer.alloc(total - pre - header.length - 1, 0x20), Buffer.from('\n')]);
  const p = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(p);
  if (major === 1) p.writeUInt16LE(header.length, 8);
  else p.writeUInt32LE(header.length, 8);
  const item = parseNumericDType(descr)?.itemsize ?? 4;
  const data = Buffer.alloc(shape.reduce((x, y) => x * y, 1) * item);
  for (let k = 0; k < data.length; k++) data[k] = (k * 37) & 0xff;
  return Buffer.concat([p, header, data]);
}

/** What the catalog hands decoders: head, and the tail when the file is longer than the head. */
function fileBytes(b: Uint8Array): FileBytes {
  const head = b.subarray(0, Math.min(HEAD_BYTES, b.length));
  if (b.length <= head.length) return { size: b.length, head };
  const t = Math.min(TAIL_BYTES, b.length);
  return { size: b.length, head, tail: b.subarray(b.length - t), tailOffset: b.length - t };
}

// `shareablelist` and `pickle` added with issue #16.
const FORMATS = new Set(['npy', 'sharedarray', 'safetensors', 'arrow', 'joblib', 'shareablelist', 'pickle', 'raw']);

function checkDecoded(d: Decoded, size: number, where: string): void {
  assert.ok(d && typeof d === 'object', `${where}: a Decoded`);
  assert.ok(FORMATS.has(d.format), `${where}: format ${d.format}`);
  assert.ok(d.error === null || (typeof d.error === 'string' && d.error.length > 0), `${where}: error ${d.error}`);
  assert.ok(!(d.error ?? '').startsWith('decoder failed'), `${where}: a decoder threw: ${d.error}`);
  assert.ok(d.dtype === null || typeof d.dtype === 'string', `${where}: dtype`);
  assert.ok(d.shape === null || (Array.isArray(d.shape) && d.shape.every((x) => Number.isSafeInteger(x) && x >= 0)), `${where}: shape`);
  assert.ok(d.fortranOrder === null || typeof d.fortranOrder === 'boolean', `${where}: fortranOrder`);
  assert.ok(d.dataOffset === null || (Number.isSafeInteger(d.dataOffset) && d.dataOffset >= 0), `${where}: dataOffset ${d.dataOffset}`);
  const numeric = d.dtype ? parseNumericDType(d.dtype) : null;
  if (d.error === null && numeric && d.shape && d.dataOffset !== null) {
    assert.strictEqual(checkExtent(d.shape, numeric.itemsize, d.dataOffset, size), null, `${where}: claims data beyond the file`);
  }
  if (d.children !== undefined) {
    assert.ok(Array.isArray(d.children), `${where}: children`);
    for (const c of d.children) {
      assert.ok(typeof c.name === 'string' && (c.format === 'tensor' || c.format === 'column'), `${where}: child`);
      assert.ok(Number.isSafeInteger(c.size) && c.size >= 0, `${where}: child size ${c.size}`);
      assert.ok(c.dataOffset === null || (Number.isSafeInteger(c.dataOffset) && c.dataOffset >= 0), `${where}: child offset`);
      assert.ok(c.shape === null || c.shape.every((x) => Number.isSafeInteger(x) && x >= 0), `${where}: child shape`);
      if (c.error === null && d.error === null && c.dataOffset !== null) {
        assert.ok(c.dataOffset + c.size <= size, `${where}: child ${c.name} claims bytes beyond the file`);
      }
    }
  }
}

/** Decodes `b` with a read() that refuses anything past the file; returns the result. */
async function decodeChecked(b: Uint8Array, where: string, name = 'fuzzed'): Promise<Decoded> {
  const size = b.length;
  const d = await decodeFile(name, fileBytes(b), async (offset, length) => {
    assert.ok(Number.isSafeInteger(offset) && Number.isSafeInteger(length), `${where}: read(${offset}, ${length})`);
    assert.ok(offset >= 0 && length >= 0, `${where}: negative read(${offset}, ${length})`);
    assert.ok(offset + length <= size, `${where}: read(${offset}, ${length}) past the ${size}-byte file`);
    assert.ok(length <= size, `${where}: read of ${length} bytes from a ${size}-byte file`);
    return b.slice(offset, offset + length);
  });
  checkDecoded(d, size, where);
  return d;
}

const INTERESTING = [
  0n,
  1n,
  2n,
  7n,
  8n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  1n << 53n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
];

function mutate(base: Buffer, r: () => number): Buffer {
  const pick = (n: number) => Math.floor(r() * n);
  // Most structure sits in the first and last few hundred bytes.
  const spot = (len: number) => (len === 0 ? 0 : r() < 0.45 ? pick(Math.min(len, 400)) : r() < 0.6 ? len - 1 - pick(Math.min(len, 700)) : pick(len));
  let b = Buffer.from(base);
  const rounds = 1 + pick(3);
  for (let k = 0; k < rounds; k++) {
    const kind = pick(7);
    if (kind === 0) {
      for (let n = 1 + pick(4); n > 0 && b.length; n--) b[spot(b.length)] ^= 1 << pick(8);
    } else if (kind === 1 && b.length >= 8) {
      const width = r() < 0.5 ? 4 : 8;
      const at = Math.min(spot(b.length) & ~3, b.length - width);
      const extra = [BigInt(b.length), BigInt(Math.max(0, b.length - 8)), BigInt(b.length + 1), BigInt(at)];
      const all = [...INTERESTING, ...extra];
      let v = all[pick(all.length)];
      if (r() < 0.2) v = -v;
      if (width === 4) b.writeUInt32LE(Number(BigInt.asUintN(32, v)), at);
      else b.writeBigUInt64LE(BigInt.asUintN(64, v), at);
    } else if (kind === 2) {
      b = b.subarray(0, pick(b.length + 1));
    } else if (kind === 3) {
      const junk = Buffer.alloc(pick(64));
      for (let n = 0; n < junk.length; n++) junk[n] = pick(256);
      b = Buffer.concat([b.subarray(0, pick(b.length + 1)), junk]);
    } else if (kind === 4) {
      const at = spot(b.length);
      const junk = Buffer.alloc(1 + pick(16), r() < 0.5 ? 0xff : 0);
      b = Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    } else if (kind === 5 && b.length > 2) {
      const at = spot(b.length);
      const n = 1 + pick(Math.min(64, b.length - at));
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
    } else if (b.length > 2) {
      const at = spot(b.length);
      const n = 1 + pick(Math.min(128, b.length - at));
      b = Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
    }
  }
  return b;
}

describe('formats: fuzz (mutated and truncated headers of every format)', () => {
  const jar = new SegmentJar();
  const samples: { name: string; file: string; bytes: Buffer; format: string }[] = [];

  before(function () {
    this.timeout(60_000);
    const dir = jar.name('shmi_fmt_fuzz').path;
    fs.mkdirSync(dir);
    const made = (name: string, format: string, args: string[], file = name) => {
      const p = path.join(dir, file);
      pyFormats([args[0], p, ...args.slice(1)]);
      samples.push({ name, file, bytes: fs.readFileSync(p), format });
    };
    samples.push({ name: 'npy v1', file: 'a.npy', bytes: npy(1, '<f4', [3, 4]), format: 'npy' });
    samples.push({ name: 'npy v2', file: 'b.npy', bytes: npy(2, '>f8', [5, 6, 7], true), format: 'npy' });
    samples.push({ name: 'npy v3', file: 'c.npy', bytes: npy(3, '<u2', [40]), format: 'npy' });
    made('SharedArray 292', 'sharedarray', ['sharedarray', '<f4', '6,7', '--maxdims', '32'], 'sa32');
    made('SharedArray 548', 'sharedarray', ['sharedarray', '<i8', '3,2,2', '--maxdims', '64'], 'sa64');
    made('SharedArray large', 'sharedarray', ['sharedarray', '<f8', '300', '--maxdims', '64'], 'sa_big');
    made('safetensors', 'safetensors', ['safetensors', 'w:F32:3,4;b:BF16:4;e:F8_E4M3:2,2;i:I64:3', '--meta', 'format=pt'], 'm.safetensors');
    made('safetensors big header', 'safetensors', ['safetensors', Array.from({ length: 40 }, (_, k) => `blocks.${k}.weight:F16:2`).join(';')], 'big.safetensors');
    for (const protocol of ['0', '2', '4', '5']) {
      made(`joblib protocol ${protocol}`, 'joblib', ['joblib-dump', '<f8', '5,3', '--order', 'F', '--protocol', protocol], `j${protocol}.pkl`);
    }
    made('joblib large', 'joblib', ['joblib-dump', '>i4', '700'], 'jbig.pkl');
    const t = new A.Table({
      f: A.vectorFromArray([1.5, 2.5, 3.5], new A.Float64()),
      s: A.vectorFromArray(['a', null, 'c'], new A.Utf8()),
      d: A.vectorFromArray(['x', 'y', 'x'], new A.Dictionary(new A.Utf8(), new A.Int32())),
      l: A.vectorFromArray([[1], [], [2, 3]], new A.List(new A.Field('item', new A.Int16()))),
      ts: A.vectorFromArray([1, 2, 3], new A.TimestampMicrosecond()),
    });
    const many = new A.Table({ a: A.vectorFromArray([1, 2], new A.Int32()) }).concat(new A.Table({ a: A.vectorFromArray([3], new A.Int32()) }));
    const wide: Record<string, A.Vector> = {};
    for (let k = 0; k < 40; k++) wide[`c${k}`] = A.vectorFromArray([k], new A.Float32());
    samples.push({ name: 'arrow file', file: 'a.arrow', bytes: Buffer.from(A.tableToIPC(t, 'file')), format: 'arrow' });
    samples.push({ name: 'arrow stream', file: 'a.arrows', bytes: Buffer.from(A.tableToIPC(t, 'stream')), format: 'arrow' });
    samples.push({ name: 'arrow file, 2 batches', file: 'b.arrow', bytes: Buffer.from(A.tableToIPC(many, 'file')), format: 'arrow' });
    samples.push({ name: 'arrow stream, 2 batches', file: 'b.arrows', bytes: Buffer.from(A.tableToIPC(many, 'stream')), format: 'arrow' });
    samples.push({ name: 'arrow file, wide schema', file: 'c.arrow', bytes: Buffer.from(A.tableToIPC(new A.Table(wide), 'file')), format: 'arrow' });
    // Issue #16: a ShareableList (made in /dev/shm by Python, read back) and a pickle in a segment.
    const sl = jar.name('shmi_fuzz_sl');
    pyTables(['shareablelist', sl.name]);
    samples.push({ name: 'ShareableList', file: sl.name, bytes: fs.readFileSync(sl.path), format: 'shareablelist' });
    const pk = path.join(dir, 'obj');
    pyTables(['pickle', pk, 'frame']);
    samples.push({ name: 'pickle in a segment', file: 'obj', bytes: fs.readFileSync(pk), format: 'pickle' });
    samples.push({ name: 'arrow stream, wide schema', file: 'c.arrows', bytes: Buffer.from(A.tableToIPC(new A.Table(wide), 'stream')), format: 'arrow' });
  });
  after(() => jar.cleanup());

  it('decodes every unmutated sample without an error', async () => {
    for (const s of samples) {
      const d = await decodeChecked(s.bytes, s.name, s.file);
      assert.strictEqual(d.format, s.format, s.name);
      assert.strictEqual(d.error, null, `${s.name}: ${d.error}`);
    }
  });

  it('survives every truncation of every sample (each prefix up to 2 KiB, then every 97 bytes)', async function () {
    this.timeout(30_000);
    let n = 0;
    for (const s of samples) {
      for (let len = 0; len < s.bytes.length; len += len < 2048 ? 1 : 97) {
        await decodeChecked(s.bytes.subarray(0, len), `${s.name} cut at ${len}`, s.file);
        n++;
      }
    }
    assert.ok(n > 5000, `${n} truncations`);
  });

  it('survives 6000 seeded mutations (bit flips, forged lengths, cuts, junk, splices)', async function () {
    this.timeout(30_000);
    const started = Date.now();
    const formats = new Map<string, number>();
    const per = Math.ceil(6000 / samples.length);
    for (const [k, s] of samples.entries()) {
      const r = rng(0x5eed + k);
      for (let i = 0; i < per; i++) {
        const b = mutate(s.bytes, r);
        const d = await decodeChecked(b, `${s.name} mutation ${i} (seed ${0x5eed + k})`, s.file);
        const key = `${d.format}${d.error ? ' (error)' : ''}`;
        formats.set(key, (formats.get(key) ?? 0) + 1);
      }
    }
    // The mutations must reach the decoders' error paths, not only fall back to raw.
    for (const f of ['npy', 'sharedarray', 'safetensors', 'arrow', 'joblib']) {
      assert.ok((formats.get(`${f} (error)`) ?? 0) > 20, `${f} errors reached: ${JSON.stringify([...formats])}`);
    }
    assert.ok(Date.now() - started < 20_000, 'fuzzing stays fast');
  });

  it('survives hostile hand-made headers (huge counts, deep nesting, cycles)', async () => {
    // [what, bytes, expected format, expect an error: true / false / undefined (either)]
    const cases: [string, Buffer, string, boolean?][] = [];
    // safetensors: deep JSON, a huge tensor count, non-object metadata.
    const deep = '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
    const st = (json: string, data = 0) => {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
      return Buffer.concat([len, Buffer.from(json), Buffer.alloc(data)]);
    };
    cases.push(['deep JSON', st(deep), 'safetensors', true]);
    cases.push([
      'many tensors',
      st(JSON.stringify(Object.fromEntries(Array.from({ length: 20000 }, (_, k) => [`t${k}`, { dtype: 'U8', shape: [1], data_offsets: [k, k + 1] }]))), 20000),
      'safetensors',
      false,
    ]);
    cases.push(['metadata not strings', st('{"__metadata__": {"a": [1]}}'), 'safetensors', true]);
    // pickle: a MARK/APPEND loop, memo abuse, deep tuples.
    const pk = (body: number[]) => Buffer.from([0x80, 0x04, ...body, 0x2e]);
    const wrapper = Buffer.from('\x8c\x13joblib.numpy_pickle\x94\x8c\x11NumpyArrayWrapper\x94\x93', 'latin1');
    cases.push(['pickle: 100k MARKs', Buffer.concat([pk([]).subarray(0, 2), wrapper, Buffer.alloc(100_000, 0x28)]), 'joblib', true]);
    cases.push(['pickle: DUP bomb', Buffer.concat([pk([]).subarray(0, 2), wrapper, Buffer.alloc(200_000, 0x32)]), 'joblib', true]);
    cases.push(['pickle: BUILD with no state', Buffer.concat([pk([]).subarray(0, 2), wrapper, Buffer.from([0x29, 0x81, 0x4e, 0x62, 0x2e])]), 'joblib', true]);
    cases.push(['pickle: LONG4 of 2 GB', Buffer.concat([pk([]).subarray(0, 2), wrapper, Buffer.from([0x8b, 0xff, 0xff, 0xff, 0x7f])]), 'joblib', true]);
    // Arrow: a footer whose vectors claim 2^31 fields, a stream whose message claims 2 GB of metadata.
    const arrowFile = Buffer.from(A.tableToIPC(new A.Table({ a: A.vectorFromArray([1], new A.Int8()) }), 'file'));
    const fl = arrowFile.readInt32LE(arrowFile.length - 10);
    for (let at = arrowFile.length - 10 - fl; at < arrowFile.length - 10; at += 4) {
      const b = Buffer.from(arrowFile);
      b.writeInt32LE(0x7fffffff, at);
      cases.push([`arrow footer word ${at} = 2^31-1`, b, 'arrow']);
      const c = Buffer.from(arrowFile);
      c.writeInt32LE(-4, at);
      cases.push([`arrow footer word ${at} = -4`, c, 'arrow']);
    }
    const stream = Buffer.from(A.tableToIPC(new A.Table({ a: A.vectorFromArray([1], new A.Int8()) }), 'stream'));
    const big = Buffer.from(stream);
    big.writeInt32LE(0x7ffffff0, 4);
    cases.push(['arrow stream: 2 GB metadata', big, 'raw', false]);
    for (const [what, b, format, error] of cases) {
      const d = await decodeChecked(b, what, 'x.pkl');
      assert.strictEqual(d.format, format, what);
      if (error !== undefined) assert.strictEqual(d.error !== null, error, `${what}: ${d.error}`);
    }
  });
});

/**
 * The native scan decodes NPY headers in the exact form numpy writes (native/src/scan.cc)
 * and leaves every other header to the TypeScript decoder. Both must agree on every file:
 * canonical headers, near misses of that form, and mutations of both, listed from disk.
 */
describe('formats: the native NPY fast path agrees with the TypeScript decoder', () => {
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  /** An NPY file with a header dict given as text (padded to 64 like numpy unless told otherwise). */
  function npyText(major: 1 | 2 | 3, dict: string, dataBytes: number, opts: { pad?: number; newline?: boolean } = {}): Buffer {
    const pre = major === 1 ? 10 : 12;
    let header = Buffer.from(dict, major === 3 ? 'utf8' : 'latin1');
    const nl = opts.newline === false ? 0 : 1;
    const align = opts.pad ?? 64;
    const total = align > 0 ? Math.ceil((pre + header.length + nl) / align) * align : pre + header.length + nl;
    header = Buffer.concat([header, Buffer.alloc(total - pre - header.length - nl, 0x20), Buffer.from(nl ? '\n' : '')]);
    const p = Buffer.alloc(pre);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(p);
    if (major === 1) p.writeUInt16LE(header.length, 8);
    else p.writeUInt32LE(header.length, 8);
    return Buffer.concat([p, header, Buffer.alloc(dataBytes, 7)]);
  }

  it('gives the same segment for canonical headers, near misses and their mutations', async function () {
    this.timeout(60_000);
    const dir = jar.name('shmi_npy_native').path;
    fs.mkdirSync(dir);
    const files = new Map<string, Buffer>();
    const dict = (descr: string, fortran: string, shape: string) => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
    const cases: [string, Buffer][] = [];
    for (const major of [1, 2, 3] as const) {
      for (const [descr, item] of [
        ['<f4', 4],
        ['>i8', 8],
        ['|u1', 1],
        ['|b1', 1],
        ['<c16', 16],
        ['=f2', 2],
        ['<U7', 28],
        ['|O', 8],
        ['<M8[ns]', 8],
        ['V16', 16],
        ['<f4x', 4],
        ['aaaaaaaaaaaaaaaa', 4],
        ['aaaaaaaaaaaaaaaaa', 4],
      ] as const) {
        for (const shape of [
          '()',
          '(5,)',
          '(3, 4)',
          '(3,4)',
          '(2, 3, )',
          '(0, 9)',
          '(1, 1, 1, 1, 1, 1, 1, 1)',
          '(9007199254740991,)',
          '(9007199254740992,)',
          '(99999999999999999999,)',
          '(3, -4)',
          '(3,  4)',
          '( 3, 4)',
          '(3, 4',
        ]) {
          for (const fortran of ['False', 'True', 'true']) {
            const dims = /^\(([\d, ]*)\)$/.test(shape)
              ? shape
                  .slice(1, -1)
                  .split(',')
                  .filter((d) => d.trim())
                  .map(Number)
              : [1];
            const n = dims.every((d) => d < 1e6) ? dims.reduce((a, b) => a * b, 1) : 1;
            cases.push([`v${major} ${descr} ${shape} ${fortran}`, npyText(major, dict(descr, fortran, shape), n * item)]);
          }
        }
      }
      // Spacing, quoting and padding numpy does not write, but which are valid Python.
      cases.push([`v${major} double quotes`, npyText(major, `{"descr": "<f4", "fortran_order": False, "shape": (2, 2), }`, 16)]);
      cases.push([`v${major} no trailing comma`, npyText(major, `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}`, 16)]);
      cases.push([`v${major} other key order`, npyText(major, `{'shape': (2, 2), 'descr': '<f4', 'fortran_order': False, }`, 16)]);
      cases.push([`v${major} no newline`, npyText(major, dict('<f4', 'False', '(2, 2)'), 16, { newline: false })]);
      cases.push([`v${major} 16-aligned`, npyText(major, dict('<f4', 'False', '(2, 2)'), 16, { pad: 16 })]);
      cases.push([`v${major} unpadded`, npyText(major, dict('<f4', 'False', '(2, 2)'), 16, { pad: 0 })]);
      cases.push([`v${major} short data`, npyText(major, dict('<f8', 'False', '(10, 10)'), 799)]);
      cases.push([`v${major} header past the head read`, npyText(major, dict('<f4', 'False', '(2, 2)') + ' '.repeat(1500), 16)]);
      cases.push([
        `v${major} tab padding`,
        Buffer.from(
          npyText(major, dict('<f4', 'False', '(2, 2)'), 16)
            .toString('latin1')
            .replace(/ {4}\n/, '\t   \n'),
          'latin1',
        ),
      ]);
    }
    const r = rng(0x9e37);
    const base = cases.slice();
    for (let i = 0; i < 1500; i++) {
      const [what, b] = base[Math.floor(r() * base.length)];
      cases.push([`${what}, mutation ${i}`, mutate(b, r)]);
    }
    cases.forEach(([, b], i) => {
      const name = `f${String(i).padStart(5, '0')}.npy`;
      fs.writeFileSync(path.join(dir, name), b);
      files.set(name, b);
    });

    const listing = await scanDirListing(dir, HEAD_BYTES, TAIL_BYTES);
    assert.ok(listing, 'the native addon is loaded');
    let native = 0;
    for (let i = 0; i < listing.kinds.length; i++) if (listing.npy[i * 3] >= 0) native++;
    assert.ok(native > 400, `the native path decoded ${native} files`);
    assert.ok(native < cases.length - 400, `the TypeScript path decoded ${cases.length - native} files`);

    const cat = await listCatalog({ dirs: [dir], holders: false, interpretations: false });
    assert.strictEqual(cat.segments.length, cases.length);
    for (const seg of cat.segments) {
      const b = files.get(seg.name)!;
      const what = cases[Number(seg.name.slice(1, 6))][0];
      const d = await decodeChecked(b, what, seg.name);
      const got = {
        format: seg.format,
        dtype: seg.dtype,
        shape: seg.shape,
        fortranOrder: seg.fortranOrder,
        dataOffset: seg.dataOffset,
        error: seg.error,
        details: seg.details,
      };
      const want = { format: d.format, dtype: d.dtype, shape: d.shape, fortranOrder: d.fortranOrder, dataOffset: d.dataOffset, error: d.error, details: d.details };
      assert.deepStrictEqual(got, want, `${what} (${seg.name})`);
    }
  });
});
