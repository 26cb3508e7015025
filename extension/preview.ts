/**
 * The preview panel of a segment: a webview running the viewer (webview/), with
 * a ViewerSession (extension/preview/session.ts) that maps the segment while
 * the panel is open. The panel survives a window reload: its serializer finds
 * the segment again by name from the state the webview saved.
 */
import * as vscode from 'vscode';
import type { PreviewInfo } from './api';
import { inspectSegment } from './core/catalog';
import type { Segment } from './core/types';
import { viewerHtml, viewerOptions } from './preview/html';
import { ViewerSession } from './preview/session';
import { SegmentSource } from './preview/source';

export { describeFailure } from './preview/session';
export { parseWebviewMessage } from './preview/validate';

/** Looks a segment up by name (the configured directories). */
export type SegmentLookup = (name: string) => Promise<Segment | null>;

/** A lookup over `dirs()` that also finds a container's child (`model.safetensors/weight`) by name. */
export function segmentLookup(dirs: () => string[]): SegmentLookup {
  const find = (list: Segment[] | null, name: string): Segment | null => {
    for (const s of list ?? []) {
      if (s.name === name) return s;
      const c = find(s.children, name);
      if (c) return c;
    }
    return null;
  };
  return async (name) => {
    const direct = await inspectSegment(name, { dirs: dirs() }).catch(() => null);
    if (direct && direct.name === name) return direct;
    const parts = name.split('/');
    for (let k = parts.length - 1; k >= 1; k--) {
      const parent = await inspectSegment(parts.slice(0, k).join('/'), { dirs: dirs() }).catch(() => null);
      const child = parent ? find(parent.children, name) : null;
      if (child) return child;
    }
    return direct;
  };
}

export class PreviewPanel {
  static readonly viewType = 'shmInspector.preview';
  private static readonly open = new Set<PreviewPanel>();

  private readonly session: ViewerSession;

  static all(): PreviewInfo[] {
    return [...PreviewPanel.open].map((p) => ({ name: p.session.name, lastTile: p.session.lastTile, error: p.session.error }));
  }

  static show(context: vscode.ExtensionContext, segment: Segment, lookup?: SegmentLookup): PreviewPanel {
    const requestedAt = Date.now();
    for (const p of PreviewPanel.open) {
      if (p.session.source.path === segment.path && p.session.name === segment.name) {
        p.panel.reveal();
        return p;
      }
    }
    const panel = vscode.window.createWebviewPanel(PreviewPanel.viewType, `Preview: ${segment.name}`, vscode.ViewColumn.Active, {
      ...viewerOptions(context.extensionUri),
      retainContextWhenHidden: false,
    });
    const source = new SegmentSource(segment, segment.name, segment.path, lookup ?? (async () => null));
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
        new PreviewPanel(context, panel, source, Date.now());
      },
    });
  }

  private constructor(
    context: vscode.ExtensionContext,
    private readonly panel: vscode.WebviewPanel,
    source: SegmentSource,
    requestedAt: number,
  ) {
    PreviewPanel.open.add(this);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'shm.svg');
    this.session = new ViewerSession(panel.webview, source, requestedAt);
    panel.webview.html = viewerHtml(panel.webview, context.extensionUri, `Preview: ${source.name}`);
    panel.onDidDispose(() => {
      PreviewPanel.open.delete(this);
      this.session.dispose();
    });
  }
}
