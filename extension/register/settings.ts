/** The extension's settings (`shmInspector.*`) as the registration modules read them. */
import * as vscode from 'vscode';
import { DEFAULT_DIR } from '../core/catalog';

export const CONFIG = 'shmInspector';

export function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(CONFIG);
}

/** The directories to list: the setting, or /dev/shm when it is empty. */
export function configuredDirs(): string[] {
  const dirs = config().get<string[]>('directories');
  return dirs && dirs.length > 0 ? dirs : [DEFAULT_DIR];
}

/** Writes a setting for the user (every window). */
export function setSetting(key: string, value: unknown): Thenable<void> {
  return config().update(key, value, vscode.ConfigurationTarget.Global);
}

export function setContext(key: string, value: unknown): void {
  void vscode.commands.executeCommand('setContext', key, value);
}
