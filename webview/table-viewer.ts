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
import { validateTableHostMessage, type TableColumnStats, type TableHostMessage, type TableSummary, type TableWebviewMessage } from '../contract/table';
import { Container, type PostApi } from './container';
import { byId } from './controls';
import { GridPane, type GridView } from './grid-pane';
import { SettingsStore, type StateApi } from './store';
import { clampWidth, HEAD_H, statsText } from './table-grid';
import { displayText } from './text';
import { showKeep } from './toolbar';

/**
 * What the store keeps: the table shown (the serializer finds it again by name), the first row on
 * screen, and the widths the user gave columns, by column name (pairs: a name is any text).
 */
export interface TableViewState {
  name: string;
  path: string;
  row: number;
  widths: [string, number][];
}

function checkState(raw: unknown): TableViewState | null {
  const r = raw as Partial<TableViewState> | null;
  if (!r || typeof r.name !== 'string' || typeof r.path !== 'string') return null;
  const widths = Array.isArray(r.widths)
    ? r.widths
        .filter((p): p is [string, number] => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && Number.isFinite(p[1]))
        .map(([n, w]) => [n, clampWidth(w)] as [string, number])
    : [];
  return { name: r.name, path: r.path, row: Number.isSafeInteger(r.row) && r.row! >= 0 ? r.row! : 0, widths };
}

/** Milliseconds of quiet before the rows of a scrolled view are asked for; the longest wait while it keeps scrolling. */
const DEBOUNCE_MS = 12;
const MAX_WAIT_MS = 60;
/** Hover over a header this long before its statistics are asked for. */
const STATS_HOVER_MS = 250;

type Host<T extends TableHostMessage['type']> = Extract<TableHostMessage, { type: T }> & Stamped;

