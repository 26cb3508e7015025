/**
 * The viewer webview: a heatmap (or a line plot for 1-D arrays) of the array's
 * visible window, asked from the host at the plot's device-pixel size, so it
 * never holds more than about one value per pixel. Colours, scales and domains
 * are applied here; zoom and pan redraw the last image at once and ask for the
 * new window after a short debounce; stale answers are dropped.
 */
import { formatBytes } from '../contract/bytes';
import { cssColor, isColormap, specialColors } from '../contract/colormaps';
import { isReduceMode } from '../contract/reduce';
import { buildSlicer, byId, fillToolbar } from './controls';
import { attachInteraction } from './interaction';
import {
  colorTile,
  computeLayout,
  drawColorbar,
  drawCells,
  drawHeatmap,
  drawLine,
  singleCells,
  drawXAxis,
  drawYAxis,
  legendHtml,
  placeCanvases,
  readTheme,
  type Layout,
  type LineData,
  type Tile,
} from './plot';
import { isLastReply, type FirstPicture, type HostMessage, type HostToWebview, type SegmentSummary, type SliceSelection, type StatsSummary, type WebviewEvent, type WebviewMessage } from '../contract/protocol';
import { Requester } from '../contract/requests';
import { DOMAIN_QUANTILES, effectiveScale, isDomainMode, isScale, makeNorm, resolveDomain, type Norm } from './scales';
import { defaultState, sanitizeState, type ViewState } from './state';
import { displayText } from './text';
import { formatCount, formatValue } from './ticks';
import { validateHostMessage } from './validate';
import { cellAt, clampViewport, fullViewport, gridSize, isFull, toCells, windowOf, type Extent, type Viewport } from './viewport';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
/** When this script started (for the first-pixels timing breakdown). */
const bootAt = Date.now();
/** Quick Look's narrow layout (the page says so): no controls, thin margins. */
const COMPACT = document.body.dataset.layout === 'compact';
/**
 * Quick Look reads every element (exact cells, statistics) only of arrays up to this size; bigger
 * ones it samples, one element a cell, and leaves the passes over gigabytes to a preview editor
 * (a click shows the array in both: they would read it twice at once).
 */
const QUICK_EXACT_MAX = 256 * 1024 * 1024;
const sampledOnly = (): boolean => COMPACT && !!seg && seg.size > QUICK_EXACT_MAX;
const el = {
  title: byId('title'),
  info: byId('info'),
  status: byId('status'),
  error: byId('error'),
  errorText: byId('error-text'),
  retry: byId<HTMLButtonElement>('retry'),
  keep: byId<HTMLButtonElement>('keep'),
  open: byId<HTMLButtonElement>('open'),
  notice: byId('notice'),
  figure: byId('figure'),
  heatmap: byId<HTMLCanvasElement>('heatmap'),
  overlay: byId<HTMLCanvasElement>('overlay'),
  cells: byId<HTMLCanvasElement>('cells'),
  xaxis: byId<HTMLCanvasElement>('xaxis'),
  yaxis: byId<HTMLCanvasElement>('yaxis'),
  colorbar: byId<HTMLCanvasElement>('colorbar'),
  tooltip: byId('tooltip'),
  legend: byId('legend'),
  stats: byId('stats'),
  colormap: byId<HTMLSelectElement>('colormap'),
  invert: byId<HTMLInputElement>('invert'),
  scale: byId<HTMLSelectElement>('scale'),
  domain: byId<HTMLSelectElement>('domain'),
  customDomain: byId('custom-domain'),
  domainLo: byId<HTMLInputElement>('domain-lo'),
  domainHi: byId<HTMLInputElement>('domain-hi'),
  mode: byId<HTMLSelectElement>('mode'),
  aspect: byId<HTMLSelectElement>('aspect'),
  live: byId<HTMLSelectElement>('live'),
  pause: byId<HTMLButtonElement>('pause'),
  reset: byId<HTMLButtonElement>('reset'),
  exportPng: byId<HTMLButtonElement>('export-png'),
  saveNpy: byId<HTMLButtonElement>('save-npy'),
};

/** Milliseconds of quiet before a changed view is asked for; and the longest wait while it keeps changing. */
const DEBOUNCE_MS = 40;
const MAX_WAIT_MS = 200;

