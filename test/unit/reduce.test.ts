/**
 * The native reductions (strided/mean/min/max onto a grid) and statistics, checked cell by cell
 * against numpy (test/fixtures/make_segments.py `cases`) for every dtype, both byte orders, C and
 * Fortran order, bfloat16 from raw bytes, complex parts, N-D slices by axes/index, windows and
 * grids that do not divide the sizes, NaN/+-Inf runs, and arrays big enough for the threaded,
 * tiled paths. Plus histograms and cancellation.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveSlice, type ArrayLayout, type SliceChoice } from '../../extension/core/array';
import { native, openView, type ReduceMode, type StatsResult } from '../../extension/native';
import type { StatsCounts } from '../../contract/stats';
import { PYTHON, py, SegmentJar, uniqueName } from '../fixtures/segments';

type Enc = number | null | 'Infinity' | '-Infinity';
/** What numpy computes of a slice: the fields of a stats pass (contract/stats.ts), no histogram. */
type RefStats = StatsCounts & { infCount: number };
interface RefSelection {
  rows: number;
  cols: number;
  height: number;
  width: number;
  grid: Record<string, Enc[]>;
  stats: RefStats;
  hist?: number[];
}
interface RefCase {
  dataOffset: number;
  selections: RefSelection[];
}

interface Selection {
  axes?: [number, number];
  index?: number[];
  part?: SliceChoice['part'];
  window?: [number, number, number, number];
  grid?: [number, number];
  modes?: ReduceMode[];
  hist?: number;
}
interface Case {
  label: string;
  dtype: string;
  shape: number[];
  order?: 'C' | 'F';
  format?: 'npy' | 'raw';
  offset?: number;
  fill?: 'random' | 'arange' | 'gradient';
  specials?: boolean;
  /** This fraction of the elements set to NaN at random (float dtypes). */
  nanfrac?: number;
  extremes?: boolean;
  seed?: number;
  selections: Selection[];
  path?: string;
}

const MODES: ReduceMode[] = ['strided', 'mean', 'min', 'max'];

function decode(v: Enc): number {
  return v === null ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
}

function near(actual: number | null, expected: number | null, what: string): void {
  if (expected === null || Number.isNaN(expected)) {
    assert.ok(actual === null || Number.isNaN(actual), `${what}: expected no value (NaN/null), got ${actual}`);
    return;
  }
  assert.ok(actual !== null, `${what}: expected ${expected}, got null`);
  if (!Number.isFinite(expected)) {
    assert.strictEqual(actual, expected, what);
    return;
  }
  const tol = 1e-6 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);
}

function checkStats(st: StatsResult, ref: RefStats, what: string): void {
  assert.strictEqual(st.count, ref.count, `${what} count`);
  assert.strictEqual(st.finiteCount, ref.finiteCount, `${what} finiteCount`);
  assert.strictEqual(st.nanCount, ref.nanCount, `${what} nanCount`);
  assert.strictEqual(st.infCount, ref.infCount, `${what} infCount`);
  assert.strictEqual(st.posInfCount, ref.posInfCount, `${what} posInfCount`);
  assert.strictEqual(st.negInfCount, ref.negInfCount, `${what} negInfCount`);
  for (const k of ['min', 'max', 'mean', 'std'] as const) near(st[k], ref[k], `${what} ${k}`);
}

const ALL_DTYPES = [
  '|b1',
  '|i1',
  '|u1',
  '<i2',
  '>i2',
  '<u2',
  '>u2',
  '<i4',
  '>i4',
  '<u4',
  '>u4',
  '<i8',
  '>i8',
  '<u8',
  '>u8',
  '<f2',
  '>f2',
  '<f4',
  '>f4',
  '<f8',
  '>f8',
  '<c8',
  '>c8',
  '<c16',
  '>c16',
];

