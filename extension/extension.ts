/** VS Code glue: the sidebar, the commands and the preview panel, over extension/core. */
import * as vscode from 'vscode';
import type { ShmInspectorApi } from './api';
import { filterProblem, type ArrangeOptions, type SortKey } from './core/arrange';
import { DEFAULT_DIR, inspectSegment } from './core/catalog';
import { arrayLayoutOf } from './core/array';
import { isPreviewable, segmentDescription } from './core/format-words';
import type { Segment } from './core/types';
import { nativeLoadError, statfs } from './native';
import { ArrayFileEditorProvider } from './editor';
import { PreviewPanel, segmentLookup } from './preview';
import { QuickLook } from './quicklook';
import { registerManageCommands } from './commands/manage';
import { isInterpretable, registerInterpretCommands } from './commands/interpret';
import { registerSysvCommands } from './sidebar/sysv';
import type { Node } from './sidebar/nodes';
import { UsageStatus } from './sidebar/statusbar';
import { SegmentDecorations, SegmentTree } from './sidebar/tree';
import { DirWatcher } from './sidebar/watch';
import { registerProcessesView } from './sidebar/processes';

const CONFIG = 'shmInspector';
const FILTER_KEY = 'shmInspector.filter';

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(CONFIG);
}

function configuredDirs(): string[] {
  const dirs = config().get<string[]>('directories');
  return dirs && dirs.length > 0 ? dirs : [DEFAULT_DIR];
}

/** The segments a command acts on: the clicked item plus the multi-selection, or a name, or undefined. */
function segmentsOf(arg: unknown, selected: readonly Node[] | undefined): Segment[] {
  const fromNode = (n: unknown): Segment | null => {
    if (n && typeof n === 'object') {
      const o = n as Partial<Node> & Partial<Segment>;
      if (o.kind === 'segment' && 'segment' in o) return (o as { segment: Segment }).segment;
      if (typeof o.path === 'string' && typeof o.name === 'string' && 'format' in o) return o as Segment;
    }
    return null;
  };
  const first = fromNode(arg);
  const many = (selected ?? []).map(fromNode).filter((s): s is Segment => s !== null);
  if (first && many.some((s) => s.path === first.path && s.name === first.name)) return many;
  return first ? [first] : [];
}

