/** The table viewer webview's entry point (issue #16): starts the table viewer (table-viewer.ts) on the page's webview API. */
import type { PostApi } from './container';
import type { StateApi } from './store';
import { TableViewer } from './table-viewer';

declare function acquireVsCodeApi(): PostApi & StateApi;

new TableViewer(acquireVsCodeApi()).start();
