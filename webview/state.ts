/** What the viewer remembers across reloads (vscode.setState), with its checks. DOM-free. */
import { isColormap, type ColormapName } from '../contract/colormaps';
import { DEFAULT_REDUCE_MODE, isComplexPart, isReduceMode, type ComplexPart, type ReduceMode } from '../contract/reduce';
import { isDomainMode, isScale, type DomainMode, type ScaleName } from './scales';
import type { Viewport } from './viewport';

export const LIVE_INTERVALS = [0.5, 1, 2, 5] as const;

export interface ViewState {
  v: 1;
  /** Name and path of the array this state belongs to (the panel serializer reads them). */
  name: string;
  path: string;
  tensor: string | null;
  colormap: ColormapName;
  invert: boolean;
  scale: ScaleName;
  domain: DomainMode;
  customLo: number | null;
  customHi: number | null;
  mode: ReduceMode;
  aspect: 'equal' | 'fill' | null;
  axes: [number, number] | null;
  index: number[];
  part: ComplexPart;
  viewport: Viewport | null;
  /** Seconds between re-reads; 0 = off. */
  live: number;
  paused: boolean;
  /** The Table toggle: on, the cell in the middle of the grid of values (a reload shows it there again); off, null. */
  grid: { row: number; col: number } | null;
  /** Columns of that grid the user resized, [column, width in px] (kept across toggles and reloads; at most GRID_WIDTHS_KEPT). */
  gridWidths: [number, number][];
}

/** How many resized grid columns a state keeps (the most recently resized). */
export const GRID_WIDTHS_KEPT = 256;

export function defaultState(name: string, path: string): ViewState {
  return {
    v: 1,
    name,
    path,
    tensor: null,
    colormap: 'viridis',
    invert: false,
    scale: 'linear',
    domain: 'minmax',
    customLo: null,
    customHi: null,
    mode: DEFAULT_REDUCE_MODE,
    aspect: null,
    axes: null,
    index: [],
    part: 'magnitude',
    viewport: null,
    live: 0,
    paused: false,
    grid: null,
    gridWidths: [],
  };
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A stored state, checked field by field (anything odd falls back to the default). */
export function sanitizeState(raw: unknown): ViewState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (r.v !== 1 || typeof r.path !== 'string' || typeof r.name !== 'string') return null;
  const d = defaultState(r.name, r.path);
  const vp = r.viewport as Record<string, unknown> | null | undefined;
  const viewport =
    vp && ['x0', 'x1', 'y0', 'y1'].every((k) => typeof vp[k] === 'number' && Number.isFinite(vp[k] as number))
      ? { x0: vp.x0 as number, x1: vp.x1 as number, y0: vp.y0 as number, y1: vp.y1 as number }
      : null;
  const g = r.grid as Record<string, unknown> | null | undefined;
  const grid =
    g && Number.isSafeInteger(g.row) && Number.isSafeInteger(g.col) && (g.row as number) >= 0 && (g.col as number) >= 0
      ? { row: g.row as number, col: g.col as number }
      : null;
  const axes =
    Array.isArray(r.axes) && r.axes.length === 2 && r.axes.every((a) => Number.isInteger(a) && a >= 0) ? ([r.axes[0], r.axes[1]] as [number, number]) : null;
  return {
    v: 1,
    name: r.name,
    path: r.path,
    tensor: typeof r.tensor === 'string' ? r.tensor : null,
    colormap: isColormap(r.colormap) ? r.colormap : d.colormap,
    invert: r.invert === true,
    scale: isScale(r.scale) ? r.scale : d.scale,
    domain: isDomainMode(r.domain) ? r.domain : d.domain,
    customLo: finiteOrNull(r.customLo),
    customHi: finiteOrNull(r.customHi),
    mode: isReduceMode(r.mode) ? r.mode : d.mode,
    aspect: r.aspect === 'equal' || r.aspect === 'fill' ? r.aspect : null,
    axes,
    index: Array.isArray(r.index) && r.index.every((i) => Number.isInteger(i) && i >= 0) ? (r.index as number[]) : [],
    part: isComplexPart(r.part) ? r.part : d.part,
    viewport,
    live: (LIVE_INTERVALS as readonly number[]).includes(r.live as number) ? (r.live as number) : 0,
    paused: r.paused === true,
    grid,
    gridWidths: Array.isArray(r.gridWidths)
      ? (r.gridWidths as unknown[])
          .filter(
            (p): p is [number, number] =>
              Array.isArray(p) && p.length === 2 && Number.isSafeInteger(p[0]) && (p[0] as number) >= 0 && typeof p[1] === 'number' && Number.isFinite(p[1]),
          )
          .slice(-GRID_WIDTHS_KEPT)
      : [],
  };
}

/** What settingsFor needs to know of the array shown. */
export interface ArrayFacts {
  name: string;
  path: string;
  tensor?: string;
  shape: number[];
  complex: boolean;
}

/**
 * The settings for an array about to be shown: those in use when it is the same array (a reopen),
 * else the saved ones when they are its own (a restored panel), else a fresh slice and zoom that
 * keep the display choices of the array shown before (or of the saved state). Axes, indices and
 * the complex part are then fitted to its shape.
 */
export function settingsFor(a: ArrayFacts, previous: ViewState, saved: ViewState | null): ViewState {
  const same = (s: ViewState | null) => !!s && s.path === a.path && s.name === a.name && (s.tensor ?? null) === (a.tensor ?? null);
  let st: ViewState;
  if (same(previous)) st = previous;
  else if (same(saved)) st = saved!;
  else {
    const d = defaultState(a.name, a.path);
    const keep = previous.path ? previous : (saved ?? d);
    st = { ...d, colormap: keep.colormap, invert: keep.invert, scale: keep.scale, domain: keep.domain, mode: keep.mode, live: keep.live };
  }
  st.tensor = a.tensor ?? null;
  const nd = a.shape.length;
  if (nd >= 2) {
    const ok = st.axes && st.axes[0] < nd && st.axes[1] < nd && st.axes[0] !== st.axes[1];
    if (!ok) st.axes = [nd - 2, nd - 1];
  } else st.axes = null;
  st.index = a.shape.map((n, k) => Math.min(Math.max(0, st.index[k] ?? 0), Math.max(0, n - 1)));
  if (!a.complex) st.part = 'magnitude';
  return st;
}
