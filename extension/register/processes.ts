/** The Processes view (extension/sidebar/processes.ts), over the segments the Segments view lists. */
import * as vscode from 'vscode';
import { registerProcessesView } from '../sidebar/processes';
import type { Sidebar } from './sidebar';

export function register(context: vscode.ExtensionContext, sidebar: Sidebar): void {
  context.subscriptions.push(...registerProcessesView(context, { segments: () => sidebar.tree.segments, revealSegment: (s) => sidebar.reveal(s, true) }));
}
