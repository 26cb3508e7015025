/**
 * `head`: the first rows (or rows from --offset) of any table-shaped segment: an Arrow file or
 * stream, a structured NPY, a ShareableList, a numeric array (1-D: column `value`; 2-D: columns
 * "0".."n-1"; N-D: the 2-D slice --index picks). `--json`, `--csv`, or an aligned table
 * (docs/cli.md, "Table commands"). Also `stats NAME/COLUMN` of a table's numeric column.
 */
import { UsageError } from '../core/catalog';
import { aboutName } from '../core/errors';
import { formatNumber } from '../core/numbers';
import { parseSelectionFlags, SELECTION_OPTIONS, SelectionError } from '../core/select';
import { ArrowTable } from '../core/tables/arrow';
import { columnStats } from '../core/tables/stats';
import { columnIndex, openNamedTable, type OpenedTable } from '../core/tables/resolve';
import { TableError, type Cell, type TableColumn } from '../core/tables/types';
import { Failure, statsDoc, statsTable, table, type Command, type CommandContext } from './common';

const DEFAULT_ROWS = 10;
/** Rows read per request: a page of output at a time, whatever --rows asks. */
const PAGE = 8192;

function count(flag: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  const s = String(v);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new UsageError(`--${flag} takes a non-negative integer (got '${s}')`);
  return Number(s);
}

/** Runs `use` on the table NAME names, then closes its mapping; table and selection errors are exit 1. */
async function withTable<T>(ctx: CommandContext, values: CommandContext['values'], use: (t: OpenedTable) => Promise<T>): Promise<T> {
  let t: OpenedTable;
  try {
    t = await openNamedTable(ctx.dir, ctx.positionals[0], parseSelectionFlags(values));
  } catch (e) {
    if (e instanceof TableError || e instanceof SelectionError) throw new Failure(e.message);
    throw e;
  }
  try {
    return await use(t);
  } catch (e) {
    if (e instanceof TableError || e instanceof SelectionError) throw new Failure(e.message);
    if (e instanceof UsageError || e instanceof Failure) throw e;
    throw new Failure(`${t.what}: ${(e as Error).message}`);
  } finally {
    t.view.close();
  }
}

