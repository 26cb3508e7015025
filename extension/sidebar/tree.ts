/**
 * The Segments tree: the catalog arranged (filtered, sorted, grouped), with
 * containers, holders as children and a "Deleted but still mapped" group.
 * Items get stable ids, so expansion and selection survive refreshes; the
 * Markdown tooltips are built only when hovered (resolveTreeItem), so 10,000
 * segments cost 10,000 cheap items.
 */
import * as vscode from 'vscode';
import { arrange, nameMatcher, type ArrangeOptions, type Arranged } from '../core/arrange';
import { arrayLimit, formatBytes, isPreviewable, modeString, segmentDescription, segmentFacts } from '../core/format-words';
import type { Catalog, Segment } from '../core/types';
import { userName } from '../core/users';
import { displayText } from '../core/names';
import { isPart } from '../core/segments';
import { tableFormat } from '../core/tables/open';
import { errorCode, errorMessage, isReadFailure } from '../core/errors';
import { holderLabel, segmentId, segmentLabel, segmentLabels, segmentNode, segmentNodes, sysvChildren, type Node } from './nodes';
import { isInterpretable } from '../commands/interpret';
import type { SysvSegment } from '../core/sysv';
import { SYSV_GROUP_ID, sysvGroupItem, sysvNsGroupItem, sysvSegmentItem, sysvTooltip } from './sysv';
import type { IpcNamespaceScan } from '../core/kinds/ipcns';
import { scanEverything } from '../core/kinds/scan';
import { adjustKindItem, kindGroupItem, kindGroupNodes, kindRemoveNote, kindTotals, type KindsState } from './kinds';
import { setOtherKinds } from './statusbar';

const DECORATION_SCHEME = 'shm-inspector';

type Mark = 'orphan' | 'deleted' | 'unreadable' | 'error' | '';

function markOf(s: Segment): Mark {
  if (s.deleted) return 'deleted';
  if (isReadFailure(s.errorCode)) return 'unreadable';
  if (s.error) return 'error';
  if (s.orphan === true && !isPart(s)) return 'orphan';
  return '';
}

function iconOf(s: Segment): vscode.ThemeIcon {
  const mark = markOf(s);
  if (mark === 'unreadable') return new vscode.ThemeIcon('lock', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  if (mark === 'error') return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  const color = mark === 'deleted' ? new vscode.ThemeColor('list.deemphasizedForeground') : undefined;
  switch (s.format) {
    case 'directory':
      return new vscode.ThemeIcon('folder', color);
    case 'symlink':
      return new vscode.ThemeIcon('file-symlink-file', color);
    case 'semaphore':
      return new vscode.ThemeIcon('record-small', color);
    case 'safetensors':
      return new vscode.ThemeIcon('package', color);
    case 'arrow':
      return new vscode.ThemeIcon('table', color);
    case 'column':
      return new vscode.ThemeIcon('symbol-field', color);
    default:
      if (s.dtype && s.shape) return new vscode.ThemeIcon(s.shape.length >= 2 ? 'symbol-array' : 'symbol-numeric', color);
      return new vscode.ThemeIcon(mark === 'deleted' ? 'trash' : 'file-binary', color);
  }
}

/** Badges for orphaned, deleted and unreadable segments (FileDecorationProvider on our own scheme). */
export class SegmentDecorations implements vscode.FileDecorationProvider {
  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== DECORATION_SCHEME) return undefined;
    switch (uri.query as Mark) {
      case 'orphan':
        return new vscode.FileDecoration('○', 'Orphan: no process holds it', new vscode.ThemeColor('list.warningForeground'));
      case 'deleted':
        return new vscode.FileDecoration('D', 'Deleted, but a process still maps it: its RAM is still in use', new vscode.ThemeColor('list.errorForeground'));
      case 'unreadable':
        return new vscode.FileDecoration('!', 'Unreadable', new vscode.ThemeColor('list.warningForeground'));
      case 'error':
        return new vscode.FileDecoration('!', 'Could not be decoded', new vscode.ThemeColor('list.warningForeground'));
      default:
        return undefined;
    }
  }
}

/** What a click (or Enter) on a segment row runs: a preview, or Interpret As… for raw bytes (register/sidebar.ts). */
export const OPEN_ROW_COMMAND = 'shmInspector.openRow';

/** What a click on a segment's row does: open a table, preview an array, or Interpret As… raw bytes. */
export function rowAction(s: Segment): { command: string; title: string } | undefined {
  if (!s.deleted && tableFormat(s) !== null) return { command: 'shmInspector.openAsTable', title: 'Open as Table' };
  if (isPreviewable(s)) return { command: 'shmInspector.preview', title: 'Preview Segment' };
  if (isInterpretable(s)) return { command: 'shmInspector.interpretAs', title: 'Interpret As…' };
  return undefined;
}

