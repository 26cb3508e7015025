/**
 * The *System V* group of the Segments view (shown only when this IPC namespace has segments):
 * its items, hovers and the *Remove System V Segment* command (IPC_RMID, with the attach-count
 * warning). The tree (tree.ts) lists them beside the catalog and asks this module for the items.
 */
import * as vscode from 'vscode';
import { dtypeWords } from '../core/dtype';
import { formatBytes, isPreviewable, modeString, shapeWords } from '../core/format-words';
import { tableFormat } from '../core/tables/open';
import type { Segment } from '../core/types';
import { displayText } from '../core/names';
import { isPermissionCode, isReadFailure } from '../core/errors';
import { removeSysvSegment, type SysvSegment } from '../core/sysv';
import { userName } from '../core/users';
import { removeForeignSysv, type ForeignSysvSegment } from '../core/kinds/ipcns';
import { holderLabel, type Node } from './nodes';

export const SYSV_GROUP_ID = 'group:sysv';

/** Count, RAM and orphans of a list of segments, as the group rows describe them. */
function totalsWords(segments: SysvSegment[]): string {
  const ram = segments.reduce((t, s) => t + s.allocatedBytes, 0);
  const orphans = segments.filter((s) => s.sysv.nattch === 0).length;
  return `${segments.length} · ${formatBytes(ram)}${orphans > 0 ? ` · ${orphans} orphaned` : ''}`;
}

/**
 * The System V group: this IPC namespace's segments and, below them, those of the other IPC
 * namespaces (containers'), one group each; its totals count them all.
 */
export function sysvGroupItem(segments: SysvSegment[], foreign: ForeignSysvSegment[] = [], unreadable = 0): vscode.TreeItem {
  const item = new vscode.TreeItem('System V', vscode.TreeItemCollapsibleState.Expanded);
  item.id = SYSV_GROUP_ID;
  const namespaces = new Set(foreign.map((s) => s.namespace.id)).size;
  item.description =
    totalsWords([...segments, ...foreign]) +
    (namespaces > 0 ? ` · ${namespaces} other namespace${namespaces === 1 ? '' : 's'}` : '') +
    (unreadable > 0 ? ` · ${unreadable} not entered` : '');
  item.tooltip = new vscode.MarkdownString(
    'System V shared memory segments (`shmget`) of this IPC namespace, as `ipcs -m` lists them' +
      (namespaces > 0 ? ', then those of other IPC namespaces (containers), which `ipcs` here cannot show, one group each' : '') +
      '. They are not files in /dev/shm; an orphan (attached by no process) keeps its RAM until it is removed.' +
      (unreadable > 0 ? ` ${unreadable} IPC namespace${unreadable === 1 ? '' : 's'} could not be entered (no CAP_SYS_ADMIN, or their process exited).` : ''),
  );
  item.iconPath = new vscode.ThemeIcon('server');
  item.contextValue = 'sysvGroup';
  return item;
}

/** One other IPC namespace's segments: named as the CLI names it (the container, else the PID). */
export function sysvNsGroupItem(node: Extract<Node, { kind: 'sysvNsGroup' }>): vscode.TreeItem {
  const ns = node.namespace;
  const item = new vscode.TreeItem(`${displayText(ns.name)} (IPC namespace ${ns.id})`, vscode.TreeItemCollapsibleState.Expanded);
  item.id = node.id;
  item.description = totalsWords(node.segments);
  item.tooltip = new vscode.MarkdownString(
    `System V segments of IPC namespace ${ns.id} (${displayText(ns.name).replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')}), ` +
      `entered through pid ${ns.pid} (${ns.processes} process${ns.processes === 1 ? '' : 'es'})` +
      (ns.containerId ? `, container ${ns.containerId}` : '') +
      '. `ipcs` on the host does not show them; their names are `sysv:NS/SHMID`.',
  );
  item.iconPath = new vscode.ThemeIcon('package');
  item.contextValue = 'sysvNsGroup';
  return item;
}