let seg: SegmentSummary | null = null;
let st: ViewState = defaultState('', '');
let extent: Extent = { rows: 1, cols: 1 };
let vp: Viewport = fullViewport(extent);
let plotKind: 'heatmap' | 'line' = 'heatmap';
let layout: Layout | null = null;
let theme = readTheme();
let tile: Tile | null = null;
let line: LineData | null = null;
let stats: StatsSummary | null = null;
let colorKey = '';
let viewTimer: number | undefined;
let viewPendingSince = 0;
let hoverTimer: number | undefined;
let hoverCell: { row: number; col: number } | null = null;
let liveTimer: number | undefined;
let requestedAt = 0;
let timingSent = false;
let firstPixelsMs: number | null = null;
let noticeTimer: number | undefined;
let statsAfterPicture = false;
/** Plot size (device pixels) of the last view asked for. */
let askedSize = '';

/** Requests to the host: numbered, replies matched, the superseded cancelled (contract/requests.ts). */
const requests = new Requester<WebviewMessage, HostMessage>({
  post: (m) => vscode.postMessage(m),
  validate: validateHostMessage,
  isLast: isLastReply,
});

function post(msg: WebviewEvent): void {
  requests.send(msg);
}

function save(): void {
  if (seg) vscode.setState({ ...st, viewport: vp });
}

// ---- slice and view geometry ---------------------------------------------

function ndim(): number {
  return seg?.shape.length ?? 2;
}

function currentSlice(): SliceSelection {
  return { axes: ndim() >= 2 ? st.axes : null, index: st.index, part: st.part };
}

function sliceExtent(): Extent {
  if (!seg) return { rows: 1, cols: 1 };
  const s = seg.shape;
  if (s.length === 0) return { rows: 1, cols: 1 };
  if (s.length === 1) return { rows: 1, cols: Math.max(1, s[0]) };
  const [r, c] = st.axes ?? [s.length - 2, s.length - 1];
  return { rows: Math.max(1, s[r]), cols: Math.max(1, s[c]) };
}

function effectiveAspect(): 'equal' | 'fill' {
  if (st.aspect) return st.aspect;
  const ratio = extent.cols / extent.rows;
  return ratio <= 8 && ratio >= 1 / 8 ? 'equal' : 'fill';
}

function lockAspect(): boolean {
  return plotKind === 'heatmap' && effectiveAspect() === 'equal';
}

function relayout(): void {
  const w = el.figure.clientWidth;
  const h = el.figure.clientHeight;
  if (w < 10 || h < 10) return;
  layout = computeLayout(w, h, {
    aspect: lockAspect() ? extent.cols / extent.rows : null,
    colorbar: plotKind === 'heatmap',
    compact: COMPACT,
  });
  placeCanvases(layout, el);
}

// ---- colours -------------------------------------------------------------

function visibleRange(): { min: number | null; max: number | null } | null {
  if (plotKind === 'line') return line ? { min: line.min, max: line.max } : null;
  return tile ? { min: tile.min, max: tile.max } : null;
}

let domainNote: string | null = null;

function currentNorm(): Norm {
  const custom = st.customLo !== null && st.customHi !== null ? { lo: st.customLo, hi: st.customHi } : null;
  if (plotKind === 'line') {
    // A line plot's value axis fits the visible samples (or the custom domain).
    const d = resolveDomain({ mode: st.domain === 'custom' ? 'custom' : 'visible', scale: st.scale, stats, visible: visibleRange(), custom });
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
    domainNote = d.note;
    return makeNorm(scale, lo, hi);
  }
  // Zoomed in to single elements, the whole array's min-max would paint neighbours alike: the
  // colours span the visible cells instead, and the legend says so.
  const single = st.domain === 'minmax' && !isFull(vp, extent) && singleCells(tile, vp, el.heatmap.width, el.heatmap.height) !== null;
  const d = resolveDomain({ mode: single ? 'visible' : st.domain, scale: st.scale, stats, visible: visibleRange(), custom });
  domainNote = single ? `colours: visible cells, ${formatValue(d.lo)} … ${formatValue(d.hi)}${d.note ? `; ${d.note}` : ''}` : d.note;
  el.heatmap.dataset.domainUsed = single ? 'visible' : st.domain;
  return makeNorm(effectiveScale(st.scale, d), d.lo, d.hi);
}

/** The heatmap canvas redrawn (cells' borders, values and the hovered cell's outline when zoomed to single elements). */
function paintHeatmap(): void {
  drawHeatmap(el.heatmap, tile, vp);
  paintCells();
}

function paintCells(): void {
  const single = drawCells(el.cells, plotKind === 'heatmap' ? tile : null, vp, {
    label: (v) => formatValue(v, 4),
    hover: hoverCell,
    dpr: layout?.dpr ?? 1,
    fontFamily: theme.font.replace(/^\S+\s+/, ''),
  });
  el.heatmap.dataset.cells = single ? 'single' : 'reduced';
}

// ---- drawing -------------------------------------------------------------

