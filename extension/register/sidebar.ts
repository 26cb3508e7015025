/**
 * The Segments view: the tree, its title-bar commands (sort, group, semaphores, filter), its row
 * commands (copy path, details as JSON), the usage status bar item and the live updates (a
 * watcher for file-system events, a timer for holders). What it returns is what the other
 * areas' registrations (preview, quick look, management, processes) use of it.
 */
import * as vscode from 'vscode';
import { filterProblem, type ArrangeOptions, type SortKey } from '../core/arrange';
import type { Segment } from '../core/types';
import { statfs } from '../native';
import { TablePanel } from '../table';
import { PreviewPanel } from '../preview';
import { rowSegment, type Node } from '../sidebar/nodes';
import { UsageStatus } from '../sidebar/statusbar';
import { openedRow } from '../sidebar/opened';
import { OPEN_ROW_COMMAND, rowAction, SegmentDecorations, SegmentTree } from '../sidebar/tree';
import { DirWatcher } from '../sidebar/watch';
import { CONFIG, config, configuredDirs, setContext, setSetting } from './settings';

const FILTER_KEY = 'shmInspector.filter';

export interface Sidebar {
  readonly tree: SegmentTree;
  readonly view: vscode.TreeView<Node>;
  readonly status: UsageStatus;
  /** The segments a command acts on: a name, the clicked row with the multi-selection, or (no argument) the selection. */
  targets(arg: unknown): Segment[];
  /** Lists again; the segments listed (none when listing failed). */
  refresh(): Promise<Segment[]>;
  /** Selects the segment's row (throws when the filter or the grouping hides it). */
  reveal(s: Segment, focus: boolean): Thenable<void>;
  /** The first listing, once every area is registered (they follow its scans). */
  start(): void;
}

/** The segments of a row, or of a Segment given as is, plus the multi-selection when the row is in it. */
export function segmentsOf(arg: unknown, selected: readonly Node[] | undefined): Segment[] {
  const fromNode = (n: unknown): Segment | null => {
    if (n && typeof n === 'object') {
      const o = n as Partial<Node> & Partial<Segment>;
      // A System V row is a segment too (path null: the commands that need a file say so).
      if ((o.kind === 'segment' || o.kind === 'sysvSegment') && 'segment' in o) return (o as { segment: Segment }).segment;
      // A System V segment given as is (a row's command, Quick Look's Open).
      if ((o as { kind?: string }).kind === 'sysv' && typeof (o as { sysv?: unknown }).sysv === 'object' && typeof o.name === 'string') return o as Segment;
      if (typeof o.path === 'string' && typeof o.name === 'string' && 'format' in o) return o as Segment;
    }
    return null;
  };
  const first = fromNode(arg);
  const many = (selected ?? []).map(fromNode).filter((s): s is Segment => s !== null);
  if (first && many.some((s) => s.path === first.path && s.name === first.name)) return many;
  return first ? [first] : [];
}

