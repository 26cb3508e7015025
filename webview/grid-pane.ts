/**
 * A virtual grid of cells in the DOM (issue #16): the table viewer's grid, and the same grid in the
 * matrix viewer's page (its Table toggle, and Quick Look's first rows of a table). It draws only
 * the rows and columns on screen (table-grid.ts: the layout, a scaled scrollbar beyond the
 * browser's tallest element, how a cell reads) and says which of them it does not know yet, so
 * that its owner asks its host for exactly those (about one value per visible cell). What the
 * cells are and where they come from is the owner's: a table's rows, or an array's elements.
 *
 * Columns are resized by dragging a header's right edge (a double-click there fits the column to
 * its widest visible cell), or with Ctrl+Left/Right on a focused header; the widths are kept while
 * the grid scrolls and handed to the owner to keep (the table viewer saves them for a reload). A
 * list or struct cell opens as a tree of its value on hover, or on Enter/Space when focused
 * (value-popup.ts). Text from the data goes in by textContent only.
 */
import { CELL_KINDS, type TableCell, type TableColumnInfo } from '../contract/table';
import {
  anchorAt,
  cellText,
  clampWidth,
  columnEdges,
  columnWidth,
  fitWidth,
  HEAD_H,
  MAX_COL_W,
  MIN_COL_W,
  missingRows,
  RESIZE_STEP,
  ROW_H,
  rowForKey,
  rowNumberWidth,
  rowsHeight,
  tsvOf,
  visibleColumns,
  visibleRows,
  type RowAnchor,
} from './table-grid';
import { displayText } from './text';
import { textEl, ValuePopup } from './value-popup';
import { expandable } from './value-tree';

/** Pixels of a header's resize handle, and a fitted column's slack beyond its widest cell (sub-pixel text). */
const HANDLE_W = 6;
const FIT_SLACK = 1;

/** The grid's elements: a scroller holding a sticky viewport (header, rows) and a spacer that makes the scroll range. */
export interface GridElements {
  scroller: HTMLElement;
  sticky: HTMLElement;
  head: HTMLElement;
  rows: HTMLElement;
  spacer: HTMLElement;
}

/** Rows [first, end) with the first drawn `shift` pixels above the top, and columns [first, end). */
export interface GridView {
  rows: { first: number; end: number; shift: number };
  cols: { first: number; end: number };
}

export interface GridPaneOptions {
  /** Cells not yet known are on screen: ask for rows [first, end) of these columns. */
  need(rows: { first: number; end: number }, columns: number[]): void;
  /** After each draw: what is on screen and how many of its cells are still unknown. */
  drawn?(v: GridView, pending: number): void;
  /** The user scrolled (or moved by a key). */
  scrolled?(): void;
  /** A column's width (default: by its kind, table-grid.ts columnWidth). */
  width?(c: TableColumnInfo): number;
  /** Rows of known cells kept: beyond it, those farthest from the view are dropped. */
  cacheRows?: number;
  /** The user resized a column: every column's width now. */
  resized?(widths: readonly number[]): void;
}

/** A header's name and type. */
function headText(col: TableColumnInfo): HTMLElement[] {
  return [textEl('span', 'name', displayText(col.name)), textEl('span', 'type', displayText(col.type))];
}

export class GridPane {
  private columns: readonly TableColumnInfo[] = [];
  total = 0;
  private widths: number[] = [];
  private left: number[] = [];
  private totalWidth = 0;
  /** Known cells: row -> column -> cell. */
  private cells = new Map<number, Map<number, TableCell>>();
  /** Per column, why its cells could not be read (last page). */
  readonly colErrors = new Map<number, string>();
  /** The row Go to row or a key put first (a scaled scrollbar cannot say it by the pixel). */
  private anchor: RowAnchor | null = null;
  private frame = 0;
  private readonly cacheRows: number;
  /** A cell drawn outlined (the one the matrix viewer's grid was opened at), or null. */
  mark: { row: number; col: number } | null = null;
  /** A column edge being dragged: its column, the pointer's x and the width where the drag began. */
  private drag: { col: number; x: number; w: number } | null = null;
  /** The tree of a list or struct cell (shown beside the grid, outside what each draw replaces). */
  private readonly tree: ValuePopup;
  /** When the last drag of a column edge ended (its click is not a click on the header). */
  private dragEnded = 0;

