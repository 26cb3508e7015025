/**
 * Messages between the extension host and the table viewer webview (issue #16): the table's shape
 * (columns, row count), pages of rows requested by range as the user scrolls, and column
 * statistics. Both sides import the types; each side checks what it receives with the validators
 * here, derived from the `as const` registries below (and those of errors.ts, protocol.ts). Pure:
 * no DOM, no vscode, no Node.
 */
import { isErrorCode, type ErrorCode } from './errors';
import { isErrorKind, isNoticeLevel, type ErrorKind, type NoticeLevel } from './protocol';
import { isId, type Addressed, type Numbered, type Stamped } from './requests';

/** How a column's cells read (core/tables/types.ts CellKind), with whether a grid right-aligns them. */
export const CELL_KINDS = {
  int: 'right',
  float: 'right',
  decimal: 'right',
  duration: 'right',
  bool: 'left',
  string: 'left',
  bytes: 'left',
  date: 'left',
  time: 'left',
  timestamp: 'left',
  list: 'left',
  struct: 'left',
  null: 'left',
  mixed: 'left',
  other: 'left',
} as const;
export type TableCellKind = keyof typeof CELL_KINDS;
export function isCellKind(x: unknown): x is TableCellKind {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(CELL_KINDS, x);
}

/** One cell as `head --json` writes it (core/tables/types.ts Cell). */
export type TableCell = null | boolean | number | string | TableCell[] | { [key: string]: TableCell };

export interface TableColumnInfo {
  name: string;
  /** Arrow's type name, a numpy dtype, or `object`. */
  type: string;
  kind: TableCellKind;
}

export interface TableSummary {
  name: string;
  path: string;
  /** `arrow`, `npy` (structured), `array`, `shareablelist`. */
  source: string;
  columns: TableColumnInfo[];
  totalRows: number;
  /** File size in bytes. */
  size: number;
  notes: string[];
}

/** Column statistics as shown in a header (core/tables/stats.ts ColumnStats, without the histogram). */
export interface TableColumnStats {
  count: number;
  nullCount: number;
  nanCount: number;
  infCount: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
}
/** The count fields of TableColumnStats (non-negative integers) and its value fields (finite or null). */
export const TABLE_STATS_COUNTS = ['count', 'nullCount', 'nanCount', 'infCount'] as const;
export const TABLE_STATS_VALUES = ['min', 'max', 'mean', 'std'] as const;

/** Most rows a page may hold: a tall screen's visible rows and some to spare. */
export const MAX_PAGE_ROWS = 1000;
/** Most columns a page may hold. */
export const MAX_PAGE_COLUMNS = 256;

export type TableHostMessage =
  | {
      type: 'init';
      table: TableSummary;
      requestedAt: number;
      /** The next opened table will replace this one here unless the user keeps (pins) the panel. */
      reusable: boolean;
    }
  | {
      type: 'rows';
      offset: number;
      columns: number[];
      rows: TableCell[][];
      /** Per column: why its cells could not be read in these rows, or null. */
      errors: (string | null)[];
      /** Rows the table has now (a stream may have grown). */
      totalRows: number;
      elapsedMs: number;
    }
  | { type: 'colstats'; column: number; stats: TableColumnStats | null; error: string | null }
  /** A producer appended to the table (an Arrow stream's new batches): its rows, size and notes now. */
  | { type: 'grown'; totalRows: number; size: number; notes: string[] }
  /** `subject`: the table it is about (Quick Look names it when it failed before its first rows were shown). */
  | { type: 'error'; message: string; kind: ErrorKind; code?: ErrorCode; subject?: string }
  | { type: 'notice'; level: NoticeLevel; message: string; sticky?: boolean };
export type TableHostToWebview = TableHostMessage & Stamped;

export type TableWebviewMessage =
  | { type: 'ready' }
  | { type: 'retry' }
  /** Keep open, or the user scrolled: the panel is no longer reused for other tables. */
  | { type: 'pin' }
  | { type: 'rows'; offset: number; count: number; columns: number[] }
  | { type: 'colstats'; column: number }
  | { type: 'timing'; requestToDrawnMs: number; offset: number };

/** The webview's messages the host replies to; each type its own channel (a newer one supersedes the older: the stats of the column hovered last). */
export const TABLE_REQUESTS = ['rows', 'colstats'] as const satisfies readonly TableWebviewMessage['type'][];
export type TableRequest = Extract<TableWebviewMessage, { type: (typeof TABLE_REQUESTS)[number] }>;
export type TableEvent = Exclude<TableWebviewMessage, TableRequest>;
export type TableWebviewToHost = (TableEvent | (TableRequest & Numbered)) & Addressed;

/** The host's replies (answers to a request, with `re`). */
export const TABLE_REPLIES = ['rows', 'colstats'] as const satisfies readonly TableHostMessage['type'][];

/**
 * Table messages carried in a matrix viewer's page (Quick Look shows a table's first rows there):
 * each wrapped as `{ type: 'table', body }` both ways, so that neither side's viewer protocol
 * (protocol.ts) takes them for its own, and the table's side sees only them.
 */
