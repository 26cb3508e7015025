/**
 * One table viewer (issue #16): owns the mapping of its table (an Arrow file or stream, a
 * structured NPY, a ShareableList), answers the webview's requests for rows by range (only the
 * rows and columns on screen are read, core/tables) and for column statistics, and turns every
 * failure into a message in the panel: a segment that shrinks, is replaced or vanishes while open
 * is said in words with its code (contract/errors.ts), never thrown into VS Code.
 *
 * No vscode import: the webview port and the table's source are given to it (like
 * extension/preview/session.ts), so that it runs in plain Node under test.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ErrorCode } from '../../contract/errors';
import { Responder } from '../../contract/requests';
import {
  MAX_PAGE_ROWS,
  parseTableWebviewMessage,
  tablePaneBody,
  TABLE_PANE,
  type TablePaneEnvelope,
  type TableCellKind,
  type TableColumnStats,
  type TableHostMessage,
  type TableSummary,
  type TableWebviewToHost,
} from '../../contract/table';
import { formatBytes } from '../../contract/bytes';
import { ShmError } from '../core/errors';
import { fsPath } from '../core/names';
import { openNamedTable } from '../core/tables/resolve';
import { columnStats } from '../core/tables/stats';
import type { TableModel } from '../core/tables/types';
import type { Segment } from '../core/types';
import { openView, type MappedView } from '../native';
import { describeFailure, failureCode, type ViewerPort } from '../preview/session';

/** A table, opened: its model over the mapping, the mapping, and the file's facts. */
export interface OpenTable {
  model: TableModel;
  view: MappedView;
  /** The path the file was opened by (spelled: core/names.ts), to see later whether it still names it. */
  path: string;
  size: number;
}

/** Where a table comes from: a segment (looked up again on Reopen). */
export interface TableSource {
  /** For titles and messages. */
  readonly name: string;
  readonly path: string;
  /** Opens the table now; throws what fails (ENOENT when the name names nothing any more). */
  open(): Promise<OpenTable>;
}

/** The table a segment holds, opened by its path (core/tables/resolve.ts: the very file inspected is mapped). */
export function segmentTableSource(seg: Pick<Segment, 'name' | 'path'>): TableSource {
  return {
    name: seg.name,
    path: seg.path,
    async open() {
      // A file's name (a System V segment's `sysv:ID` is looked up by openNamedTable).
      if (seg.path.startsWith('/'))
        await fs.promises.lstat(fsPath(seg.path)).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') throw new ShmError(`${seg.name} no longer exists (it was unlinked or renamed)`, 'ENOENT');
        });
      const t = await openNamedTable(path.dirname(seg.path), seg.path);
      return { model: t.model, view: t.view, path: t.segment.path, size: t.segment.size };
    },
  };
}

/**
 * A table session's port in a matrix viewer's page (Quick Look): what it posts is wrapped, and it
 * hears only the table messages of that page (contract/table.ts TABLE_PANE).
 */
export function tablePanePort(port: ViewerPort): ViewerPort {
  return {
    postMessage: (m) => port.postMessage({ type: TABLE_PANE, body: m } satisfies TablePaneEnvelope),
    onDidReceiveMessage: (listener) =>
      port.onDidReceiveMessage((raw) => {
        const body = tablePaneBody(raw);
        if (body !== undefined) listener(body);
      }),
  };
}

/** How often an open table a producer may still append to (an Arrow stream with no end marker yet) is looked at. */
export const APPEND_POLL_MS = 1000;

/** The column kinds of the table model are the contract's (a kind added to one and not the other is a type error). */
const kindOf = (k: TableModel['columns'][number]['kind']): TableCellKind => k;

export class TableSession {
  private table: OpenTable | null = null;
  private opening: Promise<OpenTable> | null;
  private disposed = false;
  private readonly rpc: Responder<TableWebviewToHost, TableHostMessage>;
  private readonly disposables: { dispose(): void }[] = [];
  /** Stats per column, computed once per opening. */
  private readonly statsCache = new Map<number, TableColumnStats>();
  private unlinkNoted = false;
  /** Looks for appended rows while the table may still grow (watchAppends). */
  private appendTimer: ReturnType<typeof setInterval> | undefined;
  private growing = false;
  /** The mapping replaced by the last growth, kept until the next one (reads begun on it may still be running). */
  private retired: MappedView | null = null;
  /** The last failure said in the panel, or null. */
  error: string | null = null;
  /** The webview's last measured time from a rows request to those rows drawn. */
  timing: { requestToDrawnMs: number; offset: number } | null = null;
  /** Set once the user keeps the panel or scrolls; the panel then keeps this table. */
  pinned = false;
  private readonly reusable: boolean;
  /** How often watchAppends looks (0: never; tests call readAppended themselves). */
  private readonly appendPollMs: number;