function sysvDescription(s: SysvSegment): string {
  const parts = [formatBytes(s.size)];
  if (s.dtype !== null) parts.push(`${dtypeWords(s.dtype)} ${shapeWords(s.shape)}`);
  else if (s.format !== 'raw') parts.push(s.format);
  parts.push(s.sysv.keyHex);
  parts.push(s.sysv.markedForRemoval ? 'removed, still attached' : s.sysv.nattch === 0 ? 'orphan' : `${s.sysv.nattch} attached`);
  return parts.join(' · ');
}

/** `action`: what a click on the row runs (the tree's row command), or none. */
export function sysvSegmentItem(id: string, s: SysvSegment, action?: { command: string; title: string }): vscode.TreeItem {
  const item = new vscode.TreeItem(s.name, s.holders.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = id;
  item.description = sysvDescription(s);
  const warn = s.error !== null;
  item.iconPath = warn
    ? new vscode.ThemeIcon(isPermissionCode(s.errorCode) ? 'lock' : 'warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
    : new vscode.ThemeIcon(s.dtype ? 'symbol-array' : 'file-binary', s.sysv.nattch === 0 || s.deleted ? new vscode.ThemeColor('list.warningForeground') : undefined);
  // `previewable`/`table` offer Preview Segment / Open as Table as on a file's row; a click opens what rowAction says.
  const seg = s as unknown as Segment;
  const previewable = isPreviewable(seg);
  const table = tableFormat(seg) !== null;
  // `interpretable`: raw bytes this user can attach get Interpret As… (as a raw file's row does).
  const interpretable = s.format === 'raw' && !s.deleted && !isReadFailure(s.errorCode);
  item.contextValue = [
    'sysv',
    s.format,
    s.sysv.nattch > 0 ? 'attached' : 'orphan',
    s.deleted ? 'dest' : '',
    previewable ? 'previewable' : '',
    table ? 'table' : '',
    interpretable ? 'interpretable' : '',
  ]
    .filter(Boolean)
    .join(' ');
  if (action) item.command = { command: action.command, title: action.title };
  return item;
}

const namespaceWords = (ns: ForeignSysvSegment['namespace']) => `${ns.id} · ${displayText(ns.name)} (entered through pid ${ns.pid})`;

const when = (ms: number) => (ms > 0 ? new Date(ms).toLocaleString() : 'never');

export async function sysvTooltip(s: SysvSegment): Promise<vscode.MarkdownString> {
  const r = s.sysv;
  const md = new vscode.MarkdownString(undefined, true);
  md.supportHtml = false;
  const rows: [string, string][] = [
    ['key', `${r.keyHex}${r.key === 0 ? ' (IPC_PRIVATE)' : ''}`],
    ['format', s.format + (s.dtype ? ` · ${dtypeWords(s.dtype)} ${shapeWords(s.shape)}` : '')],
    ['size', `${formatBytes(s.size)} · ${formatBytes(r.rss)} in RAM${r.swap > 0 ? ` · ${formatBytes(r.swap)} swapped` : ''}`],
    ['owner', `${await userName(r.uid)} · ${modeString(s.mode)} (0${s.mode.toString(8)})`],
    ['attached', `${r.nattch} time${r.nattch === 1 ? '' : 's'}${r.markedForRemoval ? ' · removed: goes with the last detach' : ''}`],
    [
      'held by',
      s.holders.length > 0
        ? s.holders.map((h) => `${holderLabel(h)} (pid ${h.pid})`).join(', ')
        : r.nattch > 0
          ? 'processes that could not be inspected'
          : 'none: orphan',
    ],
    ...((s as Partial<ForeignSysvSegment>).namespace ? ([['IPC namespace', namespaceWords((s as ForeignSysvSegment).namespace)]] as [string, string][]) : []),
    ['created by', `pid ${r.cpid}`],
    ['last attach/detach', `pid ${r.lpid}`],
    ['times', `changed ${when(r.ctimeMs)} · attached ${when(r.atimeMs)} · detached ${when(r.dtimeMs)}`],
  ];
  md.appendMarkdown(`**${s.name}** — System V segment\n\n| | |\n|---|---|\n`);
  for (const [k, v] of rows) md.appendMarkdown(`| ${k} | ${v.replace(/\|/g, '\\|')} |\n`);
  if (s.error) md.appendMarkdown(`\n$(warning) ${displayText(s.error).replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')}\n`);
  return md;
}

async function pickSysv(segments: SysvSegment[]): Promise<SysvSegment | undefined> {
  if (segments.length === 0) {
    void vscode.window.showInformationMessage('No System V segments to remove.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    segments.map((s) => ({
      label: s.name,
      description: `${formatBytes(s.size)} · key ${s.sysv.keyHex} · ${s.sysv.nattch > 0 ? `${s.sysv.nattch} attached` : 'orphan'}`,
      s,
    })),
    { title: 'Remove System V Segment', placeHolder: 'Segment to remove' },
  );
  return picked?.s;
}

