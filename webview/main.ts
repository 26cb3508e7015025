/**
 * The viewer webview's entry point (the preview panel, Quick Look and the .npy/.safetensors
 * editor): starts the heatmap viewer (heatmap-viewer.ts) on the page's webview API, and in Quick
 * Look the table beside it (quick-table.ts: a table's first rows). The parts a viewer is made of
 * are reusable by others (the table viewer): the settings store (store.ts), the container that
 * owns the request life cycle (container.ts, on contract/requests.ts), the toolbar wiring
 * (toolbar.ts), the drawing (draw.ts, plot.ts) and the grid of cells (grid-pane.ts).
 */
import type { PostApi } from './container';
import { HeatmapViewer } from './heatmap-viewer';
import { QuickTable } from './quick-table';
import type { StateApi } from './store';

declare function acquireVsCodeApi(): PostApi & StateApi;

const api = acquireVsCodeApi();
if (document.body.dataset.layout === 'compact') new QuickTable(api).start();
new HeatmapViewer(api).start();