  /**
   * Starts mapping the table at once, while the webview starts. `running`: the webview is already
   * up (a reused panel), so no 'ready' will come: init is sent as soon as the table is open.
   * `reusable`: a panel the next opened table may take over (the webview offers Keep open).
   */
  constructor(
    port: ViewerPort,
    readonly source: TableSource,
    private readonly requestedAt: number,
    opts: { running?: boolean; reusable?: boolean; appendPollMs?: number } = {},
  ) {
    this.reusable = opts.reusable ?? false;
    this.appendPollMs = opts.appendPollMs ?? APPEND_POLL_MS;
    this.rpc = new Responder<TableWebviewToHost, TableHostMessage>({
      post: (m) => void port.postMessage(m).then(undefined, () => undefined),
      validate: parseTableWebviewMessage,
    });
    this.disposables.push(port.onDidReceiveMessage((m) => void this.onMessage(m)));
    // Mapped while the webview starts.
    this.opening = this.source.open();
    this.opening.catch(() => undefined);
    if (opts.running) void this.begin(false).catch((e) => this.fail(e));
  }

  get name(): string {
    return this.source.name;
  }

  /** The file mapped now (device, inode, path), or null. */
  get mapped(): { dev: number; ino: number; path: string } | null {
    const v = this.table?.view;
    return v ? { dev: v.dev, ino: v.ino, path: v.path } : null;
  }

  private post(msg: TableHostMessage): void {
    if (!this.disposed) this.rpc.post(msg);
  }

  private fail(e: unknown): void {
    const { kind, code, message } = describeFailure(e, this.name);
    this.error = message;
    this.post({ type: 'error', kind, code, message, subject: this.name });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const got = this.disposed ? null : this.rpc.receive(raw);
    if (!got) return;
    const { msg, signal } = got;
    try {
      switch (msg.type) {
        case 'ready':
          await this.begin(false);
          break;
        case 'retry':
          await this.begin(true);
          break;
        case 'pin':
          this.pinned = true;
          break;
        case 'rows':
          await this.rows(msg, signal!);
          break;
        case 'colstats':
          await this.colstats(msg.id, msg.column, signal!);
          break;
        case 'timing':
          this.timing = { requestToDrawnMs: msg.requestToDrawnMs, offset: msg.offset };
          break;
      }
    } catch (e) {
      this.fail(e);
    } finally {
      if ('id' in msg) this.rpc.done(msg.id);
    }
  }

  /** Maps the table (again, on Reopen) and sends init. */
  private async begin(reopen: boolean): Promise<void> {
    this.rpc.abortAll();
    let opening = this.opening;
    this.opening = null;
    if (reopen || (!opening && !this.table)) {
      this.close();
      opening = this.source.open();
    }
    if (opening) {
      const t = await opening;
      if (this.disposed) {
        t.view.close();
        return;
      }
      this.table = t;
      this.statsCache.clear();
      this.unlinkNoted = false;
    }
    const t = this.table;
    if (!t) return;
    this.error = null;
    this.post({ type: 'init', table: this.summary(t), requestedAt: this.requestedAt, reusable: this.reusable && !this.pinned });
    this.watchAppends();
  }

  /** While its producer may still append (an Arrow stream without its end marker), the file is looked at every APPEND_POLL_MS. */
  private watchAppends(): void {
    clearInterval(this.appendTimer);
    this.appendTimer = undefined;
    const t = this.table;
    // A file by its name (not a System V segment, nor one read through a holder's /proc entry).
    if (!t?.model.appendable || !t.path.startsWith('/') || t.view.path.startsWith('/proc/') || this.appendPollMs <= 0) return;
    this.appendTimer = setInterval(() => void this.readAppended().catch((e: unknown) => this.fail(e)), this.appendPollMs);
    this.appendTimer.unref?.();
  }

  /**
   * Reads what the producer appended: when the file (the same inode) has grown, it is mapped again
   * at its new size, the model reads the new batches from there, and the webview is told the new
   * row count. Resolves with whether it grew. (Also called by tests, without waiting for the timer.)
   */
  async readAppended(): Promise<boolean> {
    const t = this.table;
    if (!t || this.growing || this.disposed || !t.model.appendable) return false;
    const st = await fs.promises.stat(fsPath(t.path)).catch(() => null);
    if (!st || st.dev !== t.view.dev || st.ino !== t.view.ino || st.size <= t.view.size) return false;
    this.growing = true;
    try {
      const v = await openView(fsPath(t.path), { dev: t.view.dev, ino: t.view.ino });
      if (this.disposed || this.table !== t) {
        v.close();
        return false;
      }
      const before = t.model.totalRows;
      await t.model.refresh(v);
      this.retired?.close();
      this.retired = t.view;
      t.view = v;
      t.size = v.size;
      if (!t.model.appendable) this.watchAppends();
      if (t.model.totalRows === before) return false;
      // Statistics of the columns cover the rows there were.
      this.statsCache.clear();
      this.post({ type: 'grown', totalRows: t.model.totalRows, size: t.size, notes: [...t.model.notes] });
      return true;
    } finally {
      this.growing = false;
    }
  }