function axisTitles(): { x: string; y: string } {
  if (ndim() <= 1) return { x: ndim() === 1 ? 'index' : '', y: 'value' };
  const [r, c] = st.axes ?? [ndim() - 2, ndim() - 1];
  return ndim() === 2 && r === 0 && c === 1 ? { x: 'column', y: 'row' } : { x: `axis ${c}`, y: `axis ${r}` };
}

function redraw(): void {
  if (!layout || !seg) return;
  const norm = currentNorm();
  const titles = axisTitles();
  if (plotKind === 'heatmap') {
    const key = `${st.colormap}|${st.invert}|${norm.scale}|${norm.lo}|${norm.hi}`;
    if (tile && (!tile.image || key !== colorKey)) colorTile(tile, norm, st.colormap, st.invert);
    colorKey = key;
    paintHeatmap();
    drawYAxis(el.yaxis, layout, vp, titles.y, theme, null);
    drawColorbar(el.colorbar, layout, norm, st.colormap, st.invert, stats, theme);
  } else {
    drawLine(el.heatmap, line, vp, norm, theme, layout.dpr);
    paintCells();
    drawYAxis(el.yaxis, layout, vp, titles.y, theme, norm);
  }
  drawXAxis(el.xaxis, layout, vp, titles.x, theme);
  el.heatmap.dataset.view = [vp.x0, vp.x1, vp.y0, vp.y1].map((v) => +v.toFixed(3)).join(',');
  el.heatmap.dataset.lo = String(norm.lo);
  el.heatmap.dataset.hi = String(norm.hi);
  el.heatmap.dataset.scale = norm.scale;
  drawLegend();
}

function drawLegend(): void {
  if (plotKind !== 'heatmap') {
    el.legend.replaceChildren();
    return;
  }
  el.legend.innerHTML = legendHtml(st.colormap, stats);
  for (const s of el.legend.querySelectorAll<HTMLElement>('.swatch[data-color]')) s.style.background = s.dataset.color ?? '';
  const sp = specialColors(st.colormap);
  el.legend.dataset.posInf = cssColor(sp.posInf);
  el.legend.dataset.negInf = cssColor(sp.negInf);
  if (domainNote) {
    const n = document.createElement('span');
    n.textContent = domainNote;
    el.legend.append(n);
  }
}

function showStats(): void {
  if (!stats) {
    el.stats.textContent = '';
    return;
  }
  const s = stats;
  const parts = [
    `min ${formatValue(s.min)}`,
    `max ${formatValue(s.max)}`,
    `mean ${formatValue(s.mean)}`,
    `std ${formatValue(s.std)}`,
    `${formatCount(s.count)} values`,
  ];
  el.stats.textContent = parts.join(' · ');
}

function fmtRange(v: number | null): string {
  return formatValue(v, 6);
}

let statusBase = '';

function setStatus(text: string = statusBase): void {
  statusBase = text;
  const live = st.live > 0 && text ? (st.paused ? ' · live paused' : ` · live ${st.live} s`) : '';
  el.status.textContent = text + live;
}

// ---- requests --------------------------------------------------------------

function sendView(live = false): void {
  window.clearTimeout(viewTimer);
  viewTimer = undefined;
  viewPendingSince = 0;
  if (!seg || !layout) return;
  const win = windowOf(vp, extent);
  const grid = gridSize(win, vp, el.heatmap.width, el.heatmap.height);
  askedSize = `${el.heatmap.width}x${el.heatmap.height}`;
  if (requestedAt && !document.body.dataset.viewMs) document.body.dataset.viewMs = String(Date.now() - requestedAt);
  requests.request({
    type: 'view',
    slice: currentSlice(),
    window: win,
    width: grid.width,
    height: plotKind === 'line' ? 1 : grid.height,
    // Lines are min/max envelopes (the Cells control is off for them) unless Quick Look samples.
    mode: sampledOnly() ? 'strided' : plotKind === 'line' ? 'min' : st.mode,
    plot: plotKind,
    live,
  });
}

/** Asks for the current view after a short quiet period (and at least every MAX_WAIT_MS while it changes). */
function scheduleView(): void {
  const now = performance.now();
  if (!viewPendingSince) viewPendingSince = now;
  window.clearTimeout(viewTimer);
  if (now - viewPendingSince >= MAX_WAIT_MS) sendView();
  else viewTimer = window.setTimeout(() => sendView(), DEBOUNCE_MS);
}

function requestStats(fresh = false): void {
  if (!seg || sampledOnly()) return;
  requests.request({ type: 'stats', slice: currentSlice(), quantiles: DOMAIN_QUANTILES[st.domain] ?? [], fresh });
}

