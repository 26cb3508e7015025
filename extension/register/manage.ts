/** Management: create, persist, restore, unlink, clear, attach code (extension/commands/manage.ts) and removing System V segments. */
import * as vscode from 'vscode';
import { registerManageCommands } from '../commands/manage';
import { registerSysvCommands } from '../sidebar/sysv';
import { configuredDirs } from './settings';
import type { Sidebar } from './sidebar';

export function register(context: vscode.ExtensionContext, sidebar: Sidebar): void {
  const { tree } = sidebar;
  context.subscriptions.push(
    ...registerSysvCommands({ segments: () => [...tree.sysv, ...tree.foreignSysv.segments], refresh: () => tree.refresh() }),
    ...registerManageCommands({
      dir: () => configuredDirs()[0],
      targets: sidebar.targets,
      refresh: sidebar.refresh,
      reveal: async (name: string) => {
        const s = tree.segments.find((x) => x.name === name && !x.deleted);
        if (!s) return;
        try {
          await sidebar.reveal(s, false);
        } catch {
          // hidden by the filter or the grouping: nothing to reveal
        }
      },
    }),
  );
}
