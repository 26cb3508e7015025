/**
 * Quick Look: a webview view under the segment tree that shows the selected array at once.
 *
 * Off by default (Show Quick Look). Once shown, its page keeps running; selecting a segment
 * (a click or Enter on its row) then only maps the array and posts its first picture to that
 * page: tens of milliseconds, where a new preview editor waits hundreds for VS Code to start its
 * webview. The same ViewerSession as the preview editor serves it (hover values, zoom; exact
 * cells and statistics for arrays up to 256 MiB, sampled beyond: see webview/main.ts); Open
 * shows the array in a full preview editor. The mapping is dropped when the view is hidden or
 * the segment leaves the list (a System V segment, attached read-only, is detached when it is removed).
 *
 * A table (an Arrow file, a structured NPY, a ShareableList: core/tables) shows as its first rows
 * in the same page: a TableSession (table/session.ts, the table viewer's) answers the page's grid
 * for the rows and columns that fit, its messages wrapped (tablePanePort) so that the page's
 * heatmap viewer never takes them for its own; Open shows it in the table viewer.
 */
import * as vscode from 'vscode';
import { isPreviewable } from './core/format-words';
import { findSegment } from './core/segments';
import { isSysvSegment } from './core/sysv-view';
import { tableFormat } from './core/tables/open';
import type { Segment } from './core/types';
import { viewerHtml, viewerOptions } from './preview/html';
import { ViewerSession, type PlotArea } from './preview/session';
import { SegmentSource } from './preview/source';
import { parseWebviewMessage } from './preview/validate';
import { vscodeViewerIO } from './preview/vscode-io';
import type { SegmentLookup } from './preview';
import { segmentTableSource, tablePanePort, TableSession } from './table/session';
import type { HostToWebview } from '../contract/protocol';

/** Whether Quick Look shows a segment: an array it can draw, or a table's first rows (one whose header was read without error). */
export function quickLookShows(s: Segment): boolean {
  return (tableFormat(s) !== null && !s.error && !s.deleted) || isPreviewable(s);
}

const PLACEHOLDER = 'Select an array or a table in Segments to see it here';

