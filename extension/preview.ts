/**
 * The preview panel of a segment: a webview running the viewer (webview/), with
 * a ViewerSession (extension/preview/session.ts) that maps the segment while
 * the panel is open. The panel survives a window reload: its serializer finds
 * the segment again by name from the state the webview saved.
 */
import * as vscode from 'vscode';
import type { PreviewInfo } from './api';
import { inspectSegment } from './core/catalog';
import { findSegment } from './core/segments';
import { isSysvSegment, lookupSysv } from './core/sysv-view';
import type { Segment } from './core/types';
import { viewerHtml, viewerOptions } from './preview/html';
import { ViewerSession, type PlotArea } from './preview/session';
import { SegmentSource } from './preview/source';
import { vscodeViewerIO } from './preview/vscode-io';

/** Looks a segment up by name (the configured directories). */
export type SegmentLookup = (name: string) => Promise<Segment | null>;

/** A lookup over `dirs()` that also finds a container's child (`model.safetensors/weight`) by name. */
export function segmentLookup(dirs: () => string[]): SegmentLookup {
  return async (name) => {
    // sysv:SHMID, sysv:NS/SHMID: the System V segment now (its own namespace or another).
    if (name.startsWith('sysv:')) return (await lookupSysv(name).catch(() => null)) as unknown as Segment | null;
    const direct = await inspectSegment(name, { dirs: dirs() }).catch(() => null);
    if (direct && direct.name === name) return direct;
    const parts = name.split('/');
    for (let k = parts.length - 1; k >= 1; k--) {
      const parent = await inspectSegment(parts.slice(0, k).join('/'), { dirs: dirs() }).catch(() => null);
      const child = parent ? findSegment(parent.children, (s) => s.name === name) : null;
      if (child) return child;
    }
    return direct;
  };
}

/** The plot size assumed for a first picture before any viewer has said its own (it only sets the picture's aspect). */
const GUESSED_PLOT: PlotArea = { width: 1000, height: 640 };

export class PreviewPanel {
  static readonly viewType = 'shmInspector.preview';
  private static readonly open = new Set<PreviewPanel>();

  private session: ViewerSession;
  /** When this panel was last asked to show something (the most recent unpinned panel is reused first). */
  private lastShown: number;

  static all(): PreviewInfo[] {
    return [...PreviewPanel.open].map((p) => ({ name: p.session.name, lastTile: p.session.lastTile, error: p.session.error }));
  }

  /** The open panels that map `s` (a live segment by its path and inode, a deleted one by the inode and the path it had). */
  static mapping(s: Segment): PreviewPanel[] {
    return [...PreviewPanel.open].filter((p) => {
      const m = p.session.mapped;
      // A System V segment's view is its attachment: no path, its name and shmid.
      if (isSysvSegment(s)) return m !== null && m.dev === 0 && m.ino === s.ino && m.path === s.name;
      return m !== null && m.ino === s.ino && m.path === s.path;
    });
  }

  /** The titles of the panels that map `s`, as the tabs show them. */
  static titlesMapping(s: Segment): string[] {
    return PreviewPanel.mapping(s).map((p) => p.panel.title);
  }

  /** Closes the panels that map `s` (their mapping is what keeps an unlinked segment's memory); how many. */
  static closeMapping(s: Segment): number {
    const panels = PreviewPanel.mapping(s);
    for (const p of panels) p.panel.dispose();
    return panels.length;
  }

  /**
   * After a scan: a panel whose segment now shows as deleted (a file unlinked, a System V segment
   * removed with IPC_RMID while attached) says so (and its tab too).
   */
  static noteScan(segments: readonly Segment[]): void {
    for (const s of segments) {
      if (!s.deleted) continue;
      for (const p of PreviewPanel.mapping(s)) {
        if (p.session.unlinked) continue;
        p.session.markUnlinked();
        p.panel.title = `Preview: ${p.session.name} (${isSysvSegment(s) ? 'removed' : 'unlinked'})`;
      }
    }
  }