/** `shmInspector.removeSysv`: IPC_RMID after a modal confirmation that names the processes attached. */
export function registerSysvCommands(deps: { segments: () => SysvSegment[]; refresh: () => Promise<unknown> }): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('shmInspector.removeSysv', async (arg?: unknown) => {
      const name = (arg as { segment?: SysvSegment })?.segment?.name ?? (arg as SysvSegment)?.name ?? (typeof arg === 'string' ? arg : undefined);
      // A context menu picked while the tree redraws reaches us without its row (VS Code drops the
      // element of a refreshed node): ask which segment rather than do nothing.
      const s = deps.segments().find((x) => x.name === name) ?? (name === undefined ? await pickSysv(deps.segments()) : undefined);
      if (!s) {
        if (name !== undefined) void vscode.window.showErrorMessage(`No System V segment ${name} any more: it was removed meanwhile.`);
        return;
      }
      const attached = s.sysv.nattch;
      // This window's own attachment is a preview (or Quick Look) of it: named so, not as "node".
      const who =
        s.holders.length > 0
          ? s.holders.map((h) => (h.pid === process.pid ? "this window's preview" : `${holderLabel(h)} (pid ${h.pid})`)).join(', ')
          : `${attached} process${attached === 1 ? '' : 'es'}`;
      const detail =
        attached > 0
          ? `${who} still attach${attached === 1 && s.holders.length <= 1 ? 'es' : ''} it: its ${formatBytes(s.allocatedBytes)} stay in RAM until they detach, and they keep reading and writing it meanwhile.`
          : `No process attaches it: its ${formatBytes(s.allocatedBytes)} are freed at once.`;
      const ok = await vscode.window.showWarningMessage(
        `Remove System V segment ${s.name} (key ${s.sysv.keyHex}, ${formatBytes(s.size)})?`,
        { modal: true, detail },
        'Remove',
      );
      if (ok !== 'Remove') return;
      const ns = (s as Partial<ForeignSysvSegment>).namespace;
      const o = ns
        ? await removeForeignSysv(ns.id, s.sysv.shmid, { force: true, expected: s.sysv })
        : await removeSysvSegment(s.sysv.shmid, { force: true, expected: s.sysv });
      await deps.refresh();
      if (o.status === 'removed') {
        void vscode.window.showInformationMessage(
          o.pendingBytes > 0
            ? `Removed ${s.name}; ${formatBytes(o.pendingBytes)} stay in RAM until its processes detach.`
            : `Removed ${s.name}; ${formatBytes(o.bytes)} freed.`,
        );
      } else {
        void vscode.window.showErrorMessage(`Could not remove ${s.name}: ${o.error ?? o.status}`);
      }
    }),
  ];
}
