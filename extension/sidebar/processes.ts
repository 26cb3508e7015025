/**
 * The Processes view: fork families → processes → mappings, sorted by true RAM (PSS), with
 * what forked children still share with their parents and what they copied in each row's
 * description, a hover that says it in plain words, a badge on families whose children copied
 * most of what they share, a filter on name and command line, and its own refresh interval
 * that runs only while the view is visible. The figures come from extension/core/processes/.
 */
import * as vscode from 'vscode';
import { formatBytes } from '../core/format-words';
import { explainFamily, type Explanation } from '../core/processes/explain';
import { MAPPING_KIND_WORDS, processMappings, segmentResidency, type Mapping, type MappingGroup } from '../core/processes/mappings';
import { Cancelled, exactAvailable, memoryReport } from '../core/processes/scan';
import type { Family, MemoryReport, ProcessMemory } from '../core/processes/types';
import type { Segment } from '../core/types';
import { errorMessage } from '../core/errors';
import { openedRow } from './opened';

export const PROCESSES_VIEW = 'shmInspector.processes';
const FILTER_KEY = 'shmInspector.processes.filter';
const SCHEME = 'shm-inspector-process';
/** Mappings shown under a group; the rest are summed in one row. */
const MAX_MAPPINGS = 50;

type PNode =
  | { kind: 'family'; id: string; family: Family; explanation: Explanation }
  | { kind: 'process'; id: string; p: ProcessMemory; inFamily: boolean }
  | { kind: 'group'; id: string; pid: number; group: MappingGroup }
  | { kind: 'mapping'; id: string; pid: number; mapping: Mapping; segment: Segment | undefined }
  | { kind: 'message'; id: string; text: string; detail?: string };

export interface ProcessesViewDeps {
  /** The segments the Segments view lists now (to name the segments a process maps). */
  segments(): Segment[];
  /** Shows a segment's row in the Segments view. */
  revealSegment(s: Segment): Thenable<void> | void;
}

function commandWords(p: ProcessMemory): string {
  return p.cmdline.length > 0 ? p.cmdline.join(' ') : `[${p.comm}]`;
}

function inheritedWords(p: ProcessMemory): string {
  const i = p.inherited;
  if (!i) return '';
  if (i.error) return ' · not measured';
  const est = i.exact ? '' : '~';
  return ` · shared ${est}${formatBytes(i.sharedBytes)} · copied ${est}${formatBytes(i.copiedBytes)}`;
}

function matches(p: ProcessMemory, filter: string): boolean {
  const f = filter.toLowerCase();
  return p.comm.toLowerCase().includes(f) || commandWords(p).toLowerCase().includes(f) || String(p.pid) === f;
}

function md(lines: string[]): vscode.MarkdownString {
  const m = new vscode.MarkdownString(lines.join('\n\n'));
  m.isTrusted = { enabledCommands: ['shmInspector.copyAttachCode', 'shmInspector.processes.revealSegment'] };
  return m;
}

