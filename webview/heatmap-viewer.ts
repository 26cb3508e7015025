/**
 * The heatmap viewer (a line plot for 1-D arrays): what the user sees of the array's visible
 * window, asked from the host at the plot's device-pixel size, so it never holds more than about
 * one value per pixel. Zoom and pan redraw the last image at once and ask for the new window
 * after a short debounce.
 *
 * Its parts: the settings store (store.ts: colormap, scale, slice, zoom... saved across reloads),
 * the container (container.ts: requests and replies, the host's messages checked, timers), the
 * toolbar (toolbar.ts) and the drawing (draw.ts, plot.ts). What is left here is the viewer's own
 * state (the array, the picture, the statistics, the hovered cell) and what each message does to it.
 */
import { formatBytes } from '../contract/bytes';
import {
  ERROR_KINDS,
  isLastReply,
  MAX_GRID_COLUMNS,
  MAX_GRID_ROWS,
  type FirstPicture,
  type HostMessage,
  type SegmentSummary,
  type SliceSelection,
  type StatsSummary,
  type WebviewMessage,
} from '../contract/protocol';
import type { Stamped } from '../contract/requests';
import { arrayColumns, arrayColumnWidth, arrayRows, centreCell, viewportCentredOn } from './array-grid';
import { Container, embeddedInit, type PostApi } from './container';
import { buildSlicer, elementsById, fillToolbar } from './controls';
import { cellValue, composeFigure, drawFigure, fillTooltip, paintCells, sceneNorm, setTitle, statsText, type Scene } from './draw';
import { attachInteraction } from './interaction';
import { GridPane, type GridView } from './grid-pane';
import { computeLayout, placeCanvases, readTheme, type Layout, type LineData, type Tile } from './plot';
import { DOMAIN_QUANTILES } from './scales';
import { defaultState, GRID_WIDTHS_KEPT, sanitizeState, settingsFor, type ViewState } from './state';
import { SettingsStore, type StateApi } from './store';
import { displayText } from './text';
import { formatCount, formatValue } from './ticks';
import { showKeep, syncToolbar, toolbarElements, wireToolbar } from './toolbar';
import { validateHostMessage } from './validate';
import { cellAt, clampViewport, fullViewport, gridSize, isFull, toCells, windowOf, type Extent, type Viewport } from './viewport';

/** Milliseconds of quiet before a changed view is asked for; and the longest wait while it keeps changing. */
const DEBOUNCE_MS = 40;
const MAX_WAIT_MS = 200;
/** The same for the grid of values' elements as it scrolls. */
const GRID_DEBOUNCE_MS = 12;
const GRID_MAX_WAIT_MS = 60;
/**
 * Quick Look reads every element (exact cells, statistics) only of arrays up to this size; bigger
 * ones it samples, one element a cell, and leaves the passes over gigabytes to a preview editor
 * (a click shows the array in both: they would read it twice at once).
 */
const QUICK_EXACT_MAX = 256 * 1024 * 1024;

type Host<T extends HostMessage['type']> = Extract<HostMessage, { type: T }> & Stamped;

/** The page's elements: the toolbar's, the figure's (draw.ts) and the viewer's own. */
function elements() {
  return {
    ...toolbarElements(),
    ...elementsById({
      title: ['title', HTMLElement],
      info: ['info', HTMLElement],
      status: ['status', HTMLElement],
      error: ['error', HTMLElement],
      errorText: ['error-text', HTMLElement],
      notice: ['notice', HTMLElement],
      figure: ['figure', HTMLElement],
      heatmap: ['heatmap', HTMLCanvasElement],
      overlay: ['overlay', HTMLCanvasElement],
      cells: ['cells', HTMLCanvasElement],
      xaxis: ['xaxis', HTMLCanvasElement],
      yaxis: ['yaxis', HTMLCanvasElement],
      colorbar: ['colorbar', HTMLCanvasElement],
      tooltip: ['tooltip', HTMLElement],
      legend: ['legend', HTMLElement],
      stats: ['stats', HTMLElement],
      vgrid: ['vgrid', HTMLElement],
      vgScroller: ['vg-scroller', HTMLElement],
      vgSticky: ['vg-sticky', HTMLElement],
      vgHead: ['vg-head', HTMLElement],
      vgRows: ['vg-rows', HTMLElement],
      vgSpacer: ['vg-spacer', HTMLElement],
    }),
  };
}

/** The integers [a, b). */
function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, k) => a + k);
}

function sameSlice(a: SliceSelection, b: SliceSelection): boolean {
  const axes = (x: SliceSelection) => (x.axes ? x.axes.join(',') : '-');
  // Only the fixed indices matter, not those of the displayed axes.
  const fixed = (x: SliceSelection) => x.index.map((v, k) => (x.axes && (k === x.axes[0] || k === x.axes[1]) ? '*' : v)).join(',');
  return axes(a) === axes(b) && fixed(a) === fixed(b) && a.part === b.part;
}

