/**
 * The table viewer's panel (issue #16): a webview running webview/table-viewer.ts, with a
 * TableSession (extension/table/session.ts) that maps the table while the panel is open. Like the
 * matrix viewer's preview panels, the next opened table shows in the open panel the user has not
 * kept (scrolled, or pressed Keep open), which a running webview does at once; a panel survives a
 * window reload (its serializer finds the segment again by name).
 */
import * as vscode from 'vscode';
import type { Segment } from './core/types';
import { tablePage } from './table/page';
import { segmentTableSource, TableSession, type TableSource } from './table/session';

/** The only folder the table viewer loads from. */
export function tableOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] };
}

/** The table viewer's page, titled `title`. */
export function tableHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'table.js')).toString();
  return tablePage({ script, title });
}

/** What the API reports of an open table panel. */
export interface TableInfo {
  name: string;
  error: string | null;
  pinned: boolean;
  timing: { requestToDrawnMs: number; offset: number } | null;
}

export class TablePanel {
  static readonly viewType = 'shmInspector.table';
  private static readonly open = new Set<TablePanel>();
  private session: TableSession;
  private lastShown: number;

  static all(): TableInfo[] {
    return [...TablePanel.open].map((p) => ({ name: p.session.name, error: p.session.error, pinned: p.session.pinned, timing: p.session.timing }));
  }

  /** The panels that map `s`. */
  private static mapping(s: Segment): TablePanel[] {
    return [...TablePanel.open].filter((p) => p.session.mapped?.ino === s.ino && p.session.mapped.path === s.path);
  }

  /** The titles of the panels that map `s` (the Segments view names them as what holds it). */
  static titlesMapping(s: Segment): string[] {
    return TablePanel.mapping(s).map((p) => p.panel.title);
  }

  /** Closes the panels that map `s` (an unlinked segment's memory is kept by their mapping); how many. */
  static closeMapping(s: Segment): number {
    const panels = TablePanel.mapping(s);
    for (const p of panels) p.panel.dispose();
    return panels.length;
  }

  /** After a scan: a panel whose table now shows as deleted (unlinked while open) says so, and its tab too. */
  static noteScan(segments: readonly Segment[]): void {
    for (const s of segments) {
      if (!s.deleted) continue;
      for (const p of TablePanel.mapping(s)) {
        if (p.session.unlinked) continue;
        p.session.markUnlinked();
        p.panel.title = `Table: ${p.session.name} (unlinked)`;
      }
    }
  }

  /** Shows a segment's table: the panel that shows it, else the open panel not kept, else a new one. */
  static show(context: vscode.ExtensionContext, segment: Segment, opts: { reuse?: boolean } = {}): void {
    const requestedAt = Date.now();
    for (const p of TablePanel.open) {
      if (p.session.source.path === segment.path) {
        p.panel.reveal();
        p.lastShown = requestedAt;
        return;
      }
    }
    const source = segmentTableSource(segment);
    const reuse = opts.reuse ?? vscode.workspace.getConfiguration('shmInspector.preview').get<boolean>('reusePanel', true);
    const spare = reuse ? [...TablePanel.open].filter((p) => !p.session.pinned).sort((a, b) => b.lastShown - a.lastShown)[0] : undefined;
    if (spare) {
      spare.session.dispose();
      spare.lastShown = requestedAt;
      spare.session = new TableSession(spare.panel.webview, source, requestedAt, { running: true, reusable: true });
      spare.panel.title = `Table: ${segment.name}`;
      spare.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      TablePanel.viewType,
      `Table: ${segment.name}`,
      vscode.ViewColumn.Active,
      // Switching tabs back keeps the scroll position and the rows read.
      { ...tableOptions(context.extensionUri), retainContextWhenHidden: true },
    );
    new TablePanel(context, panel, source, requestedAt, reuse);
  }

  /** Restores table panels after a window reload (the webview saved the segment's name and path). */
  static registerSerializer(context: vscode.ExtensionContext, lookup: (name: string) => Promise<Segment | null>): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(TablePanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
        const s = (state ?? {}) as { name?: unknown; path?: unknown };
        panel.webview.options = tableOptions(context.extensionUri);
        if (typeof s.name !== 'string' || typeof s.path !== 'string') {
          panel.webview.html = '<!DOCTYPE html><html><body><p>This table cannot be restored: it did not say which segment it showed.</p></body></html>';
          return;
        }
        const name = s.name;
        const path = s.path;
        const source: TableSource = {
          name,
          path,
          async open() {
            const seg = await lookup(name);
            return segmentTableSource(seg ?? { name, path }).open();
          },
        };
        new TablePanel(context, panel, source, Date.now(), false);
      },
    });
  }

  private constructor(
    context: vscode.ExtensionContext,
    private readonly panel: vscode.WebviewPanel,
    source: TableSource,
    requestedAt: number,
    reusable: boolean,
  ) {
    this.lastShown = requestedAt;
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'shm.svg');
    this.session = new TableSession(panel.webview, source, requestedAt, { reusable });
    TablePanel.open.add(this);
    panel.onDidDispose(() => {
      TablePanel.open.delete(this);
      this.session.dispose();
    });
    panel.webview.html = tableHtml(panel.webview, context.extensionUri, `Table: ${source.name}`);
  }
}
