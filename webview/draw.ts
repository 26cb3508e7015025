/**
 * The heatmap viewer's drawing, as functions of what they draw: the colour domain of a scene, the
 * figure (heatmap or line, axes, colorbar, legend), the statistics line, the tooltip, the title and
 * the figure as one PNG. No state of their own: the viewer passes its scene each time.
 */
import { cssColor, specialColors } from '../contract/colormaps';
import type { StatsSummary } from '../contract/protocol';
import {
  colorTile,
  drawCells,
  drawColorbar,
  drawHeatmap,
  drawLine,
  drawXAxis,
  drawYAxis,
  legendHtml,
  singleCells,
  type Layout,
  type LineData,
  type Theme,
  type Tile,
} from './plot';
import { effectiveScale, makeNorm, resolveDomain, type Norm } from './scales';
import type { ViewState } from './state';
import { formatCount, formatValue } from './ticks';
import { isFull, type Extent, type Viewport } from './viewport';

export interface FigureElements {
  figure: HTMLElement;
  heatmap: HTMLCanvasElement;
  cells: HTMLCanvasElement;
  xaxis: HTMLCanvasElement;
  yaxis: HTMLCanvasElement;
  colorbar: HTMLCanvasElement;
  legend: HTMLElement;
}

/** What a figure shows. */
export interface Scene {
  st: ViewState;
  plot: 'heatmap' | 'line';
  layout: Layout;
  vp: Viewport;
  extent: Extent;
  tile: Tile | null;
  line: LineData | null;
  stats: StatsSummary | null;
  theme: Theme;
  titles: { x: string; y: string };
  hover: { row: number; col: number } | null;
}

/** The colour (or value-axis) scale of a scene, a note for the legend, and which domain it used. */
export function sceneNorm(
  s: Omit<Scene, 'theme' | 'titles' | 'hover'>,
  canvas: { width: number; height: number },
): { norm: Norm; note: string | null; domainUsed: string } {
  const { st } = s;
  const custom = st.customLo !== null && st.customHi !== null ? { lo: st.customLo, hi: st.customHi } : null;
  const visible = s.plot === 'line' ? (s.line ? { min: s.line.min, max: s.line.max } : null) : s.tile ? { min: s.tile.min, max: s.tile.max } : null;
  if (s.plot === 'line') {
    // A line plot's value axis fits the visible samples (or the custom domain).
    const d = resolveDomain({ mode: st.domain === 'custom' ? 'custom' : 'visible', scale: st.scale, stats: s.stats, visible, custom });
    let { lo, hi } = d;
    const scale = effectiveScale(st.scale, d);
    if (st.domain !== 'custom') {
      if (scale === 'linear' || scale === 'sqrt') {
        const pad = hi > lo ? (hi - lo) * 0.05 : Math.abs(lo) * 0.05 || 1;
        lo -= pad;
        hi += pad;
      } else if (hi === lo) {
        hi = lo * 10;
      }
    }
    return { norm: makeNorm(scale, lo, hi), note: d.note, domainUsed: st.domain };
  }
  // Zoomed in to single elements, the whole array's min-max would paint neighbours alike: the
  // colours span the visible cells instead, and the legend says so.
  const single = st.domain === 'minmax' && !isFull(s.vp, s.extent) && singleCells(s.tile, s.vp, canvas.width, canvas.height) !== null;
  const d = resolveDomain({ mode: single ? 'visible' : st.domain, scale: st.scale, stats: s.stats, visible, custom });
  const note = single ? `colours: visible cells, ${formatValue(d.lo)} … ${formatValue(d.hi)}${d.note ? `; ${d.note}` : ''}` : d.note;
  return { norm: makeNorm(effectiveScale(st.scale, d), d.lo, d.hi), note, domainUsed: single ? 'visible' : st.domain };
}

