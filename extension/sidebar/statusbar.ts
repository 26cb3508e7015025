/** The status bar item: used/total of the first directory (normally /dev/shm), warning colour above a threshold. */
import * as vscode from 'vscode';
import { formatBytes } from '../core/format-words';
import type { DirectoryUsage } from '../core/types';

/** What the other kinds of shared memory hold (System V, memfd and anonymous, containers), set after each scan. */
let otherKinds: { label: string; count: number; bytes: number }[] = [];

export function setOtherKinds(totals: { label: string; count: number; bytes: number }[]): void {
  otherKinds = totals;
}

export class UsageStatus implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private last: { dirs: DirectoryUsage[]; shmem: number | null } | null = null;

  constructor(private readonly threshold: () => number) {
    this.item = vscode.window.createStatusBarItem('shmInspector.usage', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Shared Memory Usage';
    this.item.command = 'shmInspector.segments.focus';
    this.item.text = '$(server) shm …';
    this.item.show();
  }

  update(dirs: DirectoryUsage[], shmem: number | null): void {
    this.last = { dirs, shmem };
    if (dirs.length === 0) {
      this.item.hide();
      return;
    }
    const d = dirs[0];
    const pct = d.size > 0 ? (100 * d.used) / d.size : 0;
    const limit = this.threshold();
    this.item.text = `$(server) ${d.path === '/dev/shm' ? 'shm' : d.path} ${formatBytes(d.used)} / ${formatBytes(d.size)}`;
    const warn = pct >= limit;
    this.item.backgroundColor = warn ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.color = warn ? new vscode.ThemeColor('statusBarItem.warningForeground') : undefined;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown('**Shared memory**\n\n| | used | total | free |\n|---|--:|--:|--:|\n');
    for (const u of dirs) {
      md.appendMarkdown(
        `| \`${u.path}\` | ${formatBytes(u.used)} (${u.size > 0 ? ((100 * u.used) / u.size).toFixed(0) : 0}%) | ${formatBytes(u.size)} | ${formatBytes(u.free)} |\n`,
      );
    }
    if (otherKinds.length > 0) {
      md.appendMarkdown('\n| beyond /dev/shm | segments | in RAM |\n|---|--:|--:|\n');
      for (const k of otherKinds) md.appendMarkdown(`| ${k.label} | ${k.count} | ${formatBytes(k.bytes)} |\n`);
    }
    if (shmem !== null) md.appendMarkdown(`\nShmem (all shared memory, /proc/meminfo): ${formatBytes(shmem)}\n`);
    if (warn) md.appendMarkdown(`\n$(warning) Above ${limit}%: a full /dev/shm starves every process that needs shared memory.\n`);
    md.appendMarkdown('\nClick to show the segments.');
    this.item.tooltip = md;
    this.item.show();
  }

  /** Re-applies the threshold (after a settings change). */
  reapply(): void {
    if (this.last) this.update(this.last.dirs, this.last.shmem);
  }

  get text(): string {
    return this.item.text;
  }

  get warning(): boolean {
    return this.item.backgroundColor !== undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