export class ProcessTree implements vscode.TreeDataProvider<PNode>, vscode.FileDecorationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly decorationsChanged = new vscode.EventEmitter<vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.decorationsChanged.event;
  report: MemoryReport | null = null;
  error: string | null = null;
  filter = '';
  private byPid = new Map<number, ProcessMemory>();
  private running: AbortController | null = null;
  private pending: Promise<void> | null = null;
  /** Fires after each completed refresh (tests and the title read it). */
  private readonly scanned = new vscode.EventEmitter<MemoryReport | null>();
  readonly onDidScan = this.scanned.event;

  constructor(
    private readonly deps: ProcessesViewDeps,
    private readonly exact: () => boolean,
  ) {}

  dispose(): void {
    this.cancel();
    this.changed.dispose();
    this.decorationsChanged.dispose();
    this.scanned.dispose();
  }

  get measuring(): boolean {
    return this.running !== null;
  }

  cancel(): void {
    this.running?.abort();
  }

  /** Re-reads every process (a running pass is cancelled and replaced). */
  refresh(): Promise<void> {
    this.running?.abort();
    const ac = new AbortController();
    this.running = ac;
    // The Stop button shows only for a pass that takes a while (a quick one would make the title flicker).
    const slow = setTimeout(() => this.running === ac && void vscode.commands.executeCommand('setContext', 'shmInspector.processes.measuring', true), 1000);
    const run = vscode.window.withProgress({ location: { viewId: PROCESSES_VIEW } }, async () => {
      try {
        const report = await memoryReport({ exact: this.exact() && exactAvailable(), signal: ac.signal });
        if (ac.signal.aborted) return;
        this.report = report;
        this.error = null;
        this.byPid = new Map(report.processes.map((p) => [p.pid, p]));
      } catch (e) {
        if (e instanceof Cancelled || ac.signal.aborted) return;
        this.error = e instanceof Error ? e.message : String(e);
      } finally {
        clearTimeout(slow);
        if (this.running === ac) {
          this.running = null;
          void vscode.commands.executeCommand('setContext', 'shmInspector.processes.measuring', false);
        }
      }
      if (!ac.signal.aborted) {
        this.changed.fire(undefined);
        this.decorationsChanged.fire(undefined);
        this.scanned.fire(this.report);
      }
    });
    this.pending = Promise.resolve(run);
    return this.pending;
  }

  setFilter(text: string): void {
    this.filter = text;
    this.changed.fire(undefined);
  }

  /** The top level as shown: families and lone processes, filtered, by true RAM. */
  topLevel(): PNode[] {
    const r = this.report;
    if (!r) return [];
    const items: { bytes: number; node: PNode }[] = [];
    for (const f of r.families) {
      const members = f.members.map((m) => this.byPid.get(m)).filter((p): p is ProcessMemory => p !== undefined);
      if (this.filter && !members.some((p) => matches(p, this.filter))) continue;
      items.push({ bytes: f.trueBytes, node: { kind: 'family', id: `family:${f.root}`, family: f, explanation: explainFamily(f, this.byPid) } });
    }
    for (const p of r.processes) {
      if (p.family !== null || (this.filter && !matches(p, this.filter))) continue;
      items.push({ bytes: p.pss, node: { kind: 'process', id: `proc:${p.pid}`, p, inFamily: false } });
    }
    items.sort((a, b) => b.bytes - a.bytes);
    return items.map((i) => i.node);
  }

  async getChildren(node?: PNode): Promise<PNode[]> {
    if (!node) {
      if (this.error && !this.report) return [{ kind: 'message', id: 'msg:error', text: `Could not read the processes: ${this.error}` }];
      if (!this.report) return [];
      const top = this.topLevel();
      if (top.length === 0) return [{ kind: 'message', id: 'msg:none', text: this.filter ? `No process matches '${this.filter}'` : 'No process can be inspected' }];
      return top;
    }
    if (node.kind === 'family') {
      return node.family.members
        .map((m) => this.byPid.get(m))
        .filter((p): p is ProcessMemory => p !== undefined)
        .map((p) => ({ kind: 'process' as const, id: `proc:${p.pid}`, p, inFamily: true }));
    }
    if (node.kind === 'process') {
      try {
        const groups = await processMappings(node.p.pid);
        return groups.map((g) => ({ kind: 'group' as const, id: `group:${node.p.pid}:${g.kind}`, pid: node.p.pid, group: g }));
      } catch (e) {
        return [{ kind: 'message', id: `msg:${node.p.pid}`, text: `Mappings unreadable: ${e instanceof Error ? e.message : String(e)}` }];
      }
    }
    if (node.kind === 'group') {
      const segs = node.group.kind === 'shm' ? this.deps.segments() : [];
      const out: PNode[] = node.group.mappings.slice(0, MAX_MAPPINGS).map((m) => ({
        kind: 'mapping' as const,
        id: `map:${node.pid}:${m.start}`,
        pid: node.pid,
        mapping: m,
        segment:
          m.ino !== 0
            ? (segs.find((s) => s.ino === m.ino && s.dev === m.dev && !s.name.includes('/')) ?? segs.find((s) => s.ino === m.ino && s.dev === m.dev))
            : undefined,
      }));
      const rest = node.group.mappings.slice(MAX_MAPPINGS);
      if (rest.length > 0) {
        out.push({
          kind: 'message',
          id: `msg:${node.id}:rest`,
          text: `${rest.length} more mappings`,
          detail: `RSS ${formatBytes(rest.reduce((s, m) => s + m.rss, 0))}`,
        });
      }
      return out;
    }
    return [];
  }

  getParent(): undefined {
    return undefined;
  }

  getTreeItem(node: PNode): vscode.TreeItem {
    const None = vscode.TreeItemCollapsibleState.None;
    const Collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    switch (node.kind) {
      case 'family': {
        const f = node.family;
        const root = this.byPid.get(f.root);
        const kids = f.members.length - 1;
        const item = new vscode.TreeItem(`${root?.comm ?? '?'} (${f.root}) + ${kids} forked`, Collapsed);
        item.id = node.id;
        const est = f.exact ? '' : '~';
        item.description = `${formatBytes(f.trueBytes)} true · top ${formatBytes(f.rssSum)} · shared ${est}${formatBytes(f.sharedBytes)} · copied ${est}${formatBytes(f.copiedBytes)}`;
        const e = node.explanation;
        item.iconPath = new vscode.ThemeIcon(
          e.verdict === 'copied' ? 'warning' : 'type-hierarchy',
          e.verdict === 'copied' ? new vscode.ThemeColor('list.warningForeground') : undefined,
        );
        item.resourceUri = vscode.Uri.from({ scheme: SCHEME, path: `/family/${f.root}`, query: e.verdict });
        const held = this.heldSegments(f.members);
        item.contextValue = `family${held.length > 0 && e.python ? ' attachable' : ''}`;
        const lines = [`**Fork family of ${root?.comm ?? '?'} (PID ${f.root})**: ${e.summary}`, ...e.paragraphs];
        if (held.length > 0 && e.python) {
          lines.push(
            `Its processes map ${held.map((s) => `\`${s.name}\``).join(', ')}: [Copy Python Attach Code](command:shmInspector.copyAttachCode?${encodeURIComponent(JSON.stringify([held[0].name]))}) to open ${held.length === 1 ? 'it' : 'the first'} read-only in another process.`,
          );
        }
        item.tooltip = md(lines);
        return item;
      }
      case 'process': {
        const p = node.p;
        const item = new vscode.TreeItem(`${p.comm} (${p.pid})`, Collapsed);
        item.id = node.inFamily ? `${node.id}@${p.family}` : node.id;
        item.description = `${formatBytes(p.pss)} PSS · RSS ${formatBytes(p.rss)}${inheritedWords(p)}`;
        item.iconPath = new vscode.ThemeIcon(p.inherited ? 'repo-forked' : 'server-process');
        item.contextValue = 'process';
        const lines = [
          `**${p.comm}** (PID ${p.pid}, parent ${p.ppid}) \`${commandWords(p).slice(0, 300).replace(/`/g, "'")}\``,
          `PSS ${formatBytes(p.pss)} is its fair share of RAM (shared pages divided among those that map them); RSS ${formatBytes(p.rss)} counts every page it maps, shared or not; USS ${formatBytes(p.uss)} is what exiting would free.` +
            (p.swap > 0 ? ` ${formatBytes(p.swap)} is swapped out.` : ''),
          `Anonymous ${formatBytes(p.anon.rss)} · files ${formatBytes(p.file.rss)} · shared memory ${formatBytes(p.shmem.rss)} resident.`,
        ];
        const i = p.inherited;
        if (i && !i.error) {
          lines.push(
            `Forked from PID ${i.parent}: ${formatBytes(i.sharedBytes)} of the memory it inherited is still the same RAM as its parent's; ${formatBytes(i.copiedBytes)} has been copied since fork because it or its parent wrote to it (${i.exact ? 'counted page by page' : 'estimated from smaps'}).`,
          );
        } else if (i?.error) {
          lines.push(`What it shares with its parent could not be measured: ${i.error}`);
        }
        item.tooltip = md(lines);
        return item;
      }
      case 'group': {
        const g = node.group;
        const item = new vscode.TreeItem(MAPPING_KIND_WORDS[g.kind], g.mappings.length > 0 ? Collapsed : None);
        item.id = node.id;
        item.description = `RSS ${formatBytes(g.rss)} · PSS ${formatBytes(g.pss)} · shared ${formatBytes(g.shared)} · private ${formatBytes(g.private)}`;
        item.iconPath = new vscode.ThemeIcon(
          { heap: 'symbol-variable', shm: 'database', file: 'file', library: 'library', stack: 'layers', kernel: 'chip' }[g.kind],
        );
        item.tooltip = `${g.mappings.length} mapping${g.mappings.length === 1 ? '' : 's'}: ${formatBytes(g.rss)} resident, ${formatBytes(g.shared)} of it shared with other processes, ${formatBytes(g.private)} private to this one.`;
        return item;
      }
      case 'mapping': {
        const m = node.mapping;
        const label = node.segment ? node.segment.name : m.path || `anonymous ${m.start.toString(16)}–${m.end.toString(16)}`;
        const item = new vscode.TreeItem(label, None);
        item.id = node.id;
        const size = m.end - m.start;
        item.description = `RSS ${formatBytes(m.rss)} of ${formatBytes(size)} · PSS ${formatBytes(m.pss)} · shared ${formatBytes(m.shared)} · private ${formatBytes(m.private)}${m.deleted ? ' · deleted' : ''}`;
        item.tooltip = `${m.path || 'anonymous memory'} (${m.perms}) at ${m.start.toString(16)}–${m.end.toString(16)}: ${formatBytes(m.rss)} of its ${formatBytes(size)} resident in this process.`;
        if (node.segment) {
          item.contextValue = 'shmMapping';
          item.iconPath = new vscode.ThemeIcon('database');
          item.command = { command: 'shmInspector.processes.openRow', title: 'Show in Segments' };
        }
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, None);
        item.id = node.id;
        item.description = node.detail;
        item.iconPath = new vscode.ThemeIcon('info');
        return item;
      }
    }
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== SCHEME) return undefined;
    if (uri.query === 'copied')
      return new vscode.FileDecoration('!', 'Its children copied most of what they share with their parents', new vscode.ThemeColor('list.warningForeground'));
    if (uri.query === 'copying') return new vscode.FileDecoration('~', 'Its children are copying much of what they inherited');
    return undefined;
  }

  /** Segments (top level, live) that one of these processes holds. */
  heldSegments(pids: number[]): Segment[] {
    const set = new Set(pids);
    return this.deps.segments().filter((s) => !s.deleted && s.holders.some((h) => set.has(h.pid)));
  }
}