  constructor(
    readonly el: GridElements,
    private readonly opts: GridPaneOptions,
  ) {
    this.cacheRows = opts.cacheRows ?? 4000;
    el.scroller.addEventListener('scroll', () => {
      opts.scrolled?.();
      this.tree.close(false);
      this.schedule();
    });
    window.addEventListener('resize', () => this.schedule());
    el.scroller.addEventListener('keydown', (ev) => {
      const v = this.view();
      // The scroller's keys, also from a focused header or cell (its own keys, handled first, excepted).
      if (!v || ev.altKey || ev.metaKey || ev.defaultPrevented || !(ev.target === el.scroller || el.sticky.contains(ev.target as Node))) return;
      const row = rowForKey(ev.key, v.rows.first, this.rowsViewHeight(), this.total);
      if (row === null) return;
      ev.preventDefault();
      opts.scrolled?.();
      this.goToRow(row);
    });
    this.listenResize();
    this.tree = new ValuePopup(el.rows, (row, col) => ({ value: this.cell(row, col), column: this.columns[col]?.name ?? String(col) }));
    el.scroller.parentElement?.append(this.tree.el);
  }

  /** Whether a table is shown. */
  get shown(): boolean {
    return this.columns.length > 0 || this.total > 0;
  }

  /** A new table (or array): its columns and row count; what was known is forgotten. */
  show(columns: readonly TableColumnInfo[], totalRows: number, widths?: readonly (number | null | undefined)[]): void {
    this.mark = null;
    this.columns = columns;
    this.total = totalRows;
    this.cells.clear();
    this.colErrors.clear();
    this.tree.close(false);
    this.widths = columns.map((c, i) => {
      const w = widths?.[i];
      return typeof w === 'number' ? clampWidth(w) : (this.opts.width?.(c) ?? columnWidth(c));
    });
    this.edges();
  }

  /**
   * Sets column `c`'s width (clamped) and draws it (at once, or at the next frame while a drag
   * moves: one draw a frame however often the pointer moves); `user`: the owner is told (to keep it).
   */
  setWidth(c: number, w: number, user = true, now = true): void {
    if (c < 0 || c >= this.widths.length) return;
    const next = clampWidth(w);
    if (next === this.widths[c]) return;
    this.widths[c] = next;
    this.edges();
    if (now) this.draw();
    else this.schedule();
    if (user) this.opts.resized?.(this.widths);
  }

  /**
   * Fits column `c` to its widest text on screen: its visible cells, its name and its type. Each is
   * measured as the grid draws it (an unsized copy of its cell or header, hidden: the same font,
   * digits and padding), all in one layout.
   */
  fitColumn(c: number): void {
    const col = this.columns[c];
    const v = this.view();
    if (!col || !v) return;
    const probes: HTMLElement[] = [];
    const probe = (parent: HTMLElement, cls: string, fill: (e: HTMLElement) => void) => {
      const e = document.createElement('div');
      e.className = cls;
      Object.assign(e.style, { visibility: 'hidden', left: '0px', top: '0px', width: 'auto', maxWidth: 'none' });
      fill(e);
      parent.append(e);
      probes.push(e);
    };
    for (let r = v.rows.first; r < v.rows.end; r++) {
      const cell = this.cell(r, c);
      if (cell === undefined) continue;
      const ct = cellText(cell, col.kind);
      probe(this.el.rows, `cell ${ct.cls}`, (e) => (e.textContent = ct.text));
    }
    const heads = probes.length;
    probe(this.el.head, 'hcell', (e) => e.append(...headText(col)));
    // Boxes with their padding and border; the header's beside its resize handle.
    const widths = probes.map((e, k) => e.getBoundingClientRect().width + (k >= heads ? HANDLE_W : 0));
    for (const e of probes) e.remove();
    this.setWidth(c, fitWidth(widths, FIT_SLACK));
  }

  /** The columns' left edges and the total width, from the widths. */
  private edges(): void {
    const e = columnEdges(this.widths);
    this.left = e.left;
    this.totalWidth = e.total;
    this.layout();
  }

