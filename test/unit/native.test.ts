import * as assert from 'assert';
import * as fs from 'fs';
import { resolveSlice } from '../../extension/core/array';
import { listCatalog } from '../../extension/core/catalog';
import { native, nativeLoadError, openView, type ReduceMode } from '../../extension/native';
import { py, SegmentJar } from '../fixtures/segments';

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) {
    assert.ok(actual === null || Number.isNaN(actual), `${what}: expected no value, got ${actual}`);
    return;
  }
  assert.ok(actual !== null, `${what}: expected ${expected}, got null`);
  const tol = 1e-6 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);
}

describe('native addon (real, on segments numpy wrote)', () => {
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('loads in plain Node', () => {
    assert.strictEqual(nativeLoadError(), null);
    assert.strictEqual(native().abiVersion, 1);
  });

  it('lists a numpy-made NPY segment with its logical size, dtype and shape', async () => {
    const { name, path } = jar.name('shmi_unit', '.npy');
    py(['npy', path, '<f4', '37,53']);
    const cat = await listCatalog();
    const seg = cat.segments.find((s) => s.name === name);
    assert.ok(seg, 'segment listed');
    assert.strictEqual(seg.size, fs.statSync(path).size);
    assert.strictEqual(seg.format, 'npy');
    assert.strictEqual(seg.dtype, '<f4');
    assert.deepStrictEqual(seg.shape, [37, 53]);
    assert.strictEqual(seg.fortranOrder, false);
    assert.strictEqual(seg.error, null);
  });

  for (const [dtype, order] of [
    ['<f4', 'C'],
    ['>f8', 'F'],
    ['<i2', 'C'],
    ['|u1', 'F'],
    ['<c8', 'C'],
  ] as const) {
    for (const mode of ['strided', 'mean', 'min', 'max'] as ReduceMode[]) {
      it(`reduces ${dtype} ${order}-order 101x77 onto 13x9 (${mode}) as numpy does`, async () => {
        const { path } = jar.name('shmi_unit', '.npy');
        py(['npy', path, dtype, '101,77', '--order', order, '--fill', 'random', '--seed', '7']);
        const expected = JSON.parse(py(['expect', path, mode, '13', '9']));
        const cat = await listCatalog({ holders: false });
        const seg = cat.segments.find((s) => s.path === path)!;
        const slice = resolveSlice({ dtype: seg.dtype!, shape: seg.shape!, fortranOrder: seg.fortranOrder!, dataOffset: seg.dataOffset! });
        const view = await openView(path);
        try {
          const r = await view.reduce({ ...slice, r0: 0, r1: 101, c0: 0, c1: 77, gridHeight: 13, gridWidth: 9, mode });
          assert.strictEqual(r.height, 13);
          assert.strictEqual(r.width, 9);
          expected.grid.forEach((v: number | null, i: number) => close(r.values[i], v, `cell ${i}`));
          const st = await view.stats(slice);
          for (const k of ['min', 'max', 'mean', 'std'] as const) close(st[k], expected.stats[k], k);
          assert.strictEqual(st.count, expected.stats.count);
          assert.strictEqual(st.nanCount, expected.stats.nanCount);
        } finally {
          view.close();
        }
      });
    }
  }

  it('counts NaN instead of smearing it into means', async () => {
    const { path } = jar.name('shmi_unit', '.npy');
    py(['npy', path, '<f8', '40,30', '--fill', 'random', '--nan']);
    const expected = JSON.parse(py(['expect', path, 'mean', '4', '3']));
    const view = await openView(path);
    try {
      const slice = resolveSlice({ dtype: '<f8', shape: [40, 30], fortranOrder: false, dataOffset: 128 });
      const r = await view.reduce({ ...slice, r0: 0, r1: 40, c0: 0, c1: 30, gridHeight: 4, gridWidth: 3, mode: 'mean' });
      expected.grid.forEach((v: number | null, i: number) => close(r.values[i], v, `cell ${i}`));
      const st = await view.stats(slice);
      assert.strictEqual(st.nanCount, expected.stats.nanCount);
      assert.ok(st.nanCount > 0);
      close(st.mean, expected.stats.mean, 'mean');
    } finally {
      view.close();
    }
  });

  it('rejects a window past the end of a truncated segment with a clear error, not a crash', async () => {
    const { path } = jar.name('shmi_unit', '.npy');
    py(['npy', path, '<f4', '64,64']);
    const view = await openView(path);
    try {
      fs.truncateSync(path, 1000);
      const slice = resolveSlice({ dtype: '<f4', shape: [64, 64], fortranOrder: false, dataOffset: 128 });
      await assert.rejects(view.reduce({ ...slice, r0: 0, r1: 64, c0: 0, c1: 64, gridHeight: 8, gridWidth: 8, mode: 'mean' }), /shrank/);
    } finally {
      view.close();
    }
  });

  it('refuses to open a symlink', async () => {
    const target = jar.name('shmi_unit', '.npy');
    py(['npy', target.path, '<f4', '4,4']);
    const link = jar.name('shmi_unit_link');
    fs.symlinkSync(target.path, link.path);
    await assert.rejects(openView(link.path), /symbolic link/);
  });
});