function buildCases(): Case[] {
  const cases: Case[] = [];
  const twoD: Selection[] = [
    { grid: [7, 5] },
    { window: [3, 30, 5, 50], grid: [4, 6] },
    { grid: [50, 60] }, // more cells than elements: one cell per element
    { window: [10, 11, 0, 53], grid: [3, 8] }, // a one-row window
  ];
  for (const dtype of ALL_DTYPES) {
    for (const order of ['C', 'F'] as const) {
      const complex = dtype.includes('c');
      const float = dtype.includes('f') || complex;
      cases.push({
        label: `${dtype} ${order}-order 37x53`,
        dtype,
        shape: [37, 53],
        order,
        specials: float,
        extremes: /[iu]8/.test(dtype),
        seed: 3,
        selections: complex
          ? (['magnitude', 'phase', 'real', 'imag'] as const).flatMap((part) => [
              { part, grid: [7, 5] as [number, number] },
              { part, window: [3, 30, 5, 50] as [number, number, number, number], grid: [4, 6] as [number, number] },
            ])
          : twoD,
      });
    }
  }
  for (const order of ['C', 'F'] as const) {
    for (const offset of [0, 3]) {
      cases.push({
        label: `bfloat16 raw ${order}-order 41x29 at offset ${offset}`,
        dtype: 'bfloat16',
        shape: [41, 29],
        order,
        format: 'raw',
        offset,
        specials: true,
        seed: 5,
        selections: [{ grid: [6, 4] }, { window: [2, 40, 1, 28], grid: [5, 9] }],
      });
    }
  }
  cases.push({
    label: '<f4 raw at an unaligned offset (converted path)',
    dtype: '<f4',
    shape: [33, 47],
    format: 'raw',
    offset: 2,
    specials: true,
    selections: [{ grid: [5, 7] }],
  });
  // N-D slices: axes and fixed indices
  cases.push({
    label: '<f4 C-order 5x6x7 sliced',
    dtype: '<f4',
    shape: [5, 6, 7],
    specials: true,
    selections: [
      { axes: [0, 2], index: [0, 3, 0], grid: [4, 3] },
      { axes: [2, 0], index: [0, 4, 0], grid: [3, 4] },
      { index: [2, 0, 0], grid: [5, 5] },
    ],
  });
  cases.push({
    label: '>i2 F-order 3x4x5x6 sliced',
    dtype: '>i2',
    shape: [3, 4, 5, 6],
    order: 'F',
    selections: [
      { axes: [3, 1], index: [2, 0, 1, 0], grid: [4, 3] },
      { axes: [0, 2], index: [0, 3, 0, 5], grid: [2, 4] },
      { index: [1, 2, 0, 0], grid: [3, 5] },
    ],
  });
  cases.push({
    label: '<c8 C-order 4x5x6 sliced, phase and magnitude',
    dtype: '<c8',
    shape: [4, 5, 6],
    specials: true,
    selections: [
      { axes: [1, 2], index: [3, 0, 0], part: 'phase', grid: [3, 4] },
      { axes: [2, 0], index: [0, 2, 0], part: 'magnitude', grid: [4, 3] },
    ],
  });
  cases.push({ label: '<f8 1-D 1001', dtype: '<f8', shape: [1001], specials: true, selections: [{ grid: [1, 9] }, { grid: [4, 1001] }] });
  // Big enough for the threaded, tiled paths (>= 2^18 elements), odd sizes
  cases.push({
    label: '<f4 C-order 700x641 (threads, in place)',
    dtype: '<f4',
    shape: [700, 641],
    specials: true,
    selections: [{ grid: [61, 43] }, { grid: [13, 641], modes: ['mean', 'max'] }, { window: [5, 699, 7, 600], grid: [9, 11] }],
  });
  cases.push({
    label: '>u2 F-order 650x420 (threads, converted)',
    dtype: '>u2',
    shape: [650, 420],
    order: 'F',
    selections: [{ grid: [33, 17] }],
  });
  cases.push({
    label: '<f8 F-order 600x500 (threads, in place, transposed)',
    dtype: '<f8',
    shape: [600, 500],
    order: 'F',
    specials: true,
    selections: [{ grid: [9, 50] }],
  });
  cases.push({
    label: '<f4 91x17000: bands of 13 rows (8+4+1), cells across tiles',
    dtype: '<f4',
    shape: [91, 17000],
    specials: true,
    selections: [{ grid: [7, 3] }, { window: [1, 90, 100, 16999], grid: [2, 5] }],
  });
  for (const [dtype, frac] of [
    ['<f4', 0.3],
    ['>f8', 0.02],
    ['<f8', 0.6],
  ] as const) {
    cases.push({
      label: `${dtype} 160x9000 with ${frac * 100}% NaN scattered and NaN/Inf runs (NaN-aware sweeps)`,
      dtype,
      shape: [160, 9000],
      specials: true,
      nanfrac: frac,
      seed: 21,
      selections: [{ grid: [7, 3] }, { grid: [40, 900], modes: ['mean', 'min'] }],
    });
  }
  cases.push({
    label: '<i4 26x5000: converted cells across tiles',
    dtype: '<i4',
    shape: [26, 5000],
    selections: [{ grid: [2, 3] }],
  });
  return cases;
}