export function activate(context: vscode.ExtensionContext): ShmInspectorApi {
  const options = (): ArrangeOptions => ({
    sortBy: config().get<SortKey>('sortBy', 'name'),
    groupByProducer: config().get<boolean>('groupByProducer', false),
    showSemaphores: config().get<boolean>('showSemaphores', true),
    filter: context.workspaceState.get<string>(FILTER_KEY, ''),
  });
  const tree = new SegmentTree(configuredDirs, options, (s) => PreviewPanel.titlesMapping(s));
  const view = vscode.window.createTreeView('shmInspector.segments', {
    treeDataProvider: tree,
    canSelectMany: true,
    showCollapseAll: true,
  });
  const status = new UsageStatus(() => config().get<number>('usageWarningThreshold', 80));
  context.subscriptions.push(tree, view, status, vscode.window.registerFileDecorationProvider(new SegmentDecorations()));

  // Quick Look follows the tree's selection (a click, or Enter on a row): one array selected, it is shown.
  const quickLook = QuickLook.register(context, segmentLookup(configuredDirs));
  context.subscriptions.push(
    view.onDidChangeSelection((e) => {
      const [node, more] = e.selection;
      if (node?.kind !== 'segment' || more) return;
      if (isPreviewable(node.segment)) quickLook.show(node.segment);
      else quickLook.cannotShow(node.segment);
    }),
    tree.onDidScan((cat) => cat && quickLook.onList(tree.segments)),
    // A preview whose segment was unlinked says so (its mapping is what keeps the memory in use).
    tree.onDidScan((cat) => cat && PreviewPanel.noteScan(cat.segments)),
    vscode.commands.registerCommand('shmInspector.closeHoldingPreview', async (arg?: unknown) => {
      const n = arg as Partial<Node> | undefined;
      if (n?.kind !== 'holder') return;
      const { segment } = n as Extract<Node, { kind: 'holder' }>;
      if (PreviewPanel.closeMapping(segment) > 0) await tree.refresh();
    }),
    // Quick Look is off until asked for (the view container's menu, or this command).
    vscode.commands.registerCommand('shmInspector.showQuickLook', () => vscode.commands.executeCommand(`${QuickLook.viewType}.focus`)),
  );

  const log = vscode.window.createOutputChannel('SHM Inspector', { log: true });
  context.subscriptions.push(log);
  const setContext = (key: string, value: unknown) => void vscode.commands.executeCommand('setContext', key, value);
  const showFilter = () => {
    const f = options().filter;
    view.description = f ? `filter: ${f}` : undefined;
    setContext('shmInspector.filtered', f !== '');
  };
  showFilter();

  context.subscriptions.push(
    tree.onDidScan((cat) => {
      setContext('shmInspector.state', tree.state);
      if (cat) {
        log[tree.lastScanMs > 250 ? 'info' : 'debug'](`listed ${cat.segments.length} segments in ${tree.lastScanMs.toFixed(0)} ms (${cat.invisibleProcesses} processes not inspectable)`);
      } else {
        log.warn(`listing failed after ${tree.lastScanMs.toFixed(0)} ms: ${tree.error}`);
      }
      if (cat) {
        status.update(cat.directories, cat.shmem);
        watcher.syncSubdirs(cat.segments.filter((s) => s.format === 'directory' && !s.deleted).map((s) => s.path));
      }
    }),
  );

  // Live updates: file-system events within a second; holders and sizes written through mappings on a timer.
  let watcher = new DirWatcher(configuredDirs(), () => void tree.refresh());
  if (watcher.pollingReason) log.info(`watching is not possible (${watcher.pollingReason}); polling every second`);
  let timer: NodeJS.Timeout | undefined;
  const startTimer = () => {
    clearInterval(timer);
    const secs = config().get<number>('refreshInterval', 5);
    if (secs > 0) {
      timer = setInterval(() => {
        if (view.visible) void tree.refresh();
        else void updateUsageOnly();
      }, secs * 1000);
    }
  };
  const updateUsageOnly = async () => {
    const dirs = configuredDirs();
    const usage = await Promise.all(dirs.map((d) => statfs(d).then((u) => ({ path: d, ...u }), () => null)));
    status.update(usage.filter((u): u is NonNullable<typeof u> => u !== null), tree.lastCatalog?.shmem ?? null);
  };
  startTimer();
  context.subscriptions.push({
    dispose: () => {
      watcher.dispose();
      clearInterval(timer);
    },
  });
  context.subscriptions.push(
    view.onDidChangeVisibility((e) => {
      if (e.visible) void tree.refresh();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${CONFIG}.directories`)) {
        watcher.dispose();
        watcher = new DirWatcher(configuredDirs(), () => void tree.refresh());
        void tree.refresh();
      }
      if (e.affectsConfiguration(`${CONFIG}.refreshInterval`)) startTimer();
      if (e.affectsConfiguration(`${CONFIG}.usageWarningThreshold`)) status.reapply();
      if (['sortBy', 'groupByProducer', 'showSemaphores'].some((k) => e.affectsConfiguration(`${CONFIG}.${k}`))) tree.rearrange();
    }),
  );

  const nativeError = nativeLoadError();
  if (nativeError) {
    void vscode.window.showErrorMessage(`SHM Inspector: ${nativeError.split('\n')[0]}`, 'Show Details').then((c) => {
      if (c) void vscode.window.showInformationMessage(nativeError, { modal: true });
    });
  }

  const setSetting = (key: string, value: unknown) => config().update(key, value, vscode.ConfigurationTarget.Global);

  context.subscriptions.push(
    vscode.commands.registerCommand('shmInspector.refresh', () => tree.refresh()),
    vscode.commands.registerCommand('shmInspector.sortBy', async (arg?: unknown) => {
      // Only a sort key from a caller; menus may pass other things.
      const key = typeof arg === 'string' && ['name', 'size', 'age'].includes(arg) ? (arg as SortKey) : undefined;
      const choice =
        key ??
        (
          await vscode.window.showQuickPick(
            [
              { label: 'Name', key: 'name' as SortKey, description: 'A to Z' },
              { label: 'Size', key: 'size' as SortKey, description: 'largest RAM first' },
              { label: 'Age', key: 'age' as SortKey, description: 'oldest first (leaks are old)' },
            ].map((o) => ({ ...o, picked: o.key === options().sortBy })),
            { placeHolder: `Sort segments by (now: ${options().sortBy})` },
          )
        )?.key;
      if (choice) await setSetting('sortBy', choice);
    }),
    vscode.commands.registerCommand('shmInspector.groupByProducer', () => setSetting('groupByProducer', true)),
    vscode.commands.registerCommand('shmInspector.ungroup', () => setSetting('groupByProducer', false)),
    vscode.commands.registerCommand('shmInspector.showSemaphores', () => setSetting('showSemaphores', true)),
    vscode.commands.registerCommand('shmInspector.hideSemaphores', () => setSetting('showSemaphores', false)),
    vscode.commands.registerCommand('shmInspector.filter', async (text?: string) => {
      const value =
        typeof text === 'string'
          ? text
          : await vscode.window.showInputBox({
              title: 'Filter segments',
              prompt: 'Text to look for in names, or a glob such as psm_* or *.npy (empty: show all)',
              value: options().filter,
              validateInput: (v) => filterProblem(v),
            });
      if (value === undefined) return;
      const problem = filterProblem(value);
      if (problem) {
        void vscode.window.showErrorMessage(`SHM Inspector: filter not applied: ${problem}`);
        return;
      }
      await context.workspaceState.update(FILTER_KEY, value.trim());
      showFilter();
      tree.rearrange();
    }),
    vscode.commands.registerCommand('shmInspector.clearFilter', async () => {
      await context.workspaceState.update(FILTER_KEY, '');
      showFilter();
      tree.rearrange();
    }),
    vscode.commands.registerCommand('shmInspector.copyPath', async (arg?: unknown) => {
      const segs = segmentsOf(arg, view.selection);
      if (segs.length > 0) await vscode.env.clipboard.writeText(segs.map((s) => s.path).join('\n'));
    }),
    vscode.commands.registerCommand('shmInspector.showDetails', async (arg?: unknown) => {
      const segs = segmentsOf(arg, view.selection);
      if (segs.length === 0) return;
      const doc = await vscode.workspace.openTextDocument({
        language: 'json',
        content: JSON.stringify(segs.length === 1 ? segs[0] : segs, null, 2) + '\n',
      });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
    vscode.commands.registerCommand('shmInspector.preview', async (arg?: unknown) => {
      let segment: Segment | null | undefined;
      if (typeof arg === 'string') {
        segment = await inspectSegment(arg, { dirs: configuredDirs() });
        if (!segment) {
          void vscode.window.showErrorMessage(`SHM Inspector: no segment named ${arg}`);
          return;
        }
      } else if (arg !== undefined) {
        segment = segmentsOf(arg, undefined)[0];
      }
      if (!segment) {
        await tree.refresh();
        const flat: Segment[] = [];
        const walk = (l: Segment[]) => l.forEach((s) => (isPreviewable(s) || isInterpretable(s) ? flat.push(s) : walk(s.children ?? [])));
        walk(tree.segments);
        if (flat.length === 0) {
          void vscode.window.showInformationMessage('SHM Inspector: no segment holds an array that can be previewed.');
          return;
        }
        const pick = await vscode.window.showQuickPick(
          flat.map((s) => ({
            label: s.name,
            description: isPreviewable(s) ? segmentDescription(s) : `${segmentDescription(s)} · raw bytes: Interpret As…`,
            segment: s,
          })),
          { placeHolder: 'Segment to preview', matchOnDescription: true },
        );
        segment = pick?.segment;
      }
      if (!segment) return;
      const layout = arrayLayoutOf(segment);
      if ('reason' in layout) {
        if (isInterpretable(segment)) {
          // Raw bytes: the layout is asked for (and previewed) first.
          await vscode.commands.executeCommand('shmInspector.interpretAs', segment);
          return;
        }
        void vscode.window.showErrorMessage(`SHM Inspector: ${segment.name} cannot be previewed: ${layout.reason}`);
        return;
      }
      PreviewPanel.show(context, segment, segmentLookup(configuredDirs));
    }),
  );

  // The viewer: preview panels survive a window reload; .npy/.safetensors files open in it on request.
  context.subscriptions.push(
    PreviewPanel.registerSerializer(context, segmentLookup(configuredDirs)),
    ArrayFileEditorProvider.register(context),
  );

  // Create, persist, restore, unlink, clear, attach code.
  const targets = (arg: unknown): Segment[] => {
    if (typeof arg === 'string') {
      const name = arg.replace(/^\/+/, '');
      const s = tree.segments.find((x) => x.name === name && !x.deleted) ?? tree.segments.find((x) => x.name === name);
      return s ? [s] : [];
    }
    if (arg === undefined) return segmentsOf(view.selection[0], view.selection);
    return segmentsOf(arg, view.selection);
  };
  context.subscriptions.push(
    ...registerSysvCommands({ segments: () => tree.sysv, refresh: () => tree.refresh() }),
    ...registerManageCommands({
      dir: () => configuredDirs()[0],
      targets,
      refresh: async () => (await tree.refresh())?.segments ?? [],
      reveal: async (name: string) => {
        const s = tree.segments.find((x) => x.name === name && !x.deleted);
        if (!s) return;
        try {
          await view.reveal(tree.nodeFor(s), { select: true, focus: false });
        } catch {
          // hidden by the filter or the grouping: nothing to reveal
        }
      },
    }),
  );

  context.subscriptions.push(...registerInterpretCommands({ context, targets, refresh: async () => (await tree.refresh())?.segments ?? [], lookup: segmentLookup(configuredDirs) }));
  context.subscriptions.push(...registerProcessesView(context, { segments: () => tree.segments, revealSegment: (s) => view.reveal(tree.nodeFor(s), { select: true, focus: true }) }));

  setContext('shmInspector.state', 'loading');
  void tree.refresh();

  return {
    apiVersion: 1,
    segments: () => tree.segments,
    refresh: async () => (await tree.refresh())?.segments ?? [],
    previews: () => PreviewPanel.all(),
    nativeError: () => nativeLoadError(),
    shown: () => {
      const v = tree.view;
      return {
        state: tree.state,
        names: v.groups.length > 0 ? v.groups.flatMap((g) => g.segments.map((s) => s.name)) : v.segments.map((s) => s.name),
        groups: v.groups.map((g) => g.label),
        deleted: v.deleted.map((s) => s.name),
        hidden: v.hidden,
      };
    },
    statusBar: () => ({ text: status.text, warning: status.warning }),
  };
}

export function deactivate(): void {}
