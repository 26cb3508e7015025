import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Segment } from '../../extension/core/types';
import { pyFormats, SegmentJar, uniqueName } from '../fixtures/segments';
import { listed } from './helpers';

describe('formats: safetensors (hand-built with numpy)', () => {
  const jar = new SegmentJar();
  let dir = '';
  before(() => {
    dir = jar.folder('shmi_fmt_st');
  });
  after(() => jar.cleanup());

  const segment = (name: string): Promise<Segment> => listed(dir, name);

  /** Writes a safetensors file with bytes from Node (for malformed ones). */
  function write(header: unknown, data: Buffer | number, rawHeader?: Buffer): string {
    const name = uniqueName('st') + '.safetensors';
    const text = rawHeader ?? Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    fs.writeFileSync(path.join(dir, name), Buffer.concat([len, text, typeof data === 'number' ? Buffer.alloc(data) : data]));
    return name;
  }

  const expected: Record<string, string> = {
    F64: '<f8',
    F32: '<f4',
    F16: '<f2',
    BF16: 'bfloat16',
    I64: '<i8',
    I32: '<i4',
    I16: '<i2',
    I8: '|i1',
    U8: '|u1',
    U16: '<u2',
    U32: '<u4',
    U64: '<u8',
    BOOL: '|b1',
    F8_E4M3: 'float8_e4m3fn',
    F8_E5M2: 'float8_e5m2',
  };

  it('lists every tensor of every dtype as a child at its absolute offset; numpy reads each there', async () => {
    const dims = ['3,4', '5', '2,3,2', '7,1', '1', '4,4', '0,3', '9', '2,2,2,2', '6', '3', '2', '17', '4,5', '3,3'];
    const spec = Object.keys(expected).map((st, k) => `layer.${k}.${st.toLowerCase()}:${st}:${dims[k]}`);
    const name = uniqueName('st') + '.safetensors';
    const file = path.join(dir, name);
    const made = pyFormats(['safetensors', file, spec.join(';'), '--meta', 'format=pt,step=7']);
    const seg = await segment(name);
    assert.strictEqual(seg.error, null);
    assert.strictEqual(seg.format, 'safetensors');
    assert.strictEqual(seg.dtype, null);
    assert.strictEqual(seg.shape, null);
    assert.deepStrictEqual(seg.details?.metadata, { format: 'pt', step: '7' });
    assert.strictEqual(seg.children?.length, spec.length);
    Object.keys(expected).forEach((st, k) => {
      const tname = `layer.${k}.${st.toLowerCase()}`;
      const child = seg.children!.find((c) => c.name === `${name}/${tname}`);
      assert.ok(child, `${tname} listed`);
      assert.strictEqual(child.format, 'tensor');
      assert.strictEqual(child.dtype, expected[st]);
      assert.deepStrictEqual(child.shape, dims[k].split(',').map(Number));
      assert.strictEqual(child.dataOffset, made.tensors[tname][0]);
      assert.strictEqual(child.size, made.tensors[tname][1] - made.tensors[tname][0]);
      assert.strictEqual(child.error, null);
      const check = pyFormats(['check', file, child.dtype!, child.shape!.join(','), String(child.dataOffset), 'C', tname]);
      assert.strictEqual(check.equal, true, `numpy reads ${tname} at its dataOffset`);
    });
  });

  it('decodes a header larger than the first 1024 bytes (read on demand)', async () => {
    const spec = Array.from({ length: 60 }, (_, k) => `model.blocks.${k}.attention.weight:F32:2,3`).join(';');
    const name = uniqueName('st') + '.safetensors';
    const made = pyFormats(['safetensors', path.join(dir, name), spec]);
    assert.ok(made.base > 2048);
    const seg = await segment(name);
    assert.strictEqual(seg.error, null);
    assert.strictEqual(seg.children?.length, 60);
    assert.strictEqual(seg.children![59].dataOffset, made.tensors['model.blocks.59.attention.weight'][0]);
  });

  it('accepts an empty file ({}) and one without __metadata__', async () => {
    const seg = await segment(write({}, 0));
    assert.strictEqual(seg.format, 'safetensors');
    assert.deepStrictEqual(seg.children, []);
    assert.strictEqual(seg.error, null);
  });

  it('reports a tensor whose data_offsets run past the end of the file', async () => {
    const seg = await segment(write({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [100], data_offsets: [16, 416] } }, 32));
    assert.strictEqual(seg.format, 'safetensors');
    assert.match(seg.error ?? '', /truncated: tensor 'b' ends at data byte 416, the file holds 32/);
    const b = seg.children!.find((c) => c.name.endsWith('/b'))!;
    assert.match(b.error ?? '', /truncated/);
    assert.strictEqual(seg.children!.find((c) => c.name.endsWith('/a'))!.error, null);
  });

  it('reports a shape that disagrees with data_offsets, overlapping tensors, gaps and extra bytes', async () => {
    const lying = await segment(write({ a: { dtype: 'F64', shape: [3, 3], data_offsets: [0, 64] } }, 64));
    assert.match(lying.error ?? '', /shape \[3,3\] x 8 bytes = 72, but data_offsets span 64/);
    const overlap = await segment(write({ a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [8], data_offsets: [4, 12] } }, 12));
    assert.match(overlap.error ?? '', /overlap/);
    const gap = await segment(write({ a: { dtype: 'U8', shape: [8], data_offsets: [4, 12] } }, 12));
    assert.match(gap.error ?? '', /gap/);
    const extra = await segment(write({ a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, 20));
    assert.match(extra.error ?? '', /cover 8 data bytes, the file holds 20/);
  });

  it('reports absurd and overflowing shapes, bad dtypes and bad entries without throwing', async () => {
    const huge = await segment(write({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, 4));
    assert.match(huge.error ?? '', /data_offsets span 4/);
    const unsafe = await segment(write({ a: { dtype: 'F32', shape: [1e300], data_offsets: [0, 4] } }, 4));
    assert.match(unsafe.error ?? '', /bad shape/);
    const dtype = await segment(write({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }, 1));
    assert.match(dtype.error ?? '', /unsupported dtype Q7/);
    const entry = await segment(write({ a: [1, 2] }, 0));
    assert.match(entry.error ?? '', /not an object/);
    const back = await segment(write({ a: { dtype: 'U8', shape: [0], data_offsets: [5, 1] } }, 5));
    assert.match(back.error ?? '', /run backwards/);
  });

  it('reports a header that is not JSON or not UTF-8', async () => {
    const json = await segment(write(null, 0, Buffer.from('{"a": {"dtype": "F32", ')));
    assert.strictEqual(json.format, 'safetensors');
    assert.match(json.error ?? '', /not valid JSON/);
    const utf = await segment(write(null, 0, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])));
    assert.match(utf.error ?? '', /not valid UTF-8/);
    const arr = await segment(write(null, 0, Buffer.from('{}[]')));
    assert.match(arr.error ?? '', /not valid JSON/);
  });

  it('does not claim files whose header length does not fit', async () => {
    const name = uniqueName('st');
    const b = Buffer.alloc(64);
    b.writeBigUInt64LE(1000n);
    b[8] = 0x7b;
    fs.writeFileSync(path.join(dir, name), b);
    const seg = await segment(name);
    assert.strictEqual(seg.format, 'raw');
  });
});