export class QuickLook implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'shmInspector.quickLook';

  private view: vscode.WebviewView | null = null;
  private session: ViewerSession | TableSession | null = null;
  /** The segment shown (or to show once the webview is ready). */
  private segment: Segment | null = null;
  /** The selected segment it said it cannot show (a raw one is shown once it is given a layout). */
  private refused: Segment | null = null;
  private ready = false;
  private plotArea: PlotArea | null = null;
  private readonly disposables: vscode.Disposable[] = [];

  static register(context: vscode.ExtensionContext, lookup: SegmentLookup): QuickLook {
    const q = new QuickLook(context, lookup);
    context.subscriptions.push(
      q,
      // Kept when the view is collapsed or another view container is shown: the next selection draws at once.
      vscode.window.registerWebviewViewProvider(QuickLook.viewType, q, { webviewOptions: { retainContextWhenHidden: true } }),
    );
    return q;
  }

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly lookup: SegmentLookup,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    view.webview.options = viewerOptions(this.context.extensionUri);
    view.webview.html = viewerHtml(view.webview, this.context.extensionUri, 'Quick Look', undefined, { compact: true, placeholder: PLACEHOLDER });
    this.disposables.push(
      view.webview.onDidReceiveMessage((raw) => {
        const msg = parseWebviewMessage(raw);
        if (!msg) return;
        if (msg.type === 'ready') {
          this.plotArea = msg.plotArea ?? this.plotArea;
          const first = !this.ready;
          this.ready = true;
          // The page (re)started: show what was selected meanwhile. A session already there answers
          // a later 'ready' itself.
          if (first && this.segment && !this.session && view.visible) this.start(this.segment, Date.now());
          // A table's session hears only the table's messages: a page that started again gets its rows afresh.
          else if (!first && this.segment && this.session instanceof TableSession && view.visible) this.start(this.segment, Date.now());
          // A selection it cannot show, made before the page was up: said now.
          else if (first && !this.segment && this.refused) this.postRefusal(this.refused);
        } else if (msg.type === 'openPreview' && this.segment) {
          // A table opens in the table viewer, an array in a preview editor.
          void vscode.commands.executeCommand(tableFormat(this.segment) ? 'shmInspector.openAsTable' : 'shmInspector.preview', this.segment);
        }
      }),
      view.onDidChangeVisibility(() => {
        if (view.visible) {
          if (this.segment && !this.session && this.ready) this.start(this.segment, Date.now());
        } else {
          // Hidden: give the mapping back (the picture stays in the retained page).
          this.stop();
        }
      }),
      view.onDidDispose(() => {
        this.stop();
        this.view = null;
        this.ready = false;
      }),
    );
  }

  /** Shows a segment (the tree's selection); a segment already shown is left as it is. */
  show(segment: Segment): void {
    const same = this.segment && this.segment.path === segment.path && this.segment.name === segment.name;
    this.segment = segment;
    this.refused = null;
    if (same && this.session) return;
    if (!this.view || !this.view.visible || !this.ready) {
      // Shown when the view is (visible and running) again; nothing of another array meanwhile.
      this.stop();
      return;
    }
    this.start(segment, Date.now());
  }

  /** A selected segment that holds no array it can draw: says why, and lets go of the last one. */
  cannotShow(segment: Segment): void {
    this.stop();
    this.segment = null;
    this.refused = segment;
    if (this.ready) this.postRefusal(segment);
  }

  private postRefusal(segment: Segment): void {
    const why =
      segment.error?.replace(/\.$/, '') ??
      (segment.dtype
        ? `${segment.dtype} is not a numeric dtype`
        : segment.format === 'raw' && !segment.deleted
          ? 'it is raw bytes with no header saying its dtype and shape; give them with Interpret As… (click the row, or its context menu)'
          : 'it holds no array (no dtype and shape were found)');
    const msg: HostToWebview = { type: 'error', kind: 'unsupported', code: 'NOT_ARRAY', subject: segment.name, message: `${segment.name} cannot be shown: ${why}.` };
    void this.view?.webview.postMessage(msg).then(undefined, () => undefined);
  }

  /** The list changed: a shown segment that is gone is let go; one replaced by another file of its name is shown afresh. */
  onList(segments: readonly Segment[]): void {
    const s = this.segment ?? this.refused;
    if (!s) return;
    const now = findSegment(segments, (x) => x.path === s.path && x.name === s.name);
    if (s === this.refused) {
      // Refused before (a raw segment): shown once it reads as an array (Interpret As… gave it a layout).
      if (now && !now.deleted && now.ino === s.ino && quickLookShows(now)) this.show(now);
      else if (!now || now.ino !== s.ino) this.refused = null;
      return;
    }
    if (now && !now.deleted && now.ino === s.ino) return;
    this.stop();
    this.segment = null;
    if (now && !now.deleted) {
      // Replaced by another file of the same name: show that one.
      this.show(now);
      return;
    }
    // A System V segment removed (IPC_RMID) while shown: letting go of it was detaching it, which frees it.
    const message = isSysvSegment(s)
      ? `${s.name} was removed (IPC_RMID): Quick Look detached it, so its memory is freed once no other process attaches it.`
      : `${s.name} is no longer in the list.`;
    const notice: HostToWebview = { type: 'notice', level: 'info', message };
    if (this.ready) void this.view?.webview.postMessage(notice).then(undefined, () => undefined);
  }

  private start(segment: Segment, requestedAt: number): void {
    if (!this.view) return;
    this.stop();
    if (tableFormat(segment)) {
      // Its first rows: the page is running, so the session sends init as soon as the table is open.
      this.session = new TableSession(tablePanePort(this.view.webview), segmentTableSource(segment), requestedAt, { running: true });
      return;
    }
    const source = new SegmentSource(segment, segment.name, segment.path, this.lookup);
    this.session = new ViewerSession(this.view.webview, source, requestedAt, null, {
      io: vscodeViewerIO,
      plotArea: this.plotArea,
      running: true,
    });
  }

  private stop(): void {
    if (this.session instanceof ViewerSession && this.session.plotArea) this.plotArea = this.session.plotArea;
    this.session?.dispose();
    this.session = null;
  }

  dispose(): void {
    this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