export class TableViewer {
  private readonly c: Container<TableWebviewMessage, TableHostMessage>;
  private readonly store: SettingsStore<TableViewState>;
  private table: TableSummary | null = null;
  private stats = new Map<number, TableColumnStats | string>();
  private hoveredColumn: number | null = null;
  private hoverTimer: number | undefined;
  /** When the rows now asked for were first wanted (a scroll), for the time to draw them. */
  private wantedAt: number | null = null;
  private pinned = false;
  private readonly grid: GridPane;
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
    this.store = new SettingsStore<TableViewState>(api, checkState, { name: '', path: '', row: 0, widths: [] });
    const el = this.el;
    this.grid = new GridPane(
      { scroller: el.scroller, sticky: el.sticky, head: el.head, rows: el.rows, spacer: el.spacer },
      {
        need: (rows, columns) => this.requestRows(rows, columns),
        drawn: (v, pending) => this.drawn(v, pending),
        scrolled: () => {
          this.wantedAt ??= performance.now();
          this.pin();
        },
        resized: (widths) => this.resized(widths),
      },
    );
  }

  start(): void {
    this.c.listen(window);
    const el = this.el;
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
    // Copy (Ctrl+C): the rows on screen, the visible columns, as TSV with their names.
    document.addEventListener('copy', (ev) => {
      const tsv = this.table ? this.grid.visibleTsv() : null;
      if (tsv === null || ev.target === el.goto || !ev.clipboardData) return;
      ev.clipboardData.setData('text/plain', tsv);
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
      case 'grown':
        this.onGrown(m);
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
    const again = saved && saved.name === t.name && saved.path === t.path;
    const row = again ? saved.row : 0;
    const widths = again ? saved.widths : [];
    const same = this.table?.name === t.name && this.table.path === t.path;
    this.table = t;
    this.store.replace({ name: t.name, path: t.path, row, widths });
    this.stats.clear();
    this.pinned = !m.reusable;
    showKeep(this.el, m.reusable);
    document.body.dataset.state = 'ready';
    this.el.error.hidden = true;
    if (!same) this.el.notice.hidden = true;
    this.el.title.textContent = displayText(t.name);
    this.showFacts(t);
    const byName = new Map(widths);
    this.grid.show(
      t.columns,
      t.totalRows,
      t.columns.map((c) => byName.get(c.name)),
    );
    this.el.scroller.scrollLeft = 0;
    this.grid.goToRow(row);
    this.wantedAt = performance.now();
  }

  /** The line under the title (rows, columns, size, source), the notes, and Go to row's range. */
  private showFacts(t: TableSummary): void {
    document.body.dataset.rows = String(t.totalRows);
    this.el.info.textContent = `${t.totalRows.toLocaleString('en-US')} rows × ${t.columns.length} columns · ${formatBytes(t.size)} · ${t.source}`;
    this.el.notes.textContent = t.notes.map(displayText).join(' · ');
    this.el.goto.max = String(Math.max(0, t.totalRows - 1));
  }

  /**
   * The producer appended rows (an Arrow stream's new batches): the new count, and the new rows in
   * view when the last rows were (the grid follows the end, as `tail -f` does); elsewhere it stays.
   */
  private onGrown(m: Host<'grown'>): void {
    const t = this.table;
    if (!t) return;
    const v = this.grid.view();
    const atEnd = v !== null && v.rows.end >= t.totalRows;
    t.totalRows = m.totalRows;
    t.size = m.size;
    t.notes = m.notes;
    this.stats.clear();
    this.showFacts(t);
    this.grid.setTotal(t.totalRows);
    this.grid.layout();
    if (atEnd && t.totalRows > 0) this.grid.goToRow(t.totalRows - 1);
    else this.grid.schedule();
  }

  /** The user resized a column: every column's width is kept by its name (for a reload). */
  private resized(widths: readonly number[]): void {
    const t = this.table;
    if (!t) return;
    const kept = new Map(this.store.state.widths);
    t.columns.forEach((c, i) => kept.set(c.name, widths[i]));
    this.store.state.widths = [...kept];
    this.store.save();
    document.body.dataset.widths = widths.join(',');
  }

  private goToRow(row: number): void {
    if (!this.table) return;
    this.pin();
    this.wantedAt = performance.now();
    this.grid.goToRow(row);
  }

  /** After the grid drew: the first row kept for a reload, the status, and the time from a scroll to its rows drawn. */
  private drawn(v: GridView, pending: number): void {
    const t = this.table;
    if (!t) return;
    const { rows } = v;
    this.store.state.row = rows.first;
    this.store.save();
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
  }

  private requestRows(rows: { first: number; end: number }, columns: number[]): void {
    const ask = () => this.c.request({ type: 'rows', offset: rows.first, count: rows.end - rows.first, columns });
    this.c.debounce('rows', ask, DEBOUNCE_MS, MAX_WAIT_MS);
  }

  private onRows(m: Host<'rows'>): void {
    const t = this.table;
    if (!t) return;
    document.body.dataset.hostMs = m.elapsedMs.toFixed(2);
    if (m.totalRows !== t.totalRows) {
      t.totalRows = m.totalRows;
      this.grid.setTotal(t.totalRows);
      this.showFacts(t);
    }
    this.grid.put(m.offset, m.columns, m.rows, m.errors);
  }

  private headerColumn(ev: Event): number | null {
    const h = (ev.target as HTMLElement | null)?.closest<HTMLElement>('.hcell');
    const col = h?.dataset.col;
    return col === undefined ? null : Number(col);
  }

  private onHeaderHover(ev: MouseEvent): void {
    // A column's edge is for resizing it: no statistics over it.
    if ((ev.target as HTMLElement | null)?.closest?.('.col-resize')) return;
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
    const x = Math.max(0, Math.min(this.grid.columnX(col), this.el.scroller.clientWidth - 320));
    Object.assign(box.style, { left: `${x}px`, top: `${HEAD_H + 2}px` });
    box.hidden = false;
  }
}
