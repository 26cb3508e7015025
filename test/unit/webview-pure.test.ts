/**
 * The viewer's DOM-free modules (contract/colormaps, webview/scales, ticks, viewport, validate, state), as
 * the test build transpiles them (scripts/build.mjs: webview/ too, into out/webview/).
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as cm from '../../contract/colormaps';
import { gapsIn } from '../../webview/gaps';
import * as sc from '../../webview/scales';
import * as stt from '../../webview/state';
import * as tk from '../../webview/ticks';
import * as va from '../../webview/validate';
import * as vp from '../../webview/viewport';

describe('webview: colormaps', () => {
  it('has at least 8 maps of 256 RGB entries, viridis first', () => {
    assert.ok(cm.COLORMAPS.length >= 8);
    assert.strictEqual(cm.COLORMAPS[0], 'viridis');
    for (const name of cm.COLORMAPS) assert.strictEqual(cm.lut(name).length, 768, name);
  });

  it("matches matplotlib's published tables at their ends and middle", () => {
    // matplotlib: viridis(0) = (0.267004, 0.004874, 0.329415), viridis(1) = (0.993248, 0.906157, 0.143936).
    assert.deepStrictEqual(cm.colorAt('viridis', 0), [68, 1, 84]);
    assert.deepStrictEqual(cm.colorAt('viridis', 1), [253, 231, 37]);
    assert.deepStrictEqual(cm.colorAt('magma', 0), [0, 0, 4]);
    assert.deepStrictEqual(cm.colorAt('inferno', 1), [252, 255, 164]);
    assert.deepStrictEqual(cm.colorAt('plasma', 0), [13, 8, 135]);
    assert.deepStrictEqual(cm.colorAt('cividis', 0), [0, 34, 78]);
    assert.deepStrictEqual(cm.colorAt('turbo', 0), [48, 18, 59]);
    assert.deepStrictEqual(cm.colorAt('RdBu', 0), [103, 0, 31]);
    assert.deepStrictEqual(cm.colorAt('RdBu', 1), [5, 48, 97]);
    assert.deepStrictEqual(cm.colorAt('gray', 0.5), [128, 128, 128]);
  });

  it('agrees with matplotlib entry by entry where it is installed', function () {
    let out: string;
    try {
      out = execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `
import numpy as np, json
from matplotlib import colormaps as m
print(json.dumps({n: np.round(m[n](np.linspace(0, 1, 256))[:, :3] * 255).astype(int).ravel().tolist() for n in ['viridis', 'magma', 'inferno', 'plasma', 'cividis', 'turbo', 'RdBu']}))`,
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
    } catch {
      this.skip();
      return;
    }
    const ref = JSON.parse(out) as Record<string, number[]>;
    for (const [name, table] of Object.entries(ref)) assert.deepStrictEqual(Array.from(cm.lut(name as never)), table, name);
  });

  it("maps t with matplotlib's rule, inverts, and keeps NaN/±Inf colours out of every map", () => {
    assert.strictEqual(cm.colorIndex(0), 0);
    assert.strictEqual(cm.colorIndex(1), 255);
    assert.strictEqual(cm.colorIndex(0.5), 128);
    assert.strictEqual(cm.colorIndex(-3), 0);
    assert.strictEqual(cm.colorIndex(NaN), 0);
    assert.deepStrictEqual(cm.colorAt('viridis', 0, true), cm.colorAt('viridis', 1));
    for (const name of cm.COLORMAPS) {
      const s = cm.specialColors(name);
      assert.strictEqual(s.nan[3], 0, 'NaN transparent');
      const table = cm.lut(name);
      for (const c of [s.posInf, s.negInf]) {
        let best = Infinity;
        for (let i = 0; i < 256; i++) best = Math.min(best, Math.hypot(table[i * 3] - c[0], table[i * 3 + 1] - c[1], table[i * 3 + 2] - c[2]));
        assert.ok(best > 60, `${name}: special colour ${c} is ${best.toFixed(0)} from the map`);
      }
    }
  });
});

describe('webview: scales and domains', () => {
  it('normalises linear, log, symlog and sqrt, and inverts', () => {
    const lin = sc.makeNorm('linear', 0, 10);
    assert.strictEqual(lin.t(5), 0.5);
    const log = sc.makeNorm('log', 1, 1000);
    assert.ok(Math.abs(log.t(10) - 1 / 3) < 1e-12);
    assert.strictEqual(log.t(0), -Infinity);
    const sq = sc.makeNorm('sqrt', 0, 100);
    assert.ok(Math.abs(sq.t(25) - 0.5) < 1e-12);
    const sl = sc.makeNorm('symlog', -1000, 1000);
    assert.ok(Math.abs(sl.t(0) - 0.5) < 1e-12);
    assert.ok(sl.t(10) > 0.5 && sl.t(10) < sl.t(100));
    for (const n of [lin, log, sq, sl]) for (const t of [0, 0.25, 0.7, 1]) assert.ok(Math.abs(n.t(n.inv(t)) - t) < 1e-9, `${n.scale} ${t}`);
    const flat = sc.makeNorm('linear', 3, 3);
    assert.deepStrictEqual([flat.t(2), flat.t(3), flat.t(4)], [0, 0.5, 1]);
  });

  it('picks the domain for each mode, and repairs log domains that reach 0', () => {
    const stats = {
      min: -5,
      max: 100,
      minPositive: 0.5,
      quantiles: [
        { q: 0.01, value: -4 },
        { q: 0.99, value: 90 },
      ],
    };
    assert.deepStrictEqual(sc.resolveDomain({ mode: 'minmax', scale: 'linear', stats }), { lo: -5, hi: 100, note: null, provisional: false });
    const p = sc.resolveDomain({ mode: 'p1', scale: 'linear', stats });
    assert.deepStrictEqual([p.lo, p.hi], [-4, 90]);
    const v = sc.resolveDomain({ mode: 'minmax', scale: 'linear', stats: null, visible: { min: 1, max: 2 } });
    assert.deepStrictEqual([v.lo, v.hi, v.provisional], [1, 2, true]);
    const c = sc.resolveDomain({ mode: 'custom', scale: 'linear', stats, custom: { lo: 7, hi: 3 } });
    assert.deepStrictEqual([c.lo, c.hi], [3, 7]);
    const l = sc.resolveDomain({ mode: 'minmax', scale: 'log', stats });
    assert.deepStrictEqual([l.lo, l.hi], [0.5, 100]);
    assert.ok(l.note);
    const neg = sc.resolveDomain({ mode: 'minmax', scale: 'log', stats: { min: -5, max: -1, minPositive: null, quantiles: [] } });
    assert.strictEqual(sc.effectiveScale('log', neg), 'linear');
  });

  it('colours values into RGBA, NaN and ±Inf apart', () => {
    const out = new Uint8ClampedArray(5 * 4);
    const sp = cm.specialColors('gray');
    cm.colorize(new Float64Array([0, 1, NaN, Infinity, -Infinity]), out, sc.makeNorm('linear', 0, 1), 'gray');
    assert.deepStrictEqual(Array.from(out.subarray(0, 8)), [0, 0, 0, 255, 255, 255, 255, 255]);
    assert.deepStrictEqual(Array.from(out.subarray(8, 12)), sp.nan);
    assert.deepStrictEqual(Array.from(out.subarray(12, 16)), sp.posInf);
    assert.deepStrictEqual(Array.from(out.subarray(16, 20)), sp.negInf);
  });

  it('re-bins a histogram onto other edges, sharing bins by overlap', () => {
    const h = new Float64Array([10, 20, 30, 40]); // bins of width 1 over [0, 4]
    assert.deepStrictEqual(Array.from(sc.rebin(h, 0, 4, [0, 2, 4])), [30, 70]);
    assert.deepStrictEqual(Array.from(sc.rebin(h, 0, 4, [4, 3.5, 0.5])), [20, 75]);
    assert.deepStrictEqual(Array.from(sc.rebin(new Float64Array([9]), 2, 2, [0, 1, 3])), [0, 9]);
  });
});

describe('webview: ticks', () => {
  it('puts linear ticks at 1, 2, 5 x 10^k', () => {
    assert.deepStrictEqual(tk.linearTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepStrictEqual(tk.linearTicks(-3.2, 7.9, 5), [-2, 0, 2, 4, 6]);
    assert.deepStrictEqual(tk.linearTicks(0.1, 0.35, 5), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
  });

  it('puts index ticks on whole indices whose cells are visible, following zoom', () => {
    assert.deepStrictEqual(tk.indexTicks(0, 384, 5), [0, 100, 200, 300]);
    assert.deepStrictEqual(tk.indexTicks(10.2, 13.9, 10), [10, 11, 12, 13]);
    assert.deepStrictEqual(tk.indexTicks(0, 1, 5), [0]);
  });

  it('puts log ticks on decades and symlog ticks on ±decades and 0', () => {
    assert.deepStrictEqual(tk.logTicks(1, 1e6, 6), [1, 10, 100, 1000, 10000, 100000, 1000000]);
    assert.deepStrictEqual(tk.logTicks(1, 100, 10), [1, 2, 5, 10, 20, 50, 100]);
    const s = tk.symlogTicks(-100, 100, 0.1, 20);
    assert.ok(s.includes(0) && s.includes(100) && s.includes(-100));
  });

  it('formats ticks and values compactly', () => {
    assert.strictEqual(tk.formatTick(0.30000000000000004, 0.1), '0.3');
    assert.strictEqual(tk.formatTick(2500, 500), '2500');
    assert.strictEqual(tk.formatTick(1e-7), '1e-7');
    assert.strictEqual(tk.formatValue(NaN), 'NaN');
    assert.strictEqual(tk.formatValue(-Infinity), '−Inf');
    assert.strictEqual(tk.formatValue(123456.789), '1.2346e5');
    assert.strictEqual(tk.formatCount(16384), '16\u2009384');
  });
});

describe('webview: viewport', () => {
  const e = { rows: 1000, cols: 2000 };
  it('zooms about the cursor, keeping that point still, within the array', () => {
    const full = vp.fullViewport(e);
    const z = vp.zoomAt(full, 0.5, 500, 250, e, { lockAspect: true });
    assert.deepStrictEqual(z, { x0: 250, x1: 1250, y0: 125, y1: 625 });
    const out = vp.zoomAt(z, 10, 500, 250, e, { lockAspect: true });
    assert.deepStrictEqual(out, full);
    let deep = full;
    for (let i = 0; i < 100; i++) deep = vp.zoomAt(deep, 0.5, 3.3, 7.7, e, { lockAspect: true });
    assert.ok(deep.x1 - deep.x0 >= 1 && deep.y1 - deep.y0 >= 1 - 1e-9, 'stops at one cell');
    const line = vp.zoomAt({ x0: 0, x1: 2000, y0: 0, y1: 1 }, 0.5, 1000, 0.5, { rows: 1, cols: 2000 }, { axes: 'x' });
    assert.deepStrictEqual(line, { x0: 500, x1: 1500, y0: 0, y1: 1 });
  });

  it('pans without leaving the array, and box-zooms to the box (grown to the aspect)', () => {
    const v = { x0: 100, x1: 200, y0: 100, y1: 150 };
    assert.deepStrictEqual(vp.panBy(v, -500, 30, e), { x0: 0, x1: 100, y0: 130, y1: 180 });
    assert.deepStrictEqual(vp.boxZoom({ x0: 30, x1: 10, y0: 40, y1: 50 }, e), { x0: 10, x1: 30, y0: 40, y1: 50 });
    assert.deepStrictEqual(vp.boxZoom({ x0: 10, x1: 30, y0: 40, y1: 50 }, e, 1), { x0: 10, x1: 30, y0: 35, y1: 55 });
  });

  it('asks for the covering window at one cell per device pixel, never more cells than elements', () => {
    const full = vp.fullViewport({ rows: 16384, cols: 16384 });
    const win = vp.windowOf(full, { rows: 16384, cols: 16384 });
    assert.deepStrictEqual(win, { r0: 0, r1: 16384, c0: 0, c1: 16384 });
    assert.deepStrictEqual(vp.gridSize(win, full, 800, 800), { width: 800, height: 800 });
    const zoomed = { x0: 10.5, x1: 20.5, y0: 3.25, y1: 8.25 };
    const w2 = vp.windowOf(zoomed, { rows: 16384, cols: 16384 });
    assert.deepStrictEqual(w2, { r0: 3, r1: 9, c0: 10, c1: 21 });
    assert.deepStrictEqual(vp.gridSize(w2, zoomed, 800, 400), { width: 11, height: 6 });
    const r = vp.windowRect(w2, zoomed, 800, 400);
    assert.deepStrictEqual(r, { x: -40, y: -20, w: 880, h: 480 });
    assert.deepStrictEqual(vp.cellAt(zoomed, 0, 0, 800, 400, e), { row: 3, col: 10 });
    assert.deepStrictEqual(vp.cellAt(zoomed, 799, 399, 800, 400, e), { row: 8, col: 20 });
  });
});

describe('webview: message checks and saved state', () => {
  it('accepts well-formed host messages and refuses malformed ones', () => {
    const tile = {
      type: 'tile',
      re: 1,
      window: { r0: 0, r1: 2, c0: 0, c1: 2 },
      width: 2,
      height: 2,
      mode: 'mean',
      values: new Float32Array(4),
      min: 0,
      max: 1,
      elapsedMs: 1,
      final: true,
    };
    assert.ok(va.validateHostMessage(tile));
    assert.strictEqual(va.validateHostMessage({ ...tile, values: new Float32Array(3) }), null);
    assert.strictEqual(va.validateHostMessage({ ...tile, values: [0, 0, 0, 0] }), null);
    assert.strictEqual(va.validateHostMessage({ ...tile, min: NaN }), null);
    assert.strictEqual(va.validateHostMessage({ ...tile, mode: 'median' }), null);
    assert.strictEqual(va.validateHostMessage({ type: 'error', message: 'x', kind: 'boom' }), null);
    assert.ok(va.validateHostMessage({ type: 'error', message: 'x', kind: 'changed' }));
    assert.strictEqual(va.validateHostMessage({ type: 'init', segment: { name: 'x' }, requestedAt: 0 }), null);
    const segment = {
      name: 'a',
      path: '/dev/shm/a',
      kind: 'segment',
      dtype: '<f4',
      dtypeWords: 'float32',
      shape: [4, 6],
      fortranOrder: false,
      complex: false,
      size: 224,
      rows: 4,
      cols: 6,
    };
    const init = { type: 'init', segment, requestedAt: 5, from: 2 };
    assert.ok(va.validateHostMessage(init));
    assert.strictEqual(va.validateHostMessage({ ...init, from: 'x' }), null);
    // A reply says which request it answers; nothing else does.
    assert.strictEqual(va.validateHostMessage({ ...tile, re: undefined }), null);
    assert.strictEqual(va.validateHostMessage({ ...init, re: 1 }), null);
    const first = {
      slice: { axes: [0, 1], index: [0, 0], part: 'magnitude' },
      window: { r0: 0, r1: 4, c0: 0, c1: 6 },
      width: 3,
      height: 2,
      values: new Float32Array(6),
      min: 0,
      max: 1,
      elapsedMs: 1,
      exact: false,
    };
    assert.ok(va.validateHostMessage({ ...init, first }));
    assert.strictEqual(va.validateHostMessage({ ...init, first: { ...first, values: new Float32Array(5) } }), null);
    assert.strictEqual(va.validateHostMessage({ ...init, first: { ...first, slice: { axes: 'x', index: [], part: 'magnitude' } } }), null);
    assert.strictEqual(va.validateHostMessage({ ...init, first: { ...first, exact: 1 } }), null);
    assert.strictEqual(va.validateHostMessage(null), null);
    assert.strictEqual(va.validateHostMessage('tile'), null);
  });

  it('restores a saved state field by field, dropping what is malformed', () => {
    assert.strictEqual(stt.sanitizeState({ v: 2 }), null);
    const s = stt.sanitizeState({
      v: 1,
      name: 'a',
      path: '/dev/shm/a',
      colormap: 'nope',
      scale: 'log',
      live: 3,
      viewport: { x0: 0, x1: 1, y0: 0, y1: 'x' },
      axes: [0, 2],
      index: [1, -1],
      grid: { row: 3, col: -1 },
    });
    assert.ok(s);
    assert.strictEqual(s!.colormap, 'viridis');
    assert.strictEqual(s!.scale, 'log');
    assert.strictEqual(s!.live, 0);
    assert.strictEqual(s!.viewport, null);
    assert.deepStrictEqual(s!.axes, [0, 2]);
    assert.deepStrictEqual(s!.index, []);
    assert.strictEqual(s!.grid, null, 'a grid cell off the array is no grid');
    assert.deepStrictEqual(stt.sanitizeState({ v: 1, name: 'a', path: '/dev/shm/a', grid: { row: 3, col: 4 } })!.grid, { row: 3, col: 4 });
    // The Table toggle's resized columns: pairs of a column and a width; anything else dropped, the latest kept.
    assert.deepStrictEqual(s!.gridWidths, []);
    const widths = stt.sanitizeState({ v: 1, name: 'a', path: '/dev/shm/a', gridWidths: [[0, 120], [-1, 80], [2, 'x'], [3], [5, 300.5], 'no'] })!.gridWidths;
    assert.deepStrictEqual(widths, [
      [0, 120],
      [5, 300.5],
    ]);
    const many = Array.from({ length: stt.GRID_WIDTHS_KEPT + 10 }, (_, i) => [i, 100]);
    const kept = stt.sanitizeState({ v: 1, name: 'a', path: '/dev/shm/a', gridWidths: many })!.gridWidths;
    assert.strictEqual(kept.length, stt.GRID_WIDTHS_KEPT);
    assert.deepStrictEqual(kept[0], [10, 100]);
  });
});

describe('webview: the timeline breaks its lines where sampling stopped', () => {
  it('a gap of more than five usual intervals (and at least 3 s) starts a new line; jitter does not', () => {
    const every = (n: number, from: number, dt: number) => Array.from({ length: n }, (_, i) => from + i * dt);
    // Points every second, a window reload of 12 s, then every second again.
    assert.deepStrictEqual([...gapsIn([...every(10, 0, 1000), ...every(5, 21_000, 1000)])], [10]);
    // Irregular but unbroken sampling (exact passes of 1.5-2.5 s): no break.
    assert.deepStrictEqual([...gapsIn([0, 1500, 4000, 5600, 8000, 9700])], []);
    // Slow sampling (every 4 s): a 10 s step is not a gap, a 30 s one is.
    assert.deepStrictEqual([...gapsIn([0, 4000, 8000, 12_000, 22_000, 26_000, 56_000])], [6]);
    assert.deepStrictEqual([...gapsIn([5]), ...gapsIn([])], []);
  });
});
