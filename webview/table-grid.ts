/**
 * The table viewer's pure part (issue #16): which rows and columns a scroll position shows (with a
 * scaled scrollbar beyond the browser's largest element height), column widths, and how a cell
 * reads (numbers right-aligned in one format, nulls and NaN distinct, long text cut with the whole
 * value kept for the hover). No DOM, no requests: table-viewer.ts draws and asks.
 */
import { CELL_KINDS, type TableCell, type TableCellKind, type TableColumnInfo, type TableColumnStats } from '../contract/table';
import { displayText } from './text';

/** Pixels of a row, of the header, and of the row-number column's padding. */
export const ROW_H = 22;
export const HEAD_H = 26;
/**
 * The tallest scroll area made: below every browser's largest element (Chromium's is ~33.5M px), so
 * a table of any number of rows scrolls; beyond it the scrollbar is scaled (one pixel, many rows).
 */
export const MAX_SCROLL_PX = 8_000_000;
/** Characters of a cell put on screen (the hover has the whole value). */
export const MAX_CELL_CHARS = 200;

/** Height of the rows' scroll area. */
export function rowsHeight(total: number): number {
  return Math.min(total * ROW_H, MAX_SCROLL_PX);
}

/** Rows that fit (wholly or partly) in `viewH` pixels of rows. */
export function rowsInView(viewH: number): number {
  return Math.max(1, Math.ceil(viewH / ROW_H));
}

/**
 * The first row shown at `scrollTop` and how far it is drawn above the top (pixels). Unscaled, the
 * scroll moves pixel by pixel; scaled, the scrollbar's range maps onto the first rows linearly, the
 * last position showing the last rows whole.
 */
export function firstRowAt(scrollTop: number, viewH: number, total: number): { row: number; shift: number } {
  const full = total * ROW_H;
  const h = rowsHeight(total);
  const top = Math.max(0, scrollTop);
  if (full <= h) {
    const row = Math.min(Math.floor(top / ROW_H), Math.max(0, total - 1));
    return { row, shift: top - row * ROW_H };
  }
  const maxFirst = Math.max(0, total - Math.floor(viewH / ROW_H));
  const maxTop = Math.max(1, h - viewH);
  return { row: Math.min(maxFirst, Math.round((Math.min(top, maxTop) / maxTop) * maxFirst)), shift: 0 };
}

/** The scrollTop that shows `row` first (Go to row, keyboard moves): the inverse of firstRowAt. */
export function scrollTopFor(row: number, viewH: number, total: number): number {
  const full = total * ROW_H;
  const h = rowsHeight(total);
  const r = Math.max(0, Math.min(row, Math.max(0, total - 1)));
  if (full <= h) return r * ROW_H;
  const maxFirst = Math.max(1, total - Math.floor(viewH / ROW_H));
  const maxTop = Math.max(1, h - viewH);
  return Math.ceil((Math.min(r, maxFirst) / maxFirst) * maxTop);
}

/**
 * A row put first by Go to row or the keyboard, and the scrollTop that put it there: with a scaled
 * scrollbar one pixel spans many rows, so while the scroll stays at `top` the anchor, not the
 * pixel, says which row is first (every row of 100 million is reachable, one at a time).
 */
export interface RowAnchor {
  row: number;
  top: number;
}

export function anchorAt(row: number, viewH: number, total: number): RowAnchor {
  const r = Math.max(0, Math.min(Math.floor(row), Math.max(0, total - 1)));
  return { row: r, top: scrollTopFor(r, viewH, total) };
}

/** The rows [first, end) drawn for a view of `viewH` pixels of rows (an anchor still at its scrollTop decides the first). */
export function visibleRows(scrollTop: number, viewH: number, total: number, anchor: RowAnchor | null = null): { first: number; end: number; shift: number } {
  let { row, shift } = firstRowAt(scrollTop, viewH, total);
  if (anchor && Math.abs(scrollTop - anchor.top) < 1) {
    row = Math.min(anchor.row, Math.max(0, total - Math.floor(viewH / ROW_H)));
    shift = 0;
  }
  return { first: row, end: Math.min(total, row + rowsInView(viewH + shift)), shift };
}

/** The first row a key moves the view to (arrows by a row, pages by a screen, Home and End), or null for other keys. */
export function rowForKey(key: string, first: number, viewH: number, total: number): number | null {
  const page = Math.max(1, Math.floor(viewH / ROW_H) - 1);
  switch (key) {
    case 'ArrowDown':
      return Math.min(first + 1, Math.max(0, total - 1));
    case 'ArrowUp':
      return Math.max(0, first - 1);
    case 'PageDown':
      return Math.min(first + page, Math.max(0, total - 1));
    case 'PageUp':
      return Math.max(0, first - page);
    case 'Home':
      return 0;
    case 'End':
      return Math.max(0, total - 1);
  }
  return null;
}

/** Width of the row-number column for a table of `total` rows. */
export function rowNumberWidth(total: number): number {
  return 24 + 9 * Math.max(3, String(Math.max(0, total - 1)).length);
}

const KIND_WIDTH: Partial<Record<TableCellKind, number>> = {
  int: 100,
  float: 120,
  decimal: 130,
  bool: 70,
  date: 110,
  time: 130,
  timestamp: 290,
  duration: 120,
  string: 200,
  bytes: 180,
};

/** A column's width: by its kind, wide enough for its name and type, at most 360 px. */
export function columnWidth(c: TableColumnInfo): number {
  const byKind = KIND_WIDTH[c.kind] ?? 170;
  const header = 20 + 7.5 * Math.max(c.name.length, c.type.length);
  return Math.round(Math.min(360, Math.max(byKind, header)));
}

