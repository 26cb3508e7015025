/**
 * Layout proposals for raw segments (core/layouts.ts) on segments Python's
 * multiprocessing.shared_memory made (/usr/bin/python3, numpy): the matrix the user wrote is
 * proposed first whether the segment is exactly its size, padded to whole pages or after a
 * header; sizes with no 2-D factorisation get layouts that say what they leave over.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import { proposeForFile, proposeLayouts, type LayoutProposal } from '../../extension/core/layouts';
import { py, SegmentJar } from '../fixtures/segments';

const PAGE = 4096;
const pageUp = (n: number) => Math.ceil(n / PAGE) * PAGE;
const words = (l: LayoutProposal[]) => l.map((p) => `${p.dtype} ${p.shape.join('x')} @${p.offset} (${p.reason})`).join('; ');

describe('layout proposals for raw segments', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  /** A SharedMemory segment holding `dtype` `shape` (filled by numpy), of `size` bytes, the array from `offset`. */
  function shared(dtype: string, shape: string, fill: string, opts: { size?: number; offset?: number } = {}): { path: string; size: number } {
    const s = jar.name('shmi_layouts');
    py([
      'shared_memory',
      s.name,
      dtype,
      shape,
      '--fill',
      fill,
      '--seed',
      '7',
      ...(opts.size ? ['--size', String(opts.size)] : []),
      ...(opts.offset ? ['--offset', String(opts.offset)] : []),
    ]);
    return { path: s.path, size: fs.statSync(s.path).size };
  }

  const first = (l: LayoutProposal[], dtype: string, shape: number[], offset = 0) => {
    assert.ok(l.length > 0, 'some proposals');
    assert.deepStrictEqual([l[0].dtype, l[0].shape, l[0].offset], [dtype, shape, offset], `first proposal: ${words(l)}`);
  };

  it('a float16 1000x1000 matrix in SharedMemory: first, exactly sized or padded to whole pages (2944 bytes over, said so)', async () => {
    for (const fill of ['random', 'gradient']) {
      const exact = shared('<f2', '1000,1000', fill);
      assert.strictEqual(exact.size, 2_000_000);
      const e = await proposeForFile(exact.path, exact.size);
      first(e, '<f2', [1000, 1000]);
      assert.strictEqual(e[0].trailingBytes, 0);
      assert.strictEqual(e[0].reason, 'exact fit');

      const padded = shared('<f2', '1000,1000', fill, { size: pageUp(2_000_000) });
      assert.strictEqual(padded.size, 2_002_944);
      const p = await proposeForFile(padded.path, padded.size);
      first(p, '<f2', [1000, 1000]);
      assert.strictEqual(p[0].trailingBytes, 2944, 'the padding is left over');
      assert.match(p[0].reason, /page padding \(2944 bytes\)/);
      // The exact fit of the padded size (978 x 1024) is there, below.
      assert.ok(
        p.some((x) => x.dtype === '<f2' && x.shape.join() === '978,1024' && x.trailingBytes === 0),
        words(p),
      );
    }
    // From the size alone (no bytes read) it is still first.
    first(proposeLayouts(2_000_000), '<f2', [1000, 1000]);
    first(
      proposeLayouts(2_002_944).filter((x) => x.dtype === '<f2'),
      '<f2',
      [1000, 1000],
    );
  });

  it('the bytes decide the width: float32 and float64 matrices are not proposed as float16 (or the reverse)', async () => {
    // The size alone cannot tell 600 x 800 from 480 x 1000: the dtype comes first, the shape among its first few.
    const f4 = shared('<f4', '600,800', 'random');
    const l = await proposeForFile(f4.path, f4.size);
    assert.strictEqual(l[0].dtype, '<f4', words(l));
    assert.ok(
      l.slice(0, 3).some((p) => p.dtype === '<f4' && p.shape.join() === '600,800'),
      words(l),
    );
    const f8 = shared('<f8', '768,1024', 'random');
    first(await proposeForFile(f8.path, f8.size), '<f8', [768, 1024]);
    const i4 = shared('<i4', '200,300', 'random');
    first(await proposeForFile(i4.path, i4.size), '<i4', [200, 300]);
  });

  it('a product after a header: the offset is proposed (16-byte header before float32 1000x1000)', async () => {
    const h = shared('<f4', '1000,1000', 'random', { offset: 16 });
    assert.strictEqual(h.size, 4_000_016);
    const l = await proposeForFile(h.path, h.size);
    first(l, '<f4', [1000, 1000], 16);
    assert.strictEqual(l[0].reason, '16-byte header');
    assert.strictEqual(l[0].trailingBytes, 0);
  });

  it('primes: no 2-D layout claims to fit; each proposal fits, and one that leaves bytes over says how many', async () => {
    for (const size of [1_000_003, 2 * 1_000_003, 7919]) {
      const l = proposeLayouts(size);
      assert.ok(l.length > 0, `proposals for ${size}`);
      for (const p of l) {
        const item = p.dtype === '|u1' ? 1 : p.dtype.endsWith('2') || p.dtype === 'bfloat16' ? 2 : p.dtype.endsWith('4') ? 4 : 8;
        const used = p.offset + p.shape.reduce((a, b) => a * b, 1) * item;
        assert.ok(used <= size, `${words([p])} fits in ${size}`);
        assert.strictEqual(p.trailingBytes, size - used, `${words([p])}: trailing bytes counted`);
        if (p.shape.length === 2 && p.offset === 0) assert.ok(p.trailingBytes > 0, `a prime has no exact 2-D fit: ${words([p])}`);
        if (p.trailingBytes > 0) assert.match(p.reason, new RegExp(`${p.trailingBytes}[- ]byte`), `says what is left over: ${words([p])}`);
      }
    }
    // A prime count of float16 elements: the 1-D array is among the proposals, and nothing claims a 2-D exact fit.
    const l = proposeLayouts(2 * 1_000_003, { max: 100 });
    assert.ok(
      l.some((p) => p.dtype === '<f2' && p.shape.join() === '1000003' && p.trailingBytes === 0),
      words(l),
    );
  });

  it('degenerate sizes give no or few proposals and never throw; a huge size is quick', () => {
    assert.deepStrictEqual(proposeLayouts(0), []);
    assert.deepStrictEqual(proposeLayouts(-5), []);
    assert.deepStrictEqual(proposeLayouts(NaN), []);
    assert.ok(proposeLayouts(3).every((p) => p.shape.length === 1));
    const t0 = performance.now();
    const big = proposeLayouts(64 * 2 ** 30 + 12);
    assert.ok(big.length > 0);
    const f4 = big.find((p) => p.dtype === '<f4');
    assert.deepStrictEqual([f4?.shape, f4?.offset, f4?.trailingBytes], [[131072, 131072], 0, 12], words(big));
    assert.ok(performance.now() - t0 < 5000, 'bounded work');
  });
});
