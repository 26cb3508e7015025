/** VS Code glue: the tree, the commands and the preview panel over extension/core. */
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { ShmInspectorApi } from './api';
import { DEFAULT_DIR, inspectSegment } from './core/catalog';
import { isPreviewable, segmentDescription } from './core/format-words';
import type { Segment } from './core/types';
import { nativeLoadError } from './native';
import { PreviewPanel } from './preview';
import { SegmentTree } from './tree';

function configuredDirs(): string[] {
  const dirs = vscode.workspace.getConfiguration('shmInspector').get<string[]>('directories');
  return dirs && dirs.length > 0 ? dirs : [DEFAULT_DIR];
}

/** Watches the directories and refreshes the tree shortly after a change. */
function watchDirs(dirs: string[], onChange: () => void): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, 150);
  };
  const watchers: fs.FSWatcher[] = [];
  for (const d of dirs) {
    try {
      watchers.push(fs.watch(d, { persistent: false }, fire));
    } catch {
      // Missing directory: the tree says so; nothing to watch.
    }
  }
  return new vscode.Disposable(() => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  });
}

export function activate(context: vscode.ExtensionContext): ShmInspectorApi {
  const tree = new SegmentTree(configuredDirs);
  const view = vscode.window.createTreeView('shmInspector.segments', { treeDataProvider: tree, canSelectMany: true });
  context.subscriptions.push(tree, view);

  let watcher = watchDirs(configuredDirs(), () => void tree.refresh());
  context.subscriptions.push({ dispose: () => watcher.dispose() });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('shmInspector.directories')) {
        watcher.dispose();
        watcher = watchDirs(configuredDirs(), () => void tree.refresh());
        void tree.refresh();
      }
    }),
  );

  const nativeError = nativeLoadError();
  if (nativeError) {
    void vscode.window.showErrorMessage(`SHM Inspector: ${nativeError.split('\n')[0]}`, 'Show Details').then((c) => {
      if (c) void vscode.window.showInformationMessage(nativeError, { modal: true });
    });
  }

  context.subscriptions.push(
    vscode.commands.registerCommand('shmInspector.refresh', () => tree.refresh()),
    vscode.commands.registerCommand('shmInspector.preview', async (arg?: Segment | string) => {
      let segment: Segment | null | undefined;
      if (typeof arg === 'string') {
        segment = await inspectSegment(arg, { dirs: configuredDirs() });
        if (!segment) {
          void vscode.window.showErrorMessage(`SHM Inspector: no segment named ${arg}`);
          return;
        }
      } else if (arg && typeof arg === 'object' && 'path' in arg) {
        segment = arg;
      } else {
        await tree.refresh();
        const flat: Segment[] = [];
        const walk = (l: Segment[]) => l.forEach((s) => (isPreviewable(s) ? flat.push(s) : walk(s.children ?? [])));
        walk(tree.segments);
        if (flat.length === 0) {
          void vscode.window.showInformationMessage('SHM Inspector: no segment holds an array that can be previewed.');
          return;
        }
        const pick = await vscode.window.showQuickPick(
          flat.map((s) => ({ label: s.name, description: segmentDescription(s), segment: s })),
          { placeHolder: 'Segment to preview', matchOnDescription: true },
        );
        segment = pick?.segment;
      }
      if (!segment) return;
      if (!isPreviewable(segment)) {
        void vscode.window.showErrorMessage(
          `SHM Inspector: ${segment.name} cannot be previewed${segment.error ? `: ${segment.error}` : ' (not a numeric array)'}`,
        );
        return;
      }
      PreviewPanel.show(context, segment);
    }),
  );

  void tree.refresh();

  return {
    apiVersion: 1,
    segments: () => tree.segments,
    refresh: async () => (await tree.refresh())?.segments ?? [],
    previews: () => PreviewPanel.all(),
    nativeError: () => nativeLoadError(),
  };
}

export function deactivate(): void {}