export class HeatmapViewer {
  private readonly el = elements();
  private readonly body = document.body;
  private readonly store: SettingsStore<ViewState>;
  private readonly host: Container<WebviewMessage, HostMessage>;
  /** When this script started (for the first-pixels timing breakdown). */
  private readonly bootAt = Date.now();
  /** Quick Look's narrow layout (the page says so): no controls, thin margins. */
  private readonly compact = document.body.dataset.layout === 'compact';

  private seg: SegmentSummary | null = null;
  private extent: Extent = { rows: 1, cols: 1 };
  private vp: Viewport = fullViewport(this.extent);
  private plot: 'heatmap' | 'line' = 'heatmap';
  private layout: Layout | null = null;
  private theme = readTheme();
  private tile: Tile | null = null;
  private line: LineData | null = null;
  private stats: StatsSummary | null = null;
  private hoverCell: { row: number; col: number } | null = null;
  private hoverTimer: number | undefined;
  private noticeTimer: number | undefined;
  private statusBase = '';
  /** Whole-slice statistics are asked for once the first exact picture is in, so they don't compete. */
  private statsAfterPicture = false;
  /** Plot size (device pixels) of the last view asked for. */
  private askedSize = '';
  private requestedAt = 0;
  private timingSent = false;
  private firstPixelsMs: number | null = null;
  /** The user changed the view (or pressed Keep open): the host stops reusing this panel for other arrays. */
  private pinned = false;
  /** The Table toggle: the grid of exact values (grid-pane.ts) shows in the figure's place. */
  private readonly grid: GridPane;
  private gridOn = false;
  /** Where the grid was put (scroll offsets): scrolled from there, the heatmap follows it back. */
  private gridPut = { top: 0, left: 0 };
  /** When the toggle was pressed, until the grid's values are all on screen (body data-grid-ms). */
  private gridAskedAt: number | null = null;

  constructor(api: PostApi & StateApi) {
    this.store = new SettingsStore<ViewState>(api, sanitizeState, defaultState('', ''));
    this.host = new Container<WebviewMessage, HostMessage>(api, { validate: validateHostMessage, isLast: isLastReply, onMessage: (m) => this.onHostMessage(m) });
    const el = this.el;
    this.grid = new GridPane(
      { scroller: el.vgScroller, sticky: el.vgSticky, head: el.vgHead, rows: el.vgRows, spacer: el.vgSpacer },
      {
        need: (rows, columns) => this.gridOn && this.host.debounce('cells', () => this.requestCells(rows, columns), GRID_DEBOUNCE_MS, GRID_MAX_WAIT_MS),
        drawn: (v, pending) => this.gridDrawn(v, pending),
        width: (c) => arrayColumnWidth(this.seg?.dtype ?? '', c.kind),
        resized: (widths) => this.gridResized(widths),
      },
    );
  }

  private get st(): ViewState {
    return this.store.state;
  }