export type TreeState = 'loading' | 'ok' | 'empty' | 'missing' | 'error';

export class SegmentTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly catalogChanged = new vscode.EventEmitter<Catalog | null>();
  /** Fires after every scan (also when it failed: then with null). */
  readonly onDidScan = this.catalogChanged.event;
  private catalog: Catalog | null = null;
  /** The System V segments of the last scan (their own group; none when the kernel has none). */
  sysv: SysvSegment[] = [];
  /** The System V segments of the other IPC namespaces (containers'), and those that could not be entered. */
  foreignSysv: IpcNamespaceScan = { segments: [], namespaces: [], unreadable: [] };
  /** memfd, anonymous and containers' segments of the last scan (sidebar/kinds.ts). */
  kinds: KindsState = { mem: [], containers: null };
  private arranged: Arranged = { segments: [], groups: [], deleted: [], hidden: 0 };
  private parents = new Map<string, Node>();
  /** Segment rows' labels by node id, made per set of siblings so that cut long names do not collide (nodes.ts). */
  private labels = new Map<string, string>();
  private scanError: string | null = null;
  /** What the tree showed last; a scan that changes nothing visible does not re-render (hovers survive). */
  private signature = '';
  /** The other kinds' part of it: when only that changes, only their groups are redrawn (fireIfChanged). */
  private kindsSignature = '';
  /** The group nodes the tree shows for the other kinds (updated in place when only they change). */
  private shownKindGroups = new Map<string, Node>();
  private running: Promise<Catalog | null> | null = null;
  private queued: Promise<Catalog | null> | null = null;
  state: TreeState = 'loading';
  /** Milliseconds the last scan took. */
  lastScanMs = 0;

  /**
   * `ownMappings`: the titles of this window's panels that map a segment. This extension host
   * shows up as one of its holders (`node`); the tree names the panel instead.
   */
  constructor(
    private readonly dirs: () => string[],
    private readonly options: () => ArrangeOptions,
    private readonly ownMappings: (s: Segment) => string[] = () => [],
  ) {}

  /** The System V segments of the last scan: this IPC namespace's, then the other namespaces'. */
  get sysvSegments(): SysvSegment[] {
    return [...this.sysv, ...this.foreignSysv.segments];
  }

  /** All segments of the last scan (unfiltered). */
  get segments(): Segment[] {
    return this.catalog?.segments ?? [];
  }

  get lastCatalog(): Catalog | null {
    return this.catalog;
  }

  get error(): string | null {
    return this.scanError;
  }

  get view(): Arranged {
    return this.arranged;
  }

  /** Re-lists. Calls during a scan share one follow-up scan, so the result is never older than the call. */
  refresh(): Promise<Catalog | null> {
    if (!this.running) {
      this.running = this.scan().finally(() => (this.running = null));
      return this.running;
    }
    if (!this.queued) {
      this.queued = this.running.then(() => {
        this.queued = null;
        return this.refresh();
      });
    }
    return this.queued;
  }

  /** Re-arranges the last scan (after a sort, filter or grouping change) without scanning. */
  rearrange(): void {
    this.arranged = arrange(this.segments, this.options());
    this.fireIfChanged(true);
  }

  private fireIfChanged(force = false): void {
    const sig =
      signatureOf(this.arranged, this.state, this.scanError) +
      '\nS' +
      [...this.sysv, ...this.foreignSysv.segments].map((s) => segmentSignature(s as unknown as Segment) + s.sysv.nattch + s.sysv.perms).join('\n') +
      `U${this.foreignSysv.unreadable.length}` +
      '\nK' +
      this.kindGroups()
        .map((n) => n.id)
        .join(',');
    const kinds =
      [...this.kinds.mem, ...(this.kinds.containers?.groups.flatMap((g) => g.segments) ?? [])].map((s) => segmentSignature(s as unknown as Segment)).join('\n') +
      (this.kinds.containers?.groups.map((g) => `${g.dev}:${g.used}`).join(',') ?? '');
    if (force || sig !== this.signature) {
      this.signature = sig;
      this.kindsSignature = kinds;
      this.changed.fire();
    } else if (kinds !== this.kindsSignature) {
      // Only the memfd/anonymous or containers' groups changed (a browser's regions grow all the time):
      // those groups are redrawn, not the whole tree, so a click or menu on another row is never
      // caught by a redraw. Their nodes stay the objects the tree holds, updated in place.
      this.kindsSignature = kinds;
      for (const fresh of this.kindGroups()) {
        const shown = this.shownKindGroups.get(fresh.id);
        if (!shown) {
          this.changed.fire();
          return;
        }
        Object.assign(shown, fresh);
        this.changed.fire(shown);
      }
    }
  }

  /** The memfd/anonymous and containers' group nodes of the last scan, narrowed by the filter. */
  private kindGroups(): Node[] {
    const m = nameMatcher(this.options().filter);
    return kindGroupNodes({ ...this.kinds, mem: this.kinds.mem.filter((s) => m(s.name) || (s.label !== null && m(s.label))) });
  }

  /**
   * Every kind in one scan (core/kinds/scan.ts); the tree's state is replaced all at once when the
   * slowest kind is in, so no redraw (or command) ever sees one kind of this scan beside another of
   * the last one.
   */
  private async scan(): Promise<Catalog | null> {
    const dirs = this.dirs();
    const t0 = performance.now();
    const all = await scanEverything(dirs);
    if (all.catalog) {
      this.catalog = all.catalog;
      this.scanError = null;
      this.state = all.catalog.segments.length === 0 ? 'empty' : 'ok';
    } else {
      const missing = errorCode(all.catalogError) === 'ENOENT';
      this.catalog = null;
      this.state = missing ? 'missing' : 'error';
      this.scanError = missing ? `${dirs.join(', ')} does not exist` : errorMessage(all.catalogError);
    }
    this.sysv = all.sysv;
    this.foreignSysv = all.foreignSysv;
    this.kinds = { mem: all.mem, containers: all.containers };
    setOtherKinds(kindTotals(this.kinds, [...this.sysv, ...this.foreignSysv.segments]));
    this.arranged = arrange(this.segments, this.options());
    this.lastScanMs = performance.now() - t0;
    this.fireIfChanged();
    this.catalogChanged.fire(this.catalog);
    return this.catalog;
  }

  getChildren(node?: Node): Node[] {
    if (!node) {
      this.parents.clear();
      this.labels.clear();
      if (this.state === 'error' && this.scanError) {
        return [{ kind: 'message', id: 'message:error', text: 'Cannot list shared memory', detail: this.scanError }];
      }
      const a = this.arranged;
      const top: Node[] = a.groups.length > 0 ? a.groups.map((g) => ({ kind: 'group', id: `group:${g.key}`, group: g })) : segmentNodes(a.segments, 'root');
      if (a.deleted.length > 0) top.push({ kind: 'deletedGroup', id: 'group:deleted', segments: a.deleted });
      this.noteLabels(top);
      // The filter narrows the other kinds too (by name, and a memfd's label): otherwise a browser's
      // hundred regions stay beside the few rows asked for.
      const m = nameMatcher(this.options().filter);
      const sysv = this.sysv.filter((s) => m(s.name));
      const foreign = this.foreignSysv.segments.filter((s) => m(s.name));
      if (sysv.length + foreign.length > 0)
        top.push({ kind: 'sysvGroup', id: SYSV_GROUP_ID, segments: sysv, foreign, unreadable: this.foreignSysv.unreadable.length });
      const groups = this.kindGroups();
      this.shownKindGroups = new Map(groups.map((n) => [n.id, n]));
      top.push(...groups);
      if (top.length === 0 && a.hidden > 0) {
        top.push({ kind: 'message', id: 'message:hidden', text: `${a.hidden} segments hidden by the filter`, detail: 'Clear the filter to see them.' });
      }
      return top;
    }
    let kids: Node[] = [];
    if (node.kind === 'group') kids = segmentNodes(node.group.segments, node.id);
    else if (node.kind === 'deletedGroup') kids = segmentNodes(node.segments, node.id);
    else if (node.kind === 'bucket') kids = node.segments.map(segmentNode);
    else if (node.kind === 'kindGroup') kids = node.children;
    else if (node.kind === 'sysvGroup') kids = sysvChildren(node.segments, node.foreign);
    else if (node.kind === 'sysvNsGroup') kids = sysvChildren(node.segments, []);
    else if (node.kind === 'sysvSegment') {
      const s = node.segment as unknown as Segment;
      kids = node.segment.holders.map((h): Node => ({ kind: 'holder', id: `${node.id}/pid:${h.pid}`, holder: h, segment: s }));
    } else if (node.kind === 'segment') {
      const s = node.segment;
      kids = (s.children ?? []).map(segmentNode);
      if (!isPart(s) && s.format !== 'directory') {
        kids.push(...s.holders.map((h): Node => ({ kind: 'holder', id: `${node.id}/pid:${h.pid}`, holder: h, segment: s })));
      }
    }
    for (const k of kids) this.parents.set(k.id, node);
    this.noteLabels(kids);
    return kids;
  }

  private noteLabels(siblings: Node[]): void {
    const segs = siblings.flatMap((n) => (n.kind === 'segment' ? [n.segment] : []));
    for (const [id, label] of segmentLabels(segs)) this.labels.set(id, label);
  }

  getParent(node: Node): Node | undefined {
    return this.parents.get(node.id);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.description = node.detail && displayText(node.detail);
        item.tooltip = item.description;
        item.iconPath = new vscode.ThemeIcon(node.id === 'message:error' ? 'error' : 'filter');
        return item;
      }
      case 'group': {
        const g = node.group;
        const item = new vscode.TreeItem(g.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = node.id;
        item.description = `${g.segments.length} · ${formatBytes(g.allocatedBytes)}`;
        item.iconPath = new vscode.ThemeIcon('layers');
        item.contextValue = 'group';
        return item;
      }
      case 'deletedGroup': {
        const bytes = node.segments.reduce((t, s) => t + s.size, 0);
        const item = new vscode.TreeItem('Deleted but still mapped', vscode.TreeItemCollapsibleState.Expanded);
        item.id = node.id;
        item.description = `${node.segments.length} · ${formatBytes(bytes)} still in RAM`;
        item.tooltip = new vscode.MarkdownString(
          'Segments that were unlinked while a process still maps or holds them open. `ls /dev/shm` cannot show them; ' +
            'their memory is freed only when the processes below let go.',
        );
        item.iconPath = new vscode.ThemeIcon('trash', new vscode.ThemeColor('list.errorForeground'));
        item.contextValue = 'deletedGroup';
        return item;
      }
      case 'holder': {
        const h = node.holder;
        const how = h.via === 'map' ? 'maps it' : h.via === 'fd' ? 'has it open' : 'maps it, has it open';
        if (h.pid === process.pid) {
          // This window's own extension host: name the panel that maps it, and offer to close it.
          const panels = this.ownMappings(node.segment);
          const item = new vscode.TreeItem(panels.length > 0 ? "this window's preview" : 'this window (SHM Inspector)', vscode.TreeItemCollapsibleState.None);
          item.id = node.id;
          item.description = `${how}${panels.length ? ' · ' : ''}${panels.map((t) => `“${t}”`).join(', ')}`;
          item.tooltip = panels.length
            ? `The preview panel ${panels.map((t) => `“${t}”`).join(', ')} in this window maps ${node.segment.name}${
                node.segment.deleted ? ': it is what keeps its memory in use. Close the panel to free it.' : '.'
              }`
            : `This window's SHM Inspector (pid ${h.pid}) ${how.replace(' it', 's')} ${node.segment.name}.`;
          item.iconPath = new vscode.ThemeIcon('preview');
          item.contextValue = panels.length ? 'holder ownPreview' : 'holder own';
          return item;
        }
        const item = new vscode.TreeItem(holderLabel(h), vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.description = `pid ${h.pid} · ${how}`;
        item.tooltip = `Process ${h.pid} (${holderLabel(h)}) ${h.via === 'fd' ? 'holds an open file descriptor to' : 'maps'} ${node.segment.name}`;
        item.iconPath = new vscode.ThemeIcon('server-process');
        item.contextValue = 'holder';
        return item;
      }
      case 'segment':
        return this.segmentItem(node.id, node.segment);
      case 'sysvGroup':
        return sysvGroupItem(node.segments, node.foreign, node.unreadable);
      case 'sysvNsGroup':
        return sysvNsGroupItem(node);
      case 'kindGroup':
        return kindGroupItem(node);
      case 'sysvSegment':
        return sysvSegmentItem(
          node.id,
          node.segment,
          rowAction(node.segment as unknown as Segment) ? { command: OPEN_ROW_COMMAND, title: rowAction(node.segment as unknown as Segment)!.title } : undefined,
        );
      case 'bucket': {
        const item = new vscode.TreeItem(displayText(`${node.first} … ${node.last}`), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = node.id;
        const bytes = node.segments.reduce((t, s) => t + s.allocatedBytes, 0);
        item.description = `${node.segments.length} · ${formatBytes(bytes)}`;
        item.tooltip = 'A range of segments (the view shows long lists in ranges). Filter to narrow them down.';
        item.iconPath = new vscode.ThemeIcon('list-unordered');
        item.contextValue = 'bucket';
        return item;
      }
    }
  }

  private segmentItem(id: string, s: Segment): vscode.TreeItem {
    const label = this.labels.get(id) ?? segmentLabel(s);
    const hasKids = (s.children?.length ?? 0) > 0 || (!isPart(s) && s.format !== 'directory' && s.holders.length > 0);
    const item = new vscode.TreeItem(label, hasKids ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = id;
    item.description = segmentDescription(s);
    // The whole name for screen readers (the label may be cut in its middle); the tooltip has it too.
    item.accessibilityInformation = { label: `${displayText(s.name)}, ${item.description}` };
    const mark = markOf(s);
    item.resourceUri = vscode.Uri.from({ scheme: DECORATION_SCHEME, path: `/${s.name}`, query: mark });
    item.iconPath = iconOf(s);
    const previewable = isPreviewable(s);
    // A table (Arrow file or stream, structured NPY, ShareableList) opens in the table viewer; its columns stay arrays.
    const table = !s.deleted && tableFormat(s) !== null;
    item.contextValue = ['segment', s.format, previewable ? 'previewable' : '', table ? 'table' : '', s.deleted ? 'deleted' : 'live', isPart(s) ? 'part' : 'file']
      .filter(Boolean)
      .join(' ');
    // No arguments: the command reads the selected row (sidebar/opened.ts says why).
    const action = rowAction(s);
    if (action) item.command = { command: OPEN_ROW_COMMAND, title: action.title };
    adjustKindItem(item, s);
    return item;
  }

  async resolveTreeItem(item: vscode.TreeItem, node: Node): Promise<vscode.TreeItem> {
    if (node.kind === 'segment') {
      const md = await segmentTooltip(node.segment, this.ownMappings(node.segment));
      const note = kindRemoveNote(node.segment);
      if (note) md.appendMarkdown(`\n\nNot removable from here: ${note.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')}.`);
      item.tooltip = md;
    } else if (node.kind === 'sysvSegment') item.tooltip = await sysvTooltip(node.segment);
    return item;
  }

  /** The node for a segment, if shown (for reveal). */
  nodeFor(s: Segment): Node {
    return segmentNode(s);
  }

  idOf(s: Segment): string {
    return segmentId(s);
  }

  dispose(): void {
    this.changed.dispose();
    this.catalogChanged.dispose();
  }
}

function segmentSignature(s: Segment): string {
  const kids = s.children ? s.children.map(segmentSignature).join(',') : '';
  return `${s.name}|${s.ino}|${s.size}|${s.allocatedBytes}|${s.mtimeMs}|${s.dtype}|${s.shape}|${s.error}|${s.orphan}|${s.holders
    .map((h) => `${h.pid}${h.via}`)
    .join(' ')}[${kids}]`;
}

/** A string that changes whenever anything the tree shows (or shows on hover) changes. */
function signatureOf(a: Arranged, state: string, error: string | null): string {
  const parts = [state, error ?? '', String(a.hidden)];
  for (const g of a.groups) parts.push(`G${g.key}`, ...g.segments.map(segmentSignature));
  for (const s of a.segments) parts.push(segmentSignature(s));
  parts.push('D', ...a.deleted.map(segmentSignature));
  return parts.join('\n');
}

/** Everything the catalog knows, as a Markdown table. */
export async function segmentTooltip(s: Segment, own: string[] = []): Promise<vscode.MarkdownString> {
  const md = new vscode.MarkdownString(undefined, true);
  md.supportHtml = false;
  const owner = s.deleted ? null : `${await userName(s.uid)} · ${modeString(s.mode)} (0${s.mode.toString(8)})`;
  const rows = segmentFacts(s, { owner, ownPanels: own, ownPid: process.pid });
  md.appendMarkdown(`**${escapeMd(displayText(s.name))}**${s.deleted ? ' — deleted, still mapped' : ''}\n\n`);
  md.appendMarkdown('| | |\n|---|---|\n');
  for (const [k, v] of rows) md.appendMarkdown(`| ${k} | ${escapeCell(v)} |\n`);
  if (s.error) md.appendMarkdown(`\n$(warning) ${escapeMd(displayText(s.error))}\n`);
  const limit = arrayLimit(s);
  if (limit) md.appendMarkdown(`\n$(info) ${escapeMd(limit)}\n`);
  if (s.deleted) md.appendMarkdown('\n$(info) Unlinked, but its RAM stays in use until the processes above let go.\n');
  return md;
}

function escapeMd(t: string): string {
  return t.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

function escapeCell(t: string): string {
  return t.replace(/\|/g, '\\|');
}
