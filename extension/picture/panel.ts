/**
 * The memory picture panel (one at most): a webview running webview/picture-viewer.ts with a
 * PictureSession (extension/picture/session.ts) that answers it. The session stops sampling
 * while the panel is hidden and when it closes.
 */
import * as vscode from 'vscode';
import { vscodeViewerIO } from '../preview/vscode-io';
import { picturePage } from './page';
import { PictureSession } from './session';

export class PicturePanel {
  static readonly viewType = 'shmInspector.memoryPicture';
  private static current: PicturePanel | undefined;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    readonly session: PictureSession,
  ) {}

  /** The open panel, if any (tests). */
  static get open(): PicturePanel | undefined {
    return PicturePanel.current;
  }

  /** Shows the picture (the open panel, else a new one); `family`: any PID of the family whose timeline to show. */
  static show(context: vscode.ExtensionContext, family?: number): PicturePanel {
    let p = PicturePanel.current;
    if (p) p.panel.reveal();
    else {
      const panel = vscode.window.createWebviewPanel(
        PicturePanel.viewType,
        'Memory Picture',
        { viewColumn: vscode.ViewColumn.Active },
        // The timeline's history stays in the page while another tab is in front (sampling pauses meanwhile).
        { ...pictureOptions(context), retainContextWhenHidden: true },
      );
      p = PicturePanel.create(context, panel);
    }
    if (family !== undefined) p.session.select(family);
    return p;
  }

  /**
   * Brings the picture back after a window reload: the page keeps the watched family in its settings
   * store and asks for it again once it is ready (a family that has ended says so).
   */
  static registerSerializer(context: vscode.ExtensionContext): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(PicturePanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
        panel.webview.options = pictureOptions(context);
        PicturePanel.current?.panel.dispose();
        PicturePanel.create(context, panel);
      },
    });
  }

  private static create(context: vscode.ExtensionContext, panel: vscode.WebviewPanel): PicturePanel {
    const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'dist', 'picture.js')).toString();
    const session = new PictureSession(panel.webview, {
      io: vscodeViewerIO,
      exact: () => vscode.workspace.getConfiguration('shmInspector.processes').get<boolean>('exact', true),
    });
    panel.webview.html = picturePage({ script, cspSource: panel.webview.cspSource });
    const p = new PicturePanel(panel, session);
    PicturePanel.current = p;
    panel.onDidChangeViewState((e) => session.setVisible(e.webviewPanel.visible));
    panel.onDidDispose(() => {
      session.dispose();
      if (PicturePanel.current === p) PicturePanel.current = undefined;
    });
    return p;
  }
}

function pictureOptions(context: vscode.ExtensionContext): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')] };
}