  /**
   * Shows a segment: the panel that already shows it, else the open panel the user has not
   * changed (zoomed, panned, set a control), like VS Code's preview editors (a panel that
   * is already running shows the new array in tens of milliseconds, where a new webview takes
   * hundreds), else a new panel. `reuse` (default: the shmInspector.preview.reusePanel setting)
   * false always opens a new panel. `relayout`: the segment is shown with another layout than the
   * panel that shows it has (Interpret As… trying layouts): that panel reads it afresh.
   * `preserveFocus`: keyboard focus stays where it is (a quick pick driving the preview).
   */
  static show(
    context: vscode.ExtensionContext,
    segment: Segment,
    lookup?: SegmentLookup,
    opts: { reuse?: boolean; relayout?: boolean; preserveFocus?: boolean } = {},
  ): PreviewPanel {
    const requestedAt = Date.now();
    const preserveFocus = opts.preserveFocus ?? false;
    for (const p of PreviewPanel.open) {
      if (p.session.source.path === segment.path && p.session.name === segment.name) {
        if (opts.relayout) p.showSource(new SegmentSource(segment, segment.name, segment.path, lookup ?? (async () => null)), requestedAt, preserveFocus);
        else p.panel.reveal(undefined, preserveFocus);
        p.lastShown = requestedAt;
        return p;
      }
    }
    const source = new SegmentSource(segment, segment.name, segment.path, lookup ?? (async () => null));
    const reuse = opts.reuse ?? PreviewPanel.reuseSetting();
    const spare = reuse ? [...PreviewPanel.open].filter((p) => !p.session.pinned).sort((a, b) => b.lastShown - a.lastShown)[0] : undefined;
    if (spare) {
      spare.showSource(source, requestedAt, preserveFocus);
      return spare;
    }
    const panel = vscode.window.createWebviewPanel(
      PreviewPanel.viewType,
      `Preview: ${segment.name}`,
      { viewColumn: vscode.ViewColumn.Active, preserveFocus },
      {
        ...viewerOptions(context.extensionUri),
        // Switching tabs back to a preview keeps its picture, zoom and statistics instead of starting the webview again.
        retainContextWhenHidden: true,
      },
    );
    return new PreviewPanel(context, panel, source, requestedAt);
  }

  /** Restores preview panels after a window reload (state saved by the webview). */
  static registerSerializer(context: vscode.ExtensionContext, lookup: SegmentLookup): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(PreviewPanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
        const s = (state ?? {}) as { name?: unknown; path?: unknown };
        const name = typeof s.name === 'string' ? s.name : null;
        const file = typeof s.path === 'string' ? s.path : '';
        panel.webview.options = viewerOptions(context.extensionUri);
        if (!name) {
          panel.webview.html = '<!DOCTYPE html><html><body><p>This preview cannot be restored: it did not say which segment it showed.</p></body></html>';
          return;
        }
        const source = new SegmentSource(null, name, file, lookup);
        // A restored panel shows its saved view (zoom, slice): it asks for that itself.
        new PreviewPanel(context, panel, source, Date.now(), false);
      },
    });
  }

  private constructor(
    context: vscode.ExtensionContext,
    private readonly panel: vscode.WebviewPanel,
    source: SegmentSource,
    requestedAt: number,
    embed = true,
  ) {
    this.lastShown = requestedAt;
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'shm.svg');
    // The plot size of the last viewer that reported one: the array is mapped and its first
    // picture made at that size while this webview starts (it says its own size when ready).
    this.session = new ViewerSession(panel.webview, source, requestedAt, null, {
      io: vscodeViewerIO,
      plotArea: PreviewPanel.lastPlotArea ?? GUESSED_PLOT,
      reusable: PreviewPanel.reuseSetting(),
    });
    PreviewPanel.open.add(this);
    let disposed = false;
    panel.onDidDispose(() => {
      disposed = true;
      PreviewPanel.open.delete(this);
      this.session.dispose();
    });
    const title = `Preview: ${source.name}`;
    if (!embed) {
      panel.webview.html = viewerHtml(panel.webview, context.extensionUri, title);
      return;
    }
    // The page carries the first picture: the array is mapped and sampled (tens of milliseconds)
    // while VS Code is still starting the webview's frame (hundreds).
    void this.session.embeddableInit().then(
      (init) => !disposed && (panel.webview.html = viewerHtml(panel.webview, context.extensionUri, title, init ?? undefined)),
      () => !disposed && (panel.webview.html = viewerHtml(panel.webview, context.extensionUri, title)),
    );
  }

  private static reuseSetting(): boolean {
    return vscode.workspace.getConfiguration('shmInspector.preview').get<boolean>('reusePanel', true);
  }

  /** The last plot size a preview reported (a new panel usually opens where the last one was). */
  private static get lastPlotArea(): PlotArea | null {
    let best: PreviewPanel | undefined;
    for (const p of PreviewPanel.open) if (p.session.plotArea && (!best || p.lastShown > best.lastShown)) best = p;
    return best?.session.plotArea ?? null;
  }

  /** Closes the panel (Interpret As… cancelled: the layout it tried is dropped). */
  close(): void {
    this.panel.dispose();
  }

  /** Shows another array in this (running) panel: its mapping is replaced, its webview kept. */
  private showSource(source: SegmentSource, requestedAt: number, preserveFocus = false): void {
    const plotArea = this.session.plotArea;
    this.session.dispose();
    this.lastShown = requestedAt;
    this.session = new ViewerSession(this.panel.webview, source, requestedAt, null, { io: vscodeViewerIO, plotArea, running: true, reusable: true });
    this.panel.title = `Preview: ${source.name}`;
    this.panel.reveal(undefined, preserveFocus);
  }
}