  /** Forgets the cells (they are read again as they show: live data). */
  forget(): void {
    this.cells.clear();
    this.tree.close(false);
  }

  /** The rows have a new count (a stream grew). */
  setTotal(totalRows: number): void {
    this.total = totalRows;
  }

  /** Cells read: row `offset + i`, column `columns[j]` is `rows[i][j]`; `errors[j]`: why column j could not be read. */
  put(offset: number, columns: readonly number[], rows: readonly (readonly TableCell[])[], errors?: readonly (string | null)[]): void {
    rows.forEach((row, i) => {
      const r = offset + i;
      let known = this.cells.get(r);
      if (!known) this.cells.set(r, (known = new Map()));
      columns.forEach((c, j) => known!.set(c, row[j]));
    });
    errors?.forEach((e, j) => {
      if (e) this.colErrors.set(columns[j], e);
      else this.colErrors.delete(columns[j]);
    });
    if (this.cells.size > this.cacheRows) this.evict(offset);
    this.draw();
  }

  /** A known cell, or undefined. */
  cell(r: number, c: number): TableCell | undefined {
    return this.cells.get(r)?.get(c);
  }

  /** The rows on screen, the visible columns, as TSV with their names (what Copy puts on the clipboard); null when nothing shows. */
  visibleTsv(): string | null {
    const v = this.view();
    if (!v) return null;
    const cols = Array.from({ length: v.cols.end - v.cols.first }, (_, k) => v.cols.first + k);
    const rows = Array.from({ length: v.rows.end - v.rows.first }, (_, k) => cols.map((c) => this.cell(v.rows.first + k, c)));
    return tsvOf(
      cols.map((c) => this.columns[c].name),
      rows,
    );
  }

  column(c: number): TableColumnInfo | undefined {
    return this.columns[c];
  }

  /** Pixels of rows the view shows. */
  rowsViewHeight(): number {
    return Math.max(ROW_H, this.el.scroller.clientHeight - HEAD_H);
  }

  rowNumW(): number {
    return rowNumberWidth(this.total);
  }

  /** The left edge of column `c` on screen (after the row numbers, less the horizontal scroll). */
  columnX(c: number): number {
    return this.rowNumW() + (this.left[c] ?? 0) - this.el.scroller.scrollLeft;
  }

  /** Puts `row` first (Go to row, a key). */
  goToRow(row: number): void {
    this.anchor = anchorAt(row, this.rowsViewHeight(), this.total);
    this.el.scroller.scrollTop = this.anchor.top;
    this.schedule();
  }

  /** Shows cell (row, col) in the middle of the view, as near as the table's ends allow. */
  centreOn(row: number, col: number): void {
    this.layout();
    const s = this.el.scroller;
    const visible = Math.max(1, Math.floor(this.rowsViewHeight() / ROW_H));
    this.goToRow(Math.max(0, row - Math.floor((visible - 1) / 2)));
    const c = Math.max(0, Math.min(col, this.left.length - 1));
    const viewW = Math.max(1, s.clientWidth - this.rowNumW());
    // The first column whole (not cut under the row numbers), as near the middle as that allows.
    const want = (this.left[c] ?? 0) + (this.widths[c] ?? 0) / 2 - viewW / 2;
    let first = c;
    while (first > 0 && this.left[first - 1] >= want) first--;
    s.scrollLeft = this.left[first] ?? 0;
    this.schedule();
  }

  /** The cell in the middle of the view. */
  centre(): { row: number; col: number } | null {
    const v = this.view();
    if (!v || !this.left.length) return null;
    const s = this.el.scroller;
    const mid = s.scrollLeft + Math.max(1, s.clientWidth - this.rowNumW()) / 2;
    let col = v.cols.first;
    while (col < v.cols.end - 1 && this.left[col] + this.widths[col] <= mid) col++;
    return { row: Math.floor((v.rows.first + v.rows.end - 1) / 2), col };
  }

