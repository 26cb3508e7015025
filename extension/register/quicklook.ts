/** Quick Look: the side view that follows the Segments tree's selection (off until asked for). */
import * as vscode from 'vscode';
import type { Segment } from '../core/types';
import { segmentLookup } from '../preview';
import { QuickLook, quickLookShows } from '../quicklook';
import { rowSegment } from '../sidebar/nodes';
import { openedRow } from '../sidebar/opened';
import { configuredDirs } from './settings';
import type { Sidebar } from './sidebar';

export function register(context: vscode.ExtensionContext, sidebar: Sidebar): void {
  const quickLook = QuickLook.register(context, segmentLookup(configuredDirs));
  context.subscriptions.push(
    // One row selected (a click, or Enter): its array is shown, or why it cannot be.
    sidebar.view.onDidChangeSelection(async (e) => {
      // A selection made while the tree redraws arrives without its element (sidebar/opened.ts): wait for it.
      // An array is drawn, a table's first rows shown; anything else is said why not.
      const node = e.selection.length === 1 ? e.selection[0] : e.selection.length === 0 ? await openedRow(sidebar.view) : undefined;
      // A System V row opens as a file's row does (its segment has no path: the viewer attaches it).
      const s = rowSegment(node);
      if (!s) return;
      if (quickLookShows(s)) quickLook.show(s);
      else quickLook.cannotShow(s);
    }),
    // System V segments are in the list too: one removed (or gone) is let go, which detaches it.
    sidebar.tree.onDidScan((cat) => cat && quickLook.onList([...sidebar.tree.segments, ...(sidebar.tree.sysvSegments as unknown as Segment[])])),
    // The view container's menu, or this command, shows it.
    vscode.commands.registerCommand('shmInspector.showQuickLook', () => vscode.commands.executeCommand(`${QuickLook.viewType}.focus`)),
  );
}
