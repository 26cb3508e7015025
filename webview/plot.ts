/**
 * Drawing: the heatmap (a colourised tile stretched over its window), the line
 * plot of 1-D arrays (min/max envelope), index axes, and the colorbar with the
 * value histogram beside it. Canvases are sized in device pixels.
 */
import { colorize, cssColor, lut, specialColors, type ColormapName } from '../contract/colormaps';
import { rebin, type Norm } from './scales';
import { formatTick, formatValue, indexTicks, niceStep, scaleTicks } from './ticks';
import type { Viewport } from './viewport';
import { windowRect } from './viewport';
import type { CellGrid, HostToWebview, StatsSummary } from '../contract/protocol';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where everything goes inside #figure, in CSS pixels. */
export interface Layout {
  dpr: number;
  plot: Rect;
  yaxis: Rect;
  xaxis: Rect;
  colorbar: Rect | null;
  /** Quick Look's narrow layout: thin margins, no axis titles, no histogram beside the colorbar. */
  compact: boolean;
}

export const MARGIN_FULL = { left: 70, bottom: 42, top: 10, right: 132, rightLine: 36 };
const MARGIN_COMPACT = { left: 44, bottom: 22, top: 8, right: 62, rightLine: 24 };

function fitCanvas(c: HTMLCanvasElement, r: Rect, dpr: number): void {
  c.style.left = `${Math.round(r.x)}px`;
  c.style.top = `${Math.round(r.y)}px`;
  c.style.width = `${Math.round(r.w)}px`;
  c.style.height = `${Math.round(r.h)}px`;
  const w = Math.max(1, Math.round(Math.round(r.w) * dpr));
  const h = Math.max(1, Math.round(Math.round(r.h) * dpr));
  if (c.width !== w) c.width = w;
  if (c.height !== h) c.height = h;
}

/**
 * Lays the figure out in a box of width x height CSS pixels. `aspect` (columns/rows
 * of the full array) fixes the plot's shape when cells are to stay square.
 */
export function computeLayout(width: number, height: number, opts: { aspect: number | null; colorbar: boolean; compact?: boolean }): Layout {
  const dpr = window.devicePixelRatio || 1;
  const compact = opts.compact ?? false;
  const MARGIN = compact ? MARGIN_COMPACT : MARGIN_FULL;
  const right = opts.colorbar ? MARGIN.right : MARGIN.rightLine;
  const aw = Math.max(40, width - MARGIN.left - right);
  const ah = Math.max(40, height - MARGIN.top - MARGIN.bottom);
  let pw = aw;
  let ph = ah;
  if (opts.aspect !== null && opts.aspect > 0) {
    if (aw / ah > opts.aspect) pw = ah * opts.aspect;
    else ph = aw / opts.aspect;
    pw = Math.max(8, pw);
    ph = Math.max(8, ph);
  }
  pw = Math.round(pw);
  ph = Math.round(ph);
  const ox = Math.max(0, Math.round((width - (MARGIN.left + pw + right)) / 2));
  const oy = Math.max(0, Math.round((height - (MARGIN.top + ph + MARGIN.bottom)) / 2));
  const plot = { x: ox + MARGIN.left, y: oy + MARGIN.top, w: pw, h: ph };
  return {
    dpr,
    plot,
    yaxis: { x: ox, y: oy, w: MARGIN.left, h: ph + MARGIN.top + 8 },
    xaxis: { x: plot.x - 40, y: plot.y + ph, w: pw + 80, h: MARGIN.bottom },
    colorbar: opts.colorbar ? { x: plot.x + pw, y: oy, w: right, h: ph + MARGIN.top * 2 } : null,
    compact,
  };
}

