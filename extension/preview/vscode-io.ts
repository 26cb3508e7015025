/**
 * VS Code's side of a viewer session's saving (ViewerIO, extension/preview/session.ts): the save
 * dialog, opened in the workspace folder (else the home folder), and the writer: local files
 * through writeUserFile (never a symlink written through, never a FIFO opened), others through
 * the workspace file system.
 */
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { writeUserFile } from '../core/fsutil';
import type { SaveTarget, ViewerIO } from './session';

interface UriTarget extends SaveTarget {
  uri: vscode.Uri;
}

export const vscodeViewerIO: ViewerIO = {
  async showSaveDialog({ title, fileName, filters }) {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const defaultUri = folder ? vscode.Uri.joinPath(folder, fileName) : vscode.Uri.file(path.join(os.homedir(), fileName));
    const uri = await vscode.window.showSaveDialog({ title, defaultUri, filters });
    return uri ? ({ label: uri.fsPath, uri } satisfies UriTarget) : undefined;
  },
  async writeFile(target, parts) {
    const { uri } = target as UriTarget;
    if (uri.scheme === 'file') return writeUserFile(uri.fsPath, parts);
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    await vscode.workspace.fs.writeFile(uri, all);
  },
};