/** The user changed the view (or pressed Keep open): say so once, so that the host stops reusing this panel for other arrays. */
let pinned = false;
/** The host may show the next previewed segment in this panel (until it is pinned). */
let reusable = false;
/** Keep open takes its room in the header whether offered or not: showing it must not resize the plot. */
function showKeep(on: boolean): void {
  el.keep.classList.toggle('off', !on);
  el.keep.disabled = !on;
}

function pin(): void {
  if (pinned || !seg) return;
  pinned = true;
  showKeep(false);
  post({ type: 'pin' });
}

function sameSlice(a: SliceSelection, b: SliceSelection): boolean {
  const axes = (x: SliceSelection) => (x.axes ? x.axes.join(',') : '-');
  // Only the fixed indices matter, not those of the displayed axes.
  const fixed = (x: SliceSelection) => x.index.map((v, k) => (x.axes && (k === x.axes[0] || k === x.axes[1]) ? '*' : v)).join(',');
  return axes(a) === axes(b) && fixed(a) === fixed(b) && a.part === b.part;
}

function setViewport(next: Viewport): void {
  pin();
  vp = clampViewport(next, extent);
  redraw();
  save();
  scheduleView();
}

function resetView(): void {
  setViewport(fullViewport(extent));
}

// ---- hover -----------------------------------------------------------------

function hideTooltip(): void {
  el.tooltip.hidden = true;
  const outlined = hoverCell !== null && el.heatmap.dataset.cells === 'single';
  hoverCell = null;
  window.clearTimeout(hoverTimer);
  if (outlined) paintCells();
}

function fullIndex(row: number, col: number): number[] {
  const s = seg?.shape ?? [];
  if (s.length === 0) return [];
  if (s.length === 1) return [col];
  const [ra, ca] = st.axes ?? [s.length - 2, s.length - 1];
  return s.map((_, k) => (k === ra ? row : k === ca ? col : st.index[k] ?? 0));
}