export function placeCanvases(
  l: Layout,
  c: {
    heatmap: HTMLCanvasElement;
    cells: HTMLCanvasElement;
    overlay: HTMLCanvasElement;
    yaxis: HTMLCanvasElement;
    xaxis: HTMLCanvasElement;
    colorbar: HTMLCanvasElement;
  },
): void {
  fitCanvas(c.heatmap, l.plot, l.dpr);
  fitCanvas(c.cells, l.plot, l.dpr);
  fitCanvas(c.overlay, l.plot, l.dpr);
  fitCanvas(c.yaxis, l.yaxis, l.dpr);
  fitCanvas(c.xaxis, l.xaxis, l.dpr);
  if (l.colorbar) {
    c.colorbar.hidden = false;
    fitCanvas(c.colorbar, l.colorbar, l.dpr);
  } else {
    c.colorbar.hidden = true;
  }
}

/** Theme colours and font, read from VS Code's CSS variables. */
export interface Theme {
  fg: string;
  muted: string;
  grid: string;
  line: string;
  font: string;
  background: string;
}

export function readTheme(): Theme {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  const size = parseFloat(v('--vscode-font-size', '13')) || 13;
  return {
    fg: v('--vscode-foreground', '#cccccc'),
    muted: v('--vscode-descriptionForeground', '#9d9d9d'),
    grid: v('--vscode-editorWidget-border', v('--vscode-widget-border', 'rgba(128,128,128,0.45)')),
    line: v('--vscode-charts-blue', '#3794ff'),
    font: `${Math.max(10, size - 1)}px ${v('--vscode-font-family', 'sans-serif')}`,
    background: v('--vscode-editor-background', '#1e1e1e'),
  };
}

// ---- heatmap ------------------------------------------------------------

export interface Tile extends CellGrid {
  mode: string;
  final: boolean;
  image: HTMLCanvasElement | null;
  /** The colours `image` was made with (colormap, inversion, scale, domain). */
  colorKey?: string;
}

/** (Re)colours a tile into its own small canvas, one pixel per cell. */
export function colorTile(tile: Tile, norm: Norm, cmap: ColormapName, inverted: boolean): void {
  const img = tile.image ?? document.createElement('canvas');
  img.width = tile.width;
  img.height = tile.height;
  const ctx = img.getContext('2d') as CanvasRenderingContext2D;
  const data = ctx.createImageData(tile.width, tile.height);
  colorize(tile.values, data.data, norm, cmap, inverted);
  ctx.putImageData(data, 0, 0);
  tile.image = img;
}

/** Device pixels a cell must span, both ways, before the heatmap draws single elements as a grid. */
export const SINGLE_CELL_PX = 8;
/** ... and before each cell carries its value written in it. */
const LABEL_CELL_W = 46;
const LABEL_CELL_H = 15;

/**
 * When the tile holds one element per cell (an exact tile) and each cell spans at least
 * SINGLE_CELL_PX device pixels on a canvas of this size: the cells' size in device pixels; else null.
 */
export function singleCells(tile: Tile | null, vp: Viewport, widthPx: number, heightPx: number): { w: number; h: number } | null {
  if (!tile) return null;
  const win = tile.window;
  if (tile.width !== win.c1 - win.c0 || tile.height !== win.r1 - win.r0) return null;
  const r = windowRect(win, vp, widthPx, heightPx);
  const w = r.w / tile.width;
  const h = r.h / tile.height;
  return w >= SINGLE_CELL_PX && h >= SINGLE_CELL_PX ? { w, h } : null;
}

/** Black or white, whichever reads better on an RGB colour. */
function inkOn(r: number, g: number, b: number): string {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 ? 'rgba(0,0,0,0.85)' : 'rgba(255,255,255,0.92)';
}

/** Draws the tile where its window falls in the viewport (blocks when cells are bigger than pixels). */
export function drawHeatmap(canvas: HTMLCanvasElement, tile: Tile | null, vp: Viewport): void {
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!tile?.image) return;
  const r = windowRect(tile.window, vp, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile.image, r.x, r.y, r.w, r.h);
}

/**
 * On the transparent canvas over the heatmap (`canvas`): zoomed in to single elements, the cells'
 * borders (neighbours of one colour stay tellable apart), their values when they are wide enough
 * (`label`), and the hovered cell's outline; nothing otherwise. True when it drew cells.
 */