export function register(context: vscode.ExtensionContext): Sidebar {
  const options = (): ArrangeOptions => ({
    sortBy: config().get<SortKey>('sortBy', 'name'),
    groupByProducer: config().get<boolean>('groupByProducer', false),
    showSemaphores: config().get<boolean>('showSemaphores', true),
    filter: context.workspaceState.get<string>(FILTER_KEY, ''),
  });
  const tree = new SegmentTree(configuredDirs, options, (s) => [...PreviewPanel.titlesMapping(s), ...TablePanel.titlesMapping(s)]);
  const view = vscode.window.createTreeView('shmInspector.segments', { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  context.subscriptions.push(tree, view, vscode.window.registerFileDecorationProvider(new SegmentDecorations()));
  const status = registerLiveUpdates(context, tree, view);
  registerArrangement(context, tree, view, options);
  const targets = (arg: unknown): Segment[] => {
    if (typeof arg === 'string') {
      const name = arg.replace(/^\/+/, '');
      const s = tree.segments.find((x) => x.name === name && !x.deleted) ?? tree.segments.find((x) => x.name === name);
      return s ? [s] : [];
    }
    return segmentsOf(arg === undefined ? view.selection[0] : arg, view.selection);
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('shmInspector.refresh', () => tree.refresh()),
    vscode.commands.registerCommand(OPEN_ROW_COMMAND, async () => {
      const node = await openedRow(view);
      // A System V row opens as a file's row does (its segment has no path: the viewer attaches it).
      const s = rowSegment(node);
      const action = s ? rowAction(s) : undefined;
      if (s && action) await vscode.commands.executeCommand(action.command, s);
    }),
    vscode.commands.registerCommand('shmInspector.copyPath', async (arg?: unknown) => {
      const segs = segmentsOf(arg, view.selection);
      if (segs.length > 0) await vscode.env.clipboard.writeText(segs.map((s) => s.path ?? s.name).join('\n'));
    }),
    vscode.commands.registerCommand('shmInspector.showDetails', async (arg?: unknown) => {
      const segs = segmentsOf(arg, view.selection);
      if (segs.length === 0) return;
      const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(segs.length === 1 ? segs[0] : segs, null, 2) + '\n' });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
  return {
    tree,
    view,
    status,
    targets,
    refresh: async () => (await tree.refresh())?.segments ?? [],
    reveal: (s, focus) => view.reveal(tree.nodeFor(s), { select: true, focus }),
    start: () => {
      setContext('shmInspector.state', 'loading');
      void tree.refresh();
    },
  };
}

/** Sort, group, semaphores shown or not, and the filter (kept per workspace, shown as the view's description). */
function registerArrangement(context: vscode.ExtensionContext, tree: SegmentTree, view: vscode.TreeView<Node>, options: () => ArrangeOptions): void {
  const showFilter = () => {
    const f = options().filter;
    view.description = f ? `filter: ${f}` : undefined;
    setContext('shmInspector.filtered', f !== '');
  };
  const setFilter = async (value: string) => {
    await context.workspaceState.update(FILTER_KEY, value);
    showFilter();
    tree.rearrange();
  };
  showFilter();
  context.subscriptions.push(
    vscode.commands.registerCommand('shmInspector.sortBy', async (arg?: unknown) => {
      // Only a sort key from a caller; menus may pass other things.
      const key = typeof arg === 'string' && ['name', 'size', 'age'].includes(arg) ? (arg as SortKey) : undefined;
      const choice = key ?? (await pickSortKey(options().sortBy));
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
      if (problem) void vscode.window.showErrorMessage(`SHM Inspector: filter not applied: ${problem}`);
      else await setFilter(value.trim());
    }),
    vscode.commands.registerCommand('shmInspector.clearFilter', () => setFilter('')),
  );
}

async function pickSortKey(now: SortKey): Promise<SortKey | undefined> {
  const choices = [
    { label: 'Name', key: 'name' as SortKey, description: 'A to Z' },
    { label: 'Size', key: 'size' as SortKey, description: 'largest RAM first' },
    { label: 'Age', key: 'age' as SortKey, description: 'oldest first (leaks are old)' },
  ];
  const pick = await vscode.window.showQuickPick(
    choices.map((o) => ({ ...o, picked: o.key === now })),
    { placeHolder: `Sort segments by (now: ${now})` },
  );
  return pick?.key;
}

/**
 * Live updates: file-system events within a second; holders and sizes written through mappings
 * on a timer (only the usage figure while the view is hidden). Each listing is logged and sets
 * the view's state (for its welcome text) and the status bar item, which is returned.
 */
function registerLiveUpdates(context: vscode.ExtensionContext, tree: SegmentTree, view: vscode.TreeView<Node>): UsageStatus {
  const status = new UsageStatus(() => config().get<number>('usageWarningThreshold', 80));
  const log = vscode.window.createOutputChannel('SHM Inspector', { log: true });
  let watcher = new DirWatcher(configuredDirs(), () => void tree.refresh());
  if (watcher.pollingReason) log.info(`watching is not possible (${watcher.pollingReason}); polling every second`);
  let timer: NodeJS.Timeout | undefined;
  const updateUsageOnly = async () => {
    const usage = await Promise.all(
      configuredDirs().map((d) =>
        statfs(d).then(
          (u) => ({ path: d, ...u }),
          () => null,
        ),
      ),
    );
    status.update(
      usage.filter((u): u is NonNullable<typeof u> => u !== null),
      tree.lastCatalog?.shmem ?? null,
    );
  };
  const startTimer = () => {
    clearInterval(timer);
    const secs = config().get<number>('refreshInterval', 5);
    if (secs > 0) timer = setInterval(() => void (view.visible ? tree.refresh() : updateUsageOnly()), secs * 1000);
  };
  startTimer();
  context.subscriptions.push(
    status,
    log,
    {
      dispose: () => {
        watcher.dispose();
        clearInterval(timer);
      },
    },
    tree.onDidScan((cat) => {
      setContext('shmInspector.state', tree.state);
      const ms = tree.lastScanMs.toFixed(0);
      if (!cat) {
        log.warn(`listing failed after ${ms} ms: ${tree.error}`);
        return;
      }
      log[tree.lastScanMs > 250 ? 'info' : 'debug'](`listed ${cat.segments.length} segments in ${ms} ms (${cat.invisibleProcesses} processes not inspectable)`);
      status.update(cat.directories, cat.shmem);
      watcher.syncSubdirs(cat.segments.filter((s) => s.format === 'directory' && !s.deleted).map((s) => s.path));
    }),
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
  return status;
}