function cellValue(row: number, col: number): { value: number; elements: number } | null {
  if (plotKind === 'line') {
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

function renderTooltip(row: number, col: number, exact: string | null): void {
  const idx = fullIndex(row, col);
  const cell = cellValue(row, col);
  el.tooltip.replaceChildren();
  const line = (k: string, v: string, cls = '') => {
    const d = document.createElement('div');
    const a = document.createElement('span');
    a.className = 'k';
    a.textContent = k.padEnd(7);
    const b = document.createElement('span');
    b.textContent = v;
    if (cls) b.className = cls;
    d.append(a, b);
    el.tooltip.append(d);
  };
  line('index', idx.length ? `(${idx.join(', ')})` : '()');
  line('value', exact ?? '…', 'exact');
  if (plotKind === 'heatmap' && el.heatmap.dataset.cells === 'single') {
    // Which colours the cells span, and where this one falls (the domain follows the visible cells).
    const lo = Number(el.heatmap.dataset.lo);
    const hi = Number(el.heatmap.dataset.hi);
    const v = cell?.value ?? NaN;
    const at = hi > lo && Number.isFinite(v) ? ` · ${Math.round((100 * (v - lo)) / (hi - lo))} %` : '';
    line('colour', `${formatValue(lo)} … ${formatValue(hi)}${el.heatmap.dataset.domainUsed === 'visible' ? ' (visible cells)' : ''}${at}`);
  }
  if (cell && cell.elements > 1) {
    const what = plotKind === 'line' ? 'min' : tile?.mode === 'strided' ? 'sample' : (tile?.mode ?? 'mean');
    line(what, `${formatValue(cell.value)} of ${formatCount(cell.elements)}`);
  }
  el.tooltip.dataset.row = String(row);
  el.tooltip.dataset.col = String(col);
  if (exact !== null) el.tooltip.dataset.value = exact;
  else delete el.tooltip.dataset.value;
}

function hover(px: number, py: number): void {
  if (!seg || !layout || document.body.dataset.state === 'error') return;
  const { w, h } = layout.plot;
  if (px < 0 || py < 0 || px >= w || py >= h) {
    hideTooltip();
    return;
  }
  const c =
    plotKind === 'line'
      ? { row: 0, col: Math.max(0, Math.min(extent.cols - 1, Math.floor(toCells(vp, px, py, w, h).x))) }
      : cellAt(vp, px, py, w, h, extent);
  const changed = !hoverCell || hoverCell.row !== c.row || hoverCell.col !== c.col;
  if (changed) {
    hoverCell = c;
    if (plotKind === 'heatmap' && el.heatmap.dataset.cells === 'single') paintCells();
    renderTooltip(c.row, c.col, null);
    window.clearTimeout(hoverTimer);
    hoverTimer = window.setTimeout(() => requests.request({ type: 'hover', slice: currentSlice(), row: c.row, col: c.col }), 30);
  }
  el.tooltip.hidden = false;
  // Beside the cursor, kept inside the figure.
  const fx = layout.plot.x + px;
  const fy = layout.plot.y + py;
  const tw = el.tooltip.offsetWidth;
  const th = el.tooltip.offsetHeight;
  const left = fx + 16 + tw > el.figure.clientWidth ? fx - 16 - tw : fx + 16;
  const top = Math.min(Math.max(0, fy + 16), el.figure.clientHeight - th);
  el.tooltip.style.left = `${Math.max(0, left)}px`;
  el.tooltip.style.top = `${Math.max(0, top)}px`;
}

// ---- messages from the host ------------------------------------------------

function onInit(segment: SegmentSummary, at: number, first: FirstPicture | undefined): void {
  const previous = st;
  seg = segment;
  if (at !== requestedAt) {
    // A new request (also a new array in a reused panel): time it afresh.
    requestedAt = at;
    timingSent = false;
    firstPixelsMs = null;
    for (const k of ['scriptMs', 'initMs', 'viewMs', 'tileMs', 'firstPixelsMs', 'exactMs']) delete document.body.dataset[k];
    document.body.dataset.scriptMs = String(Math.max(0, bootAt - at));
    document.body.dataset.initMs = String(Date.now() - at);
  }
  setTitle(displayText(seg.name));
  el.open.disabled = false;
  el.figure.style.visibility = '';
  const shape = seg.shape.length ? seg.shape.join('×') : 'scalar';
  el.info.textContent = `${seg.dtypeWords} · ${shape}${seg.fortranOrder ? ' · Fortran order' : ''} · ${formatBytes(seg.size)}${sampledOnly() ? ' · sampled' : ''}`;
  el.error.hidden = true;
  // A sticky notice was about the array shown before; this one's own (an Arrow column's nulls) replaces it.
  if (el.notice.dataset.sticky === 'true') el.notice.hidden = true;
  if (seg.note) showNotice('warning', seg.note, true);
  document.body.dataset.state = 'loading';
  const saved = sanitizeState(vscode.getState());
  const sameArray = (s: ViewState | null) => !!s && s.path === seg!.path && s.name === seg!.name && (s.tensor ?? null) === (seg!.tensor ?? null);
  if (sameArray(previous)) st = previous;
  else if (sameArray(saved)) st = saved!;
  else {
    // Another array (or tensor): keep the display choices, start the slice and zoom afresh.
    const d = defaultState(seg.name, seg.path);
    const keep = previous.path ? previous : saved ?? d;
    st = { ...d, colormap: keep.colormap, invert: keep.invert, scale: keep.scale, domain: keep.domain, mode: keep.mode, live: keep.live };
  }
  st.tensor = seg.tensor ?? null;
  const nd = seg.shape.length;
  if (nd >= 2) {
    const ok = st.axes && st.axes[0] < nd && st.axes[1] < nd && st.axes[0] !== st.axes[1];
    if (!ok) st.axes = [nd - 2, nd - 1];
  } else st.axes = null;
  st.index = seg.shape.map((n, k) => Math.min(Math.max(0, st.index[k] ?? 0), Math.max(0, n - 1)));
  if (!seg.complex) st.part = 'magnitude';
  plotKind = nd === 1 ? 'line' : 'heatmap';
  document.body.dataset.plot = plotKind;
  extent = sliceExtent();
  vp = clampViewport(st.viewport ?? fullViewport(extent), extent);
  tile = null;
  line = null;
  stats = null;
  // The host's first picture, when it shows what this view starts on: drawn before anything is asked.
  const firstFits = first && plotKind === 'heatmap' && isFull(vp, extent) && sameSlice(first.slice, currentSlice());
  if (first && firstFits) tile = { ...first, mode: 'strided', final: false, image: null };
  showStats();
  buildSlicer(seg, { axes: st.axes, index: st.index, part: st.part }, slicerCallbacks);
  syncControls();
  relayout();
  redraw();
  if (tile) {
    timing(false);
    setStatus(`${first!.exact ? 'every element' : 'sampled'} · ${tile.height}×${tile.width} cells · reading…`);
    document.body.dataset.state = 'preview';
  } else {
    setStatus('reading…');
  }
  sendView();
  // Whole-slice statistics read all the data: ask once the first exact picture is in, so they don't compete.
  statsAfterPicture = true;
  startLive();
  save();
}

function onTile(msg: Extract<HostToWebview, { type: 'tile' }>): void {
  if (requestedAt && !document.body.dataset.tileMs) document.body.dataset.tileMs = String(Date.now() - requestedAt);
  tile = { ...msg, image: null };
  redraw();
  const exactCells = msg.width === msg.window.c1 - msg.window.c0 && msg.height === msg.window.r1 - msg.window.r0;
  setStatus(
    `${msg.mode === 'strided' ? 'sampled' : msg.mode} · ${msg.height}×${msg.width} cells · ` +
      `range ${fmtRange(msg.min)} … ${fmtRange(msg.max)} · ${msg.elapsedMs.toFixed(1)} ms${exactCells && !isFull(vp, extent) ? ' · 1 element per cell' : ''}`,
  );
  document.body.dataset.state = msg.final ? 'exact' : 'preview';
  timing(msg.final);
  // The host holds the exact pass (it takes every core) until this sample is on screen.
  if (!msg.final && msg.re !== undefined) post({ type: 'drawn', re: msg.re });
  if (msg.final && statsAfterPicture) {
    statsAfterPicture = false;
    requestStats();
  }
  if (hoverCell && !el.tooltip.hidden) renderTooltip(hoverCell.row, hoverCell.col, el.tooltip.dataset.value ?? null);
}

function onLine(msg: Extract<HostToWebview, { type: 'line' }>): void {
  line = msg;
  redraw();
  const n = msg.window.c1 - msg.window.c0;
  // Every element; one sample a column (Quick Look on a big array); or the envelope.
  const kind = msg.width >= n ? 'samples' : sampledOnly() ? 'sampled' : 'min/max';
  setStatus(
    `${kind} · ${msg.width} columns of ${formatCount(n)} · ` +
      `range ${fmtRange(msg.min)} … ${fmtRange(msg.max)} · ${msg.elapsedMs.toFixed(1)} ms`,
  );
  document.body.dataset.state = 'exact';
  timing(true);
  if (statsAfterPicture) {
    statsAfterPicture = false;
    requestStats();
  }
  if (hoverCell && !el.tooltip.hidden) renderTooltip(hoverCell.row, hoverCell.col, el.tooltip.dataset.value ?? null);
}

function timing(final: boolean): void {
  if (timingSent || !requestedAt) return;
  const now = Date.now();
  if (firstPixelsMs === null) {
    firstPixelsMs = now - requestedAt;
    document.body.dataset.firstPixelsMs = String(firstPixelsMs);
  }
  if (final) {
    const exactMs = now - requestedAt;
    document.body.dataset.exactMs = String(exactMs);
    timingSent = true;
    post({ type: 'timing', firstPixelsMs, exactMs });
  }
}

function onStats(msg: Extract<HostToWebview, { type: 'stats' }>): void {
  stats = msg;
  showStats();
  redraw();
}

function onValue(msg: Extract<HostToWebview, { type: 'value' }>): void {
  if (!hoverCell || hoverCell.row !== msg.row || hoverCell.col !== msg.col) return;
  renderTooltip(msg.row, msg.col, msg.text);
}

function onError(msg: Extract<HostToWebview, { type: 'error' }>): void {
  el.error.hidden = false;
  el.errorText.textContent = displayText(msg.message);
  el.retry.textContent = msg.kind === 'changed' || msg.kind === 'vanished' ? 'Reopen' : 'Retry';
  // Nothing to retry in an array that cannot be shown (Quick Look's subject is not even mapped).
  el.retry.hidden = msg.kind === 'unsupported';
  el.error.dataset.kind = msg.kind;
  if (msg.subject !== undefined) {
    // About another segment than the picture: no picture, no notice of the last array.
    setTitle(displayText(msg.subject));
    el.info.textContent = '';
    el.open.disabled = true;
    el.notice.hidden = true;
    el.stats.textContent = '';
    el.figure.style.visibility = 'hidden';
  }
  document.body.dataset.state = 'error';
  // What was asked gets no reply now.
  requests.forget();
  statsAfterPicture = false;
  hideTooltip();
  setStatus('');
}

/** Characters of a long name kept whole at its end (`_1a2b3c4d.npy`: what tells segments apart). */
const TITLE_TAIL = 16;

/**
 * The name in the header, cut in its middle when it does not fit: its start shrinks with an
 * ellipsis, its end stays. The element's text is the whole name; hovering shows it too.
 */
function setTitle(name: string): void {
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
  el.title.replaceChildren(head, tail);
  el.title.title = name;
}

/** A notice under the toolbar; a sticky one (the segment was unlinked) stays while this array is shown. */
function showNotice(level: string, message: string, sticky = false): void {
  el.notice.hidden = false;
  el.notice.className = level;
  el.notice.textContent = displayText(message);
  el.notice.dataset.sticky = String(sticky);
  window.clearTimeout(noticeTimer);
  if (!sticky) noticeTimer = window.setTimeout(() => (el.notice.hidden = true), level === 'error' ? 12000 : 6000);
}

window.addEventListener('message', (ev: MessageEvent) => onHostMessage(ev.data));

function onHostMessage(data: unknown): void {
  // Checked, and dropped when it answers a request no longer wanted.
  const msg = requests.receive(data);
  if (!msg) return;
  switch (msg.type) {
    case 'init':
      reusable = msg.reusable === true;
      onInit(msg.segment, msg.requestedAt, msg.first);
      showKeep(reusable && !pinned);
      break;
    case 'tile':
      onTile(msg);
      break;
    case 'line':
      onLine(msg);
      break;
    case 'stats':
      onStats(msg);
      break;
    case 'value':
      onValue(msg);
      break;
    case 'error':
      onError(msg);
      break;
    case 'notice':
      showNotice(msg.level, msg.message, msg.sticky === true);
      break;
  }
}

/**
 * A new panel's page may carry its init (with the first picture) in two script elements of
 * data (JSON, and the picture's float32 values in base64): drawn at once, without waiting for
 * the round trip of 'ready'. It goes through the same checks as a posted message.
 */
function embeddedInit(): void {
  const json = document.getElementById('init-json')?.textContent;
  if (!json) return;
  try {
    const msg = JSON.parse(json) as Record<string, unknown>;
    const b64 = document.getElementById('init-values')?.textContent ?? '';
    const first = msg.first as Record<string, unknown> | undefined;
    if (first && b64) {
      const bin = atob(b64.trim());
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      first.values = new Float32Array(bytes.buffer, 0, bytes.length >> 2);
    }
    onHostMessage(msg);
  } catch {
    // A page that cannot be read is only slower: the host sends init after 'ready'.
  }
}

// ---- controls --------------------------------------------------------------

const slicerCallbacks = {
  tensor(name: string) {
    post({ type: 'selectTensor', name });
  },
  part(p: SliceSelection['part']) {
    st.part = p;
    sliceChanged(false);
  },
  axes(r: number, c: number) {
    st.axes = [r, c];
    sliceChanged(true);
  },
  index(axis: number, value: number) {
    st.index[axis] = value;
    sliceChanged(false);
  },
};

/** A new 2-D slice: new stats; a new extent (and view) when the axes changed. */
function sliceChanged(axesChanged: boolean): void {
  if (!seg) return;
  if (axesChanged) {
    extent = sliceExtent();
    vp = fullViewport(extent);
    tile = null;
    buildSlicer(seg, { axes: st.axes, index: st.index, part: st.part }, slicerCallbacks);
    relayout();
  }
  stats = null;
  showStats();
  save();
  scheduleView();
  requestStats();
}

function syncControls(): void {
  el.colormap.value = st.colormap;
  el.invert.checked = st.invert;
  el.scale.value = st.scale;
  el.domain.value = st.domain;
  el.customDomain.hidden = st.domain !== 'custom';
  if (st.customLo !== null) el.domainLo.value = String(st.customLo);
  if (st.customHi !== null) el.domainHi.value = String(st.customHi);
  el.mode.value = st.mode;
  el.mode.disabled = plotKind === 'line';
  el.aspect.value = effectiveAspect();
  el.aspect.disabled = plotKind === 'line';
  el.colormap.disabled = el.invert.disabled = plotKind === 'line';
  el.live.value = String(st.live);
  el.pause.disabled = st.live === 0;
  el.pause.textContent = st.paused ? 'Resume' : 'Pause';
  el.pause.setAttribute('aria-pressed', String(st.paused));
}

el.colormap.addEventListener('change', () => {
  if (isColormap(el.colormap.value)) st.colormap = el.colormap.value;
  save();
  redraw();
});
el.invert.addEventListener('change', () => {
  st.invert = el.invert.checked;
  save();
  redraw();
});
el.scale.addEventListener('change', () => {
  if (isScale(el.scale.value)) st.scale = el.scale.value;
  save();
  redraw();
});
el.domain.addEventListener('change', () => {
  if (!isDomainMode(el.domain.value)) return;
  const before = DOMAIN_QUANTILES[st.domain];
  st.domain = el.domain.value;
  if (st.domain === 'custom' && (st.customLo === null || st.customHi === null)) {
    const n = currentNorm();
    st.customLo = Number(n.lo.toPrecision(6));
    st.customHi = Number(n.hi.toPrecision(6));
  }
  syncControls();
  save();
  if (DOMAIN_QUANTILES[st.domain] && DOMAIN_QUANTILES[st.domain] !== before) requestStats();
  redraw();
});
const customChanged = () => {
  const lo = el.domainLo.valueAsNumber;
  const hi = el.domainHi.valueAsNumber;
  if (Number.isFinite(lo)) st.customLo = lo;
  if (Number.isFinite(hi)) st.customHi = hi;
  save();
  redraw();
};
el.domainLo.addEventListener('change', customChanged);
el.domainHi.addEventListener('change', customChanged);
el.mode.addEventListener('change', () => {
  const m = el.mode.value;
  if (isReduceMode(m)) st.mode = m;
  save();
  sendView();
});
el.aspect.addEventListener('change', () => {
  st.aspect = el.aspect.value === 'fill' ? 'fill' : 'equal';
  vp = fullViewport(extent);
  relayout();
  save();
  redraw();
  sendView();
});
el.live.addEventListener('change', () => {
  const s = Number(el.live.value);
  st.live = Number.isFinite(s) ? s : 0;
  st.paused = false;
  syncControls();
  save();
  startLive();
});
el.pause.addEventListener('click', () => {
  st.paused = !st.paused;
  syncControls();
  setStatus();
  save();
  if (!st.paused) liveTick();
});
el.reset.addEventListener('click', () => resetView());
el.retry.addEventListener('click', () => {
  el.error.hidden = true;
  document.body.dataset.state = 'loading';
  setStatus('reopening…');
  post({ type: 'retry' });
});
el.saveNpy.addEventListener('click', () => {
  if (seg) post({ type: 'saveNpy', slice: currentSlice(), window: windowOf(vp, extent) });
});
el.exportPng.addEventListener('click', () => {
  if (!seg || !layout) return;
  post({ type: 'exportPng', dataUrl: composeFigure(), suggestedName: `${seg.name.replace(/\.npy$/, '')}.png` });
});

/** The figure (title, plot, axes, colorbar, legend line) as one PNG data URL. */
function composeFigure(): string {
  const l = layout!;
  const dpr = l.dpr;
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
  ctx.fillText(`${displayText(seg!.name)}   ${el.info.textContent ?? ''}`, 12, head / 2);
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

// ---- live mode -------------------------------------------------------------

function liveTick(): void {
  if (!seg || st.live === 0 || st.paused || document.body.dataset.state === 'error') return;
  if (!requests.pending('view')) sendView(true);
  if (!requests.pending('stats') && plotKind === 'heatmap') requestStats(true);
}

function startLive(): void {
  window.clearInterval(liveTimer);
  liveTimer = undefined;
  if (st.live > 0) liveTimer = window.setInterval(liveTick, st.live * 1000);
  syncControls();
  setStatus();
}

// ---- plumbing --------------------------------------------------------------

attachInteraction(el.heatmap, el.overlay, {
  viewport: () => vp,
  extent: () => extent,
  size: () => ({ w: layout?.plot.w ?? 1, h: layout?.plot.h ?? 1 }),
  lockAspect,
  axes: () => (plotKind === 'line' ? 'x' : 'xy'),
  setViewport,
  reset: resetView,
  hover,
  leave: hideTooltip,
});

let resizeTimer: number | undefined;
new ResizeObserver(() => {
  relayout();
  redraw();
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    if (`${el.heatmap.width}x${el.heatmap.height}` !== askedSize) sendView();
  }, 120);
}).observe(el.figure);

// Theme changes (VS Code swaps the body's classes): re-read colours and redraw.
new MutationObserver(() => {
  theme = readTheme();
  redraw();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

el.keep.addEventListener('click', pin);
el.open.addEventListener('click', () => post({ type: 'openPreview' }));
// Any control the user changes (toolbar or slice sliders) keeps this array in the panel.
byId('toolbar').addEventListener('change', pin);
byId('slicer').addEventListener('input', pin);
byId('slicer').addEventListener('change', pin);

fillToolbar();
embeddedInit();
post({ type: 'ready', plotArea: plotArea(), embedded: seg !== null });

/** The largest plot this panel can show now, in device pixels (no aspect lock, with a colorbar). */
function plotArea(): { width: number; height: number } | null {
  const w = el.figure.clientWidth;
  const h = el.figure.clientHeight;
  if (w < 10 || h < 10) return null;
  const l = computeLayout(w, h, { aspect: null, colorbar: true, compact: COMPACT });
  return { width: Math.max(1, Math.round(l.plot.w * l.dpr)), height: Math.max(1, Math.round(l.plot.h * l.dpr)) };
}
