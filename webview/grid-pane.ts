/**
 * A virtual grid of cells in the DOM (issue #16): the table viewer's grid, and the same grid in the
 * matrix viewer's page (its Table toggle, and Quick Look's first rows of a table). It draws only
 * the rows and columns on screen (table-grid.ts: the layout, a scaled scrollbar beyond the
 * browser's tallest element, how a cell reads) and says which of them it does not know yet, so
 * that its owner asks its host for exactly those (about one value per visible cell). What the
 * cells are and where they come from is the owner's: a table's rows, or an array's elements.
 */
import { CELL_KINDS, type TableCell, type TableColumnInfo } from '../contract/table';
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
  tsvOf,
  visibleColumns,
  visibleRows,
  type RowAnchor,
} from './table-grid';
import { displayText } from './text';

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

  constructor(
    readonly el: GridElements,
    private readonly opts: GridPaneOptions,
  ) {
    this.cacheRows = opts.cacheRows ?? 4000;
    el.scroller.addEventListener('scroll', () => {
      opts.scrolled?.();
      this.schedule();
    });
    window.addEventListener('resize', () => this.schedule());
    el.scroller.addEventListener('keydown', (ev) => {
      const v = this.view();
      if (!v || ev.altKey || ev.metaKey || ev.target !== el.scroller) return;
      const row = rowForKey(ev.key, v.rows.first, this.rowsViewHeight(), this.total);
      if (row === null) return;
      ev.preventDefault();
      opts.scrolled?.();
      this.goToRow(row);
    });
  }

  /** Whether a table is shown. */
  get shown(): boolean {
    return this.columns.length > 0 || this.total > 0;
  }

  /** A new table (or array): its columns and row count; what was known is forgotten. */
  show(columns: readonly TableColumnInfo[], totalRows: number): void {
    this.mark = null;
    this.columns = columns;
    this.total = totalRows;
    this.cells.clear();
    this.colErrors.clear();
    this.widths = columns.map((c) => this.opts.width?.(c) ?? columnWidth(c));
    const e = columnEdges(this.widths);
    this.left = e.left;
    this.totalWidth = e.total;
    this.layout();
  }

  /** Forgets the cells (they are read again as they show: live data). */
  forget(): void {
    this.cells.clear();
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
        const ct = cellText(cell, this.columns[c].kind);
        if (cell === undefined) pending++;
        const marked = this.mark !== null && this.mark.row === r && this.mark.col === c;
        d.className = `cell ${cell === undefined ? 'pending' : ct.cls}${r % 2 ? ' row-odd' : ''}${marked ? ' marked' : ''}`;
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

  /** Drops the cached rows farthest from `near`, down to half the cache. */
  private evict(near: number): void {
    const keep = [...this.cells.keys()].sort((a, b) => Math.abs(a - near) - Math.abs(b - near)).slice(0, this.cacheRows / 2);
    const next = new Map<number, Map<number, TableCell>>();
    for (const r of keep) next.set(r, this.cells.get(r)!);
    this.cells = next;
  }
}