describe('native reductions against numpy (reduce)', function () {
  this.timeout(300_000);
  const jar = new SegmentJar();
  const cases = buildCases();
  let refs: RefCase[] = [];
  let specFile = '';

  before(function () {
    for (const c of cases) c.path = jar.name('shmi_reduce', c.format === 'raw' ? '.bin' : '.npy').path;
    specFile = path.join(os.tmpdir(), `${uniqueName('shmi_reduce_spec')}.json`);
    fs.writeFileSync(specFile, JSON.stringify(cases));
    py(['cases', specFile, '--out', specFile + '.out'], { timeout: 240_000 });
    refs = JSON.parse(fs.readFileSync(specFile + '.out', 'utf8')) as RefCase[];
  });
  after(() => {
    jar.cleanup();
    if (specFile) {
      fs.rmSync(specFile, { force: true });
      fs.rmSync(specFile + '.out', { force: true });
    }
  });

  cases.forEach((c, ci) => {
    it(`${c.label}: ${c.selections.length} selection(s), every mode and stats`, async () => {
      const ref = refs[ci];
      const layout: ArrayLayout = {
        dtype: c.dtype,
        shape: c.shape,
        fortranOrder: c.order === 'F',
        dataOffset: ref.dataOffset,
      };
      const view = await openView(c.path!);
      try {
        for (let si = 0; si < c.selections.length; si++) {
          const sel = c.selections[si];
          const r = ref.selections[si];
          const slice = resolveSlice(layout, { axes: sel.axes, index: sel.index, part: sel.part });
          assert.strictEqual(slice.rows, r.rows, 'rows');
          assert.strictEqual(slice.cols, r.cols, 'cols');
          const [r0, r1, c0, c1] = sel.window ?? [0, r.rows, 0, r.cols];
          const [gh, gw] = sel.grid ?? [7, 5];
          for (const mode of sel.modes ?? MODES) {
            const got = await view.reduce({ ...slice, r0, r1, c0, c1, gridHeight: gh, gridWidth: gw, mode });
            assert.strictEqual(got.height, r.height, `${mode} height`);
            assert.strictEqual(got.width, r.width, `${mode} width`);
            assert.strictEqual(got.values.length, r.height * r.width);
            const want = r.grid[mode];
            let lo = Infinity;
            let hi = -Infinity;
            want.forEach((v, i) => {
              const e = decode(v);
              near(got.values[i], e, `selection ${si} ${mode} cell ${i} (row ${Math.floor(i / r.width)}, col ${i % r.width})`);
              if (Number.isFinite(e)) {
                lo = Math.min(lo, e);
                hi = Math.max(hi, e);
              }
            });
            near(got.min, lo <= hi ? lo : null, `${mode} grid min`);
            near(got.max, lo <= hi ? hi : null, `${mode} grid max`);
            // The viewer's form: the same cells rounded once to float32, and their extent.
            const f32 = await view.reduce({ ...slice, r0, r1, c0, c1, gridHeight: gh, gridWidth: gw, mode, output: 'f32' });
            assert.ok(f32.values instanceof Float32Array, `${mode} f32 output is a Float32Array`);
            assert.deepStrictEqual(Array.from(f32.values), Array.from(got.values, Math.fround), `${mode} f32 cells`);
            const finite = Array.from(f32.values).filter(Number.isFinite);
            assert.strictEqual(f32.min, finite.length ? Math.min(...finite) : null, `${mode} f32 grid min`);
            assert.strictEqual(f32.max, finite.length ? Math.max(...finite) : null, `${mode} f32 grid max`);
          }
          checkStats(await view.stats(slice), r.stats, `selection ${si} stats`);
        }
      } finally {
        view.close();
      }
    });
  });
});