/** The cells' canvas (borders, values, the hovered cell's outline when zoomed to single elements). */
export function paintCells(el: Pick<FigureElements, 'cells' | 'heatmap'>, s: Pick<Scene, 'plot' | 'tile' | 'vp' | 'hover' | 'theme'> & { dpr: number }): void {
  const single = drawCells(el.cells, s.plot === 'heatmap' ? s.tile : null, s.vp, {
    label: (v) => formatValue(v, 4),
    hover: s.hover,
    dpr: s.dpr,
    fontFamily: s.theme.font.replace(/^\S+\s+/, ''),
  });
  el.heatmap.dataset.cells = single ? 'single' : 'reduced';
}

/** Draws the whole figure; the heatmap canvas's data attributes say what is shown (the tests read them). */
export function drawFigure(el: FigureElements, s: Scene): void {
  const { layout, vp, st, theme } = s;
  const { norm, note, domainUsed } = sceneNorm(s, el.heatmap);
  if (s.plot === 'heatmap') el.heatmap.dataset.domainUsed = domainUsed;
  if (s.plot === 'heatmap') {
    const key = `${st.colormap}|${st.invert}|${norm.scale}|${norm.lo}|${norm.hi}`;
    if (s.tile && (!s.tile.image || s.tile.colorKey !== key)) {
      colorTile(s.tile, norm, st.colormap, st.invert);
      s.tile.colorKey = key;
    }
    drawHeatmap(el.heatmap, s.tile, vp);
    paintCells(el, { ...s, dpr: layout.dpr });
    drawYAxis(el.yaxis, layout, vp, s.titles.y, theme, null);
    drawColorbar(el.colorbar, layout, norm, st.colormap, st.invert, s.stats, theme);
  } else {
    drawLine(el.heatmap, s.line, vp, norm, theme, layout.dpr);
    paintCells(el, { ...s, dpr: layout.dpr });
    drawYAxis(el.yaxis, layout, vp, s.titles.y, theme, norm);
  }
  drawXAxis(el.xaxis, layout, vp, s.titles.x, theme);
  el.heatmap.dataset.view = [vp.x0, vp.x1, vp.y0, vp.y1].map((v) => +v.toFixed(3)).join(',');
  el.heatmap.dataset.lo = String(norm.lo);
  el.heatmap.dataset.hi = String(norm.hi);
  el.heatmap.dataset.scale = norm.scale;
  drawLegend(el.legend, s.plot === 'heatmap' ? st : null, s.stats, note);
}

/** The legend line: the special colours and their counts, and the domain's note (none for a line plot). */
function drawLegend(legend: HTMLElement, st: ViewState | null, stats: StatsSummary | null, note: string | null): void {
  if (!st) {
    legend.replaceChildren();
    return;
  }
  legend.innerHTML = legendHtml(st.colormap, stats);
  for (const s of legend.querySelectorAll<HTMLElement>('.swatch[data-color]')) s.style.background = s.dataset.color ?? '';
  const sp = specialColors(st.colormap);
  legend.dataset.posInf = cssColor(sp.posInf);
  legend.dataset.negInf = cssColor(sp.negInf);
  if (note) {
    const n = document.createElement('span');
    n.textContent = note;
    legend.append(n);
  }
}

/** `min … · max … · mean … · std … · N values`, or nothing before the statistics come. */
export function statsText(s: StatsSummary | null): string {
  if (!s) return '';
  return [
    `min ${formatValue(s.min)}`,
    `max ${formatValue(s.max)}`,
    `mean ${formatValue(s.mean)}`,
    `std ${formatValue(s.std)}`,
    `${formatCount(s.count)} values`,
  ].join(' · ');
}

