/**
 * From a NAME (docs/cli.md's grammar: `FILE`, `FILE/COLUMN`, `sysv:ID`) and the selection flags to
 * an open table over the segment's mapping: what `head` and `stats NAME/COLUMN` read, and what a
 * viewer opens. The mapping is of the very file that was inspected (openView's `expect`): one that
 * is renamed over in between is inspected once more, then refused.
 */
import { inspectSegment, resolveName, UsageError } from '../catalog';
import { fsPath, respell } from '../names';
import { selectArray, selectSlice, type SelectionFlags } from '../select';
import { inspectSysv, ownIpcNamespace, parseSysvName } from '../sysv';
import type { Segment } from '../types';
import { openSysvView, openView, type MappedView } from '../../native';
import { aboutName, errorCode, errorMessage } from '../errors';
import { gridOf, type ArrayGrid } from './npy';
import { openTable, tableFormat } from './open';
import { TableError, type TableModel } from './types';

export interface OpenedTable {
  /** Words for messages: the segment's name. */
  what: string;
  segment: Segment;
  model: TableModel;
  view: MappedView;
  /** The column a `FILE/COLUMN` name picked, as an index of model.columns. */
  column: number | null;
}

/** The index of a column by its name as written (names.ts spelling) or plain; a TableError listing them when absent. */
export function columnIndex(model: TableModel, name: string, what: string): number {
  const k = model.columns.findIndex((c) => c.name === name || c.name === respell(name));
  if (k < 0) {
    const names = model.columns
      .slice(0, 20)
      .map((c) => c.name)
      .join(', ');
    throw new TableError(`${what}: no column '${name}' (it has ${names}${model.columns.length > 20 ? `, ... ${model.columns.length} in all` : ''})`);
  }
  return k;
}

/** The segment NAME names and, for `FILE/COLUMN` of a table-shaped file, the column's name. */
async function findSegment(dir: string, name: string): Promise<{ seg: Segment; column: string | null } | null> {
  const { rel } = resolveName(dir, name);
  const seg = await inspectSegment(rel, { dirs: [dir], holders: false });
  if (seg && seg.format !== 'column') return { seg, column: null };
  // FILE/COLUMN: the longest prefix that is a table-shaped file wins, the rest names the column.
  for (let k = rel.lastIndexOf('/'); k > 0; k = rel.lastIndexOf('/', k - 1)) {
    const file = await inspectSegment(rel.slice(0, k), { dirs: [dir], holders: false });
    if (file && tableFormat(file)) return { seg: file, column: rel.slice(k + 1) };
    if (file) break;
  }
  return null;
}

/** The grid of the array a non-table segment holds (N-D: the 2-D slice --index picks, else a UsageError). */
function arrayGrid(seg: Segment, flags: SelectionFlags): ArrayGrid {
  const sel = selectArray(seg, flags);
  const nd = sel.layout.shape.length;
  if (nd <= 2 && flags.index === undefined && flags.axes === undefined) return gridOf(sel.layout);
  if (nd > 2 && flags.index === undefined) {
    throw new UsageError(`${sel.what} is a ${nd}-D array [${sel.layout.shape.join(', ')}]: pick the 2-D slice to show with --index K1,... (and --axes I,J)`);
  }
  const s = selectSlice(sel.layout, flags);
  return { dtype: sel.layout.dtype, oneD: false, rows: s.rows, cols: s.cols, offset: s.offset, strideR: s.strideR, strideC: s.strideC };
}

/** Opens the table NAME names; close `view` when done. */
export async function openNamedTable(dir: string, name: string, flags: SelectionFlags = {}): Promise<OpenedTable> {
  const shmid = parseSysvName(name, await ownIpcNamespace());
  for (let attempt = 0; ; attempt++) {
    let found: { seg: Segment; column: string | null } | null;
    if (shmid !== null) {
      const s = await inspectSysv(shmid, { holders: false });
      found = s ? { seg: { ...s, path: s.name }, column: null } : null;
    } else found = await findSegment(dir, name);
    if (!found) throw new TableError(`${name}: no such segment`);
    const { seg, column } = found;
    if (seg.deleted) throw new TableError(`${seg.name}: deleted (only its holders can still read it)`);
    if (seg.error && tableFormat(seg)) throw new TableError(`${seg.name}: ${seg.error}`);
    if (seg.format === 'pickle') {
      const p = seg.details?.pickle as { type?: string; length?: number | null } | undefined;
      throw new TableError(
        `${seg.name}: a pickle (${p?.type ?? 'unknown type'}${typeof p?.length === 'number' ? ` of length ${p.length}` : ''}), not a table: inspect describes it, nothing in it is run`,
      );
    }
    // The array's grid before the mapping: bad flags are said without opening anything.
    const grid = tableFormat(seg) ? undefined : arrayGrid(seg, flags);
    let view: MappedView;
    try {
      view = shmid !== null ? await openSysvView(shmid) : await openView(fsPath(seg.path), { dev: seg.dev, ino: seg.ino });
    } catch (e) {
      if (shmid === null && errorCode(e) === 'CHANGED' && attempt === 0) continue;
      if (errorCode(e) === 'CHANGED')
        throw new TableError(`${seg.name}: replaced by another file while it was being opened, twice (renamed over or recreated); try again`, 'CHANGED');
      throw new TableError(`${seg.name}: ${errorMessage(e)}`, errorCode(e), { cause: e });
    }
    try {
      const model = await openTable(seg, view, grid);
      return { what: seg.name, segment: seg, model, view, column: column === null ? null : columnIndex(model, column, seg.name) };
    } catch (e) {
      view.close();
      if (e instanceof UsageError) throw e;
      if (e instanceof TableError) throw new TableError(aboutName(seg.name, e.message), e.code, { cause: e });
      throw e;
    }
  }
}