/** Creates the view, its commands and its own refresh timer (only while visible). */
export function registerProcessesView(context: vscode.ExtensionContext, deps: ProcessesViewDeps): vscode.Disposable[] {
  const config = () => vscode.workspace.getConfiguration('shmInspector.processes');
  const tree = new ProcessTree(deps, () => config().get<boolean>('exact', true));
  tree.filter = context.workspaceState.get<string>(FILTER_KEY, '');
  const view = vscode.window.createTreeView(PROCESSES_VIEW, { treeDataProvider: tree, showCollapseAll: true });
  const describe = () => describeView(view, tree);
  const setFilter = async (filter: string) => {
    await context.workspaceState.update(FILTER_KEY, filter);
    tree.setFilter(filter);
    describe();
  };
  describe();
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearInterval(timer);
    timer = undefined;
    const secs = config().get<number>('refreshInterval', 5);
    if (view.visible && secs > 0) {
      timer = setInterval(() => {
        // Never overlap passes: a slow machine skips a tick rather than cancelling itself forever.
        if (view.visible && !tree.measuring) void tree.refresh();
      }, secs * 1000);
    }
  };
  const disposables: vscode.Disposable[] = [
    tree,
    view,
    vscode.window.registerFileDecorationProvider(tree),
    tree.onDidScan(describe),
    view.onDidChangeVisibility((e) => {
      if (e.visible) void tree.refresh();
      else tree.cancel();
      schedule();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('shmInspector.processes.refreshInterval')) schedule();
      if (e.affectsConfiguration('shmInspector.processes.exact') && view.visible) void tree.refresh();
    }),
    { dispose: () => clearInterval(timer) },
    ...registerProcessCommands(tree, view, deps, setFilter),
  ];
  if (view.visible) void tree.refresh();
  schedule();
  return disposables;
}

