/**
 * The table viewer (issue #16): a virtual grid over a table of any number of rows. Only the rows
 * and columns on screen are drawn, and only those not yet known are asked from the host, by row
 * range, as the user scrolls (about one value per visible cell; a newer request supersedes the
 * older: container.ts, contract/requests.ts). Column statistics come on a header's hover or click.
 *
 * Its parts: the settings store (store.ts: the table shown and the first row, saved across
 * reloads), the container (container.ts: requests, the host's messages checked), Keep open
 * (toolbar.ts), and the pure layout and cell formatting (table-grid.ts). What is left here is
 * the DOM and what each message does to it.
 */
import { formatBytes } from '../contract/bytes';
import { ERROR_KINDS } from '../contract/protocol';
import type { Stamped } from '../contract/requests';
import {
  CELL_KINDS,
  validateTableHostMessage,
  type TableCell,
  type TableColumnStats,
  type TableHostMessage,
  type TableSummary,
  type TableWebviewMessage,
} from '../contract/table';
import { Container, type PostApi } from './container';
import { byId } from './controls';
import { SettingsStore, type StateApi } from './store';
import {
  anchorAt,
  cellText,
  columnEdges,
  columnWidth,
  HEAD_H,
  missingRows,
  ROW_H,
  rowForKey,
  rowNumberWidth,
  rowsHeight,
  statsText,
  tsvOf,
  visibleColumns,
  visibleRows,
  type RowAnchor,
} from './table-grid';
import { displayText } from './text';
import { showKeep } from './toolbar';

/** What the store keeps: the table shown (the serializer finds it again by name) and the first row on screen. */
export interface TableViewState {
  name: string;
  path: string;
  row: number;
}

function checkState(raw: unknown): TableViewState | null {
  const r = raw as Partial<TableViewState> | null;
  if (!r || typeof r.name !== 'string' || typeof r.path !== 'string') return null;
  return { name: r.name, path: r.path, row: Number.isSafeInteger(r.row) && r.row! >= 0 ? r.row! : 0 };
}

/** Milliseconds of quiet before the rows of a scrolled view are asked for; the longest wait while it keeps scrolling. */
const DEBOUNCE_MS = 12;
const MAX_WAIT_MS = 60;
/** Hover over a header this long before its statistics are asked for. */
const STATS_HOVER_MS = 250;
/** Rows kept in the cache: beyond this, those farthest from the view are dropped. */
const CACHE_ROWS = 4000;

type Host<T extends TableHostMessage['type']> = Extract<TableHostMessage, { type: T }> & Stamped;

export class TableViewer {
  private readonly c: Container<TableWebviewMessage, TableHostMessage>;
  private readonly store: SettingsStore<TableViewState>;
  private table: TableSummary | null = null;
  private widths: number[] = [];
  private left: number[] = [];
  private totalWidth = 0;
  /** Known cells: row -> column -> cell. */
  private cells = new Map<number, Map<number, TableCell>>();
  /** Per column, why its cells could not be read (last page), or absent. */
  private colErrors = new Map<number, string>();
  private stats = new Map<number, TableColumnStats | string>();
  private hoveredColumn: number | null = null;
  private hoverTimer: number | undefined;
  private frame = 0;
  /** When the rows now asked for were first wanted (a scroll), for the time to draw them. */
  private wantedAt: number | null = null;
  private pinned = false;
  /** The row Go to row or a key put first (a scaled scrollbar cannot say it by the pixel). */
  private anchor: RowAnchor | null = null;
  private readonly el = {
    title: byId('title'),
    info: byId('info'),
    status: byId('status'),
    notes: byId('notes'),
    keep: byId<HTMLButtonElement>('keep'),
    goto: byId<HTMLInputElement>('goto'),
    error: byId('error'),
    errorText: byId('error-text'),
    retry: byId<HTMLButtonElement>('retry'),
    notice: byId('notice'),
    scroller: byId('scroller'),
    sticky: byId('sticky'),
    head: byId('head'),
    rows: byId('rows'),
    spacer: byId('spacer'),
    colstats: byId('colstats'),
  };

  constructor(api: PostApi & StateApi) {
    this.c = new Container<TableWebviewMessage, TableHostMessage>(api, {
      validate: validateTableHostMessage,
      onMessage: (m) => this.onMessage(m),
    });
    this.store = new SettingsStore<TableViewState>(api, checkState, { name: '', path: '', row: 0 });
  }