/** The value under (row, col) as shown, and how many elements it stands for; null outside what is drawn. */
export function cellValue(plot: 'heatmap' | 'line', tile: Tile | null, line: LineData | null, row: number, col: number): { value: number; elements: number } | null {
  if (plot === 'line') {
    if (!line || col < line.window.c0 || col >= line.window.c1) return null;
    const n = line.window.c1 - line.window.c0;
    const i = Math.floor(((col - line.window.c0) * line.width) / n);
    return { value: line.mins[i], elements: Math.ceil(n / line.width) };
  }
  if (!tile) return null;
  const w = tile.window;
  if (row < w.r0 || row >= w.r1 || col < w.c0 || col >= w.c1) return null;
  const n = w.r1 - w.r0;
  const m = w.c1 - w.c0;
  // The grid cell holding (row, col): cell i covers [r0 + floor(i*n/H), r0 + floor((i+1)*n/H)).
  let i = Math.floor(((row - w.r0) * tile.height) / n);
  while (i > 0 && w.r0 + Math.floor((i * n) / tile.height) > row) i--;
  while (i < tile.height - 1 && w.r0 + Math.floor(((i + 1) * n) / tile.height) <= row) i++;
  let j = Math.floor(((col - w.c0) * tile.width) / m);
  while (j > 0 && w.c0 + Math.floor((j * m) / tile.width) > col) j--;
  while (j < tile.width - 1 && w.c0 + Math.floor(((j + 1) * m) / tile.width) <= col) j++;
  const rows = Math.floor(((i + 1) * n) / tile.height) - Math.floor((i * n) / tile.height);
  const cols = Math.floor(((j + 1) * m) / tile.width) - Math.floor((j * m) / tile.width);
  return { value: tile.values[i * tile.width + j], elements: rows * cols };
}

/** The tooltip's rows (a key, its text, a class for the value). */
export function fillTooltip(tooltip: HTMLElement, rows: [string, string, string?][]): void {
  tooltip.replaceChildren(
    ...rows.map(([k, v, cls]) => {
      const d = document.createElement('div');
      const a = document.createElement('span');
      a.className = 'k';
      a.textContent = k.padEnd(7);
      const b = document.createElement('span');
      b.textContent = v;
      if (cls) b.className = cls;
      d.append(a, b);
      return d;
    }),
  );
}

/** Characters of a long name kept whole at its end (`_1a2b3c4d.npy`: what tells segments apart). */
const TITLE_TAIL = 16;

/**
 * The name in the header, cut in its middle when it does not fit: its start shrinks with an
 * ellipsis, its end stays. The element's text is the whole name; hovering shows it too.
 */
export function setTitle(title: HTMLElement, name: string): void {
  const cut = name.length > TITLE_TAIL * 2 ? name.length - TITLE_TAIL : name.length;
  const head = document.createElement('span');
  head.className = 'head';
  head.textContent = name.slice(0, cut);
  const tail = document.createElement('span');
  tail.className = 'tail';
  tail.textContent = name.slice(cut);
  // The start gives way to the end: the room the end's characters take (a little over 1ch each).
  const tailChars = name.length - cut;
  head.style.maxWidth = tailChars > 0 ? `calc(100% - ${(tailChars * 1.15).toFixed(1)}ch)` : '100%';
  title.replaceChildren(head, tail);
  title.title = name;
}

/** The figure (a header line, plot, axes, colorbar) as one PNG data URL. */
export function composeFigure(el: FigureElements, layout: Layout, theme: Theme, header: string): string {
  const dpr = layout.dpr;
  const W = el.figure.clientWidth;
  const head = 28;
  const c = document.createElement('canvas');
  c.width = Math.round(W * dpr);
  c.height = Math.round((el.figure.clientHeight + head) * dpr);
  const ctx = c.getContext('2d') as CanvasRenderingContext2D;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.scale(dpr, dpr);
  ctx.font = `600 ${theme.font}`;
  ctx.fillStyle = theme.fg;
  ctx.textBaseline = 'middle';
  ctx.fillText(header, 12, head / 2);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  const put = (canvas: HTMLCanvasElement) => {
    if (canvas.hidden || !canvas.width) return;
    const x = parseFloat(canvas.style.left) || 0;
    const y = (parseFloat(canvas.style.top) || 0) + head;
    ctx.drawImage(canvas, Math.round(x * dpr), Math.round(y * dpr));
  };
  for (const cv of [el.yaxis, el.xaxis, el.colorbar, el.heatmap]) put(cv);
  return c.toDataURL('image/png');
}