  private summary(t: OpenTable): TableSummary {
    return {
      name: this.name,
      path: t.path,
      source: t.model.source,
      columns: t.model.columns.map((c) => ({ name: c.name, type: c.type, kind: kindOf(c.kind) })),
      totalRows: t.model.totalRows,
      size: t.size,
      notes: [...t.model.notes],
    };
  }

  /**
   * Whether the mapped file is still what its name names, at its size: unlinked (the mapping still
   * holds the rows: a notice says so once, and reading goes on), replaced by another file or
   * shrunk (an error with its code: Reopen reads what the name holds now).
   */
  private async stillTheSegment(t: OpenTable): Promise<boolean> {
    if (t.view.path.startsWith('/proc/') || !t.path.startsWith('/')) return true;
    const st = await fs.promises.lstat(fsPath(t.path), { bigint: true }).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : undefined));
    if (st === undefined) return true;
    if (st === null) {
      this.markUnlinked();
      return true;
    }
    let code: ErrorCode | null = null;
    let why = '';
    if (Number(st.dev) !== t.view.dev || Number(st.ino) !== t.view.ino) {
      code = 'CHANGED';
      why = 'was replaced by another file of the same name';
    } else if (Number(st.size) < t.view.size) {
      code = 'SHRANK';
      why = `shrank from ${formatBytes(t.view.size)} to ${formatBytes(Number(st.size))}`;
    }
    if (!code) return true;
    this.fail(new ShmError(why, code));
    return false;
  }

  /** True once the panel has said that its table was unlinked. */
  get unlinked(): boolean {
    return this.unlinkNoted;
  }

  /**
   * The mapped file was unlinked (seen when rows are read, or by the tree's scan while the panel is
   * idle): the panel says so once, since its mapping alone now keeps that memory in use.
   */
  markUnlinked(): void {
    const t = this.table;
    if (this.unlinkNoted || this.disposed || !t) return;
    this.unlinkNoted = true;
    this.post({
      type: 'notice',
      level: 'warning',
      sticky: true,
      message: `${this.name} was unlinked: no one can open it by name any more; this panel still shows the rows its mapping holds (${formatBytes(t.size)} kept in use until you close it).`,
    });
  }

  private async rows(msg: Extract<TableWebviewToHost, { type: 'rows' }>, signal: AbortSignal): Promise<void> {
    const t = this.table;
    if (!t || signal.aborted) return;
    if (!(await this.stillTheSegment(t)) || signal.aborted) return;
    const t0 = performance.now();
    const ncols = t.model.columns.length;
    const cols = msg.columns.filter((c) => c < ncols);
    try {
      const page = await t.model.rows(msg.offset, Math.min(msg.count, MAX_PAGE_ROWS), cols);
      if (signal.aborted) return;
      this.error = null;
      this.rpc.reply(msg.id, {
        type: 'rows',
        offset: page.offset,
        columns: page.columns,
        rows: page.rows,
        errors: page.errors,
        totalRows: t.model.totalRows,
        elapsedMs: performance.now() - t0,
      });
    } catch (e) {
      const code = failureCode(e);
      if (code === 'CANCELLED' || code === 'CLOSED') return;
      throw e;
    }
  }

  private async colstats(id: number, column: number, signal: AbortSignal): Promise<void> {
    const t = this.table;
    if (!t || signal.aborted) return;
    if (column >= t.model.columns.length) return;
    let stats = this.statsCache.get(column) ?? null;
    let error: string | null = null;
    if (!stats) {
      try {
        const s = await columnStats(t.model, column, t.view, { cancelled: () => signal.aborted || this.disposed });
        stats = {
          count: s.count,
          nullCount: Math.max(0, s.nullCount),
          nanCount: s.nanCount,
          infCount: s.infCount,
          min: s.min,
          max: s.max,
          mean: s.mean,
          std: s.std,
        };
        this.statsCache.set(column, stats);
      } catch (e) {
        if (signal.aborted) return;
        const code = failureCode(e);
        if (code === 'SHRANK' || code === 'CHANGED' || code === 'ENOENT') throw e;
        error = e instanceof Error ? e.message : String(e);
      }
    }
    this.rpc.reply(id, { type: 'colstats', column, stats, error });
  }

  private close(): void {
    clearInterval(this.appendTimer);
    this.appendTimer = undefined;
    this.table?.view.close();
    this.table = null;
    this.retired?.close();
    this.retired = null;
  }

  dispose(): void {
    this.disposed = true;
    this.rpc.abortAll(true);
    this.close();
    this.opening?.then(
      (t) => t.view.close(),
      () => undefined,
    );
    for (const d of this.disposables) d.dispose();
  }
}
