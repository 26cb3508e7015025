/**
 * Viewport arithmetic (DOM-free): the part of the matrix on screen in continuous
 * cell coordinates (x: columns, y: rows; cell (r, c) spans [c, c+1) x [r, r+1)),
 * zoom about a point, pan, box zoom, and the window and grid to ask the host for.
 */
import type { Window2D } from '../contract/protocol';

export interface Viewport {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export interface Extent {
  rows: number;
  cols: number;
}

/** Smallest span (in cells) a zoom may reach on an axis; a line plot keeps at least MIN_LINE_SPAN samples. */
export const MIN_SPAN = 1;
export const MIN_LINE_SPAN = 8;

export function fullViewport(e: Extent): Viewport {
  return { x0: 0, x1: e.cols, y0: 0, y1: e.rows };
}

export function isFull(vp: Viewport, e: Extent): boolean {
  return vp.x0 <= 0 && vp.y0 <= 0 && vp.x1 >= e.cols && vp.y1 >= e.rows;
}

function clampAxis(a0: number, a1: number, n: number): [number, number] {
  let span = a1 - a0;
  if (!(span > 0) || !Number.isFinite(span)) return [0, n];
  span = Math.min(span, n);
  let s = Math.max(0, Math.min(a0, n - span));
  if (!Number.isFinite(s)) s = 0;
  return [s, s + span];
}

/** The viewport moved (not resized) to lie within the matrix, and no larger than it. */
export function clampViewport(vp: Viewport, e: Extent): Viewport {
  const [x0, x1] = clampAxis(vp.x0, vp.x1, e.cols);
  const [y0, y1] = clampAxis(vp.y0, vp.y1, e.rows);
  return { x0, x1, y0, y1 };
}

/**
 * Zooms by `factor` (< 1 zooms in) keeping the point (fx, fy) where it is.
 * `lockAspect`: both spans change by the same factor (square cells stay square).
 * `axes: 'x'` zooms the columns only (line plots).
 */
export function zoomAt(vp: Viewport, factor: number, fx: number, fy: number, e: Extent, opts: { lockAspect?: boolean; axes?: 'xy' | 'x' } = {}): Viewport {
  const sx = vp.x1 - vp.x0;
  const sy = vp.y1 - vp.y0;
  const minX = Math.min(opts.axes === 'x' ? MIN_LINE_SPAN : MIN_SPAN, e.cols);
  const minY = Math.min(MIN_SPAN, e.rows);
  let nx: number;
  let ny: number;
  if (opts.axes === 'x') {
    nx = Math.max(minX, Math.min(e.cols, sx * factor));
    ny = sy;
  } else if (opts.lockAspect) {
    // One factor for both axes (square cells stay square), within [MIN_SPAN, extent].
    let k = factor;
    if (k > 1) k = Math.min(k, Math.max(e.cols / sx, e.rows / sy, 1));
    else k = Math.max(k, Math.min(1, Math.max(minX / sx, minY / sy)));
    nx = Math.min(e.cols, sx * k);
    ny = Math.min(e.rows, sy * k);
  } else {
    nx = Math.max(minX, Math.min(e.cols, sx * factor));
    ny = Math.max(minY, Math.min(e.rows, sy * factor));
  }
  const x0 = fx - ((fx - vp.x0) * nx) / sx;
  const y0 = opts.axes === 'x' ? vp.y0 : fy - ((fy - vp.y0) * ny) / sy;
  return clampViewport({ x0, x1: x0 + nx, y0, y1: y0 + ny }, e);
}

/** Moves the viewport by (dx, dy) cells, staying within the matrix. */
export function panBy(vp: Viewport, dx: number, dy: number, e: Extent): Viewport {
  return clampViewport({ x0: vp.x0 + dx, x1: vp.x1 + dx, y0: vp.y0 + dy, y1: vp.y1 + dy }, e);
}

/**
 * The viewport showing `box` (in cells). With `aspect` (columns per row of the plot area,
 * i.e. its width/height in cells at the current zoom), the box grows to that aspect.
 */
export function boxZoom(box: Viewport, e: Extent, aspect?: number): Viewport {
  let { x0, x1, y0, y1 } = box;
  if (x1 < x0) [x0, x1] = [x1, x0];
  if (y1 < y0) [y0, y1] = [y1, y0];
  let sx = Math.max(x1 - x0, Math.min(MIN_SPAN, e.cols));
  let sy = Math.max(y1 - y0, Math.min(MIN_SPAN, e.rows));
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  if (aspect && aspect > 0) {
    if (sx / sy < aspect) sx = sy * aspect;
    else sy = sx / aspect;
    const k = Math.max(1, sx / e.cols, sy / e.rows);
    sx /= k;
    sy /= k;
  }
  return clampViewport({ x0: cx - sx / 2, x1: cx + sx / 2, y0: cy - sy / 2, y1: cy + sy / 2 }, e);
}

/** The integer window covering the viewport. */
export function windowOf(vp: Viewport, e: Extent): Window2D {
  const r0 = Math.max(0, Math.min(e.rows - 1, Math.floor(vp.y0 + 1e-9)));
  const c0 = Math.max(0, Math.min(e.cols - 1, Math.floor(vp.x0 + 1e-9)));
  const r1 = Math.max(r0 + 1, Math.min(e.rows, Math.ceil(vp.y1 - 1e-9)));
  const c1 = Math.max(c0 + 1, Math.min(e.cols, Math.ceil(vp.x1 - 1e-9)));
  return { r0, r1, c0, c1 };
}

/** Cells to ask for: one per device pixel the window covers, never more than its elements. */
export function gridSize(win: Window2D, vp: Viewport, widthPx: number, heightPx: number): { width: number; height: number } {
  const n = win.r1 - win.r0;
  const m = win.c1 - win.c0;
  const pxPerCol = widthPx / (vp.x1 - vp.x0);
  const pxPerRow = heightPx / (vp.y1 - vp.y0);
  return {
    width: Math.max(1, Math.min(m, Math.ceil(m * pxPerCol - 1e-6))),
    height: Math.max(1, Math.min(n, Math.ceil(n * pxPerRow - 1e-6))),
  };
}

/** Where a window lands on a plot of widthPx x heightPx showing the viewport. */
export function windowRect(win: Window2D, vp: Viewport, widthPx: number, heightPx: number): { x: number; y: number; w: number; h: number } {
  const kx = widthPx / (vp.x1 - vp.x0);
  const ky = heightPx / (vp.y1 - vp.y0);
  return { x: (win.c0 - vp.x0) * kx, y: (win.r0 - vp.y0) * ky, w: (win.c1 - win.c0) * kx, h: (win.r1 - win.r0) * ky };
}

/** The cell under plot position (px, py) of a widthPx x heightPx plot. */
export function cellAt(vp: Viewport, px: number, py: number, widthPx: number, heightPx: number, e: Extent): { row: number; col: number } {
  const x = vp.x0 + (px / widthPx) * (vp.x1 - vp.x0);
  const y = vp.y0 + (py / heightPx) * (vp.y1 - vp.y0);
  return {
    row: Math.max(0, Math.min(e.rows - 1, Math.floor(y))),
    col: Math.max(0, Math.min(e.cols - 1, Math.floor(x))),
  };
}

/** The cell coordinates (continuous) of plot position (px, py). */
export function toCells(vp: Viewport, px: number, py: number, widthPx: number, heightPx: number): { x: number; y: number } {
  return { x: vp.x0 + (px / widthPx) * (vp.x1 - vp.x0), y: vp.y0 + (py / heightPx) * (vp.y1 - vp.y0) };
}
