/**
 * The viewer's entry points: Preview Segment (a row, a name, or a pick of the previewable
 * segments), Interpret As… for raw bytes, closing the preview that holds a deleted segment,
 * preview panels restored after a reload, and .npy/.safetensors files opened in the viewer.
 * Only calls into extension/preview.ts, extension/editor.ts and extension/commands/interpret.ts.
 */
import * as vscode from 'vscode';
import { arrayLayoutOf } from '../core/array';
import { inspectSegment } from '../core/catalog';
import { isPreviewable, segmentDescription } from '../core/format-words';
import { collectSegments } from '../core/segments';
import type { Segment } from '../core/types';
import { isInterpretable, registerInterpretCommands } from '../commands/interpret';
import { ArrayFileEditorProvider } from '../editor';
import { PreviewPanel, segmentLookup } from '../preview';
import { TablePanel } from '../table';
import type { Node } from '../sidebar/nodes';
import { configuredDirs } from './settings';
import { segmentsOf, type Sidebar } from './sidebar';

export function register(context: vscode.ExtensionContext, sidebar: Sidebar): void {
  const lookup = segmentLookup(configuredDirs);
  context.subscriptions.push(
    vscode.commands.registerCommand('shmInspector.preview', async (arg?: unknown) => {
      const segment = await segmentToPreview(arg, sidebar);
      if (segment) await preview(context, segment);
    }),
    // A preview whose segment was unlinked says so (its mapping is what keeps the memory in use).
    // A System V segment removed (IPC_RMID) while a panel attaches it: the panel says so too.
    sidebar.tree.onDidScan((cat) => {
      PreviewPanel.noteScan([...(cat?.segments ?? []), ...(sidebar.tree.sysvSegments as unknown as Segment[])]);
      TablePanel.noteScan(cat?.segments ?? []);
    }),
    vscode.commands.registerCommand('shmInspector.closeHoldingPreview', async (arg?: unknown) => {
      const n = arg as Partial<Node> | undefined;
      if (n?.kind !== 'holder') return;
      const { segment } = n as Extract<Node, { kind: 'holder' }>;
      if (PreviewPanel.closeMapping(segment) + TablePanel.closeMapping(segment) > 0) await sidebar.tree.refresh();
    }),
    // Preview panels survive a window reload; .npy/.safetensors files open in the viewer on request.
    PreviewPanel.registerSerializer(context, lookup),
    ArrayFileEditorProvider.register(context),
    ...registerInterpretCommands({ context, targets: sidebar.targets, refresh: sidebar.refresh, lookup }),
  );
}

/** The segment a Preview Segment command names: by name, a row, or (none given) picked from those that hold an array. */
async function segmentToPreview(arg: unknown, sidebar: Sidebar): Promise<Segment | undefined> {
  if (typeof arg === 'string') {
    const s = await inspectSegment(arg, { dirs: configuredDirs() });
    if (!s) void vscode.window.showErrorMessage(`SHM Inspector: no segment named ${arg}`);
    return s ?? undefined;
  }
  if (arg !== undefined) {
    const s = segmentsOf(arg, undefined)[0];
    if (s) return s;
  }
  // The picker opens at once (busy) and fills when the fresh scan lands: under load a scan takes seconds.
  const items = sidebar.tree.refresh().then(() =>
    collectSegments(sidebar.tree.segments, (s) => isPreviewable(s) || isInterpretable(s)).map((s) => ({
      label: s.name,
      description: isPreviewable(s) ? segmentDescription(s) : `${segmentDescription(s)} · raw bytes: Interpret As…`,
      segment: s,
    })),
  );
  const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Segment to preview', matchOnDescription: true });
  if (!pick && (await items).length === 0) void vscode.window.showInformationMessage('SHM Inspector: no segment holds an array that can be previewed.');
  return pick?.segment;
}

/** Opens the viewer on an array; raw bytes are first given a layout (Interpret As…); anything else says why not. */
async function preview(context: vscode.ExtensionContext, segment: Segment): Promise<void> {
  const layout = arrayLayoutOf(segment);
  if (!('reason' in layout)) {
    PreviewPanel.show(context, segment, segmentLookup(configuredDirs));
  } else if (isInterpretable(segment)) {
    await vscode.commands.executeCommand('shmInspector.interpretAs', segment);
  } else {
    void vscode.window.showErrorMessage(`SHM Inspector: ${segment.name} cannot be previewed: ${layout.reason}`);
  }
}
