/**
 * The *System V* group of the Segments view (shown only when this IPC namespace has segments):
 * its items, hovers and the *Remove System V Segment* command (IPC_RMID, with the attach-count
 * warning). The tree (tree.ts) lists them beside the catalog and asks this module for the items.
 */
import * as vscode from 'vscode';
import { dtypeWords } from '../core/dtype';
import { formatBytes, modeString, shapeWords } from '../core/format-words';
import { displayText } from '../core/names';
import { isPermissionCode } from '../core/errors';
import { removeSysvSegment, type SysvSegment } from '../core/sysv';
import { userName } from '../core/users';
import { holderLabel } from './nodes';

export const SYSV_GROUP_ID = 'group:sysv';

export function sysvGroupItem(segments: SysvSegment[]): vscode.TreeItem {
  const item = new vscode.TreeItem('System V', vscode.TreeItemCollapsibleState.Expanded);
  item.id = SYSV_GROUP_ID;
  const ram = segments.reduce((t, s) => t + s.allocatedBytes, 0);
  const orphans = segments.filter((s) => s.sysv.nattch === 0).length;
  item.description = `${segments.length} · ${formatBytes(ram)}${orphans > 0 ? ` · ${orphans} orphaned` : ''}`;
  item.tooltip = new vscode.MarkdownString(
    'System V shared memory segments (`shmget`) of this IPC namespace, as `ipcs -m` lists them. ' +
      'They are not files in /dev/shm; an orphan (attached by no process) keeps its RAM until it is removed.',
  );
  item.iconPath = new vscode.ThemeIcon('server');
  item.contextValue = 'sysvGroup';
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

export function sysvSegmentItem(id: string, s: SysvSegment): vscode.TreeItem {
  const item = new vscode.TreeItem(s.name, s.holders.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = id;
  item.description = sysvDescription(s);
  const warn = s.error !== null;
  item.iconPath = warn
    ? new vscode.ThemeIcon(isPermissionCode(s.errorCode) ? 'lock' : 'warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
    : new vscode.ThemeIcon(s.dtype ? 'symbol-array' : 'file-binary', s.sysv.nattch === 0 || s.deleted ? new vscode.ThemeColor('list.warningForeground') : undefined);
  item.contextValue = ['sysv', s.format, s.sysv.nattch > 0 ? 'attached' : 'orphan', s.deleted ? 'dest' : ''].filter(Boolean).join(' ');
  return item;
}

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
    ['created by', `pid ${r.cpid}`],
    ['last attach/detach', `pid ${r.lpid}`],
    ['times', `changed ${when(r.ctimeMs)} · attached ${when(r.atimeMs)} · detached ${when(r.dtimeMs)}`],
  ];
  md.appendMarkdown(`**${s.name}** — System V segment\n\n| | |\n|---|---|\n`);
  for (const [k, v] of rows) md.appendMarkdown(`| ${k} | ${v.replace(/\|/g, '\\|')} |\n`);
  if (s.error) md.appendMarkdown(`\n$(warning) ${displayText(s.error).replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')}\n`);
  return md;
}

/** `shmInspector.removeSysv`: IPC_RMID after a modal confirmation that names the processes attached. */
export function registerSysvCommands(deps: { segments: () => SysvSegment[]; refresh: () => Promise<unknown> }): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('shmInspector.removeSysv', async (arg?: unknown) => {
      const name = (arg as { segment?: SysvSegment })?.segment?.name ?? (arg as SysvSegment)?.name ?? (typeof arg === 'string' ? arg : undefined);
      const s = deps.segments().find((x) => x.name === name);
      if (!s) return;
      const attached = s.sysv.nattch;
      const who = s.holders.length > 0 ? s.holders.map((h) => `${holderLabel(h)} (pid ${h.pid})`).join(', ') : `${attached} process${attached === 1 ? '' : 'es'}`;
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
      const o = await removeSysvSegment(s.sysv.shmid, { force: true, expected: s.sysv });
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
