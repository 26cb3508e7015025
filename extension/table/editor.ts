/**
 * Arrow IPC files and streams on disk (.arrow, .feather, .arrows) in the table viewer, as a
 * read-only custom editor: a double-click in the Explorer opens them (VS Code has no other editor
 * for these binary files), "Open in Table Viewer" in its context menu too. The file is mapped and
 * only the rows on screen are read, so a file of any size opens. A structured .npy opened in the
 * array viewer is sent here too (extension/editor.ts): one row per record.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { registerOpenWith } from '../open-with';
import { tableHtml, tableOptions } from '../table';
import { segmentTableSource, TableSession } from './session';

export const TABLE_EDITOR_VIEW_TYPE = 'shmInspector.tableFile';

class TableDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

export class TableFileEditorProvider implements vscode.CustomReadonlyEditorProvider<TableDocument> {
  constructor(private readonly context: vscode.ExtensionContext) {}

  static register(context: vscode.ExtensionContext): vscode.Disposable {
    return vscode.Disposable.from(
      vscode.window.registerCustomEditorProvider(TABLE_EDITOR_VIEW_TYPE, new TableFileEditorProvider(context), {
        // Switching tabs back keeps the scroll position and the rows read, as table panels do.
        webviewOptions: { retainContextWhenHidden: true },
        supportsMultipleEditorsPerDocument: true,
      }),
      registerOpenWith('shmInspector.openTableFile', TABLE_EDITOR_VIEW_TYPE, {
        title: 'Open an Arrow or Feather file in SHM Inspector',
        filters: { 'Arrow and Feather': ['arrow', 'feather', 'arrows', 'npy'], 'All files': ['*'] },
      }),
    );
  }

  openCustomDocument(uri: vscode.Uri): TableDocument {
    return new TableDocument(uri);
  }

  resolveCustomEditor(document: TableDocument, panel: vscode.WebviewPanel): void {
    showTableFile(this.context, document.uri, panel);
  }
}

/** Runs the table viewer in `panel` over the file at `uri` (a local file: it is mapped). */
export function showTableFile(context: vscode.ExtensionContext, uri: vscode.Uri, panel: vscode.WebviewPanel): void {
  panel.webview.options = tableOptions(context.extensionUri);
  const name = path.basename(uri.fsPath);
  if (uri.scheme !== 'file') {
    panel.webview.html = `<!DOCTYPE html><html><body><p>SHM Inspector maps files from the local file system; ${uri.scheme}: files cannot be opened.</p></body></html>`;
    return;
  }
  const base = segmentTableSource({ name: uri.fsPath, path: uri.fsPath });
  // Titles say the file's name; what is opened is the file at its full path.
  const session = new TableSession(panel.webview, { name, path: uri.fsPath, open: () => base.open() }, Date.now(), { reusable: false });
  panel.webview.html = tableHtml(panel.webview, context.extensionUri, name);
  panel.onDidDispose(() => session.dispose());
}