  start(): void {
    this.c.listen(window);
    const el = this.el;
    el.scroller.addEventListener('scroll', () => {
      this.wantedAt ??= performance.now();
      this.pin();
      this.schedule();
    });
    window.addEventListener('resize', () => this.schedule());
    el.retry.addEventListener('click', () => {
      el.error.hidden = true;
      this.c.send({ type: 'retry' });
    });
    el.keep.addEventListener('click', () => this.pin());
    el.goto.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter' || !this.table) return;
      const row = Math.floor(el.goto.valueAsNumber);
      if (Number.isFinite(row)) this.goToRow(row);
    });
    el.scroller.addEventListener('keydown', (ev) => {
      const t = this.table;
      const v = this.view();
      if (!t || !v || ev.altKey || ev.metaKey || ev.target !== el.scroller) return;
      const row = rowForKey(ev.key, v.rows.first, this.rowsViewHeight(), t.totalRows);
      if (row === null) return;
      ev.preventDefault();
      this.goToRow(row);
    });
    // Copy (Ctrl+C): the rows on screen, the visible columns, as TSV with their names.
    document.addEventListener('copy', (ev) => {
      const t = this.table;
      const v = this.view();
      if (!t || !v || ev.target === el.goto || !ev.clipboardData) return;
      const cols = Array.from({ length: v.cols.end - v.cols.first }, (_, k) => v.cols.first + k);
      const rows = Array.from({ length: v.rows.end - v.rows.first }, (_, k) => cols.map((c) => this.cells.get(v.rows.first + k)?.get(c)));
      ev.clipboardData.setData(
        'text/plain',
        tsvOf(
          cols.map((c) => t.columns[c].name),
          rows,
        ),
      );
      ev.preventDefault();
    });
    el.head.addEventListener('mouseover', (ev) => this.onHeaderHover(ev));
    el.head.addEventListener('mouseleave', () => this.hideStats());
    el.head.addEventListener('click', (ev) => {
      const col = this.headerColumn(ev);
      if (col !== null) this.showStats(col, true);
    });
    this.c.send({ type: 'ready' });
  }

  private pin(): void {
    if (this.pinned) return;
    this.pinned = true;
    showKeep(this.el, false);
    this.c.send({ type: 'pin' });
  }

  private onMessage(m: TableHostMessage & Stamped): void {
    switch (m.type) {
      case 'init':
        this.init(m);
        break;
      case 'rows':
        this.onRows(m);
        break;
      case 'colstats':
        this.stats.set(m.column, m.stats ?? m.error ?? 'no statistics');
        if (this.hoveredColumn === m.column) this.showStats(m.column, false);
        break;
      case 'error':
        this.c.forget();
        document.body.dataset.state = 'error';
        this.el.errorText.textContent = displayText(m.message);
        this.el.error.dataset.code = m.code ?? '';
        this.el.retry.textContent = ERROR_KINDS[m.kind] ?? '';
        this.el.retry.hidden = ERROR_KINDS[m.kind] === null;
        this.el.error.hidden = false;
        break;
      case 'notice':
        this.el.notice.textContent = displayText(m.message);
        this.el.notice.className = m.level;
        this.el.notice.hidden = false;
        break;
    }
  }

  private init(m: Host<'init'>): void {
    const t = m.table;
    const saved = this.store.saved();
    const row = saved && saved.name === t.name && saved.path === t.path ? saved.row : 0;
    const same = this.table?.name === t.name && this.table.path === t.path;
    this.table = t;
    this.store.replace({ name: t.name, path: t.path, row });
    this.cells.clear();
    this.colErrors.clear();
    this.stats.clear();
    this.pinned = !m.reusable;
    showKeep(this.el, m.reusable);
    document.body.dataset.state = 'ready';
    document.body.dataset.rows = String(t.totalRows);
    this.el.error.hidden = true;
    if (!same) this.el.notice.hidden = true;
    this.el.title.textContent = displayText(t.name);
    this.el.info.textContent = `${t.totalRows.toLocaleString('en-US')} rows × ${t.columns.length} columns · ${formatBytes(t.size)} · ${t.source}`;
    this.el.notes.textContent = t.notes.map(displayText).join(' · ');
    this.el.goto.max = String(Math.max(0, t.totalRows - 1));
    this.widths = t.columns.map(columnWidth);
    const e = columnEdges(this.widths);
    this.left = e.left;
    this.totalWidth = e.total;
    this.layout();
    this.el.scroller.scrollLeft = 0;
    this.anchor = anchorAt(row, this.rowsViewHeight(), t.totalRows);
    this.el.scroller.scrollTop = this.anchor.top;
    this.wantedAt = performance.now();
    this.schedule();
  }

  /** Pixels of rows the view shows. */
  private rowsViewHeight(): number {
    return Math.max(ROW_H, this.el.scroller.clientHeight - HEAD_H);
  }

  private rowNumW(): number {
    return rowNumberWidth(this.table?.totalRows ?? 0);
  }

  /** Sizes the scroll area: the sticky view is the viewport, the spacer makes the rest of the scroll range. */
  private layout(): void {
    const t = this.table;
    if (!t) return;
    const s = this.el.scroller;
    const viewW = s.clientWidth;
    const viewH = s.clientHeight;
    this.el.sticky.style.width = `${viewW}px`;
    this.el.sticky.style.height = `${viewH}px`;
    const contentH = HEAD_H + rowsHeight(t.totalRows);
    this.el.spacer.style.height = `${Math.max(0, contentH - viewH)}px`;
    this.el.spacer.style.width = `${this.rowNumW() + this.totalWidth}px`;
  }

  private goToRow(row: number): void {
    const t = this.table;
    if (!t) return;
    this.pin();
    this.wantedAt = performance.now();
    this.anchor = anchorAt(row, this.rowsViewHeight(), t.totalRows);
    this.el.scroller.scrollTop = this.anchor.top;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private view(): { rows: { first: number; end: number; shift: number }; cols: { first: number; end: number } } | null {
    const t = this.table;
    if (!t) return null;
    const s = this.el.scroller;
    // The scrollbar moved away from an anchored row: the pixel decides again.
    if (this.anchor && Math.abs(s.scrollTop - this.anchor.top) >= 1) this.anchor = null;
    const rows = visibleRows(s.scrollTop, this.rowsViewHeight(), t.totalRows, this.anchor);
    const cols = visibleColumns(this.left, this.widths, s.scrollLeft, Math.max(1, s.clientWidth - this.rowNumW()));
    return { rows, cols };
  }

  /** Draws what is known of the visible rows, and asks for what is not. */
  private draw(): void {
    const t = this.table;
    const v = this.view();
    if (!t || !v) return;
    this.layout();
    const { rows, cols } = v;
    const s = this.el.scroller;
    const rn = this.rowNumW();
    const x0 = rn - s.scrollLeft;
    this.store.state.row = rows.first;
    this.store.save();
    // The header: the corner, then each visible column's name and type.
    const head: HTMLElement[] = [];
    const corner = document.createElement('div');
    corner.className = 'hcell corner';
    Object.assign(corner.style, { left: '0px', top: '0px', width: `${rn}px` });
    corner.textContent = '#';
    head.push(corner);
    for (let c = cols.first; c < cols.end; c++) {
      const col = t.columns[c];
      const h = document.createElement('div');
      h.className = `hcell${CELL_KINDS[col.kind] === 'right' ? ' num' : ''}`;
      h.dataset.col = String(c);
      h.setAttribute('role', 'columnheader');
      Object.assign(h.style, { left: `${x0 + this.left[c]}px`, top: '0px', width: `${this.widths[c]}px` });
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = displayText(col.name);
      const type = document.createElement('span');
      type.className = 'type';
      type.textContent = displayText(col.type);
      h.append(name, type);
      h.title = `${displayText(col.name)} (${displayText(col.type)})${this.colErrors.has(c) ? `\n${this.colErrors.get(c)}` : ''}`;
      head.push(h);
    }
    this.el.head.replaceChildren(...head);
    // The rows: the number, then each visible cell.
    const out: HTMLElement[] = [];
    let pending = 0;
    for (let r = rows.first; r < rows.end; r++) {
      const y = HEAD_H + (r - rows.first) * ROW_H - rows.shift;
      const known = this.cells.get(r);
      const num = document.createElement('div');
      num.className = `rnum${r % 2 ? ' row-odd' : ''}`;
      Object.assign(num.style, { left: '0px', top: `${y}px`, width: `${rn}px` });
      num.textContent = String(r);
      out.push(num);
      for (let c = cols.first; c < cols.end; c++) {
        const d = document.createElement('div');
        const cell = known?.get(c);
        const ct = cellText(cell, t.columns[c].kind);
        if (cell === undefined) pending++;
        d.className = `cell ${cell === undefined ? 'pending' : ct.cls}${r % 2 ? ' row-odd' : ''}`;
        d.dataset.row = String(r);
        d.dataset.col = String(c);
        d.setAttribute('role', 'gridcell');
        Object.assign(d.style, { left: `${x0 + this.left[c]}px`, top: `${y}px`, width: `${this.widths[c]}px` });
        d.textContent = ct.text;
        if (ct.title) d.title = ct.title;
        out.push(d);
      }
    }
    this.el.rows.replaceChildren(...out);
    document.body.dataset.first = String(rows.first);
    document.body.dataset.pending = String(pending);
    this.el.status.textContent = t.totalRows ? `rows ${rows.first.toLocaleString('en-US')}–${(rows.end - 1).toLocaleString('en-US')}` : 'no rows';
    if (pending === 0 && this.wantedAt !== null) {
      const ms = performance.now() - this.wantedAt;
      this.wantedAt = null;
      document.body.dataset.drawnMs = ms.toFixed(1);
      document.body.dataset.drawnAt = String(performance.now());
      this.c.send({ type: 'timing', requestToDrawnMs: ms, offset: rows.first });
    }
    const miss = missingRows((r, c) => this.cells.get(r)?.has(c) ?? this.colErrors.has(c), rows, cols);
    if (miss) this.requestRows(miss, cols);
  }

  private requestRows(rows: { first: number; end: number }, cols: { first: number; end: number }): void {
    const columns = Array.from({ length: cols.end - cols.first }, (_, k) => cols.first + k);
    const ask = () => this.c.request({ type: 'rows', offset: rows.first, count: rows.end - rows.first, columns });
    this.c.debounce('rows', ask, DEBOUNCE_MS, MAX_WAIT_MS);
  }

  private onRows(m: Host<'rows'>): void {
    const t = this.table;
    if (!t) return;
    m.rows.forEach((row, i) => {
      const r = m.offset + i;
      let known = this.cells.get(r);
      if (!known) this.cells.set(r, (known = new Map()));
      m.columns.forEach((c, j) => known!.set(c, row[j]));
    });
    m.columns.forEach((c, j) => {
      const e = m.errors[j];
      if (e) this.colErrors.set(c, e);
      else this.colErrors.delete(c);
    });
    if (this.cells.size > CACHE_ROWS) this.evict(m.offset);
    document.body.dataset.hostMs = m.elapsedMs.toFixed(2);
    if (m.totalRows !== t.totalRows) {
      t.totalRows = m.totalRows;
      document.body.dataset.rows = String(t.totalRows);
    }
    this.draw();
  }

  /** Drops the cached rows farthest from `near`, down to half the cache. */
  private evict(near: number): void {
    const keep = [...this.cells.keys()].sort((a, b) => Math.abs(a - near) - Math.abs(b - near)).slice(0, CACHE_ROWS / 2);
    const next = new Map<number, Map<number, TableCell>>();
    for (const r of keep) next.set(r, this.cells.get(r)!);
    this.cells = next;
  }

  private headerColumn(ev: Event): number | null {
    const h = (ev.target as HTMLElement | null)?.closest<HTMLElement>('.hcell');
    const col = h?.dataset.col;
    return col === undefined ? null : Number(col);
  }

  private onHeaderHover(ev: MouseEvent): void {
    const col = this.headerColumn(ev);
    if (col === this.hoveredColumn) return;
    window.clearTimeout(this.hoverTimer);
    if (col === null) {
      this.hideStats();
      return;
    }
    this.hoveredColumn = col;
    this.hoverTimer = window.setTimeout(() => this.showStats(col, true), STATS_HOVER_MS);
  }

  private hideStats(): void {
    window.clearTimeout(this.hoverTimer);
    this.hoveredColumn = null;
    this.el.colstats.hidden = true;
  }

  /** Shows column `col`'s statistics under its header (asking for them first when `ask` and unknown). */
  private showStats(col: number, ask: boolean): void {
    const t = this.table;
    if (!t || col >= t.columns.length) return;
    this.hoveredColumn = col;
    const s = this.stats.get(col);
    const box = this.el.colstats;
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = `${displayText(t.columns[col].name)} · ${displayText(t.columns[col].type)}`;
    const body = document.createElement('div');
    body.className = 'values';
    if (s === undefined) {
      body.textContent = 'computing statistics…';
      if (ask) this.c.request({ type: 'colstats', column: col });
    } else body.textContent = typeof s === 'string' ? s : statsText(s);
    box.replaceChildren(name, body);
    box.dataset.col = String(col);
    box.dataset.ready = String(s !== undefined);
    const x = Math.max(0, Math.min(this.rowNumW() + this.left[col] - this.el.scroller.scrollLeft, this.el.scroller.clientWidth - 320));
    Object.assign(box.style, { left: `${x}px`, top: `${HEAD_H + 2}px` });
    box.hidden = false;
  }
}
