/**
 * The viewer webview's entry point (the preview panel, Quick Look and the .npy/.safetensors
 * editor): starts the heatmap viewer (heatmap-viewer.ts) on the page's webview API. The parts a
 * viewer is made of are reusable by others (the table viewer): the settings store (store.ts), the
 * container that owns the request life cycle (container.ts, on contract/requests.ts), the toolbar
 * wiring (toolbar.ts) and the drawing (draw.ts, plot.ts).
 */
import type { PostApi } from './container';
import { HeatmapViewer } from './heatmap-viewer';
import type { StateApi } from './store';

declare function acquireVsCodeApi(): PostApi & StateApi;

new HeatmapViewer(acquireVsCodeApi()).start();