describe('native statistics: histograms and cancellation (reduce)', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('bins over [min, max] of the finite values when no range is given, as numpy would bin them', async () => {
    const { path: p } = jar.name('shmi_reduce', '.npy');
    const spec = path.join(os.tmpdir(), `${uniqueName('shmi_hist_spec')}.json`);
    fs.writeFileSync(
      spec,
      JSON.stringify([{ path: p, dtype: '<f4', shape: [300, 1000], specials: true, selections: [{ grid: [1, 1], modes: ['mean'], hist: 64 }] }]),
    );
    let ref: RefCase;
    try {
      ref = (JSON.parse(py(['cases', spec])) as RefCase[])[0];
    } finally {
      fs.rmSync(spec, { force: true });
    }
    const slice = resolveSlice({ dtype: '<f4', shape: [300, 1000], fortranOrder: false, dataOffset: ref.dataOffset });
    const view = await openView(p);
    try {
      const st = await view.stats({ ...slice, bins: 64 });
      assert.ok(st.histogram && st.histogram.length === 64);
      assert.strictEqual(st.histMin, st.min);
      assert.strictEqual(st.histMax, st.max);
      const total = st.histogram.reduce((a, b) => a + b, 0);
      assert.strictEqual(total, ref.selections[0].stats.finiteCount, 'every finite value is in one bin');
      // numpy's values binned by the documented rule floor((v - lo) * bins / (hi - lo)), hi in the last bin.
      assert.deepStrictEqual([...st.histogram], ref.selections[0].hist);
      near(st.histMin!, ref.selections[0].stats.min, 'histMin');
      near(st.histMax!, ref.selections[0].stats.max, 'histMax');
      // An explicit, narrower range: values outside it are not counted; one pass.
      const lo = 0;
      const hi = 50;
      const st2 = await view.stats({ ...slice, bins: 10, histMin: lo, histMax: hi });
      assert.strictEqual(st2.histMin, lo);
      assert.strictEqual(st2.histMax, hi);
      const inRange = st2.histogram!.reduce((a, b) => a + b, 0);
      assert.ok(inRange > 0 && inRange < total, `in-range count ${inRange} of ${total}`);
      // Bins of the narrow range are the wide histogram's values re-binned: their sum over [0, 50]
      // equals the count of finite values in [0, 50] from a full pass with a histogram covering exactly that.
      const st3 = await view.stats({ ...slice, bins: 1, histMin: lo, histMax: hi });
      assert.strictEqual(st3.histogram![0], inRange);
    } finally {
      view.close();
    }
  });

  it('rejects a reduction that cancelPending() superseded, and serves the next one', async () => {
    const { path: p } = jar.name('shmi_reduce', '.npy');
    const rows = 4096;
    const cols = 4096; // 64 MiB of float32
    const offset = Number(py(['fill_f32', p, String(rows), String(cols)]).trim());
    const slice = resolveSlice({ dtype: '<f4', shape: [rows, cols], fortranOrder: false, dataOffset: offset });
    const view = await openView(p);
    try {
      let cancelled = 0;
      for (let i = 0; i < 6; i++) {
        const pending = [
          view.reduce({ ...slice, r0: 0, r1: rows, c0: 0, c1: cols, gridHeight: 512, gridWidth: 512, mode: 'mean' }),
          view.reduce({ ...slice, r0: 0, r1: rows, c0: 0, c1: cols, gridHeight: 1, gridWidth: 7, mode: 'max' }),
          view.stats({ ...slice, cancellable: true }),
        ].map((p2) =>
          p2.then(
            () => 'done',
            (e: Error) => e.message,
          ),
        );
        await new Promise((r) => setTimeout(r, i));
        view.cancelPending();
        for (const outcome of await Promise.all(pending)) {
          if (outcome !== 'done') {
            assert.match(outcome, /cancelled: superseded by a newer request/);
            cancelled++;
          }
        }
      }
      assert.ok(cancelled > 0, 'at least one pass was cancelled');
      // Stats that are not marked cancellable are not cancelled.
      const st = view.stats(slice);
      view.cancelPending();
      assert.strictEqual((await st).count, rows * cols);
      const r = await view.reduce({ ...slice, r0: 0, r1: rows, c0: 0, c1: cols, gridHeight: 2, gridWidth: 2, mode: 'min' });
      assert.deepStrictEqual([...r.values], [0, 0, 0, 0]);
    } finally {
      view.close();
    }
  });

  it('stops every pass of a view when it is closed, stats that are not cancellable too', async () => {
    const { path: p } = jar.name('shmi_reduce', '.npy');
    // 256 MiB: each pass takes tens of milliseconds, so close() (microseconds after the calls)
    // lands while all of them are queued or running, even on a loaded machine.
    const rows = 16384;
    const cols = 4096;
    const offset = Number(py(['fill_f32', p, String(rows), String(cols)]).trim());
    const slice = resolveSlice({ dtype: '<f4', shape: [rows, cols], fortranOrder: false, dataOffset: offset });
    const view = await openView(p);
    // A panel that shows another array closes its view: what it was computing must not hold the threads.
    const pending = [
      view.stats(slice),
      view.stats({ ...slice, bins: 4096 }),
      view.reduce({ ...slice, r0: 0, r1: rows, c0: 0, c1: cols, gridHeight: 512, gridWidth: 512, mode: 'mean' }),
    ].map((q) =>
      q.then(
        () => 'done',
        (e: Error) => e.message,
      ),
    );
    view.close();
    for (const outcome of await Promise.all(pending)) assert.strictEqual(outcome, 'cancelled: the view was closed');
    assert.strictEqual(view.closed, true);
    assert.throws(() => view.stats(slice), /view is closed/);
  });

  it('stores a cell beyond float32 range as ±Inf in float32 cells, and leaves it out of their extent', async () => {
    // complex64 magnitudes of parts near FLT_MAX exceed it (the viewer asks float64 cells for them).
    const seg = jar.name('shmi_reduce_c8big', '.npy');
    execFileSync(PYTHON, [
      '-c',
      "import numpy as np, sys; a = np.lib.format.open_memmap(sys.argv[1], mode='w+', dtype='<c8', shape=(2, 2)); a[:, 0] = 3e38 + 3e38j; a[:, 1] = 1 + 1j; a.flush()",
      seg.path,
    ]);
    const view = await openView(seg.path);
    try {
      const slice = resolveSlice({ dtype: '<c8', shape: [2, 2], fortranOrder: false, dataOffset: 128 }, { part: 'magnitude' });
      const req = { ...slice, r0: 0, r1: 2, c0: 0, c1: 2, gridHeight: 1, gridWidth: 2, mode: 'max' as const };
      const f64 = await view.reduce(req);
      assert.ok(Math.abs(f64.values[0] / (Math.SQRT2 * 3e38) - 1) < 1e-6, `float64 cell ${f64.values[0]}`);
      assert.strictEqual(f64.max, f64.values[0]);
      const f32 = await view.reduce({ ...req, output: 'f32' });
      assert.deepStrictEqual(Array.from(f32.values), [Infinity, Math.fround(Math.SQRT2)]);
      assert.strictEqual(f32.min, Math.fround(Math.SQRT2));
      assert.strictEqual(f32.max, Math.fround(Math.SQRT2));
    } finally {
      view.close();
    }
  });

  it('reports its thread count and instruction set', () => {
    assert.ok(native().threads >= 1);
    assert.match(native().simd, /^(x86-64-v4|x86-64-v3|baseline)$/);
  });
});
