/** A command that opens a file in one of our custom editors: the Explorer's file, the active editor's, or one picked. */
import * as vscode from 'vscode';

export function registerOpenWith(command: string, viewType: string, dialog: { title: string; filters: Record<string, string[]> }): vscode.Disposable {
  return vscode.commands.registerCommand(command, async (uri?: vscode.Uri) => {
    let target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
    if (!target) {
      const picked = await vscode.window.showOpenDialog({ title: dialog.title, canSelectMany: false, filters: dialog.filters });
      target = picked?.[0];
    }
    if (target) await vscode.commands.executeCommand('vscode.openWith', target, viewType);
  });
}
