/**
 * Quick Look's table (issue #16): in the matrix viewer's page that Quick Look runs, the first rows
 * of a table (an Arrow file, a structured NPY, a ShareableList) in the grid of cells (grid-pane.ts),
 * only the columns that fit and the rows on screen asked for (scrolling asks for more). It speaks the
 * table viewer's protocol (contract/table.ts) with the host's TableSession, each message wrapped
 * (TABLE_PANE) so that the heatmap viewer beside it in the page never takes one for its own. The
 * header, error and notice are the page's (the heatmap viewer's when an array is shown).
 */
import { formatBytes } from '../contract/bytes';
import type { Stamped } from '../contract/requests';
import {
  CELL_KINDS,
  tablePaneBody,
  TABLE_PANE,
  validateTableHostMessage,
  type TableHostMessage,
  type TablePaneEnvelope,
  type TableWebviewMessage,
} from '../contract/table';
import { Container, type PostApi } from './container';
import { elementsById } from './controls';
import { setTitle } from './draw';
import { GridPane } from './grid-pane';
import { columnWidth } from './table-grid';
import { displayText } from './text';

/** Milliseconds of quiet before the rows of a scrolled view are asked for; the longest wait while it keeps scrolling. */
const DEBOUNCE_MS = 12;
const MAX_WAIT_MS = 60;
/** Widest a column is in the sidebar (numbers, then text: more columns fit; the hover has a cut value whole). */
const NUMBER_MAX_W = 110;
const TEXT_MAX_W = 150;

export class QuickTable {
  private readonly c: Container<TableWebviewMessage, TableHostMessage>;
  private readonly grid: GridPane;
  /** The table shown (its init came), or null. */
  private shown: string | null = null;
  /** Host clock when the user selected the table shown (its init says), until its first rows are drawn. */
  private requestedAt: number | null = null;
  private readonly el = elementsById({
    title: ['title', HTMLElement],
    info: ['info', HTMLElement],
    open: ['open', HTMLButtonElement],
    error: ['error', HTMLElement],
    errorText: ['error-text', HTMLElement],
    retry: ['retry', HTMLButtonElement],
    notice: ['notice', HTMLElement],
    scroller: ['vg-scroller', HTMLElement],
    sticky: ['vg-sticky', HTMLElement],
    head: ['vg-head', HTMLElement],
    rows: ['vg-rows', HTMLElement],
    spacer: ['vg-spacer', HTMLElement],
  });

  constructor(api: PostApi) {
    this.c = new Container<TableWebviewMessage, TableHostMessage>(
      { postMessage: (m) => api.postMessage({ type: TABLE_PANE, body: m } satisfies TablePaneEnvelope) },
      { validate: validateTableHostMessage, onMessage: (m) => this.onMessage(m) },
    );
    const el = this.el;
    this.grid = new GridPane(
      { scroller: el.scroller, sticky: el.sticky, head: el.head, rows: el.rows, spacer: el.spacer },
      {
        need: (rows, columns) =>
          this.c.debounce('rows', () => this.c.request({ type: 'rows', offset: rows.first, count: rows.end - rows.first, columns }), DEBOUNCE_MS, MAX_WAIT_MS),
        width: (c) => Math.min(columnWidth(c), CELL_KINDS[c.kind] === 'right' ? NUMBER_MAX_W : TEXT_MAX_W),
        drawn: (_v, pending) => {
          if (pending || document.body.dataset.view !== 'grid') return;
          document.body.dataset.state = 'exact';
          // From the selection to its first rows on screen (the same clock: one machine).
          if (this.requestedAt !== null) document.body.dataset.firstRowsMs = String(Date.now() - this.requestedAt);
          this.requestedAt = null;
        },
      },
    );
  }

  /** Takes the table messages posted to the page. */
  start(): void {
    window.addEventListener('message', (ev) => {
      const body = tablePaneBody((ev as MessageEvent).data);
      if (body !== undefined) this.c.deliver(body);
    });
  }

  private onMessage(m: TableHostMessage & Stamped): void {
    const el = this.el;
    const body = document.body;
    switch (m.type) {
      case 'init': {
        const t = m.table;
        body.dataset.view = 'grid';
        body.dataset.state = 'loading';
        body.dataset.rows = String(t.totalRows);
        delete body.dataset.firstRowsMs;
        this.shown = t.name;
        this.requestedAt = m.requestedAt;
        setTitle(el.title, displayText(t.name));
        el.info.textContent = `${t.totalRows.toLocaleString('en-US')} rows × ${t.columns.length} columns · ${formatBytes(t.size)} · ${t.source}`;
        el.open.disabled = false;
        el.error.hidden = true;
        el.notice.hidden = true;
        this.grid.show(t.columns, t.totalRows);
        el.scroller.scrollLeft = 0;
        this.grid.goToRow(0);
        this.grid.draw();
        break;
      }
      case 'rows':
        if (m.totalRows !== this.grid.total) {
          this.grid.setTotal(m.totalRows);
          body.dataset.rows = String(m.totalRows);
        }
        this.grid.put(m.offset, m.columns, m.rows, m.errors);
        break;
      case 'grown':
        // A stream's new rows: the count (Quick Look shows the first rows, which stay).
        this.grid.setTotal(m.totalRows);
        body.dataset.rows = String(m.totalRows);
        break;
      case 'colstats':
        break;
      case 'error':
        // Nothing to retry here (Open shows the table viewer, which can reopen it).
        this.c.forget();
        body.dataset.state = 'error';
        if (m.subject !== undefined && (m.subject !== this.shown || body.dataset.view !== 'grid')) {
          // It failed before its first rows came: no rows, nor the picture or the rows of what was shown before, under its name.
          this.shown = m.subject;
          body.dataset.view = 'grid';
          setTitle(el.title, displayText(m.subject));
          el.info.textContent = '';
          el.notice.hidden = true;
          this.grid.show([], 0);
          el.head.replaceChildren();
          el.rows.replaceChildren();
        }
        el.errorText.textContent = displayText(m.message);
        el.error.dataset.code = m.code ?? '';
        el.retry.hidden = true;
        el.error.hidden = false;
        break;
      case 'notice':
        el.notice.textContent = displayText(m.message);
        el.notice.className = m.level;
        el.notice.dataset.sticky = String(m.sticky === true);
        el.notice.hidden = false;
        break;
    }
  }
}
