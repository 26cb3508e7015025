/**
 * The preview panel: one mapped view of a segment, opened when the panel
 * opens and closed with it. The webview asks for windows at its pixel size;
 * the host answers with a sampled image at once and the exact mean right after.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import type { HostToWebview, WebviewToHost, Window2D } from '../webview/protocol';
import type { PreviewInfo } from './api';
import { resolveSlice, type ResolvedSlice } from './core/array';
import { dtypeWords } from './core/dtype';
import type { Segment } from './core/types';
import { openView, type MappedView, type ReduceMode } from './native';

/** Largest grid a webview may ask for (about one value per visible pixel of a big screen). */
const MAX_CELLS = 4096 * 4096;

function isInt(v: unknown, min = 0): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** Validates a message from the webview. */
export function parseWebviewMessage(m: unknown): WebviewToHost | null {
  if (typeof m !== 'object' || m === null) return null;
  const msg = m as Record<string, unknown>;
  if (msg.type === 'ready') return { type: 'ready' };
  if (msg.type === 'view') {
    const w = msg.window as Record<string, unknown> | undefined;
    if (!w || !isInt(w.r0) || !isInt(w.r1) || !isInt(w.c0) || !isInt(w.c1)) return null;
    if (!isInt(msg.requestId) || !isInt(msg.width, 1) || !isInt(msg.height, 1)) return null;
    if (msg.width * msg.height > MAX_CELLS) return null;
    return {
      type: 'view',
      requestId: msg.requestId,
      window: { r0: w.r0, r1: w.r1, c0: w.c0, c1: w.c1 },
      width: msg.width,
      height: msg.height,
    };
  }
  return null;
}

export class PreviewPanel {
  static readonly viewType = 'shmInspector.preview';
  private static readonly open = new Set<PreviewPanel>();

  private view: MappedView | null = null;
  private slice: ResolvedSlice | null = null;
  private lastTile: PreviewInfo['lastTile'] = null;
  private error: string | null = null;
  private disposed = false;

  static all(): PreviewInfo[] {
    return [...PreviewPanel.open].map((p) => ({ name: p.segment.name, lastTile: p.lastTile, error: p.error }));
  }

  static show(context: vscode.ExtensionContext, segment: Segment): PreviewPanel {
    for (const p of PreviewPanel.open) {
      if (p.segment.path === segment.path && p.segment.ino === segment.ino) {
        p.panel.reveal();
        return p;
      }
    }
    const panel = vscode.window.createWebviewPanel(
      PreviewPanel.viewType,
      `Preview: ${segment.name}`,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        retainContextWhenHidden: false,
        localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')],
      },
    );
    return new PreviewPanel(context, panel, segment);
  }

  private constructor(
    context: vscode.ExtensionContext,
    private readonly panel: vscode.WebviewPanel,
    private readonly segment: Segment,
  ) {
    PreviewPanel.open.add(this);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'shm.svg');
    panel.webview.html = this.html(context);
    panel.onDidDispose(() => this.dispose());
    panel.webview.onDidReceiveMessage((m) => this.onMessage(m));
  }

  private html(context: vscode.ExtensionContext): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview.js'));
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data: blob:`,
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">
  html, body { height: 100%; margin: 0; padding: 0; }
  body { display: flex; flex-direction: column; font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
         color: var(--vscode-foreground); background: var(--vscode-editor-background); }
  header { padding: 8px 12px 4px; }
  #title { font-weight: 600; font-size: 1.1em; }
  #info, #status { color: var(--vscode-descriptionForeground); margin-top: 2px; }
  #plot { flex: 1; min-height: 0; display: flex; align-items: center; justify-content: center; padding: 8px; }
  canvas { image-rendering: pixelated; border: 1px solid var(--vscode-panel-border, transparent); }
  #error { margin: 8px 12px; padding: 8px; border: 1px solid var(--vscode-inputValidation-errorBorder);
           background: var(--vscode-inputValidation-errorBackground); white-space: pre-wrap; }
</style>
<title>Preview</title>
</head>
<body data-state="loading">
<header>
  <div id="title">Loading…</div>
  <div id="info"></div>
  <div id="status"></div>
</header>
<div id="error" role="alert" hidden></div>
<div id="plot"><canvas id="heatmap" aria-label="Heatmap of the segment's values"></canvas></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  private post(msg: HostToWebview): void {
    if (!this.disposed) void this.panel.webview.postMessage(msg);
  }

  private fail(message: string): void {
    this.error = message;
    this.post({ type: 'error', message });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseWebviewMessage(raw);
    if (!msg) return;
    if (msg.type === 'ready') {
      await this.start();
    } else {
      await this.render(msg.requestId, msg.window, msg.width, msg.height);
    }
  }

  private async start(): Promise<void> {
    const s = this.segment;
    try {
      if (!s.dtype || !s.shape || s.dataOffset === null || s.fortranOrder === null) {
        throw new Error(s.error ?? `${s.name} is not an array the preview can read`);
      }
      this.slice = resolveSlice({ dtype: s.dtype, shape: s.shape, fortranOrder: s.fortranOrder, dataOffset: s.dataOffset });
      if (!this.view) {
        const v = await openView(s.path);
        if (this.disposed) {
          v.close();
          return;
        }
        this.view = v;
      }
      this.post({
        type: 'init',
        segment: {
          name: s.name,
          path: s.path,
          dtype: s.dtype,
          dtypeWords: dtypeWords(s.dtype),
          shape: s.shape,
          fortranOrder: s.fortranOrder,
          size: s.size,
          rows: this.slice.rows,
          cols: this.slice.cols,
        },
      });
    } catch (e) {
      this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  private async render(requestId: number, win: Window2D, width: number, height: number): Promise<void> {
    const view = this.view;
    const slice = this.slice;
    if (!view || !slice) return;
    // A newer request supersedes every one still running.
    view.cancelPending();
    for (const mode of ['strided', 'mean'] as ReduceMode[]) {
      const t0 = performance.now();
      try {
        const r = await view.reduce({
          ...slice,
          r0: win.r0,
          r1: Math.min(win.r1, slice.rows),
          c0: win.c0,
          c1: Math.min(win.c1, slice.cols),
          gridWidth: width,
          gridHeight: height,
          mode,
        });
        if (this.disposed) return;
        this.lastTile = { mode, width: r.width, height: r.height, min: r.min, max: r.max };
        this.error = null;
        this.post({
          type: 'tile',
          requestId,
          window: win,
          width: r.width,
          height: r.height,
          mode,
          values: r.values,
          min: r.min,
          max: r.max,
          elapsedMs: performance.now() - t0,
        });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (message.startsWith('cancelled')) return;
        this.fail(`Could not read ${this.segment.name}: ${message}`);
        return;
      }
    }
  }

  private dispose(): void {
    this.disposed = true;
    PreviewPanel.open.delete(this);
    this.view?.close();
    this.view = null;
  }
}