  /** Draws at the next frame. */
  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Sizes the scroll area: the sticky view is the viewport, the spacer makes the rest of the scroll range. */
  layout(): void {
    const s = this.el.scroller;
    const viewW = s.clientWidth;
    const viewH = s.clientHeight;
    this.el.sticky.style.width = `${viewW}px`;
    this.el.sticky.style.height = `${viewH}px`;
    const contentH = HEAD_H + rowsHeight(this.total);
    this.el.spacer.style.height = `${Math.max(0, contentH - viewH)}px`;
    this.el.spacer.style.width = `${this.rowNumW() + this.totalWidth}px`;
  }

  /** What shows now. */
  view(): GridView | null {
    if (!this.shown) return null;
    const s = this.el.scroller;
    // The scrollbar moved away from an anchored row: the pixel decides again.
    if (this.anchor && Math.abs(s.scrollTop - this.anchor.top) >= 1) this.anchor = null;
    const rows = visibleRows(s.scrollTop, this.rowsViewHeight(), this.total, this.anchor);
    const cols = visibleColumns(this.left, this.widths, s.scrollLeft, Math.max(1, s.clientWidth - this.rowNumW()));
    return { rows, cols };
  }

  /** Draws what is known of the visible rows, and asks for what is not. */
  draw(): void {
    const v = this.view();
    if (!v || this.el.scroller.clientHeight === 0) return;
    this.layout();
    const { rows, cols } = v;
    const rn = this.rowNumW();
    const x0 = rn - this.el.scroller.scrollLeft;
    // The header: the corner, then each visible column's name and type.
    const head: HTMLElement[] = [];
    const corner = document.createElement('div');
    corner.className = 'hcell corner';
    Object.assign(corner.style, { left: '0px', top: '0px', width: `${rn}px` });
    corner.textContent = '#';
    head.push(corner);
    for (let c = cols.first; c < cols.end; c++) {
      const col = this.columns[c];
      const h = document.createElement('div');
      h.className = `hcell${CELL_KINDS[col.kind] === 'right' ? ' num' : ''}`;
      h.dataset.col = String(c);
      h.setAttribute('role', 'columnheader');
      h.tabIndex = 0;
      Object.assign(h.style, { left: `${x0 + this.left[c]}px`, top: '0px', width: `${this.widths[c]}px` });
      // The right edge: drag to resize, double-click to fit (a separator with its width, as ARIA's splitters).
      const edge = document.createElement('div');
      edge.className = 'col-resize';
      edge.dataset.col = String(c);
      edge.setAttribute('role', 'separator');
      edge.setAttribute('aria-orientation', 'vertical');
      edge.setAttribute('aria-label', `Width of column ${displayText(col.name)}`);
      edge.setAttribute('aria-valuenow', String(this.widths[c]));
      edge.setAttribute('aria-valuemin', String(MIN_COL_W));
      edge.setAttribute('aria-valuemax', String(MAX_COL_W));
      edge.title = 'Drag to resize the column, double-click to fit it to its widest visible cell (or Ctrl+←/→ on the focused header)';
      h.append(...headText(col), edge);
      h.title =
        `${displayText(col.name)} (${displayText(col.type)})${this.colErrors.has(c) ? `\n${this.colErrors.get(c)}` : ''}` +
        '\nResize: drag its right edge (double-click it to fit), or Ctrl+←/→ here (Shift: 5× the step)';
      head.push(h);
    }
    // A header or cell with the focus is drawn anew: the focus goes to its successor.
    const active = document.activeElement as HTMLElement | null;
    const inHead = !!active && this.el.head.contains(active);
    const focused = inHead || (!!active && this.el.rows.contains(active)) ? { row: active!.dataset.row, col: active!.dataset.col } : null;
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
        const ct = cellText(cell, this.columns[c].kind);
        if (cell === undefined) pending++;
        const marked = this.mark !== null && this.mark.row === r && this.mark.col === c;
        d.className = `cell ${cell === undefined ? 'pending' : ct.cls}${r % 2 ? ' row-odd' : ''}${marked ? ' marked' : ''}`;
        d.dataset.row = String(r);
        d.dataset.col = String(c);
        d.setAttribute('role', 'gridcell');
        Object.assign(d.style, { left: `${x0 + this.left[c]}px`, top: `${y}px`, width: `${this.widths[c]}px` });
        d.textContent = ct.text;
        if (expandable(cell)) {
          // Its tree shows the whole value (a title would cover it).
          d.classList.add('expandable');
          d.tabIndex = 0;
          d.setAttribute('aria-haspopup', 'tree');
          d.setAttribute('aria-expanded', String(this.tree.showsCell(r, c)));
          d.setAttribute('aria-label', `${ct.text.slice(0, 80)}: Enter shows the whole value`);
        } else if (ct.title) d.title = ct.title;
        out.push(d);
      }
    }
    this.el.rows.replaceChildren(...out);
    if (focused) {
      const again = inHead
        ? this.el.head.querySelector<HTMLElement>(`.hcell[data-col="${focused.col}"]`)
        : this.el.rows.querySelector<HTMLElement>(`.cell[data-row="${focused.row}"][data-col="${focused.col}"]`);
      (again ?? this.el.scroller).focus({ preventScroll: true });
    }
    this.el.scroller.dataset.first = String(rows.first);
    this.el.scroller.dataset.pending = String(pending);
    this.opts.drawn?.(v, pending);
    const miss = missingRows((r, c) => this.cells.get(r)?.has(c) ?? this.colErrors.has(c), rows, cols);
    if (miss)
      this.opts.need(
        miss,
        Array.from({ length: cols.end - cols.first }, (_, k) => cols.first + k),
      );
  }

  /** Column resizing: a drag on a header's right edge, a double-click there, Ctrl+Left/Right on a focused header. */
  private listenResize(): void {
    const head = this.el.head;
    const colOf = (t: EventTarget | null, sel: string) => {
      const e = (t as HTMLElement | null)?.closest?.<HTMLElement>(sel);
      return e?.dataset.col === undefined ? null : Number(e.dataset.col);
    };
    head.addEventListener('pointerdown', (ev) => {
      const c = colOf(ev.target, '.col-resize');
      if (c === null || ev.button !== 0) return;
      ev.preventDefault();
      ev.stopPropagation();
      this.drag = { col: c, x: ev.clientX, w: this.widths[c] };
      document.body.classList.add('col-resizing');
    });
    // On the window: the handle is drawn anew at each width, and the pointer leaves it.
    window.addEventListener('pointermove', (ev) => {
      if (this.drag) this.setWidth(this.drag.col, this.drag.w + ev.clientX - this.drag.x, false, false);
    });
    const end = () => {
      if (!this.drag) return;
      this.drag = null;
      this.dragEnded = performance.now();
      document.body.classList.remove('col-resizing');
      // The last width drawn now if its frame has not come (not otherwise: a redraw would take the double-click's target away).
      if (this.frame) {
        cancelAnimationFrame(this.frame);
        this.frame = 0;
        this.draw();
      }
      this.opts.resized?.(this.widths);
    };
    window.addEventListener('pointerup', end);
    window.addEventListener('pointercancel', end);
    // A click on the edge is not a click on the header (the table viewer's statistics).
    head.addEventListener(
      'click',
      (ev) => {
        if (colOf(ev.target, '.col-resize') !== null || performance.now() - this.dragEnded < 100) ev.stopPropagation();
      },
      true,
    );
    head.addEventListener('dblclick', (ev) => {
      const c = colOf(ev.target, '.col-resize');
      if (c === null) return;
      ev.preventDefault();
      this.fitColumn(c);
    });
    head.addEventListener('keydown', (ev) => {
      const c = colOf(ev.target, '.hcell');
      if (c === null || !ev.ctrlKey || ev.altKey || ev.metaKey || (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight')) return;
      ev.preventDefault();
      const step = RESIZE_STEP * (ev.shiftKey ? 5 : 1);
      this.setWidth(c, this.widths[c] + (ev.key === 'ArrowRight' ? step : -step));
    });
  }

  /** Drops the cached rows farthest from `near`, down to half the cache. */
  private evict(near: number): void {
    const keep = [...this.cells.keys()].sort((a, b) => Math.abs(a - near) - Math.abs(b - near)).slice(0, this.cacheRows / 2);
    const next = new Map<number, Map<number, TableCell>>();
    for (const r of keep) next.set(r, this.cells.get(r)!);
    this.cells = next;
  }
}