export function drawCells(
  canvas: HTMLCanvasElement,
  tile: Tile | null,
  vp: Viewport,
  cells: { label: (v: number) => string; hover: { row: number; col: number } | null; dpr: number; fontFamily: string },
): boolean {
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const size = singleCells(tile, vp, canvas.width, canvas.height);
  if (!tile?.image || !size) return false;
  const r = windowRect(tile.window, vp, canvas.width, canvas.height);
  const { w, h } = size;
  // Borders: a thin line between cells, visible on light and dark colours alike.
  ctx.save();
  ctx.beginPath();
  for (let j = 0; j <= tile.width; j++) {
    const x = Math.round(r.x + j * w) + 0.5;
    if (x < -1 || x > canvas.width + 1) continue;
    ctx.moveTo(x, Math.max(0, r.y));
    ctx.lineTo(x, Math.min(canvas.height, r.y + r.h));
  }
  for (let i = 0; i <= tile.height; i++) {
    const y = Math.round(r.y + i * h) + 0.5;
    if (y < -1 || y > canvas.height + 1) continue;
    ctx.moveTo(Math.max(0, r.x), y);
    ctx.lineTo(Math.min(canvas.width, r.x + r.w), y);
  }
  ctx.lineWidth = 1;
  ctx.strokeStyle = 'rgba(128,128,128,0.6)';
  ctx.stroke();
  if (w >= LABEL_CELL_W * cells.dpr && h >= LABEL_CELL_H * cells.dpr) {
    const colours = (tile.image.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, tile.width, tile.height).data;
    const px = Math.max(9, Math.min(13, Math.floor(h / cells.dpr / 2.2))) * cells.dpr;
    ctx.font = `${px}px ${cells.fontFamily}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let i = 0; i < tile.height; i++) {
      const cy = r.y + (i + 0.5) * h;
      if (cy < 0 || cy > canvas.height) continue;
      for (let j = 0; j < tile.width; j++) {
        const cx = r.x + (j + 0.5) * w;
        if (cx < 0 || cx > canvas.width) continue;
        const k = (i * tile.width + j) * 4;
        ctx.fillStyle = inkOn(colours[k], colours[k + 1], colours[k + 2]);
        ctx.fillText(cells.label(tile.values[i * tile.width + j]), cx, cy, w - 4 * cells.dpr);
      }
    }
  }
  const hv = cells.hover;
  if (hv && hv.row >= tile.window.r0 && hv.row < tile.window.r1 && hv.col >= tile.window.c0 && hv.col < tile.window.c1) {
    const x = r.x + (hv.col - tile.window.c0) * w;
    const y = r.y + (hv.row - tile.window.r0) * h;
    ctx.lineWidth = 2 * cells.dpr;
    ctx.strokeStyle = 'rgba(0,0,0,0.9)';
    ctx.strokeRect(x + cells.dpr, y + cells.dpr, w - 2 * cells.dpr, h - 2 * cells.dpr);
    ctx.lineWidth = cells.dpr;
    ctx.strokeStyle = 'rgba(255,255,255,0.95)';
    ctx.strokeRect(x + 2 * cells.dpr, y + 2 * cells.dpr, w - 4 * cells.dpr, h - 4 * cells.dpr);
  }
  ctx.restore();
  return true;
}

// ---- line plot ----------------------------------------------------------

/** A 1-D array's envelope, as the host's 'line' message carries it. */
export type LineData = Omit<Extract<HostToWebview, { type: 'line' }>, 'type'>;

/** The line plot of a 1-D array: the min/max envelope per column, or the samples themselves when zoomed in. */
export function drawLine(canvas: HTMLCanvasElement, line: LineData | null, vp: Viewport, norm: Norm, theme: Theme, dpr: number): void {
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const H = canvas.height;
  const W = canvas.width;
  // Grid lines at the value ticks.
  ctx.strokeStyle = theme.grid;
  ctx.globalAlpha = 0.5;
  ctx.lineWidth = 1;
  for (const v of scaleTicks(norm.scale, norm.lo, norm.hi, Math.max(2, Math.round(H / dpr / 50)), norm.c)) {
    const y = Math.round(H - norm.t(v) * H) + 0.5;
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(W, y);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  if (!line) return;
  const n = line.window.c1 - line.window.c0;
  const kx = W / (vp.x1 - vp.x0);
  const yOf = (v: number) => {
    if (v !== v) return NaN;
    if (v === Infinity) return -2;
    if (v === -Infinity) return H + 2;
    return H - Math.max(-0.02, Math.min(1.02, norm.t(v))) * H;
  };
  ctx.strokeStyle = theme.line;
  ctx.fillStyle = theme.line;
  const exact = line.width >= n;
  const xOf = (i: number) => (line.window.c0 + (exact ? i + 0.5 : ((i + 0.5) * n) / line.width) - vp.x0) * kx;
  if (exact) {
    // Few enough samples: a polyline through them (gaps at NaN), with markers when far apart.
    ctx.lineWidth = Math.max(1, dpr * 1.5);
    ctx.lineJoin = 'round';
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < line.width; i++) {
      const y = yOf(line.mins[i]);
      if (Number.isNaN(y)) {
        pen = false;
        continue;
      }
      if (pen) ctx.lineTo(xOf(i), y);
      else ctx.moveTo(xOf(i), y);
      pen = true;
    }
    ctx.stroke();
    if (kx >= 6 * dpr) {
      for (let i = 0; i < line.width; i++) {
        const y = yOf(line.mins[i]);
        if (Number.isNaN(y)) continue;
        ctx.beginPath();
        ctx.arc(xOf(i), y, 2.5 * dpr, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    return;
  }
  // Many samples per pixel column: a bar from the column's min to its max, stretched to
  // reach the neighbour's range so that the trace stays connected.
  const colW = Math.max(1, W / line.width);
  let prevLo = NaN;
  let prevHi = NaN;
  for (let i = 0; i < line.width; i++) {
    let a = yOf(line.maxs[i]);
    let b = yOf(line.mins[i]);
    if (Number.isNaN(a) || Number.isNaN(b)) {
      prevLo = prevHi = NaN;
      continue;
    }
    const top = Math.min(a, b);
    const bottom = Math.max(a, b);
    a = Number.isNaN(prevHi) ? top : Math.min(top, prevHi);
    b = Number.isNaN(prevLo) ? bottom : Math.max(bottom, prevLo);
    ctx.fillRect(Math.floor(xOf(i) - colW / 2), Math.floor(a - dpr / 2), Math.ceil(colW), Math.max(dpr * 1.5, b - a + dpr));
    prevLo = top;
    prevHi = bottom;
  }
}

// ---- axes ---------------------------------------------------------------

function prep(canvas: HTMLCanvasElement, dpr: number, theme: Theme): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = theme.font;
  ctx.fillStyle = theme.muted;
  ctx.strokeStyle = theme.grid;
  ctx.lineWidth = 1;
  return ctx;
}

/** The bottom axis: column indices (or sample indices of a line plot). */
export function drawXAxis(canvas: HTMLCanvasElement, l: Layout, vp: Viewport, title: string, theme: Theme): void {
  const ctx = prep(canvas, l.dpr, theme);
  const pw = l.plot.w;
  const off = l.plot.x - l.xaxis.x;
  const k = pw / (vp.x1 - vp.x0);
  ctx.beginPath();
  ctx.moveTo(off, 0.5);
  ctx.lineTo(off + pw, 0.5);
  ctx.stroke();
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const ticks = indexTicks(vp.x0, vp.x1, Math.max(2, Math.floor(pw / 90)));
  for (const i of ticks) {
    const x = Math.round(off + (i + 0.5 - vp.x0) * k) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, 5);
    ctx.stroke();
    ctx.fillText(String(i), x, 8);
  }
  if (l.compact) return;
  ctx.fillStyle = theme.fg;
  ctx.fillText(title, off + pw / 2, 25);
}

/** The left axis: row indices (heatmap, row 0 at the top) or values (line plot). */
export function drawYAxis(canvas: HTMLCanvasElement, l: Layout, vp: Viewport, title: string, theme: Theme, valueNorm: Norm | null): void {
  const ctx = prep(canvas, l.dpr, theme);
  const ph = l.plot.h;
  const top = l.plot.y - l.yaxis.y;
  const right = l.yaxis.w - 0.5;
  ctx.beginPath();
  ctx.moveTo(right, top);
  ctx.lineTo(right, top + ph);
  ctx.stroke();
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const count = Math.max(2, Math.floor(ph / 50));
  if (valueNorm) {
    const ticks = scaleTicks(valueNorm.scale, valueNorm.lo, valueNorm.hi, count, valueNorm.c);
    const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : niceStep(valueNorm.hi - valueNorm.lo, count);
    for (const v of ticks) {
      const y = Math.round(top + ph - valueNorm.t(v) * ph) + 0.5;
      ctx.beginPath();
      ctx.moveTo(right - 5, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.fillText(valueNorm.scale === 'linear' || valueNorm.scale === 'sqrt' ? formatTick(v, step) : formatTick(v), right - 8, y);
    }
  } else {
    const k = ph / (vp.y1 - vp.y0);
    for (const i of indexTicks(vp.y0, vp.y1, count)) {
      const y = Math.round(top + (i + 0.5 - vp.y0) * k) + 0.5;
      ctx.beginPath();
      ctx.moveTo(right - 5, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.fillText(String(i), right - 8, y);
    }
  }
  if (l.compact) return;
  ctx.save();
  ctx.translate(12, top + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillStyle = theme.fg;
  ctx.fillText(title, 0, 0);
  ctx.restore();
}

// ---- colorbar -----------------------------------------------------------

const CB_FULL = { gap: 10, hist: 34, bar: 14, tick: 5 };
const CB_COMPACT = { gap: 6, hist: 0, bar: 10, tick: 4 };

/**
 * The colorbar beside the plot (domain low end at the bottom), its ticks in the
 * chosen scale, and the histogram of the whole slice's values along it.
 */
export function drawColorbar(
  canvas: HTMLCanvasElement,
  l: Layout,
  norm: Norm,
  cmap: ColormapName,
  inverted: boolean,
  stats: StatsSummary | null,
  theme: Theme,
): void {
  if (!l.colorbar) return;
  const CB = l.compact ? CB_COMPACT : CB_FULL;
  const ctx = prep(canvas, l.dpr, theme);
  const top = l.plot.y - l.colorbar.y;
  const h = l.plot.h;
  const bx = CB.gap + CB.hist + 2;
  const table = lut(cmap, inverted);
  const rows = Math.max(1, Math.round(h * l.dpr));
  // The bar, one device pixel row at a time.
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  for (let y = 0; y < rows; y++) {
    const t = 1 - (y + 0.5) / rows;
    const i = Math.min(255, Math.floor(t * 256)) * 3;
    ctx.fillStyle = `rgb(${table[i]},${table[i + 1]},${table[i + 2]})`;
    ctx.fillRect(Math.round(bx * l.dpr), Math.round(top * l.dpr) + y, Math.round(CB.bar * l.dpr), 1);
  }
  // Histogram: counts of the values that fall in each band of rows (2 CSS px), square-root scaled.
  if (CB.hist > 0 && stats && stats.histogram.length > 0) {
    const band = Math.max(1, Math.round(2 * l.dpr));
    const nb = Math.ceil(rows / band);
    const edges = new Float64Array(nb + 1);
    for (let k = 0; k <= nb; k++) edges[k] = norm.inv(1 - Math.min(rows, k * band) / rows);
    const counts = rebin(stats.histogram, stats.histMin, stats.histMax, edges);
    let peak = 0;
    for (const c of counts) peak = Math.max(peak, c);
    if (peak > 0) {
      ctx.fillStyle = theme.muted;
      ctx.globalAlpha = 0.6;
      const x1 = Math.round((bx - 3) * l.dpr);
      const span = CB.hist * l.dpr;
      const sp = Math.sqrt(peak);
      const y0 = Math.round(top * l.dpr);
      for (let k = 0; k < nb; k++) {
        if (counts[k] <= 0) continue;
        const w = Math.max(1, (Math.sqrt(counts[k]) / sp) * span);
        const ya = y0 + k * band;
        const yb = y0 + Math.min(rows, (k + 1) * band);
        ctx.fillRect(x1 - w, ya, w, Math.max(1, yb - ya));
      }
      ctx.globalAlpha = 1;
    }
  }
  ctx.restore();
  ctx.strokeStyle = theme.grid;
  ctx.strokeRect(bx - 0.5, top - 0.5, CB.bar + 1, h + 1);
  // Ticks.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  const count = Math.max(2, Math.floor(h / 45));
  const ticks = scaleTicks(norm.scale, norm.lo, norm.hi, count, norm.c);
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : undefined;
  const tx = bx + CB.bar;
  for (const v of ticks) {
    const t = norm.t(v);
    if (!(t >= -1e-9 && t <= 1 + 1e-9)) continue;
    const y = Math.round(top + h - t * h) + 0.5;
    ctx.beginPath();
    ctx.moveTo(tx, y);
    ctx.lineTo(tx + CB.tick, y);
    ctx.stroke();
    ctx.fillText(norm.scale === 'linear' || norm.scale === 'sqrt' ? formatTick(v, step) : formatTick(v), tx + CB.tick + 3, y);
  }
  if (ticks.length < 2) {
    // Too narrow a domain for nice ticks: label the ends.
    ctx.fillText(formatValue(norm.hi, 4), tx + CB.tick + 3, top + 5);
    ctx.fillText(formatValue(norm.lo, 4), tx + CB.tick + 3, top + h - 5);
  }
  // Share of values outside the domain (clipped to the end colours).
  if (stats && stats.finiteCount > 0 && stats.histogram.length > 0) {
    const total = stats.finiteCount;
    const above = stats.histMax > norm.hi ? clippedShare(stats, norm.hi, true) / total : 0;
    const below = stats.histMin < norm.lo ? clippedShare(stats, norm.lo, false) / total : 0;
    ctx.fillStyle = theme.muted;
    ctx.textAlign = 'right';
    if (above > 0.0005) ctx.fillText(`▲${(above * 100).toFixed(1)}%`, bx - 3, top + 6);
    if (below > 0.0005) ctx.fillText(`▼${(below * 100).toFixed(1)}%`, bx - 3, top + h - 6);
  }
}

function clippedShare(s: StatsSummary, at: number, above: boolean): number {
  const n = s.histogram.length;
  const w = (s.histMax - s.histMin) / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = s.histMin + i * w;
    const b = a + w;
    if (above) sum += b <= at ? 0 : a >= at ? s.histogram[i] : (s.histogram[i] * (b - at)) / w;
    else sum += a >= at ? 0 : b <= at ? s.histogram[i] : (s.histogram[i] * (at - a)) / w;
  }
  return sum;
}

export function legendHtml(cmap: ColormapName, stats: StatsSummary | null): string {
  const sp = specialColors(cmap);
  const n = (k: number | undefined) => (stats ? ` <span class="count">${k ?? 0}</span>` : '');
  return (
    `<span title="Not a number: drawn transparent over a checkerboard"><span class="swatch nan"></span>NaN${n(stats?.nanCount)}</span>` +
    `<span><span class="swatch" data-color="${cssColor(sp.posInf)}"></span>+Inf${n(stats?.posInfCount)}</span>` +
    `<span><span class="swatch" data-color="${cssColor(sp.negInf)}"></span>−Inf${n(stats?.negInfCount)}</span>`
  );
}
