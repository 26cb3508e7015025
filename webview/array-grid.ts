/**
 * The matrix viewer's Table toggle, its DOM-free part (issue #16): the columns a 2-D slice shows
 * as in the grid of values (one per column of the slice, named by its index, typed by the array's
 * dtype), an element's text as a grid cell (non-finite floats shown as such), the cell the
 * heatmap is centred on, and the heatmap's viewport moved to centre on a cell when the user
 * switches back.
 */
import type { TableCell, TableCellKind, TableColumnInfo } from '../contract/table';
import { clampViewport, type Extent, type Viewport } from './viewport';

/** How an array's elements read in the grid: by its dtype (`<f4`, `>i8`, `bfloat16`, `|b1`...). */
export function arrayCellKind(dtype: string, complex: boolean): TableCellKind {
  if (complex) return 'other';
  if (/^[<>|=]?b1$|^bool/i.test(dtype)) return 'bool';
  if (/^[<>|=]?[iu]\d+$|^u?int/i.test(dtype)) return 'int';
  return 'float';
}

/** A column's width for an element of `dtype`: wide enough for the longest value it writes (the hover has it whole). */
export function arrayColumnWidth(dtype: string, kind: TableCellKind): number {
  const wide = /[<>|=]?[a-z]8$|64$|^[<>|=]?c16$|128$/i.test(dtype);
  switch (kind) {
    case 'bool':
      return 70;
    case 'int':
      return wide ? 180 : 110;
    case 'other':
      return wide ? 330 : 240;
    default:
      return wide ? 190 : 130;
  }
}

/** The grid's columns for a slice of `cols` columns. */
export function arrayColumns(dtype: string, dtypeWords: string, complex: boolean, cols: number): TableColumnInfo[] {
  const kind = arrayCellKind(dtype, complex);
  return Array.from({ length: cols }, (_, i) => ({ name: String(i), type: dtypeWords, kind }));
}

const NON_FINITE: Record<string, string> = { nan: 'NaN', inf: 'Infinity', '-inf': '-Infinity' };

/** An element's text (the host's, as stored) as a grid cell: nan and ±inf in the grid's words for them, the rest as written. */
export function arrayCell(text: string): TableCell {
  return NON_FINITE[text] ?? text;
}

/** Row-major texts of window [r0, r1) × [c0, c1) as the grid's rows of cells. */
export function arrayRows(texts: readonly string[], cols: number): TableCell[][] {
  const out: TableCell[][] = [];
  for (let k = 0; k < texts.length; k += cols) out.push(texts.slice(k, k + cols).map(arrayCell));
  return out;
}

/** The cell at the middle of the viewport. */
export function centreCell(vp: Viewport, e: Extent): { row: number; col: number } {
  const clamp = (v: number, n: number) => Math.max(0, Math.min(n - 1, Math.floor(v)));
  return { row: clamp((vp.y0 + vp.y1) / 2, e.rows), col: clamp((vp.x0 + vp.x1) / 2, e.cols) };
}

/** The viewport of the same size moved so that cell (row, col) is at its middle (as near as the matrix's edges allow). */
export function viewportCentredOn(vp: Viewport, row: number, col: number, e: Extent): Viewport {
  const sx = vp.x1 - vp.x0;
  const sy = vp.y1 - vp.y0;
  const x0 = col + 0.5 - sx / 2;
  const y0 = row + 0.5 - sy / 2;
  return clampViewport({ x0, x1: x0 + sx, y0, y1: y0 + sy }, e);
}