export const TABLE_PANE = 'table';
export interface TablePaneEnvelope {
  type: typeof TABLE_PANE;
  body: unknown;
}
/** The table message a posted message carries, or undefined when it is not one. */
export function tablePaneBody(m: unknown): unknown {
  return isRec(m) && m.type === TABLE_PANE ? m.body : undefined;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isFiniteOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));

function isCell(v: unknown, depth = 0): v is TableCell {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (depth > 32) return false;
  if (Array.isArray(v)) return v.every((x) => isCell(x, depth + 1));
  return isRec(v) && Object.values(v).every((x) => isCell(x, depth + 1));
}

function isColumn(v: unknown): v is TableColumnInfo {
  return isRec(v) && isStr(v.name) && isStr(v.type) && isCellKind(v.kind);
}

function isSummary(v: unknown): v is TableSummary {
  return (
    isRec(v) &&
    isStr(v.name) &&
    isStr(v.path) &&
    isStr(v.source) &&
    Array.isArray(v.columns) &&
    v.columns.every(isColumn) &&
    isInt(v.totalRows) &&
    isInt(v.size) &&
    Array.isArray(v.notes) &&
    v.notes.every(isStr)
  );
}

function isStats(v: unknown): v is TableColumnStats {
  return isRec(v) && TABLE_STATS_COUNTS.every((k) => isInt(v[k])) && TABLE_STATS_VALUES.every((k) => isFiniteOrNull(v[k]));
}

/** A message from the host, typed, or null when it is not one the host sends (the webview's Requester calls it). */
export function validateTableHostMessage(m: unknown): TableHostToWebview | null {
  if (!isRec(m)) return null;
  if ((m.from !== undefined && !isId(m.from)) || (m.re !== undefined && !isId(m.re))) return null;
  if ((TABLE_REPLIES as readonly unknown[]).includes(m.type) !== (m.re !== undefined)) return null;
  const ok = (b: boolean) => (b ? (m as unknown as TableHostToWebview) : null);
  switch (m.type) {
    case 'init':
      return ok(isSummary(m.table) && typeof m.requestedAt === 'number' && typeof m.reusable === 'boolean');
    case 'rows': {
      if (!isInt(m.offset) || !isInt(m.totalRows) || typeof m.elapsedMs !== 'number') return null;
      if (!Array.isArray(m.columns) || !m.columns.every((c) => isInt(c)) || m.columns.length > MAX_PAGE_COLUMNS) return null;
      const w = m.columns.length;
      if (!Array.isArray(m.errors) || m.errors.length !== w || !m.errors.every((e) => e === null || isStr(e))) return null;
      return ok(Array.isArray(m.rows) && m.rows.length <= MAX_PAGE_ROWS && m.rows.every((r) => Array.isArray(r) && r.length === w && r.every((c) => isCell(c))));
    }
    case 'colstats':
      return ok(isInt(m.column) && (m.stats === null || isStats(m.stats)) && (m.error === null || isStr(m.error)));
    case 'grown':
      return ok(isInt(m.totalRows) && isInt(m.size) && Array.isArray(m.notes) && m.notes.every(isStr));
    case 'error':
      return ok(isStr(m.message) && isErrorKind(m.kind) && (m.code === undefined || isErrorCode(m.code)) && (m.subject === undefined || isStr(m.subject)));
    case 'notice':
      return ok(isStr(m.message) && isNoticeLevel(m.level) && (m.sticky === undefined || typeof m.sticky === 'boolean'));
    default:
      return null;
  }
}

function parseTableMessage(m: Rec): TableWebviewMessage | null {
  switch (m.type) {
    case 'ready':
    case 'retry':
    case 'pin':
      return { type: m.type };
    case 'rows': {
      if (!isInt(m.offset) || !isInt(m.count) || m.count > MAX_PAGE_ROWS) return null;
      if (!Array.isArray(m.columns) || m.columns.length > MAX_PAGE_COLUMNS || !m.columns.every((c) => isInt(c))) return null;
      return { type: 'rows', offset: m.offset, count: m.count, columns: [...(m.columns as number[])] };
    }
    case 'colstats':
      return isInt(m.column) ? { type: 'colstats', column: m.column } : null;
    case 'timing':
      return typeof m.requestToDrawnMs === 'number' && isInt(m.offset) ? { type: 'timing', requestToDrawnMs: m.requestToDrawnMs, offset: m.offset } : null;
    default:
      return null;
  }
}

/** A message from the table webview, typed and copied, or null when malformed (a request without its number too). */
export function parseTableWebviewMessage(m: unknown): TableWebviewToHost | null {
  if (!isRec(m)) return null;
  const msg = parseTableMessage(m);
  if (!msg) return null;
  const to = isId(m.to) ? m.to : 0;
  if (!(TABLE_REQUESTS as readonly string[]).includes(msg.type)) return { ...(msg as TableEvent), to };
  return isId(m.id) ? { ...(msg as TableRequest), id: m.id, to } : null;
}