/** The view's description (filter, counts) and message (estimates only, or the last refresh failed), and the filtered context key. */
function describeView(view: vscode.TreeView<PNode>, tree: ProcessTree): void {
  const r = tree.report;
  const parts: string[] = [];
  if (tree.filter) parts.push(`filter: ${tree.filter}`);
  if (r) {
    parts.push(`${r.processes.length} processes`);
    if (r.uninspectable > 0) parts.push(`${r.uninspectable} not inspectable`);
  }
  view.description = parts.join(' · ') || undefined;
  view.message =
    r && !r.exactAvailable
      ? 'Shared and copied figures (~) are estimates from smaps: counting pages exactly needs CAP_SYS_ADMIN.'
      : tree.error && r
        ? `Last refresh failed: ${tree.error}`
        : undefined;
  void vscode.commands.executeCommand('setContext', 'shmInspector.processes.filtered', tree.filter !== '');
}

function registerProcessCommands(
  tree: ProcessTree,
  view: vscode.TreeView<PNode>,
  deps: ProcessesViewDeps,
  setFilter: (filter: string) => Promise<void>,
): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('shmInspector.processes.refresh', () => tree.refresh()),
    vscode.commands.registerCommand('shmInspector.processes.cancel', () => tree.cancel()),
    vscode.commands.registerCommand('shmInspector.processes.filter', async (text?: unknown) => {
      const value =
        typeof text === 'string'
          ? text
          : await vscode.window.showInputBox({
              title: 'Filter processes',
              prompt: 'Text in the name or command line, or a PID (empty: show all)',
              value: tree.filter,
            });
      if (value !== undefined) await setFilter(value.trim());
    }),
    vscode.commands.registerCommand('shmInspector.processes.clearFilter', () => setFilter('')),
    // A click on a segment's mapping: the row's command carries no arguments (sidebar/opened.ts).
    vscode.commands.registerCommand('shmInspector.processes.openRow', async () => {
      const node = await openedRow(view);
      if (node?.kind === 'mapping' && node.segment) await vscode.commands.executeCommand('shmInspector.processes.revealSegment', node.segment.name);
    }),
    vscode.commands.registerCommand('shmInspector.processes.revealSegment', async (arg?: unknown) => {
      // A name (hover links), or the mapping's row (its context menu).
      const name = arg && typeof arg === 'object' && 'segment' in arg ? (arg as { segment?: Segment }).segment?.name : arg;
      const s = deps.segments().find((x) => x.name === name && !x.deleted);
      if (s) await deps.revealSegment(s);
      else void vscode.window.showInformationMessage(`SHM Inspector: ${String(name)} is not in the Segments view (another directory, or removed).`);
    }),
    // From a Segments row: how much of the segment each holder has resident; picking one shows that process here.
    vscode.commands.registerCommand('shmInspector.processes.residency', async (arg?: unknown) => {
      const seg =
        arg && typeof arg === 'object' && 'segment' in arg
          ? (arg as { segment: Segment }).segment
          : typeof arg === 'string'
            ? deps.segments().find((x) => x.name === arg)
            : undefined;
      const pid = seg ? await pickByResidency(seg) : undefined;
      if (pid === undefined) return;
      await setFilter(String(pid));
      await vscode.commands.executeCommand(`${PROCESSES_VIEW}.focus`);
    }),
    vscode.commands.registerCommand('shmInspector.processes.copyAttachCode', async (node?: PNode) => {
      const pids = node?.kind === 'family' ? node.family.members : node?.kind === 'process' ? [node.p.pid] : [];
      const held = node?.kind === 'mapping' && node.segment ? [node.segment] : tree.heldSegments(pids);
      if (held.length === 0) return;
      const pick =
        held.length === 1
          ? held[0]
          : (
              await vscode.window.showQuickPick(
                held.map((s) => ({ label: s.name, s })),
                { placeHolder: 'Segment to open from Python' },
              )
            )?.s;
      if (pick) await vscode.commands.executeCommand('shmInspector.copyAttachCode', pick.name);
    }),
  ];
}

