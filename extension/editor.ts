/**
 * .npy and .safetensors files on disk in the viewer, as a read-only custom editor
 * ("Open With… > SHM Inspector", priority "option": it never replaces another
 * editor by default). The file is mapped, never read whole, so any size opens. A structured
 * .npy opens in the table viewer instead (table/editor.ts).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { registerOpenWith } from './open-with';
import { inspectSegment } from './core/catalog';
import { tableFormat } from './core/tables/open';
import { viewerHtml, viewerOptions } from './preview/html';
import { ViewerSession } from './preview/session';
import { vscodeViewerIO } from './preview/vscode-io';
import { FileSource } from './preview/source';
import { showTableFile } from './table/editor';

export const ARRAY_EDITOR_VIEW_TYPE = 'shmInspector.arrayFile';

class ArrayDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

export class ArrayFileEditorProvider implements vscode.CustomReadonlyEditorProvider<ArrayDocument> {
  constructor(private readonly context: vscode.ExtensionContext) {}

  static register(context: vscode.ExtensionContext): vscode.Disposable {
    return vscode.Disposable.from(
      vscode.window.registerCustomEditorProvider(ARRAY_EDITOR_VIEW_TYPE, new ArrayFileEditorProvider(context), {
        webviewOptions: { retainContextWhenHidden: false },
        supportsMultipleEditorsPerDocument: true,
      }),
      registerOpenWith('shmInspector.openArrayFile', ARRAY_EDITOR_VIEW_TYPE, {
        title: 'Open an array file in SHM Inspector',
        filters: { Arrays: ['npy', 'safetensors'], 'All files': ['*'] },
      }),
    );
  }

  openCustomDocument(uri: vscode.Uri): ArrayDocument {
    return new ArrayDocument(uri);
  }

  async resolveCustomEditor(document: ArrayDocument, panel: vscode.WebviewPanel): Promise<void> {
    const requestedAt = Date.now();
    // A structured .npy (a record array, a DataFrame's to_records()) is a table: one row per record.
    if (document.uri.scheme === 'file' && /\.npy$/i.test(document.uri.fsPath)) {
      const file = document.uri.fsPath;
      const seg = await inspectSegment(path.basename(file), { dirs: [path.dirname(file)], holders: false }).catch(() => null);
      if (seg && tableFormat(seg)) {
        showTableFile(this.context, document.uri, panel);
        return;
      }
    }
    const extensionUri = this.context.extensionUri;
    panel.webview.options = viewerOptions(extensionUri);
    if (document.uri.scheme !== 'file') {
      panel.webview.html = `<!DOCTYPE html><html><body><p>SHM Inspector maps files from the local file system; ${document.uri.scheme}: files cannot be opened.</p></body></html>`;
      return;
    }
    const session = new ViewerSession(panel.webview, new FileSource(document.uri.fsPath), requestedAt, null, { io: vscodeViewerIO });
    panel.webview.html = viewerHtml(panel.webview, extensionUri, document.uri.fsPath);
    panel.onDidDispose(() => session.dispose());
  }
}
