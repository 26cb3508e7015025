/** The memory picture: Show Memory Picture (palette, Processes view title), Watch Family Over Time (a family row), and its return after a window reload. */
import * as vscode from 'vscode';
import { PicturePanel } from '../picture/panel';

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    PicturePanel.registerSerializer(context),
    vscode.commands.registerCommand('shmInspector.showMemoryPicture', () => void PicturePanel.show(context)),
    // From a family row of the Processes view (its node), or with a PID (any member of the family).
    vscode.commands.registerCommand('shmInspector.watchFamily', (arg?: unknown) => {
      const pid =
        typeof arg === 'number'
          ? arg
          : typeof arg === 'string' && /^\d+$/.test(arg)
            ? Number(arg)
            : arg && typeof arg === 'object' && 'family' in arg
              ? (arg as { family: { root: number } }).family.root
              : undefined;
      PicturePanel.show(context, pid);
    }),
  );
}
