/** The Segments tree view: one item per catalog entry, children for containers. */
import * as vscode from 'vscode';
import { listCatalog } from './core/catalog';
import { formatBytes, isPreviewable, segmentDescription, shapeWords } from './core/format-words';
import { dtypeWords } from './core/dtype';
import type { Catalog, Segment } from './core/types';

export class SegmentTree implements vscode.TreeDataProvider<Segment>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Segment | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private catalog: Catalog | null = null;
  private loadError: string | null = null;
  private running: Promise<Catalog | null> | null = null;
  private queued: Promise<Catalog | null> | null = null;

  constructor(private readonly dirs: () => string[]) {}

  get segments(): Segment[] {
    return this.catalog?.segments ?? [];
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

  private async scan(): Promise<Catalog | null> {
    try {
      this.catalog = await listCatalog({ dirs: this.dirs() });
      this.loadError = null;
    } catch (e) {
      this.loadError = e instanceof Error ? e.message : String(e);
      this.catalog = null;
    }
    this.changed.fire();
    return this.catalog;
  }

  getChildren(el?: Segment): Segment[] {
    if (el) return el.children ?? [];
    return this.segments;
  }

  getTreeItem(s: Segment): vscode.TreeItem {
    const label = s.name.includes('/') && s.format !== 'directory' ? s.name.slice(s.name.lastIndexOf('/') + 1) : s.name;
    const item = new vscode.TreeItem(
      label,
      s.children && s.children.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `${s.deleted ? 'deleted:' : ''}${s.path}:${s.ino}`;
    item.description = segmentDescription(s);
    const previewable = isPreviewable(s);
    item.contextValue = ['segment', s.format, previewable ? 'previewable' : ''].filter(Boolean).join(' ');
    item.iconPath = new vscode.ThemeIcon(
      s.error ? 'warning' : s.format === 'directory' ? 'folder' : s.format === 'symlink' ? 'link' : previewable ? 'symbol-array' : 'file-binary',
    );
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${s.name}**\n\n`);
    md.appendMarkdown(`| | |\n|---|---|\n`);
    md.appendMarkdown(`| format | ${s.format} |\n`);
    if (s.dtype) md.appendMarkdown(`| dtype | ${dtypeWords(s.dtype)} (\`${s.dtype}\`) |\n`);
    if (s.shape) md.appendMarkdown(`| shape | ${shapeWords(s.shape)} |\n`);
    md.appendMarkdown(`| size | ${formatBytes(s.size)} (${formatBytes(s.allocatedBytes)} in RAM) |\n`);
    if (s.holders.length) md.appendMarkdown(`| held by | ${s.holders.map((h) => `${h.comm} (${h.pid})`).join(', ')} |\n`);
    if (s.error) md.appendMarkdown(`\n$(warning) ${s.error}\n`);
    item.tooltip = md;
    if (previewable) {
      item.command = { command: 'shmInspector.preview', title: 'Preview Segment', arguments: [s] };
    }
    return item;
  }

  getParent(): undefined {
    return undefined;
  }

  get error(): string | null {
    return this.loadError;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