/** Lists how much of `seg` each process that maps it has resident; the PID picked, if any. */
async function pickByResidency(seg: Segment): Promise<number | undefined> {
  const holders = seg.holders.filter((h) => h.via !== 'fd');
  if (holders.length === 0) {
    void vscode.window.showInformationMessage(
      `SHM Inspector: no process maps ${seg.name}${seg.holders.length > 0 ? ' (it is only open, not mapped: nothing of it is resident in a process)' : ''}.`,
    );
    return undefined;
  }
  // The pick opens at once (busy) and fills when every holder's smaps has been read.
  const items = segmentResidency(
    seg.dev,
    seg.ino,
    holders.map((h) => h.pid),
  ).then(
    (res) =>
      res.map((r) => {
        const h = holders.find((x) => x.pid === r.pid)!;
        return {
          label: `${h.comm} (${r.pid})`,
          description: r.error ? r.error : `${formatBytes(r.rss)} of ${formatBytes(seg.size)} resident · PSS ${formatBytes(r.pss)}`,
          pid: r.pid,
        };
      }),
    (e: unknown) => {
      void vscode.window.showErrorMessage(`SHM Inspector: cannot read who has ${seg.name} resident: ${errorMessage(e)}`);
      return [];
    },
  );
  const pick = await vscode.window.showQuickPick(items, {
    title: `${seg.name}: resident in each process that maps it`,
    placeHolder: 'Pick one to show it in the Processes view',
  });
  return pick?.pid;
}
