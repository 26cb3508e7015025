/**
 * The *memfd and anonymous* and *Containers* groups of the Segments view (issue #15), each shown
 * only when not empty, with totals; their rows are ordinary segment rows (hover, preview, Quick
 * Look, details, persist), made from segments whose `path` is the way to read them from here (a
 * holder's /proc/PID/fd/N or map_files link; a container's /proc/PID/root/dev/shm/NAME), which the
 * readers open only as the listed device and inode. *Unlink* is not offered on memfd and anonymous
 * rows, the hover says why (a memfd has no name to unlink); a container's file is unlinked inside
 * its root (core/kinds/unlink.ts); *Clear Segments* on a selection removes containers' files
 * (core/kinds/clear.ts) and says why memfd regions are left.
 * The tree (tree.ts) asks this module for the groups after each scan.
 */
import * as vscode from 'vscode';
import { formatBytes } from '../core/format-words';
import { readableContainerCopy, readableCopy } from '../core/kinds';
import type { ContainerGroup, ContainerScan } from '../core/kinds/containers';
import { memRemoveRefusal, type MemSegment } from '../core/kinds/memfd';
import { displayText } from '../core/names';
import type { Segment } from '../core/types';
import type { Node } from './nodes';

export const MEM_GROUP_ID = 'group:memfd';
export const CONTAINERS_GROUP_ID = 'group:containers';

/** What the other kinds hold, for the groups and the status bar's hover. */
export interface KindsState {
  mem: MemSegment[];
  containers: ContainerScan | null;
}

export interface KindTotal {
  label: string;
  count: number;
  bytes: number;
}

/** The totals of the kinds beyond the listed directory (for the status bar's hover). */
export function kindTotals(k: KindsState, sysv: { allocatedBytes: number }[]): KindTotal[] {
  const out: KindTotal[] = [];
  const sum = (l: { allocatedBytes: number }[]) => l.reduce((a, s) => a + s.allocatedBytes, 0);
  if (sysv.length > 0) out.push({ label: 'System V', count: sysv.length, bytes: sum(sysv) });
  if (k.mem.length > 0) out.push({ label: 'memfd and anonymous', count: k.mem.length, bytes: sum(k.mem) });
  const groups = k.containers?.groups ?? [];
  if (groups.length > 0)
    out.push({ label: `Containers (${groups.length})`, count: groups.reduce((a, g) => a + g.segments.length, 0), bytes: groups.reduce((a, g) => a + g.used, 0) });
  return out;
}

function readable(s: MemSegment): Segment {
  try {
    return readableCopy(s);
  } catch {
    // Not readable from here (no privilege to open its holder's link): a row without preview.
    return { ...s, path: s.name, format: 'raw', dtype: null, shape: null };
  }
}

/** The groups to show after the System V one, only those with rows. */
export function kindGroupNodes(k: KindsState): Node[] {
  const out: Node[] = [];
  if (k.mem.length > 0) {
    const bytes = k.mem.reduce((a, s) => a + s.allocatedBytes, 0);
    const memfd = k.mem.filter((s) => s.kind === 'memfd').length;
    out.push({
      kind: 'kindGroup',
      id: MEM_GROUP_ID,
      label: 'memfd and anonymous',
      description: `${k.mem.length} · ${formatBytes(bytes)}${memfd > 0 && memfd < k.mem.length ? ` · ${memfd} memfd` : ''}`,
      tooltip:
        'Shared memory that no directory lists: memfd regions (`memfd_create`) and shared anonymous mappings (`mmap(-1, n)`, ' +
        '`MAP_SHARED|MAP_ANONYMOUS`), found in the processes that hold them. Their memory is freed when the last of them lets go.',
      icon: 'circuit-board',
      // Largest in RAM first: a browser or editor holds dozens of small regions of its own.
      children: [...k.mem].sort((a, b) => b.allocatedBytes - a.allocatedBytes || a.ino - b.ino).map((s) => ({ kind: 'segment', id: s.name, segment: readable(s) })),
    });
  }
  const groups = k.containers?.groups ?? [];
  if (groups.length > 0) {
    const used = groups.reduce((a, g) => a + g.used, 0);
    const unread = k.containers?.unreadable.length ?? 0;
    out.push({
      kind: 'kindGroup',
      id: CONTAINERS_GROUP_ID,
      label: 'Containers',
      description: `${groups.length} · ${formatBytes(used)} used${unread > 0 ? ` · ${unread} unreadable` : ''}`,
      tooltip:
        "Each container's own /dev/shm (a tmpfs in another mount namespace), read through the container's root. " +
        (unread > 0 ? `${unread} namespace${unread === 1 ? '' : 's'} could not be read (no privilege, or their process exited).` : ''),
      icon: 'package',
      children: groups.map(containerNode),
    });
  }
  return out;
}

