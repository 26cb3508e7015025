import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Segment } from '../../extension/core/types';
import { pyFormats, SegmentJar, uniqueName } from '../fixtures/segments';
import { listed } from './helpers';

describe('formats: SharedArray trailer (hand-built with numpy)', () => {
  const jar = new SegmentJar();
  let dir = '';
  before(() => {
    dir = jar.folder('shmi_fmt_sa');
  });
  after(() => jar.cleanup());

  const segment = (name: string): Promise<Segment> => listed(dir, name);

  const cases: [string, string, number[], 32 | 64, number, number][] = [
    // numpy dtype, expected dtype, shape, NPY_MAXDIMS, slack bytes, numpy typenum
    ['<f4', '<f4', [37, 53], 32, 0, 11],
    ['<f8', '<f8', [6, 5, 4], 64, 0, 12],
    ['|u1', '|u1', [1000], 32, 0, 2],
    ['<i8', '<i8', [9, 11], 64, 0, 7], // NPY_LONG: 8 bytes on Linux x86_64
    ['q', '<i8', [4, 4], 32, 0, 9], // NPY_LONGLONG
    ['<i4', '<i4', [3, 3], 32, 4000, 5], // slack between data and trailer (ftruncate rounded up)
    ['<u2', '<u2', [128], 64, 0, 4],
    ['|b1', '|b1', [10, 10], 32, 0, 0],
    ['<c8', '<c8', [5, 7], 64, 0, 14],
    ['<c16', '<c16', [2, 3], 32, 0, 15],
    ['<f2', '<f2', [33], 64, 0, 23],
    ['|i1', '|i1', [2, 3, 4, 5], 32, 0, 1],
    ['<f8', '<f8', [], 32, 0, 12], // 0-d
    ['<f4', '<f4', [0, 7], 64, 0, 11], // empty
  ];
  for (const [np, dtype, shape, maxdims, extra, typenum] of cases) {
    it(`decodes ${np} ${JSON.stringify(shape)} with a ${maxdims === 32 ? 292 : 548}-byte trailer${extra ? ' and slack' : ''}; numpy reads the same array at dataOffset`, async () => {
      const name = uniqueName('sa');
      const made = pyFormats(['sharedarray', path.join(dir, name), np, shape.join(','), '--maxdims', String(maxdims), '--extra', String(extra)]);
      assert.strictEqual(made.typenum, typenum, 'numpy type number as expected');
      const seg = await segment(name);
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.format, 'sharedarray');
      assert.strictEqual(seg.dtype, dtype);
      assert.deepStrictEqual(seg.shape, shape);
      assert.strictEqual(seg.fortranOrder, false);
      assert.strictEqual(seg.dataOffset, 0);
      assert.strictEqual(seg.size, made.size);
      assert.strictEqual(seg.details?.trailerBytes, made.trailer);
      assert.strictEqual(seg.details?.typenum, typenum);
      const check = pyFormats(['check', path.join(dir, name), seg.dtype!, seg.shape!.join(','), String(seg.dataOffset), 'C', name]);
      assert.strictEqual(check.equal, true, 'numpy reads the written array at dataOffset');
    });
  }

  /** Writes a SharedArray, lets `edit` change its trailer, and decodes it. */
  async function edited(maxdims: 32 | 64, edit: (trailer: DataView, file: Buffer) => Buffer | void): Promise<Segment> {
    const name = uniqueName('sa');
    const file = path.join(dir, name);
    pyFormats(['sharedarray', file, '<f4', '8,8', '--maxdims', String(maxdims)]);
    let bytes: Buffer = fs.readFileSync(file);
    const tb = maxdims === 32 ? 292 : 548;
    const dv = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - tb, tb);
    bytes = edit(dv, bytes) ?? bytes;
    fs.writeFileSync(file, bytes);
    return segment(name);
  }

  it('reports a dimension that lies about the data size', async () => {
    const seg = await edited(32, (t) => t.setBigInt64(36, 1000n, true));
    assert.strictEqual(seg.format, 'sharedarray');
    assert.match(seg.error ?? '', /does not match shape/);
  });

  it('reports a trailer whose size and shape agree but exceed the file', async () => {
    const seg = await edited(64, (t) => {
      t.setBigInt64(36, 1000n, true);
      t.setBigUint64(16, 1000n * 8n * 4n, true);
    });
    assert.match(seg.error ?? '', /^truncated: shape \[1000,8\] needs 32000 bytes/);
  });

  it('reports too many dimensions, negative dimensions, unknown type numbers and wrong item sizes', async () => {
    assert.match((await edited(32, (t) => t.setInt32(32, 33, true))).error ?? '', /33 dimensions \(at most 32\)/);
    assert.match((await edited(64, (t) => t.setInt32(32, -1, true))).error ?? '', /-1 dimensions/);
    assert.match((await edited(32, (t) => t.setBigInt64(36, -5n, true))).error ?? '', /bad dimension -5/);
    assert.match((await edited(32, (t) => t.setInt32(24, 99, true))).error ?? '', /unknown numpy type number 99/);
    assert.match((await edited(64, (t) => t.setInt32(28, 8, true))).error ?? '', /NPY_FLOAT with item size 8/);
  });

  it('reports an object array (pointers of another process) instead of showing it', async () => {
    const seg = await edited(32, (t) => {
      t.setInt32(24, 17, true);
      t.setInt32(28, 8, true);
      t.setBigInt64(36, 4n, true);
    });
    assert.strictEqual(seg.dtype, '|O');
    assert.match(seg.error ?? '', /object array/);
  });

  it('leaves a file without the trailer (or a truncated one) raw', async () => {
    const seg = await edited(32, (_t, file) => file.subarray(0, file.length - 1));
    assert.strictEqual(seg.format, 'raw');
    assert.strictEqual(seg.error, null);
    const magicOnly = await edited(64, (t) => t.setUint8(13, 0x41)); // "[SharedArray]A"
    assert.strictEqual(magicOnly.format, 'raw');
  });
});
