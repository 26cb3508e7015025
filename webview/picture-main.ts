/** The memory picture webview's entry point (dist/picture.js): starts the picture viewer on the page's webview API. */
import type { PostApi } from './container';
import { PictureViewer } from './picture-viewer';
import type { StateApi } from './store';

declare function acquireVsCodeApi(): PostApi & StateApi;

new PictureViewer(acquireVsCodeApi()).start();
