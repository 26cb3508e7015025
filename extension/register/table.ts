/**
 * The table viewer's entry points (issue #16): Open as Table (a row, a name, or a pick of the
 * segments that hold a table: Arrow files and streams, structured NPY, ShareableLists; a click on
 * such a row in the Segments view runs it), table panels restored after a reload, and Arrow files
 * on disk opened from the Explorer (table/editor.ts).
 */
import * as vscode from 'vscode';
import { inspectSegment } from '../core/catalog';
import { segmentDescription } from '../core/format-words';
import { collectSegments } from '../core/segments';
import { tableFormat } from '../core/tables/open';
import type { Segment } from '../core/types';
import { segmentLookup } from '../preview';
import { TablePanel } from '../table';
import { TableFileEditorProvider } from '../table/editor';
import { configuredDirs } from './settings';
import { segmentsOf, type Sidebar } from './sidebar';

export function register(context: vscode.ExtensionContext, sidebar: Sidebar): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('shmInspector.openAsTable', async (arg?: unknown) => {
      const segment = await tableToOpen(arg, sidebar);
      if (!segment) return;
      if (!tableFormat(segment)) {
        void vscode.window.showErrorMessage(
          `SHM Inspector: ${segment.name} holds no table (a ${segment.format} segment; Arrow files and streams, structured NPY and ShareableLists do)`,
        );
        return;
      }
      TablePanel.show(context, segment);
    }),
    TablePanel.registerSerializer(context, segmentLookup(configuredDirs)),
    TableFileEditorProvider.register(context),
  );
}

/** The segment Open as Table names: by name, a row, or (none given) picked from those that hold a table. */
async function tableToOpen(arg: unknown, sidebar: Sidebar): Promise<Segment | undefined> {
  if (typeof arg === 'string') {
    const s = await inspectSegment(arg, { dirs: configuredDirs() });
    if (!s) void vscode.window.showErrorMessage(`SHM Inspector: no segment named ${arg}`);
    return s ?? undefined;
  }
  const given = arg === undefined ? undefined : segmentsOf(arg, undefined)[0];
  if (given) return given;
  await sidebar.tree.refresh();
  const flat = collectSegments(sidebar.tree.segments, (s) => tableFormat(s) !== null && !s.deleted);
  if (flat.length === 0) {
    void vscode.window.showInformationMessage('SHM Inspector: no segment holds a table (Arrow file or stream, structured NPY, ShareableList).');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    flat.map((s) => ({ label: s.name, description: segmentDescription(s), segment: s })),
    { placeHolder: 'Segment to open as a table', matchOnDescription: true },
  );
  return pick?.segment;
}
