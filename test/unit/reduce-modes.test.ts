/**
 * The reduce modes the real addon knows (its `reduceModes` export, from the registry of reductions
 * in native/src/reduce.cc) are those of contract/reduce.ts, and each one reduces a numpy-made
 * segment as numpy does; a name outside the registry is refused with the list of modes.
 */
import * as assert from 'assert';
import { REDUCE_MODE_NAMES, type ReduceMode } from '../../contract/reduce';
import { resolveSlice } from '../../extension/core/array';
import { native, openView } from '../../extension/native';
import { py, SegmentJar } from '../fixtures/segments';

describe('reduce modes (the addon registry against contract/reduce.ts)', () => {
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('the addon exports the reduce modes of contract/reduce.ts, each once', () => {
    const modes = native().reduceModes;
    assert.ok(Array.isArray(modes), `reduceModes is an array of names (got ${String(modes)})`);
    assert.strictEqual(new Set(modes).size, modes.length, `no mode twice: ${modes.join(', ')}`);
    assert.deepStrictEqual([...modes].sort(), [...REDUCE_MODE_NAMES].sort());
  });

  it('reduces with every exported mode as numpy does, and refuses a name outside the registry', async () => {
    const { path } = jar.name('shmi_unit', '.npy');
    py(['npy', path, '<f4', '40,36', '--fill', 'random', '--seed', '3']);
    const slice = resolveSlice({ dtype: '<f4', shape: [40, 36], fortranOrder: false, dataOffset: 128 });
    const view = await openView(path);
    try {
      for (const mode of native().reduceModes) {
        const expected = JSON.parse(py(['expect', path, mode, '5', '4'])) as { grid: (number | null)[] };
        const r = await view.reduce({ ...slice, r0: 0, r1: 40, c0: 0, c1: 36, gridHeight: 5, gridWidth: 4, mode });
        assert.strictEqual(r.values.length, 20, mode);
        expected.grid.forEach((v, i) => {
          assert.ok(v !== null && Math.abs(r.values[i] - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${mode} cell ${i}: ${r.values[i]} vs numpy ${v}`);
        });
      }
      await assert.rejects(
        async () => view.reduce({ ...slice, r0: 0, r1: 40, c0: 0, c1: 36, gridHeight: 5, gridWidth: 4, mode: 'median' as unknown as ReduceMode }),
        (e: Error) => {
          assert.match(e.message, /mode must be one of/);
          for (const m of REDUCE_MODE_NAMES) assert.ok(e.message.includes(m), `${e.message} names ${m}`);
          return true;
        },
      );
    } finally {
      view.close();
    }
  });
});
