/** The viewer's settings store and the settings it picks for each array (webview/store.ts, state.ts): DOM-free. */
import * as assert from 'assert';
import { defaultState, sanitizeState, settingsFor, type ViewState } from '../../webview/state';
import { SettingsStore } from '../../webview/store';

const arr = (name: string, shape: number[], more: { tensor?: string; complex?: boolean } = {}) => ({
  name,
  path: `/dev/shm/${name}`,
  shape,
  complex: false,
  ...more,
});

describe('webview: settings store', () => {
  it('saves nothing before the settings belong to an array, then every change; reads back only what checks', () => {
    const saved: unknown[] = [];
    let stored: unknown = { v: 1, name: 'a', path: '/dev/shm/a', colormap: 'nope', viewport: { x0: 'x' } };
    const store = new SettingsStore<ViewState>({ getState: () => stored, setState: (s) => saved.push(structuredClone(s)) }, sanitizeState, defaultState('', ''));
    store.save();
    assert.strictEqual(saved.length, 0);
    const back = store.saved()!;
    assert.deepStrictEqual([back.name, back.colormap, back.viewport], ['a', 'viridis', null], 'malformed fields fall back to the defaults');
    stored = 'garbage';
    assert.strictEqual(store.saved(), null);
    store.replace(settingsFor(arr('a', [4, 5]), store.state, null));
    store.state.colormap = 'magma';
    store.save();
    assert.deepStrictEqual(
      saved.map((s) => (s as ViewState).colormap),
      ['viridis', 'magma'],
    );
  });

  it("keeps the view of the same array, restores a panel's own saved view, and starts another array afresh with the display choices", () => {
    const shown = settingsFor(arr('a', [10, 20, 30]), defaultState('', ''), null);
    assert.deepStrictEqual([shown.axes, shown.index, shown.part], [[1, 2], [0, 0, 0], 'magnitude']);
    shown.colormap = 'RdBu';
    shown.index = [7, 0, 0];
    shown.viewport = { x0: 1, x1: 2, y0: 3, y1: 4 };
    shown.grid = { row: 5, col: 6 };
    // Reopened: the same settings object, zoom and slice kept.
    assert.strictEqual(settingsFor(arr('a', [10, 20, 30]), shown, null), shown);
    // Another array in the reused panel: its own slice and zoom, the colormap kept; indices fitted to its shape.
    const next = settingsFor(arr('b', [3, 4]), shown, null);
    assert.deepStrictEqual([next.name, next.colormap, next.viewport, next.axes, next.index, next.grid], ['b', 'RdBu', null, [0, 1], [0, 0], null]);
    // A restored panel (no settings in use yet) takes its saved ones when they are this array's.
    const saved = { ...shown, name: 'c', path: '/dev/shm/c', index: [99, 0, 0], axes: [5, 1] as [number, number] };
    const restored = settingsFor(arr('c', [4, 20, 30]), defaultState('', ''), saved);
    assert.deepStrictEqual([restored.viewport, restored.index, restored.axes], [shown.viewport, [3, 0, 0], [1, 2]], 'out-of-range axes and indices are fitted');
    assert.deepStrictEqual(restored.grid, { row: 5, col: 6 }, 'the Table toggle, on where it was');
    // A tensor is another array; a real array shows magnitudes.
    const t = settingsFor(arr('c', [4, 20, 30], { tensor: 'w' }), { ...restored, part: 'phase' }, null);
    assert.deepStrictEqual([t.tensor, t.viewport, t.part], ['w', null, 'magnitude']);
    assert.strictEqual(settingsFor(arr('z', [8]), t, null).axes, null);
  });
});
