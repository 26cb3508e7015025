/** A ShareableList as a one-column table (`value`): each item read at its offset, typed by its format and code. */
import { formatText, itemKind, readShareableList, type ShareableListLayout } from '../formats/shareablelist';
import { FormatError } from '../formats/util';
import { clipRows, pickColumns, readRange, TableError, type Cell, type TableBytes, type TableColumn, type TableModel, type TablePage } from './types';
import { bigCell, floatCell, hex, text } from './values';

export class ShareableListTable implements TableModel {
  readonly source = 'shareablelist' as const;
  readonly columns: TableColumn[] = [{ name: 'value', type: 'object', kind: 'mixed' }];
  readonly notes: string[] = [];
  readonly totalRows: number;

  private constructor(
    private readonly src: TableBytes,
    private readonly layout: ShareableListLayout,
  ) {
    this.totalRows = layout.count;
  }

  static async open(src: TableBytes): Promise<ShareableListTable> {
    try {
      return new ShareableListTable(src, await readShareableList(src.size, (o, l) => src.read(o, l)));
    } catch (e) {
      throw e instanceof FormatError ? new TableError(e.message) : e;
    }
  }

  async rows(offset: number, count: number, columns?: readonly number[]): Promise<TablePage> {
    const [a, b] = clipRows(this.totalRows, offset, count);
    const cols = pickColumns(1, columns);
    const L = this.layout;
    const n = b - a;
    if (n === 0) return { offset: a, columns: cols, rows: [], errors: cols.map(() => null) };
    const [offs, formats, codes] = await Promise.all([
      readRange(this.src, 8 + 8 * a, 8 * (n + 1), 'ShareableList offsets'),
      readRange(this.src, L.formatsAt + 8 * a, 8 * n, 'ShareableList formats'),
      readRange(this.src, L.codesAt + a, n, 'ShareableList codes'),
    ]);
    const od = new DataView(offs.buffer, offs.byteOffset, offs.byteLength);
    const at = Array.from({ length: n + 1 }, (_, i) => Number(od.getBigInt64(8 * i, true)));
    const dataEnd = L.formatsAt - L.dataStart;
    const items = Array.from({ length: n }, (_, i) => {
      const fmt = formatText(formats.subarray(8 * i, 8 * i + 8));
      const kind = itemKind(fmt, codes[i]);
      if (!kind) throw new TableError(`item ${a + i}: format '${fmt}' with back-transform code ${codes[i]} is not a ShareableList item`);
      if (!(at[i] >= 0 && at[i] + kind.bytes <= at[i + 1] && at[i + 1] <= dataEnd)) {
        throw new TableError(
          `item ${a + i}: offsets ${at[i]}..${at[i + 1]} are inconsistent with its ${kind.bytes}-byte format '${fmt}' (the data area has ${dataEnd} bytes)`,
        );
      }
      return kind;
    });
    const data = await readRange(this.src, L.dataStart + at[0], at[n] - at[0], 'ShareableList items');
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const rows: Cell[][] = items.map((k, i) => {
      const p = at[i] - at[0];
      switch (k.kind) {
        case 'int':
          return [bigCell(dv.getBigInt64(p, true))];
        case 'float':
          return [floatCell(dv.getFloat64(p, true))];
        case 'bool':
          return [data[p + 7] !== 0];
        case 'none':
          return [null];
        case 'str':
        case 'bytes': {
          // Python strips the trailing NULs of both.
          let end = p + k.bytes;
          while (end > p && data[end - 1] === 0) end--;
          return [k.kind === 'str' ? text(data.subarray(p, end)) : hex(data.subarray(p, end))];
        }
      }
    });
    return { offset: a, columns: cols, rows, errors: cols.map(() => null) };
  }

  async refresh(): Promise<number> {
    return this.totalRows;
  }
}