function containerNode(g: ContainerGroup): Node {
  const ns = g.namespace;
  const pct = g.size > 0 ? Math.round((100 * g.used) / g.size) : 0;
  return {
    kind: 'kindGroup',
    id: `${CONTAINERS_GROUP_ID}/${ns.id}:${g.dev}`,
    label: displayText(ns.name),
    description: `${g.segments.length} · ${formatBytes(g.used)} / ${formatBytes(g.size)} (${pct}%)`,
    tooltip:
      `${displayText(ns.name)}: ${g.path} of mount namespace ${ns.id} (reached through pid ${ns.pid}, ${ns.processes} process${ns.processes === 1 ? '' : 'es'}). ` +
      `${formatBytes(g.used)} used of ${formatBytes(g.size)}, ${formatBytes(g.free)} free.` +
      (ns.containerId ? ` Container ${ns.containerId}.` : '') +
      (g.sharedWith.length > 0 ? ` Also seen by mount namespaces ${g.sharedWith.join(', ')}.` : ''),
    icon: pct >= 90 ? 'warning' : 'package',
    children: g.segments.map((s) => ({ kind: 'segment', id: s.name, segment: readableContainerCopy(s) })),
  };
}

/** Up to this many memfd and anonymous regions, their group opens by itself. */
const MEM_GROUP_OPEN_MAX = 20;

export function kindGroupItem(node: Extract<Node, { kind: 'kindGroup' }>): vscode.TreeItem {
  // Open at first, except a memfd group of more rows than fit beside the /dev/shm ones: a browser or
  // editor on the machine holds dozens of small regions of its own, which would push everything
  // else out of view (and move the rows under the pointer at each refresh).
  const open = node.id === CONTAINERS_GROUP_ID || (node.id === MEM_GROUP_ID && node.children.length <= MEM_GROUP_OPEN_MAX);
  const item = new vscode.TreeItem(node.label, open ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
  item.id = node.id;
  item.description = node.description;
  item.tooltip = new vscode.MarkdownString(node.tooltip);
  item.iconPath = new vscode.ThemeIcon(node.icon);
  item.contextValue = 'kindGroup';
  return item;
}

/**
 * A row of these groups: no *Interpret As* (`live` is what offers it), *Persist* stays (it reads
 * through the same link), *Unlink…* only on a container's file (`container` and `file`: removed
 * inside its root, core/kinds/unlink.ts), and its label says what it is.
 */
export function adjustKindItem(item: vscode.TreeItem, s: Segment): void {
  const kind = (s as { kind?: string }).kind;
  if (kind !== 'memfd' && kind !== 'anonymous' && kind !== 'container') return;
  item.contextValue = String(item.contextValue ?? '')
    .split(' ')
    .map((w) => (w === 'live' ? 'held' : w))
    .concat(kind)
    .join(' ');
  const label = (s as unknown as MemSegment).label;
  if (kind !== 'container') {
    item.label = label ? `${displayText(label)}` : s.name;
    item.description = `${s.name} · ${String(item.description ?? '')}`;
  } else {
    item.label = displayText(s.name.slice(s.name.indexOf('/') + 1));
  }
}

/** A hover line that says why these rows cannot be removed from here. */
export function kindRemoveNote(s: Segment): string | null {
  const kind = (s as { kind?: string }).kind;
  if (kind === 'memfd' || kind === 'anonymous') return memRemoveRefusal(s as unknown as MemSegment);
  return null;
}
