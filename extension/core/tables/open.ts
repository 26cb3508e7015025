/**
 * The table a segment holds, over its mapping: an Arrow file or stream, a structured NPY, a
 * ShareableList, or a numeric array (1-D: one column `value`; 2-D: columns "0".."n-1"; N-D: the
 * 2-D slice that `--index` picks must be given). `tableShaped` says whether a segment has one.
 */
import type { Segment } from '../types';
import { ArrowTable } from './arrow';
import { ArrayTable, RecordTable, type ArrayGrid } from './npy';
import { ShareableListTable } from './shareablelist';
import { TableError, type TableBytes, type TableModel } from './types';

/** Formats read as tables without an array layout. */
export function tableFormat(seg: Pick<Segment, 'format' | 'dtype'>): 'arrow' | 'npy' | 'shareablelist' | null {
  if (seg.format === 'arrow') return 'arrow';
  if (seg.format === 'shareablelist') return 'shareablelist';
  if (seg.format === 'npy' && seg.dtype === 'structured') return 'npy';
  return null;
}

/**
 * Opens the table of a segment of a table format (tableFormat), or of the numeric array `layout`
 * grid (core/tables/npy.ts gridOf, from a layout core/select.ts picks). Throws a TableError saying why when there is none.
 */
export async function openTable(seg: Pick<Segment, 'format' | 'dtype' | 'name'>, src: TableBytes, grid?: ArrayGrid): Promise<TableModel> {
  switch (tableFormat(seg)) {
    case 'arrow':
      return ArrowTable.open(src);
    case 'npy':
      return RecordTable.open(src);
    case 'shareablelist':
      return ShareableListTable.open(src);
  }
  if (!grid) throw new TableError(`${seg.name}: a ${seg.format} segment, not a table`);
  return new ArrayTable(src, grid);
}

export { TableError } from './types';
export type { Cell, TableColumn, TableModel, TablePage, TableBytes } from './types';
