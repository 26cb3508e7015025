/**
 * The extension's entry point: each area registers itself (extension/register/: the Segments
 * view, the viewer, Quick Look, management, the Processes view, the memory picture) over extension/core, and
 * `activate` returns the API tests and other extensions use (extension/api.ts).
 */
import * as vscode from 'vscode';
import type { ShmInspectorApi } from './api';
import { nativeLoadError } from './native';
import { PreviewPanel } from './preview';
import * as manage from './register/manage';
import * as picture from './register/picture';
import * as preview from './register/preview';
import * as processes from './register/processes';
import * as quickLook from './register/quicklook';
import * as sidebar from './register/sidebar';
import * as table from './register/table';

export function activate(context: vscode.ExtensionContext): ShmInspectorApi {
  const segments = sidebar.register(context);
  reportNativeLoadError();
  quickLook.register(context, segments);
  preview.register(context, segments);
  table.register(context, segments);
  manage.register(context, segments);
  processes.register(context, segments);
  picture.register(context);
  segments.start();
  return api(segments);
}

export function deactivate(): void {}

/** Without the addon nothing lists: an error with the reasons a click away. */
function reportNativeLoadError(): void {
  const nativeError = nativeLoadError();
  if (!nativeError) return;
  void vscode.window.showErrorMessage(`SHM Inspector: ${nativeError.split('\n')[0]}`, 'Show Details').then((c) => {
    if (c) void vscode.window.showInformationMessage(nativeError, { modal: true });
  });
}

function api(segments: sidebar.Sidebar): ShmInspectorApi {
  const { tree, status } = segments;
  return {
    apiVersion: 1,
    segments: () => tree.segments,
    refresh: segments.refresh,
    previews: () => PreviewPanel.all(),
    nativeError: () => nativeLoadError(),
    shown: () => {
      const v = tree.view;
      return {
        state: tree.state,
        names: v.groups.length > 0 ? v.groups.flatMap((g) => g.segments.map((s) => s.name)) : v.segments.map((s) => s.name),
        groups: v.groups.map((g) => g.label),
        deleted: v.deleted.map((s) => s.name),
        hidden: v.hidden,
      };
    },
    statusBar: () => ({ text: status.text, warning: status.warning }),
  };
}