/** A column's narrowest and widest width when the user resizes it (pixels), and a key's step (Shift: five). */
export const MIN_COL_W = 40;
export const MAX_COL_W = 1200;
export const RESIZE_STEP = 10;

/** A width the user asked for, whole and within [MIN_COL_W, MAX_COL_W]. */
export function clampWidth(w: number): number {
  return Number.isFinite(w) ? Math.min(MAX_COL_W, Math.max(MIN_COL_W, Math.round(w))) : MIN_COL_W;
}

/**
 * The width that fits a column to its widest text (a double-click on its edge): the widest of the
 * measured `textWidths` (its visible cells, its header, as drawn) plus `pad`, clamped.
 */
export function fitWidth(textWidths: readonly number[], pad: number): number {
  let w = 0;
  for (const t of textWidths) if (Number.isFinite(t) && t > w) w = t;
  return clampWidth(Math.ceil(w + pad));
}

/** Left edges of the columns (after the row numbers) and the total width. */
export function columnEdges(widths: readonly number[]): { left: number[]; total: number } {
  const left: number[] = [];
  let x = 0;
  for (const w of widths) {
    left.push(x);
    x += w;
  }
  return { left, total: x };
}

/** The columns [first, end) that show in `viewW` pixels of columns at `scrollLeft`. */
export function visibleColumns(left: readonly number[], widths: readonly number[], scrollLeft: number, viewW: number): { first: number; end: number } {
  let first = 0;
  while (first < left.length - 1 && left[first] + widths[first] <= scrollLeft) first++;
  let end = first;
  while (end < left.length && left[end] < scrollLeft + viewW) end++;
  return { first, end: Math.max(end, Math.min(left.length, first + 1)) };
}

/** How a cell shows: its text, the whole value for the hover, and its class (alignment, null, NaN). */
export interface CellText {
  text: string;
  title: string;
  cls: 'num' | 'text' | 'null' | 'nan' | 'bool';
}

/** A float in one format: up to 10 significant digits, exponent form outside [1e-4, 1e15). */
export function formatFloat(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e15) {
    const s = v.toPrecision(10);
    return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  }
  return v.toExponential(6).replace(/\.?0+e/, 'e');
}

const NON_FINITE: Record<string, string> = { NaN: 'NaN', Infinity: '∞', '-Infinity': '-∞' };

function compact(c: TableCell): string {
  return JSON.stringify(c) ?? String(c);
}

/** How cell `c` of a column of kind `kind` reads. */
export function cellText(c: TableCell | undefined, kind: TableCellKind): CellText {
  if (c === undefined) return { text: '', title: '', cls: 'text' };
  if (c === null) return { text: 'null', title: 'null', cls: 'null' };
  const numeric = CELL_KINDS[kind] === 'right' || kind === 'mixed';
  if (typeof c === 'number') {
    const text = kind === 'float' || !Number.isInteger(c) ? formatFloat(c) : String(c);
    return { text, title: String(c), cls: 'num' };
  }
  if (typeof c === 'boolean') return { text: String(c), title: String(c), cls: 'bool' };
  if (typeof c === 'string') {
    if ((kind === 'float' || kind === 'mixed') && c in NON_FINITE) return { text: NON_FINITE[c], title: c, cls: 'nan' };
    const shown = displayText(c.length > MAX_CELL_CHARS ? `${c.slice(0, MAX_CELL_CHARS)}…` : c);
    return { text: shown, title: displayText(c), cls: numeric && kind !== 'mixed' ? 'num' : 'text' };
  }
  const json = compact(c);
  return { text: json.length > MAX_CELL_CHARS ? `${json.slice(0, MAX_CELL_CHARS)}…` : json, title: json, cls: 'text' };
}

/** Column statistics in words, for a header's hover. */
export function statsText(s: TableColumnStats): string {
  const v = (x: number | null) => (x === null ? '—' : formatFloat(x));
  const parts = [`min ${v(s.min)}`, `max ${v(s.max)}`, `mean ${v(s.mean)}`, `nulls ${s.nullCount}`];
  if (s.nanCount) parts.push(`NaN ${s.nanCount}`);
  if (s.infCount) parts.push(`±∞ ${s.infCount}`);
  return parts.join(' · ');
}

/**
 * The cells of the visible rows and columns that are not yet known: the row range [first, end)
 * that holds them (null when every cell is), to ask the host for exactly that.
 */
export function missingRows(
  have: (row: number, col: number) => boolean,
  rows: { first: number; end: number },
  cols: { first: number; end: number },
): { first: number; end: number } | null {
  let lo = -1;
  let hi = -1;
  for (let r = rows.first; r < rows.end; r++) {
    for (let c = cols.first; c < cols.end; c++) {
      if (have(r, c)) continue;
      if (lo < 0) lo = r;
      hi = r;
      break;
    }
  }
  return lo < 0 ? null : { first: lo, end: hi + 1 };
}

/** A cell as TSV text: its whole value (JSON for lists and structs), tabs and line breaks escaped. */
function tsvCell(c: TableCell | undefined): string {
  if (c === undefined || c === null) return '';
  const t = typeof c === 'object' ? JSON.stringify(c) : String(c);
  return t.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** Rows as TSV with a header line of column names (what Copy puts on the clipboard: the rows on screen). */
export function tsvOf(names: readonly string[], rows: readonly (readonly (TableCell | undefined)[])[]): string {
  return [names.map((n) => tsvCell(n)), ...rows.map((r) => r.map(tsvCell))].map((line) => line.join('\t')).join('\n') + '\n';
}