/** A cell as CSV: empty for null, JSON text for a list or struct, RFC 4180 quoting. */
function csvCell(c: Cell): string {
  if (c === null) return '';
  const s = typeof c === 'object' ? JSON.stringify(c) : String(c);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const MAX_TEXT = 40;
/** A cell for a terminal: floats in at most 9 significant digits, long text cut with `…`. */
function humanCell(c: Cell, col: TableColumn): string {
  let s: string;
  if (c === null) s = 'null';
  else if (typeof c === 'number') s = col.kind === 'float' ? formatNumber(c, 9) : String(c);
  else if (typeof c === 'object') s = JSON.stringify(c);
  else s = String(c);
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

const RIGHT = new Set(['int', 'float', 'decimal', 'duration']);

export const TABLE_COMMANDS: Command[] = [
  {
    name: 'head',
    synopsis: 'head NAME [--rows N] [--offset K] [--columns a,b] [--json|--csv] [--index K1,...] [--axes I,J]',
    summary:
      'rows K..K+N-1 (default the first 10) of a table-shaped segment: an Arrow file or stream, a structured NPY (one column per field), a ShareableList (column value), a 1-D array (column value), a 2-D numeric array (columns 0..n-1), the 2-D slice --index picks of an N-D one. NAME/COLUMN shows that column. Only those rows are read.',
    options: {
      rows: { type: 'string' },
      offset: { type: 'string' },
      columns: { type: 'string' },
      csv: { type: 'boolean' },
      tensor: SELECTION_OPTIONS.tensor,
      dtype: SELECTION_OPTIONS.dtype,
      shape: SELECTION_OPTIONS.shape,
      order: SELECTION_OPTIONS.order,
      axes: SELECTION_OPTIONS.axes,
      index: SELECTION_OPTIONS.index,
    },
    positionals: [1, 1],
    async run(ctx) {
      const v = ctx.values;
      if (v.csv && ctx.json) throw new UsageError('give --json or --csv, not both');
      const rows = count('rows', v.rows, DEFAULT_ROWS);
      const offset = count('offset', v.offset, 0);
      const names = typeof v.columns === 'string' ? v.columns.split(',').map((s) => s.trim()) : null;
      if (names?.some((n) => n === '')) throw new UsageError(`--columns takes comma-separated column names (got '${String(v.columns)}')`);
      // --offset is the first row here; a raw layout's data starts at byte 0 (or its stored interpretation).
      const selection = { ...v, offset: undefined };
      return withTable(ctx, selection, async (t) => {
        const m = t.model;
        let cols = names ? names.map((n) => columnIndex(m, n, t.what)) : [...m.columns.keys()];
        if (t.column !== null) {
          if (names) throw new UsageError(`${ctx.positionals[0]} names a column already: give NAME/COLUMN or --columns, not both`);
          cols = [t.column];
        }
        for (const n of m.notes) ctx.note(`${t.what}: ${n}`);
        const start = Math.min(offset, m.totalRows);
        const end = Math.min(m.totalRows, start + rows);
        const out: Cell[][] = [];
        for (let r = start; r < end; r += PAGE) {
          const page = await m.rows(r, Math.min(PAGE, end - r), cols);
          const bad = page.errors.find((e) => e !== null);
          if (bad) throw new Failure(`${t.what}: ${bad}`);
          for (const row of page.rows) out.push(row);
        }
        const columns = cols.map((c) => m.columns[c]);
        if (ctx.json) {
          ctx.printJson({ columns: columns.map((c) => ({ name: c.name, type: c.type })), offset: start, totalRows: m.totalRows, rows: out });
        } else if (v.csv) {
          const lines = [columns.map((c) => csvCell(c.name)).join(',')];
          for (const row of out) lines.push(row.map(csvCell).join(','));
          // CSV is data: printed as is (print() would escape a control character in a cell).
          ctx.write(lines.join('\r\n') + '\r\n');
        } else {
          ctx.print(
            `${t.what}: ${m.totalRows} rows x ${m.columns.length} columns${out.length ? `; rows ${start}..${start + out.length - 1}` : `; no rows from ${offset}`}`,
          );
          if (columns.length) {
            const cells = [
              ['', ...columns.map((c) => c.name)],
              ['', ...columns.map((c) => c.type)],
              ...out.map((row, i) => [String(start + i), ...row.map((c, j) => humanCell(c, columns[j]))]),
            ];
            ctx.print(table(cells, new Set([0, ...columns.flatMap((c, j) => (RIGHT.has(c.kind) ? [j + 1] : []))])));
          }
        }
        return 0;
      });
    },
  },
];

/**
 * `stats NAME/COLUMN` (or `stats NAME --column C`) of a table's numeric column: the `stats`
 * document with `nullCount` added. Null when NAME is not a table's column (the array path applies).
 */
export async function tableColumnStats(ctx: CommandContext): Promise<number | null> {
  const name = ctx.positionals[0];
  const v = ctx.values;
  if (v.dtype !== undefined || v.tensor !== undefined || v.index !== undefined || v.axes !== undefined || v.part !== undefined) return null;
  const colFlag = typeof v.column === 'string' ? v.column : null;
  let opened: OpenedTable;
  try {
    opened = await openNamedTable(ctx.dir, name, {});
  } catch {
    return null; // not a table: the array path says why
  }
  const t = opened;
  try {
    if (t.model.source === 'array') return null;
    const col = t.column ?? (colFlag !== null ? columnIndex(t.model, colFlag, t.what) : null);
    if (col === null) return null;
    if (t.column !== null && colFlag !== null) throw new UsageError(`${name} is a column already: give FILE/COLUMN or --column COLUMN, not both`);
    if (t.model instanceof ArrowTable) {
      // One batch without nulls is one array: the array path reads it (and says why a type is not numeric).
      if (!['int', 'float'].includes(t.model.columns[col].kind) || t.model.columns[col].type.startsWith('Dictionary')) return null;
      const runs = t.model.valueRuns(col);
      if (runs.length === 1 && runs[0].nullCount === 0 && !runs[0].compressed) return null;
    }
    const st = await columnStats(t.model, col, t.view);
    const c = t.model.columns[col];
    if (ctx.json) ctx.printJson(statsDoc(st, st.nullCount));
    else {
      ctx.print(`${t.what} column '${c.name}': ${c.type}, over its ${t.model.totalRows} rows`);
      ctx.print(statsTable(st, st.nullCount));
    }
    return 0;
  } catch (e) {
    if (e instanceof TableError || e instanceof SelectionError)
      throw new Failure(aboutName(t.what, e.message), e.code === 'USAGE' ? 'FAILED' : e.code, { cause: e });
    throw e;
  } finally {
    t.view.close();
  }
}