  /** Wires the page and says 'ready' (after drawing the init the page carried, if any). */
  start(): void {
    const el = this.el;
    this.host.listen(window);
    wireToolbar(el, {
      colormap: (c) => this.setting({ colormap: c }),
      invert: (on) => this.setting({ invert: on }),
      scale: (s) => this.setting({ scale: s }),
      domain: (d) => this.domainChanged(d),
      customDomain: (lo, hi) => this.setting({ customLo: lo ?? this.st.customLo, customHi: hi ?? this.st.customHi }),
      mode: (m) => {
        this.st.mode = m;
        this.store.save();
        this.sendView();
      },
      aspect: (a) => {
        this.st.aspect = a;
        this.vp = fullViewport(this.extent);
        this.relayout();
        this.save();
        this.redraw();
        this.sendView();
      },
      live: (s) => {
        this.st.live = s;
        this.st.paused = false;
        this.syncControls();
        this.store.save();
        this.startLive();
      },
      table: () => this.toggleGrid(),
      pause: () => {
        this.st.paused = !this.st.paused;
        this.syncControls();
        this.setStatus();
        this.store.save();
        if (!this.st.paused) this.liveTick();
      },
      reset: () => this.setViewport(fullViewport(this.extent)),
      retry: () => {
        el.error.hidden = true;
        this.body.dataset.state = 'loading';
        this.setStatus('reopening…');
        this.host.send({ type: 'retry' });
      },
      saveNpy: () => this.seg && this.host.send({ type: 'saveNpy', slice: this.currentSlice(), window: windowOf(this.vp, this.extent) }),
      exportPng: () => {
        if (!this.seg || !this.layout) return;
        const png = composeFigure(el, this.layout, this.theme, `${displayText(this.seg.name)}   ${el.info.textContent ?? ''}`);
        this.host.send({ type: 'exportPng', dataUrl: png, suggestedName: `${this.seg.name.replace(/\.npy$/, '')}.png` });
      },
      pin: () => this.pin(),
      open: () => this.host.send({ type: 'openPreview' }),
    });
    attachInteraction(el.heatmap, el.overlay, {
      viewport: () => this.vp,
      extent: () => this.extent,
      size: () => ({ w: this.layout?.plot.w ?? 1, h: this.layout?.plot.h ?? 1 }),
      lockAspect: () => this.lockAspect(),
      axes: () => (this.plot === 'line' ? 'x' : 'xy'),
      setViewport: (v) => this.setViewport(v),
      reset: () => this.setViewport(fullViewport(this.extent)),
      hover: (x, y) => this.hover(x, y),
      leave: () => this.hideTooltip(),
    });
    let resizeTimer: number | undefined;
    new ResizeObserver(() => {
      this.relayout();
      this.redraw();
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(() => {
        if (`${el.heatmap.width}x${el.heatmap.height}` !== this.askedSize) this.sendView();
      }, 120);
    }).observe(el.figure);
    // Theme changes (VS Code swaps the body's classes): re-read colours and redraw.
    new MutationObserver(() => {
      this.theme = readTheme();
      this.redraw();
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    fillToolbar(el);
    // Copy (Ctrl+C) in the grid of values: the elements on screen as TSV, headed by their column numbers.
    document.addEventListener('copy', (ev) => {
      const tsv = this.gridOn ? this.grid.visibleTsv() : null;
      if (tsv === null || !ev.clipboardData || ev.target instanceof HTMLInputElement) return;
      ev.clipboardData.setData('text/plain', tsv);
      ev.preventDefault();
    });
    // T: the Table toggle, around the hovered cell when the pointer is on one.
    window.addEventListener('keydown', (ev) => {
      if ((ev.key !== 't' && ev.key !== 'T') || ev.ctrlKey || ev.metaKey || ev.altKey || this.compact) return;
      if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
      ev.preventDefault();
      this.toggleGrid();
    });
    // A new panel's page may carry its init (and first picture): drawn before the round trip of 'ready'.
    const carried = embeddedInit(document);
    if (carried) this.host.deliver(carried);
    this.host.send({ type: 'ready', plotArea: this.plotArea(), embedded: this.seg !== null });
  }

  // ---- settings ------------------------------------------------------------

  private setting(patch: Partial<ViewState>): void {
    Object.assign(this.st, patch);
    this.store.save();
    this.redraw();
  }

  private save(): void {
    if (!this.seg) return;
    this.st.viewport = this.vp;
    this.store.save();
  }

  private domainChanged(d: ViewState['domain']): void {
    const st = this.st;
    const before = DOMAIN_QUANTILES[st.domain];
    st.domain = d;
    if (d === 'custom' && (st.customLo === null || st.customHi === null)) {
      const n = this.norm();
      st.customLo = Number(n.lo.toPrecision(6));
      st.customHi = Number(n.hi.toPrecision(6));
    }
    this.syncControls();
    this.store.save();
    if (DOMAIN_QUANTILES[d] && DOMAIN_QUANTILES[d] !== before) this.requestStats();
    this.redraw();
  }

  private syncControls(): void {
    syncToolbar(this.el, this.st, { line: this.plot === 'line', aspect: this.effectiveAspect(), grid: this.gridOn });
  }

  // ---- slice and view geometry ---------------------------------------------

  private ndim(): number {
    return this.seg?.shape.length ?? 2;
  }

  private currentSlice(): SliceSelection {
    const st = this.st;
    return { axes: this.ndim() >= 2 ? st.axes : null, index: st.index, part: st.part };
  }

  private sliceExtent(): Extent {
    if (!this.seg) return { rows: 1, cols: 1 };
    const s = this.seg.shape;
    if (s.length === 0) return { rows: 1, cols: 1 };
    if (s.length === 1) return { rows: 1, cols: Math.max(1, s[0]) };
    const [r, c] = this.st.axes ?? [s.length - 2, s.length - 1];
    return { rows: Math.max(1, s[r]), cols: Math.max(1, s[c]) };
  }

  private effectiveAspect(): 'equal' | 'fill' {
    if (this.st.aspect) return this.st.aspect;
    const ratio = this.extent.cols / this.extent.rows;
    return ratio <= 8 && ratio >= 1 / 8 ? 'equal' : 'fill';
  }

  private lockAspect(): boolean {
    return this.plot === 'heatmap' && this.effectiveAspect() === 'equal';
  }

  private sampledOnly(): boolean {
    return this.compact && !!this.seg && this.seg.size > QUICK_EXACT_MAX;
  }

  private relayout(): void {
    const w = this.el.figure.clientWidth;
    const h = this.el.figure.clientHeight;
    if (w < 10 || h < 10) return;
    this.layout = computeLayout(w, h, {
      aspect: this.lockAspect() ? this.extent.cols / this.extent.rows : null,
      colorbar: this.plot === 'heatmap',
      compact: this.compact,
    });
    placeCanvases(this.layout, this.el);
  }

  /** The largest plot this panel can show now, in device pixels (no aspect lock, with a colorbar). */
  private plotArea(): { width: number; height: number } | null {
    const w = this.el.figure.clientWidth;
    const h = this.el.figure.clientHeight;
    if (w < 10 || h < 10) return null;
    const l = computeLayout(w, h, { aspect: null, colorbar: true, compact: this.compact });
    return { width: Math.max(1, Math.round(l.plot.w * l.dpr)), height: Math.max(1, Math.round(l.plot.h * l.dpr)) };
  }

  // ---- drawing -------------------------------------------------------------

  private axisTitles(): { x: string; y: string } {
    const nd = this.ndim();
    if (nd <= 1) return { x: nd === 1 ? 'index' : '', y: 'value' };
    const [r, c] = this.st.axes ?? [nd - 2, nd - 1];
    return nd === 2 && r === 0 && c === 1 ? { x: 'column', y: 'row' } : { x: `axis ${c}`, y: `axis ${r}` };
  }

  private scene(): Scene | null {
    if (!this.layout || !this.seg) return null;
    return {
      st: this.st,
      plot: this.plot,
      layout: this.layout,
      vp: this.vp,
      extent: this.extent,
      tile: this.tile,
      line: this.line,
      stats: this.stats,
      theme: this.theme,
      titles: this.axisTitles(),
      hover: this.hoverCell,
    };
  }

  private norm() {
    const { st, plot, vp, extent, tile, line, stats } = this;
    return sceneNorm({ st, plot, layout: this.layout!, vp, extent, tile, line, stats }, this.el.heatmap).norm;
  }

  private redraw(): void {
    const s = this.scene();
    if (s) drawFigure(this.el, s);
  }

  private paintCells(): void {
    paintCells(this.el, { plot: this.plot, tile: this.tile, vp: this.vp, hover: this.hoverCell, theme: this.theme, dpr: this.layout?.dpr ?? 1 });
  }

  private showStats(): void {
    this.el.stats.textContent = statsText(this.stats);
  }

  private setStatus(text: string = this.statusBase): void {
    this.statusBase = text;
    const st = this.st;
    const live = st.live > 0 && text ? (st.paused ? ' · live paused' : ` · live ${st.live} s`) : '';
    this.el.status.textContent = text + live;
  }

  /** A notice under the toolbar; a sticky one (the segment was unlinked) stays while this array is shown. */
  private showNotice(level: string, message: string, sticky = false): void {
    const n = this.el.notice;
    n.hidden = false;
    n.className = level;
    n.textContent = displayText(message);
    n.dataset.sticky = String(sticky);
    window.clearTimeout(this.noticeTimer);
    if (!sticky) this.noticeTimer = window.setTimeout(() => (n.hidden = true), level === 'error' ? 12000 : 6000);
  }

  // ---- requests --------------------------------------------------------------

  private sendView(live = false): void {
    this.host.cancelTimer('view');
    if (!this.seg || !this.layout) return;
    const el = this.el;
    const win = windowOf(this.vp, this.extent);
    const grid = gridSize(win, this.vp, el.heatmap.width, el.heatmap.height);
    this.askedSize = `${el.heatmap.width}x${el.heatmap.height}`;
    if (this.requestedAt && !this.body.dataset.viewMs) this.body.dataset.viewMs = String(Date.now() - this.requestedAt);
    this.host.request({
      type: 'view',
      slice: this.currentSlice(),
      window: win,
      width: grid.width,
      height: this.plot === 'line' ? 1 : grid.height,
      // Lines are min/max envelopes (the Cells control is off for them) unless Quick Look samples.
      mode: this.sampledOnly() ? 'strided' : this.plot === 'line' ? 'min' : this.st.mode,
      plot: this.plot,
      live,
    });
  }

  /** Asks for the current view after a short quiet period (and at least every MAX_WAIT_MS while it changes). */
  private scheduleView(): void {
    this.host.debounce('view', () => this.sendView(), DEBOUNCE_MS, MAX_WAIT_MS);
  }

  private requestStats(fresh = false): void {
    if (!this.seg || this.sampledOnly()) return;
    this.host.request({ type: 'stats', slice: this.currentSlice(), quantiles: DOMAIN_QUANTILES[this.st.domain] ?? [], fresh });
  }

  private pin(): void {
    if (this.pinned || !this.seg) return;
    this.pinned = true;
    showKeep(this.el, false);
    this.host.send({ type: 'pin' });
  }

  private setViewport(next: Viewport): void {
    this.pin();
    this.vp = clampViewport(next, this.extent);
    this.redraw();
    this.save();
    this.scheduleView();
  }

  // ---- the grid of values (the Table toggle) ---------------------------------

  private toggleGrid(): void {
    if (this.gridOn) this.leaveGrid();
    else this.enterGrid();
  }

  /**
   * A line plot's grid is one column of its elements, one a row (index, value): grid cell (i, 0) is
   * element (0, i) of the slice. A heatmap's grid is the slice as it is.
   */
  private toGrid(c: { row: number; col: number }): { row: number; col: number } {
    return this.plot === 'line' ? { row: c.col, col: 0 } : c;
  }

  private fromGrid(c: { row: number; col: number }): { row: number; col: number } {
    return this.plot === 'line' ? { row: 0, col: c.row } : c;
  }

  /** Shows the slice's elements as a grid of their exact values, the hovered cell (or the view's centre) in its middle. */
  private enterGrid(): void {
    if (!this.seg) return;
    this.pin();
    const at = this.hoverCell && !this.el.tooltip.hidden ? this.hoverCell : centreCell(this.vp, this.extent);
    this.hideTooltip();
    this.gridOn = true;
    this.gridAskedAt = performance.now();
    delete this.body.dataset.gridMs;
    this.st.grid = { ...at };
    this.store.save();
    this.body.dataset.view = 'grid';
    this.syncControls();
    this.showGrid(at);
    this.el.vgScroller.focus({ preventScroll: true });
  }

  /** The grid of the slice shown now, element `at` (of the slice) in its middle, its columns as the user last sized them. */
  private showGrid(at: { row: number; col: number }): void {
    const seg = this.seg!;
    const columns =
      this.plot === 'line'
        ? [{ ...arrayColumns(seg.dtype, seg.dtypeWords, seg.complex, 1)[0], name: 'value' }]
        : arrayColumns(seg.dtype, seg.dtypeWords, seg.complex, this.extent.cols);
    const widths: (number | undefined)[] = [];
    for (const [c, w] of this.st.gridWidths) if (c < columns.length) widths[c] = w;
    this.grid.show(columns, this.plot === 'line' ? this.extent.cols : this.extent.rows, widths);
    // The cell it was opened at, outlined.
    const g = this.toGrid(at);
    this.grid.mark = { ...g };
    this.grid.centreOn(g.row, g.col);
    this.gridPut = { top: this.el.vgScroller.scrollTop, left: this.el.vgScroller.scrollLeft };
    this.grid.draw();
  }

  /** The user resized a grid column: the widths that differ from the default are kept (the state's gridWidths). */
  private gridResized(widths: readonly number[]): void {
    const dtype = this.seg?.dtype ?? '';
    const byKind = new Map<string, number>();
    const had = new Map(this.st.gridWidths);
    for (let c = 0; c < widths.length; c++) {
      const kind = this.grid.column(c)?.kind;
      if (kind === undefined) continue;
      let d = byKind.get(kind);
      if (d === undefined) byKind.set(kind, (d = arrayColumnWidth(dtype, kind)));
      if (widths[c] === d) had.delete(c);
      // Kept in the order resized, the latest last (the first ones go past GRID_WIDTHS_KEPT).
      else if (had.get(c) !== widths[c]) {
        had.delete(c);
        had.set(c, widths[c]);
      }
    }
    this.st.gridWidths = [...had].slice(-GRID_WIDTHS_KEPT);
    this.store.save();
  }

  /** Back to the heatmap; scrolled away from where it was put, the heatmap is centred where the grid was (at the same zoom). */
  private leaveGrid(): void {
    const s = this.el.vgScroller;
    const moved = Math.abs(s.scrollTop - this.gridPut.top) >= 1 || Math.abs(s.scrollLeft - this.gridPut.left) >= 1;
    const centre = moved ? this.grid.centre() : null;
    const at = centre && this.fromGrid(centre);
    this.gridOn = false;
    this.st.grid = null;
    this.store.save();
    this.host.cancelTimer('cells');
    this.body.dataset.view = 'plot';
    this.syncControls();
    this.relayout();
    if (at) {
      const v = viewportCentredOn(this.vp, at.row, at.col, this.extent);
      // A line plot moves along its elements only: its value axis stays.
      this.setViewport(this.plot === 'line' ? { ...this.vp, x0: v.x0, x1: v.x1 } : v);
    } else this.redraw();
    this.setStatus(this.statusBase);
  }

  /** Asks for the elements of grid rows × columns (for a line plot, its rows are the elements). */
  private requestCells(rows: { first: number; end: number }, columns: number[]): void {
    if (!this.seg || !columns.length) return;
    if (this.plot === 'line') {
      const win = { r0: 0, r1: 1, c0: rows.first, c1: Math.min(rows.end, rows.first + MAX_GRID_ROWS) };
      this.host.request({ type: 'cells', slice: this.currentSlice(), window: win });
      return;
    }
    const c0 = columns[0];
    const win = {
      r0: rows.first,
      r1: Math.min(rows.end, rows.first + MAX_GRID_ROWS),
      c0,
      c1: Math.min(columns[columns.length - 1] + 1, c0 + MAX_GRID_COLUMNS),
    };
    this.host.request({ type: 'cells', slice: this.currentSlice(), window: win });
  }

  private gridDrawn(v: GridView, pending: number): void {
    if (!this.gridOn) return;
    const { rows, cols } = v;
    if (!pending && this.gridAskedAt !== null) {
      this.body.dataset.gridMs = (performance.now() - this.gridAskedAt).toFixed(1);
      this.gridAskedAt = null;
    }
    // Where the grid is, for a reload to show it there again.
    const centre = this.grid.centre();
    const at = centre && this.fromGrid(centre);
    if (at && (at.row !== this.st.grid?.row || at.col !== this.st.grid.col)) {
      this.st.grid = at;
      this.store.save();
    }
    const n = (x: number) => x.toLocaleString('en-US');
    if (this.plot === 'line') {
      this.el.status.textContent = `elements ${n(rows.first)}–${n(rows.end - 1)}${pending ? ' · reading…' : ' · exact values'}`;
      return;
    }
    this.el.status.textContent =
      `rows ${rows.first.toLocaleString('en-US')}–${(rows.end - 1).toLocaleString('en-US')} · columns ${cols.first.toLocaleString('en-US')}–${(cols.end - 1).toLocaleString('en-US')}` +
      `${pending ? ' · reading…' : ' · exact values'}`;
  }

  // ---- live mode -------------------------------------------------------------

  private liveTick(): void {
    const st = this.st;
    if (!this.seg || st.live === 0 || st.paused || this.body.dataset.state === 'error') return;
    if (this.gridOn) {
      // The grid's elements read again (the cells shown stay until they come).
      const v = this.grid.view();
      if (v && !this.host.pending('cells')) this.requestCells(v.rows, range(v.cols.first, v.cols.end));
      return;
    }
    if (!this.host.pending('view')) this.sendView(true);
    if (!this.host.pending('stats') && this.plot === 'heatmap') this.requestStats(true);
  }

  private startLive(): void {
    this.host.every('live', this.st.live * 1000, () => this.liveTick());
    this.syncControls();
    this.setStatus();
  }

  // ---- hover -----------------------------------------------------------------

  private hideTooltip(): void {
    const el = this.el;
    el.tooltip.hidden = true;
    const outlined = this.hoverCell !== null && el.heatmap.dataset.cells === 'single';
    this.hoverCell = null;
    window.clearTimeout(this.hoverTimer);
    if (outlined) this.paintCells();
  }

  private fullIndex(row: number, col: number): number[] {
    const s = this.seg?.shape ?? [];
    if (s.length === 0) return [];
    if (s.length === 1) return [col];
    const st = this.st;
    const [ra, ca] = st.axes ?? [s.length - 2, s.length - 1];
    return s.map((_, k) => (k === ra ? row : k === ca ? col : (st.index[k] ?? 0)));
  }

  private renderTooltip(row: number, col: number, exact: string | null): void {
    const el = this.el;
    const idx = this.fullIndex(row, col);
    const cell = cellValue(this.plot, this.tile, this.line, row, col);
    const rows: [string, string, string?][] = [
      ['index', idx.length ? `(${idx.join(', ')})` : '()'],
      ['value', exact ?? '…', 'exact'],
    ];
    if (this.plot === 'heatmap' && el.heatmap.dataset.cells === 'single') {
      // Which colours the cells span, and where this one falls (the domain follows the visible cells).
      const lo = Number(el.heatmap.dataset.lo);
      const hi = Number(el.heatmap.dataset.hi);
      const v = cell?.value ?? NaN;
      const at = hi > lo && Number.isFinite(v) ? ` · ${Math.round((100 * (v - lo)) / (hi - lo))} %` : '';
      rows.push(['colour', `${formatValue(lo)} … ${formatValue(hi)}${el.heatmap.dataset.domainUsed === 'visible' ? ' (visible cells)' : ''}${at}`]);
    }
    if (cell && cell.elements > 1) {
      const what = this.plot === 'line' ? 'min' : this.tile?.mode === 'strided' ? 'sample' : (this.tile?.mode ?? 'mean');
      rows.push([what, `${formatValue(cell.value)} of ${formatCount(cell.elements)}`]);
    }
    fillTooltip(el.tooltip, rows);
    el.tooltip.dataset.row = String(row);
    el.tooltip.dataset.col = String(col);
    if (exact !== null) el.tooltip.dataset.value = exact;
    else delete el.tooltip.dataset.value;
  }

  private hover(px: number, py: number): void {
    const { el, layout } = this;
    if (!this.seg || !layout || this.body.dataset.state === 'error') return;
    const { w, h } = layout.plot;
    if (px < 0 || py < 0 || px >= w || py >= h) {
      this.hideTooltip();
      return;
    }
    const c =
      this.plot === 'line'
        ? { row: 0, col: Math.max(0, Math.min(this.extent.cols - 1, Math.floor(toCells(this.vp, px, py, w, h).x))) }
        : cellAt(this.vp, px, py, w, h, this.extent);
    const changed = !this.hoverCell || this.hoverCell.row !== c.row || this.hoverCell.col !== c.col;
    if (changed) {
      this.hoverCell = c;
      if (this.plot === 'heatmap' && el.heatmap.dataset.cells === 'single') this.paintCells();
      this.renderTooltip(c.row, c.col, null);
      window.clearTimeout(this.hoverTimer);
      this.hoverTimer = window.setTimeout(() => this.host.request({ type: 'hover', slice: this.currentSlice(), row: c.row, col: c.col }), 30);
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

  private onHostMessage(msg: HostMessage & Stamped): void {
    switch (msg.type) {
      case 'init':
        this.onInit(msg.segment, msg.requestedAt, msg.first);
        // The host may show the next previewed segment in this panel (until it is pinned).
        showKeep(this.el, msg.reusable === true && !this.pinned);
        break;
      case 'tile':
        this.onTile(msg);
        break;
      case 'line':
        this.onLine(msg);
        break;
      case 'stats':
        this.stats = msg;
        this.showStats();
        this.redraw();
        break;
      case 'cells':
        if (!this.gridOn) break;
        // A line plot's elements come as one row: its grid has them one a row.
        if (this.plot === 'line') this.grid.put(msg.window.c0, [0], arrayRows(msg.texts, 1));
        else this.grid.put(msg.window.r0, range(msg.window.c0, msg.window.c1), arrayRows(msg.texts, msg.window.c1 - msg.window.c0));
        break;
      case 'value':
        if (this.hoverCell && this.hoverCell.row === msg.row && this.hoverCell.col === msg.col) this.renderTooltip(msg.row, msg.col, msg.text);
        break;
      case 'error':
        this.onError(msg);
        break;
      case 'notice':
        this.showNotice(msg.level, msg.message, msg.sticky === true);
        break;
    }
  }

  private onInit(segment: SegmentSummary, at: number, first: FirstPicture | undefined): void {
    const { el, body } = this;
    const previous = this.store.state;
    this.seg = segment;
    const seg = segment;
    if (at !== this.requestedAt) {
      // A new request (also a new array in a reused panel): time it afresh.
      this.requestedAt = at;
      this.timingSent = false;
      this.firstPixelsMs = null;
      for (const k of ['scriptMs', 'initMs', 'viewMs', 'tileMs', 'firstPixelsMs', 'exactMs']) delete body.dataset[k];
      body.dataset.scriptMs = String(Math.max(0, this.bootAt - at));
      body.dataset.initMs = String(Date.now() - at);
    }
    setTitle(el.title, displayText(seg.name));
    el.open.disabled = false;
    el.figure.style.visibility = '';
    const shape = seg.shape.length ? seg.shape.join('×') : 'scalar';
    el.info.textContent = `${seg.dtypeWords} · ${shape}${seg.fortranOrder ? ' · Fortran order' : ''} · ${formatBytes(seg.size)}${this.sampledOnly() ? ' · sampled' : ''}`;
    el.error.hidden = true;
    // A sticky notice was about the array shown before; this one's own (an Arrow column's nulls) replaces it.
    if (el.notice.dataset.sticky === 'true') el.notice.hidden = true;
    if (seg.note) this.showNotice('warning', seg.note, true);
    body.dataset.state = 'loading';
    this.store.replace(settingsFor(seg, previous, this.store.saved()));
    const nd = seg.shape.length;
    this.plot = nd === 1 ? 'line' : 'heatmap';
    body.dataset.plot = this.plot;
    this.extent = this.sliceExtent();
    this.vp = clampViewport(this.st.viewport ?? fullViewport(this.extent), this.extent);
    this.tile = null;
    this.line = null;
    this.stats = null;
    // The host's first picture, when it shows what this view starts on: drawn before anything is asked.
    const firstFits = first && this.plot === 'heatmap' && isFull(this.vp, this.extent) && sameSlice(first.slice, this.currentSlice());
    if (first && firstFits) this.tile = { ...first, mode: 'strided', final: false, image: null };
    this.showStats();
    this.buildSlicer();
    this.syncControls();
    this.relayout();
    this.redraw();
    // The grid of values stays on where it was for this array (reopened, or the panel restored after a reload).
    const g = this.st.grid;
    this.gridOn = g !== null;
    body.dataset.view = this.gridOn ? 'grid' : 'plot';
    this.syncControls();
    if (g) this.showGrid({ row: Math.min(g.row, this.extent.rows - 1), col: Math.min(g.col, this.extent.cols - 1) });
    if (this.tile) {
      this.timing(false);
      this.setStatus(`${first!.exact ? 'every element' : 'sampled'} · ${this.tile.height}×${this.tile.width} cells · reading…`);
      body.dataset.state = 'preview';
    } else {
      this.setStatus('reading…');
    }
    this.sendView();
    this.statsAfterPicture = true;
    this.startLive();
    this.save();
  }

  private buildSlicer(): void {
    const st = this.st;
    buildSlicer(
      this.seg!,
      { axes: st.axes, index: st.index, part: st.part },
      {
        tensor: (name) => this.host.send({ type: 'selectTensor', name }),
        part: (p) => {
          this.st.part = p;
          this.sliceChanged(false);
        },
        axes: (r, c) => {
          this.st.axes = [r, c];
          this.sliceChanged(true);
        },
        index: (axis, value) => {
          this.st.index[axis] = value;
          this.sliceChanged(false);
        },
      },
    );
  }

  /** A new 2-D slice: new stats; a new extent (and view) when the axes changed. */
  private sliceChanged(axesChanged: boolean): void {
    if (!this.seg) return;
    if (axesChanged) {
      this.extent = this.sliceExtent();
      this.vp = fullViewport(this.extent);
      this.tile = null;
      this.buildSlicer();
      this.relayout();
    }
    this.stats = null;
    this.showStats();
    this.save();
    this.scheduleView();
    this.requestStats();
    // The grid shows the new slice: where it was (another index), or around the view's centre (other axes).
    if (this.gridOn) this.showGrid((!axesChanged && this.grid.centre()) || centreCell(this.vp, this.extent));
  }

  /** After the first exact picture: the whole slice's statistics. */
  private afterPicture(): void {
    if (!this.statsAfterPicture) return;
    this.statsAfterPicture = false;
    this.requestStats();
  }

  private onTile(msg: Host<'tile'>): void {
    const { el, body } = this;
    if (this.requestedAt && !body.dataset.tileMs) body.dataset.tileMs = String(Date.now() - this.requestedAt);
    this.tile = { ...msg, image: null };
    this.redraw();
    const exactCells = msg.width === msg.window.c1 - msg.window.c0 && msg.height === msg.window.r1 - msg.window.r0;
    this.setStatus(
      `${msg.mode === 'strided' ? 'sampled' : msg.mode} · ${msg.height}×${msg.width} cells · ` +
        `range ${formatValue(msg.min, 6)} … ${formatValue(msg.max, 6)} · ${msg.elapsedMs.toFixed(1)} ms${exactCells && !isFull(this.vp, this.extent) ? ' · 1 element per cell' : ''}`,
    );
    body.dataset.state = msg.final ? 'exact' : 'preview';
    this.timing(msg.final);
    // The host holds the exact pass (it takes every core) until this sample is on screen.
    if (!msg.final && msg.re !== undefined) this.host.send({ type: 'drawn', re: msg.re });
    if (msg.final) this.afterPicture();
    if (this.hoverCell && !el.tooltip.hidden) this.renderTooltip(this.hoverCell.row, this.hoverCell.col, el.tooltip.dataset.value ?? null);
  }

  private onLine(msg: Host<'line'>): void {
    const el = this.el;
    this.line = msg;
    this.redraw();
    const n = msg.window.c1 - msg.window.c0;
    // Every element; one sample a column (Quick Look on a big array); or the envelope.
    const kind = msg.width >= n ? 'samples' : this.sampledOnly() ? 'sampled' : 'min/max';
    this.setStatus(
      `${kind} · ${msg.width} columns of ${formatCount(n)} · range ${formatValue(msg.min, 6)} … ${formatValue(msg.max, 6)} · ${msg.elapsedMs.toFixed(1)} ms`,
    );
    this.body.dataset.state = 'exact';
    this.timing(true);
    this.afterPicture();
    if (this.hoverCell && !el.tooltip.hidden) this.renderTooltip(this.hoverCell.row, this.hoverCell.col, el.tooltip.dataset.value ?? null);
  }

  private timing(final: boolean): void {
    if (this.timingSent || !this.requestedAt) return;
    const now = Date.now();
    if (this.firstPixelsMs === null) {
      this.firstPixelsMs = now - this.requestedAt;
      this.body.dataset.firstPixelsMs = String(this.firstPixelsMs);
    }
    if (final) {
      const exactMs = now - this.requestedAt;
      this.body.dataset.exactMs = String(exactMs);
      this.timingSent = true;
      this.host.send({ type: 'timing', firstPixelsMs: this.firstPixelsMs, exactMs });
    }
  }

  private onError(msg: Host<'error'>): void {
    const el = this.el;
    el.error.hidden = false;
    el.errorText.textContent = displayText(msg.message);
    // Reopen, Retry, or nothing to retry in an array that cannot be shown (Quick Look's subject is not even mapped).
    const button = ERROR_KINDS[msg.kind];
    el.retry.textContent = button ?? '';
    el.retry.hidden = button === null;
    el.error.dataset.kind = msg.kind;
    if (msg.subject !== undefined) {
      // About another segment than the picture: no picture, no notice of the last array.
      setTitle(el.title, displayText(msg.subject));
      el.info.textContent = '';
      el.open.disabled = true;
      el.notice.hidden = true;
      el.stats.textContent = '';
      el.figure.style.visibility = 'hidden';
      // Nor the grid of values (or of a table's rows, in Quick Look) of what was shown before.
      this.body.dataset.view = 'plot';
    }
    this.body.dataset.state = 'error';
    // What was asked gets no reply now.
    this.host.forget();
    this.statsAfterPicture = false;
    this.hideTooltip();
    this.setStatus('');
  }
}
