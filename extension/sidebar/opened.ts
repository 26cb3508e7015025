/**
 * The row a click (or Enter) opened. Our tree items' commands carry no arguments: VS Code keeps an
 * item's command arguments only until the tree next refreshes, so a click that lands while the tree
 * redraws (after every scan that changes what it shows) would select the row and run nothing. VS Code
 * selects the row, and tells this host, before it runs the row's command; while a refresh is under way
 * the selected element comes back once the tree has read its rows again, so this waits for it.
 */
import type * as vscode from 'vscode';

export async function openedRow<T>(view: vscode.TreeView<T>, ms = 2000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const selection = view.selection;
    if (selection.length === 1) return selection[0];
    // Several rows: a multi-selection gesture, which opens nothing.
    if (selection.length > 1 || Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
