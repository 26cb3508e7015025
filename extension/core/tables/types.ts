/**
 * The table model (issue #16): what the CLI's `head`, Quick Look and the table viewer read.
 * A table has columns (name and type) and rows; `rows(offset, count, columns)` reads only the
 * bytes of those rows and columns from the mapping and returns cells as JSON values (docs/cli.md,
 * `head --json`), so one request/reply carries a page to a webview unchanged. No vscode import.
 */
import type { ErrorCode } from '../../../contract/errors';
import { ShmError } from '../errors';

/**
 * One cell, as `head --json` writes it: numbers as JSON numbers (integers beyond 2^53 as decimal
 * strings), NaN and +-Inf as "NaN", "Infinity", "-Infinity", bytes as hex strings, timestamps and
 * dates as ISO strings, lists as arrays, structs as objects, null for nulls. The column's `type`
 * says how to read a string (a float column's "NaN" is NaN; a Utf8 column's is text).
 */
export type Cell = null | boolean | number | string | Cell[] | { [key: string]: Cell };

/** How a column's cells read (for alignment and formatting in a grid). */
export type CellKind =
  'int' | 'float' | 'bool' | 'string' | 'bytes' | 'decimal' | 'date' | 'time' | 'timestamp' | 'duration' | 'list' | 'struct' | 'null' | 'mixed' | 'other';

export interface TableColumn {
  name: string;
  /** Arrow's type name (`Float64`, `Utf8`, `Dictionary<Int32, Utf8>`), a numpy dtype (`<f8`, `|S10`), or `object`. */
  type: string;
  kind: CellKind;
}

/** A page of rows: `rows[i][j]` is row `offset + i`, column `columns[j]`. */
export interface TablePage {
  offset: number;
  /** Indices into the model's columns, in the order asked for. */
  columns: number[];
  rows: Cell[][];
  /**
   * Per requested column, why its cells could not be read in these rows (a buffer shorter than its
   * rows need, a dictionary id that does not exist...), or null. A column in error has null cells.
   */
  errors: (string | null)[];
}

export interface TableModel {
  /** What the table is read from: `arrow`, `npy` (structured), `array` (a numeric array), `shareablelist`. */
  readonly source: 'arrow' | 'npy' | 'array' | 'shareablelist';
  readonly columns: readonly TableColumn[];
  readonly totalRows: number;
  /** Facts the user should know (batches, a stream still being written...). */
  readonly notes: readonly string[];
  /** Rows [offset, offset + count) clipped to the table, of the given columns (default all). */
  rows(offset: number, count: number, columns?: readonly number[]): Promise<TablePage>;
  /**
   * Reads what a producer appended since (an Arrow stream's new batches); resolves with the new row
   * count. `grown`: the same file mapped again at its new size (a mapping does not grow with its
   * file), read from then on.
   */
  refresh(grown?: TableBytes): Promise<number>;
  /** A producer may still append rows (an Arrow stream without its end marker): worth a refresh now and then. */
  readonly appendable?: boolean;
}

/** Bytes of the mapped file: a MappedView is one. */
export interface TableBytes {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * One LZ4 or ZSTD frame at [offset, offset + length) decoded into exactly `declaredLength`
   * bytes (MappedView.decompress); without it a compressed Arrow batch is not read.
   */
  decompress?(codec: 'lz4' | 'zstd', offset: number, length: number, declaredLength: number): Promise<Uint8Array>;
}

/** Input the table model refuses (lying metadata, truncated buffers...): a one-line message. */
export class TableError extends ShmError {
  constructor(message: string, code: ErrorCode = 'FORMAT', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/** Rows asked for, clipped: [start, end). */
export function clipRows(total: number, offset: number, count: number): [number, number] {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new TableError(`row offset ${offset} is not a non-negative integer`);
  if (!Number.isSafeInteger(count) || count < 0) throw new TableError(`row count ${count} is not a non-negative integer`);
  const start = Math.min(offset, total);
  return [start, Math.min(total, start + count)];
}

/** Column indices asked for, checked. */
export function pickColumns(n: number, columns?: readonly number[]): number[] {
  const out = columns ? [...columns] : [...Array(n).keys()];
  for (const c of out) if (!Number.isInteger(c) || c < 0 || c >= n) throw new TableError(`no column ${c} (the table has ${n})`);
  return out;
}

/** Reads exactly [offset, offset + length) or says which bytes were missing; a 0-length read reads nothing. */
export async function readRange(src: TableBytes, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > src.size) {
    throw new TableError(`${what}: bytes ${offset}..${offset + length} lie outside the ${src.size}-byte file`);
  }
  const b = await src.read(offset, length);
  if (b.length < length) throw new TableError(`${what}: the file shrank while it was read`);
  return b;
}
