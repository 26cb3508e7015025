/** The viewer's page: strict CSP with a nonce, one script from dist/, styles from the VS Code theme. */
import * as vscode from 'vscode';
import { viewerPage, type EmbeddedInit } from './page';

export type { EmbeddedInit };

/** The only folder the viewer loads from. */
export function viewerResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist')];
}

export function viewerOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: viewerResourceRoots(extensionUri) };
}

/**
 * The viewer's page. `compact`: the Quick Look layout (picture and colorbar, no controls), with
 * `placeholder` in the title until an array is shown.
 */
export function viewerHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  title: string,
  init?: EmbeddedInit,
  opts: { compact?: boolean; placeholder?: string } = {},
): string {
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString();
  return viewerPage({ script, cspSource: webview.cspSource, title, init, ...opts });
}
