/**
 * The viewer's page as text: strict CSP with a nonce, one script, styles from the VS Code theme,
 * and the init a new panel's page may carry. No vscode import (html.ts gives it VS Code's URIs),
 * so that tests can serve the same page to a browser.
 */
import * as crypto from 'crypto';

/** Rules every webview page of ours shares (buttons, notices, the tooltip), in the theme's colours. */
export const SHARED_CSS = `
  button { height: var(--ctl-h); font: inherit; color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground);
         border: 1px solid var(--vscode-button-border, transparent); border-radius: 2px; padding: 0 9px; cursor: pointer; white-space: nowrap; }
  button:hover:not(:disabled) { background: var(--vscode-button-secondaryHoverBackground); }
  button:disabled, select:disabled, input:disabled { opacity: .5; cursor: default; }
  button.primary { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
  button.primary:hover { background: var(--vscode-button-hoverBackground); }
  :focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
  #notice { margin: 0 12px; padding: 4px 8px; border-left: 3px solid var(--vscode-notificationsInfoIcon-foreground, var(--vscode-focusBorder)); }
  #notice.error { border-left-color: var(--vscode-notificationsErrorIcon-foreground, #f14c4c); }
  #notice.warning { border-left-color: var(--vscode-notificationsWarningIcon-foreground, #cca700); }
  #tooltip { position: absolute; pointer-events: none; z-index: 5; padding: 5px 8px; border-radius: 3px; white-space: pre;
             font-family: var(--vscode-editor-font-family, monospace); font-size: 0.92em; line-height: 1.45;
             color: var(--vscode-editorHoverWidget-foreground, var(--vscode-foreground)); background: var(--vscode-editorHoverWidget-background);
             border: 1px solid var(--vscode-editorHoverWidget-border, var(--vscode-widget-border)); box-shadow: 0 2px 8px var(--vscode-widget-shadow, rgba(0,0,0,.35)); }
  #tooltip .k { color: var(--vscode-descriptionForeground); }
`;

/** The virtual grid of cells (webview/grid-pane.ts): the table viewer's, and the matrix viewer's grid of values. */
export const GRID_CSS = `
  .grid-scroller { position: absolute; inset: 0; overflow: auto; outline: none; }
  .grid-scroller:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
  .grid-sticky { position: sticky; top: 0; left: 0; overflow: hidden; }
  .grid-spacer { pointer-events: none; }
  .cell, .hcell, .rnum { position: absolute; box-sizing: border-box; padding: 0 8px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
          line-height: 22px; height: 22px; border-right: 1px solid var(--vscode-editorGroup-border, rgba(128,128,128,.2));
          font-variant-numeric: tabular-nums; }
  .row-odd { background: var(--vscode-list-hoverBackground, rgba(128,128,128,.06)); }
  .cell.num, .cell.nan { text-align: right; font-family: var(--vscode-editor-font-family, monospace); }
  .cell.null { color: var(--vscode-disabledForeground, #888); font-style: italic; }
  .cell.nan { color: var(--vscode-debugTokenExpression-number, #b5cea8); font-style: italic; }
  .cell.pending { color: var(--vscode-disabledForeground, #888); }
  .rnum { text-align: right; color: var(--vscode-editorLineNumber-foreground, #858585); background: var(--vscode-editor-background); z-index: 1; }
  .hcell { height: 26px; line-height: 13px; padding-top: 0; font-weight: 600; background: var(--vscode-editorGroupHeader-tabsBackground, var(--vscode-editor-background));
           border-bottom: 1px solid var(--vscode-panel-border, rgba(128,128,128,.35)); cursor: default; z-index: 2; }
  .hcell .type { display: block; font-weight: normal; font-size: .85em; color: var(--vscode-descriptionForeground); overflow: hidden; text-overflow: ellipsis; }
  .hcell.num { text-align: right; }
  .hcell:hover { background: var(--vscode-list-hoverBackground); }
  .hcell.corner { z-index: 3; }
  .cell.marked { outline: 2px solid var(--vscode-focusBorder, #007fd4); outline-offset: -2px; }
  .hcell:focus-visible, .cell:focus-visible { outline: 1px solid var(--vscode-focusBorder, #007fd4); outline-offset: -1px; }
  .col-resize { position: absolute; top: 0; right: 0; width: 6px; height: 100%; cursor: col-resize; z-index: 1; }
  .col-resize:hover { background: var(--vscode-sash-hoverBorder, var(--vscode-focusBorder, #007fd4)); }
  body.col-resizing, body.col-resizing * { cursor: col-resize !important; user-select: none; }
  .cell.expandable { cursor: pointer; }
  .value-tree { position: absolute; z-index: 10; min-width: 200px; max-width: min(560px, 92%); overflow: hidden auto; padding: 3px 0 4px; line-height: 20px;
                font-family: var(--vscode-editor-font-family, monospace); font-size: 0.92em;
                color: var(--vscode-editorHoverWidget-foreground, var(--vscode-foreground)); background: var(--vscode-editorHoverWidget-background, #252526);
                border: 1px solid var(--vscode-editorHoverWidget-border, var(--vscode-widget-border, #454545));
                box-shadow: 0 2px 8px var(--vscode-widget-shadow, rgba(0,0,0,.35)); }
  .value-tree .vt-caption { padding: 0 8px 3px; margin-bottom: 2px; font-family: var(--vscode-font-family); color: var(--vscode-descriptionForeground);
                border-bottom: 1px solid var(--vscode-editorHoverWidget-border, rgba(128,128,128,.35)); white-space: nowrap; }
  .vt-line { white-space: nowrap; padding-right: 10px; overflow: hidden; text-overflow: ellipsis; }
  .vt-item[aria-expanded] > .vt-line { cursor: pointer; }
  .vt-line:hover { background: var(--vscode-list-hoverBackground, rgba(128,128,128,.12)); }
  .vt-item:focus { outline: none; }
  .vt-item:focus > .vt-line { outline: 1px solid var(--vscode-focusBorder, #007fd4); outline-offset: -1px; }
  .vt-twisty { display: inline-block; width: 14px; color: var(--vscode-descriptionForeground); }
  .vt-key { color: var(--vscode-debugTokenExpression-name, #c586c0); margin-right: 6px; }
  .vt-text.num { color: var(--vscode-debugTokenExpression-number, #b5cea8); }
  .vt-text.str { color: var(--vscode-debugTokenExpression-string, #ce9178); }
  .vt-text.bool { color: var(--vscode-debugTokenExpression-boolean, #4e94ce); }
  .vt-text.null { color: var(--vscode-disabledForeground, #888); font-style: italic; }
  .vt-text.list, .vt-text.struct { color: var(--vscode-descriptionForeground); }
  .vt-preview { margin-left: 8px; color: var(--vscode-descriptionForeground); opacity: .75; }
  .vt-more { color: var(--vscode-descriptionForeground); font-style: italic; white-space: nowrap; }
`;

const CSS = `${SHARED_CSS}${GRID_CSS}
  :root { --gap: 6px; --ctl-h: 24px; }
  html, body { height: 100%; margin: 0; padding: 0; overflow: hidden; }
  body { display: flex; flex-direction: column; font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
         color: var(--vscode-foreground); background: var(--vscode-editor-background); }
  /* The header has two lines of fixed height whatever their text (long names, statistics arriving):
     the plot never changes size under the user, which would also ask the host for the picture again.
     Line 1: the name, cut in its middle when too long (its end, _1a2b.npy, tells segments apart);
     line 2: the facts (dtype, shape, size), never cut, and the status, cut at its end. */
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 12px; padding: 6px 12px 2px; white-space: nowrap; overflow: hidden; }
  header .break { order: 2; flex: 0 0 100%; height: 0; }
  /* Inline boxes, not flex items: the element's text (innerText too) stays the name on one line. */
  #title { font-weight: 600; font-size: 1.15em; min-width: 4em; flex: 1 1 0; overflow: hidden; min-height: 1.35em; }
  #title .head { display: inline-block; vertical-align: bottom; overflow: hidden; text-overflow: ellipsis; max-width: 100%; }
  #info { order: 3; color: var(--vscode-descriptionForeground); flex: 0 0 auto; min-height: 1.35em; }
  #keep { height: 20px; padding: 0 7px; font-size: 0.9em; align-self: center; flex: none; }
  #keep.off { visibility: hidden; }
  #status { order: 4; color: var(--vscode-descriptionForeground); margin-left: auto; font-variant-numeric: tabular-nums; font-size: 0.92em;
             overflow: hidden; text-overflow: ellipsis; min-width: 0; flex: 0 1 auto; }
  .bar { display: flex; flex-wrap: wrap; align-items: center; gap: var(--gap) 10px; padding: 4px 12px; }
  #toolbar { border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); padding-bottom: 6px; }
  .group { display: inline-flex; align-items: center; gap: 6px; }
  .group + .group { padding-left: 10px; border-left: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, rgba(128,128,128,.3))); }
  label { display: inline-flex; align-items: center; gap: 5px; color: var(--vscode-descriptionForeground); white-space: nowrap; }
  select, input[type=number] { height: var(--ctl-h); box-sizing: border-box; font: inherit; color: var(--vscode-dropdown-foreground);
         background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); border-radius: 2px; padding: 0 4px; }
  input[type=number] { width: 7.5em; color: var(--vscode-input-foreground); background: var(--vscode-input-background);
         border-color: var(--vscode-input-border, transparent); }
  input[type=checkbox] { accent-color: var(--vscode-checkbox-background, var(--vscode-button-background)); margin: 0; }
  input[type=range] { accent-color: var(--vscode-button-background); width: 180px; }
  body[data-state=error] #figure { opacity: .35; }
  button[aria-pressed=true] { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
  button[aria-pressed=true]:hover:not(:disabled) { background: var(--vscode-button-hoverBackground); }
  #slicer:empty, [hidden] { display: none !important; }
  .axis-slider { display: inline-flex; align-items: center; gap: 6px; }
  .axis-slider output { min-width: 5ch; font-variant-numeric: tabular-nums; color: var(--vscode-foreground); }
  #error { margin: 8px 12px; padding: 10px 12px; border: 1px solid var(--vscode-inputValidation-errorBorder, #be1100);
           background: var(--vscode-inputValidation-errorBackground, rgba(190,17,0,.15)); display: flex; gap: 12px; align-items: center; }
  #error-text { flex: 1; white-space: pre-wrap; }
  #figure { flex: 1; min-height: 0; position: relative; margin: 4px 8px 0; }
  #figure canvas { position: absolute; }
  #heatmap { image-rendering: pixelated; cursor: crosshair; outline-offset: 2px;
             background-color: #bdbdbd; background-image: linear-gradient(45deg, #8e8e8e 25%, transparent 25%, transparent 75%, #8e8e8e 75%),
             linear-gradient(45deg, #8e8e8e 25%, transparent 25%, transparent 75%, #8e8e8e 75%); background-size: 10px 10px; background-position: 0 0, 5px 5px; }
  body[data-plot=line] #heatmap { background: transparent; }
  #heatmap.dragging { cursor: grabbing; }
  #overlay, #cells { pointer-events: none; }
  footer { display: flex; gap: 4px 18px; align-items: center; padding: 4px 12px 8px; color: var(--vscode-descriptionForeground); font-size: 0.92em;
           white-space: nowrap; overflow: hidden; }
  #legend { display: inline-flex; gap: 12px; align-items: center; flex: none; }
  .swatch { display: inline-block; width: 11px; height: 11px; vertical-align: -1px; margin-right: 4px; border: 1px solid var(--vscode-widget-border, rgba(128,128,128,.5)); }
  .swatch.nan { background-color: #bdbdbd; background-image: linear-gradient(45deg, #8e8e8e 25%, transparent 25%, transparent 75%, #8e8e8e 75%),
             linear-gradient(45deg, #8e8e8e 25%, transparent 25%, transparent 75%, #8e8e8e 75%); background-size: 6px 6px; background-position: 0 0, 3px 3px; }
  #stats { font-variant-numeric: tabular-nums; margin-left: auto; overflow: hidden; text-overflow: ellipsis; min-width: 0; flex: 0 1 auto; }
  #hint { opacity: .75; overflow: hidden; text-overflow: ellipsis; min-width: 0; flex: 0 1000 auto; }
  /* Quick Look (a view in the sidebar): the picture, its name and the colorbar; the controls are the full preview's. */
  #open { height: 20px; padding: 0 7px; font-size: 0.9em; align-self: center; flex: none; }
  body[data-layout=compact] { background: var(--vscode-sideBar-background, var(--vscode-editor-background)); }
  body[data-layout=compact] header { padding: 4px 8px 0; gap: 0 8px; flex-wrap: wrap; }
  /* dtype · shape · size on a line of its own, there from the start (the plot keeps its size). */
  body[data-layout=compact] #info { flex: 1 0 100%; min-height: 1.4em; font-size: 0.92em; overflow: hidden; text-overflow: ellipsis; }
  body[data-layout=compact] #title { font-size: 1em; }
  body[data-layout=compact] #toolbar, body[data-layout=compact] #slicer, body[data-layout=compact] #hint,
  body[data-layout=compact] #keep, body[data-layout=compact] #status { display: none !important; }
  body[data-layout=compact] #figure { margin: 2px 4px 0; }
  body[data-layout=compact] footer { padding: 2px 8px 4px; gap: 4px 10px; }
  body:not([data-layout=compact]) #open { display: none; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  /* The grid of values (the Table toggle; Quick Look's first rows of a table) takes the figure's place. */
  #vgrid { flex: 1; min-height: 0; position: relative; margin: 4px 8px 0; display: none; }
  body[data-view=grid] #vgrid { display: block; }
  body[data-view=grid] #figure, body[data-view=grid] #legend, body[data-view=grid] #hint, body[data-view=grid] #stats { display: none; }
  body[data-layout=compact] #vgrid { margin: 2px 0 0; }
  body[data-state=error] #vgrid { opacity: .35; }
`;

const BODY = `
<header>
  <span id="title">Loading…</span>
  <span id="info"></span>
  <button id="open" disabled title="Open this array in a preview editor, with every control">Open</button>
  <button id="keep" class="off" disabled title="This panel shows the next segment you preview, unless you keep it (zooming, panning or changing a control keeps it too)">Keep open</button>
  <span class="break"></span>
  <span id="status" aria-live="polite"></span>
</header>
<div id="toolbar" class="bar" role="toolbar" aria-label="Viewer controls">
  <span class="group">
    <label for="colormap">Colormap</label><select id="colormap"></select>
    <label title="Reverse the colormap"><input type="checkbox" id="invert"> Invert</label>
  </span>
  <span class="group">
    <label for="scale">Scale</label><select id="scale"></select>
    <label for="domain">Domain</label><select id="domain"></select>
    <span id="custom-domain" hidden>
      <input id="domain-lo" type="number" step="any" aria-label="Domain low end">
      <input id="domain-hi" type="number" step="any" aria-label="Domain high end">
    </span>
  </span>
  <span class="group">
    <label for="mode" title="How many elements one cell on screen stands for are reduced">Cells</label><select id="mode"></select>
    <label for="aspect">Aspect</label><select id="aspect"><option value="equal">Equal</option><option value="fill">Fill</option></select>
  </span>
  <span class="group">
    <label for="live" title="Re-read the visible window periodically">Live</label><select id="live"></select>
    <button id="pause" aria-pressed="false" disabled>Pause</button>
  </span>
  <span class="group">
    <button id="table-toggle" aria-pressed="false" title="Show the elements around the centre of the view (or the hovered cell) as a grid of their exact values, and back (T)">Table</button>
    <button id="reset" title="Show the whole array (0)">Reset zoom</button>
    <button id="export-png" title="Save the figure as a PNG image">Export PNG</button>
    <button id="save-npy" title="Save the visible window's elements as a .npy file">Save .npy</button>
  </span>
</div>
<div id="slicer" class="bar" aria-label="Slice selection"></div>
<div id="error" role="alert" hidden><div id="error-text"></div><button id="retry" class="primary">Reopen</button></div>
<div id="notice" role="status" hidden></div>
<div id="figure">
  <canvas id="yaxis" aria-hidden="true"></canvas>
  <canvas id="xaxis" aria-hidden="true"></canvas>
  <canvas id="colorbar" aria-hidden="true"></canvas>
  <canvas id="heatmap" tabindex="0" role="img" aria-label="Heatmap of the array. Arrow keys pan, plus and minus zoom, 0 resets; shift-drag zooms to a box."></canvas>
  <canvas id="cells" aria-hidden="true"></canvas>
  <canvas id="overlay" aria-hidden="true"></canvas>
  <div id="tooltip" hidden></div>
</div>
<div id="vgrid">
  <div id="vg-scroller" class="grid-scroller" tabindex="0" role="grid" aria-label="Elements. Arrow keys, Page Up/Down, Home and End scroll.">
    <div id="vg-sticky" class="grid-sticky"><div id="vg-head" role="row"></div><div id="vg-rows"></div></div>
    <div id="vg-spacer" class="grid-spacer"></div>
  </div>
</div>
<footer>
  <span id="legend"></span>
  <span id="hint">Wheel: zoom · drag: pan · shift-drag: box zoom · double-click / 0: reset · T: table of values</span>
  <span id="stats"></span>
</footer>`;

/** An init message carried by the page itself: JSON (without the picture's values) and the values as base64 float32. */
export interface EmbeddedInit {
  json: string;
  values: string;
}

export interface PageOptions {
  /** The URI of dist/webview.js as the webview loads it. */
  script: string;
  /** Where images may come from besides data: and blob: URIs (the webview's cspSource). */
  cspSource: string;
  title: string;
  init?: EmbeddedInit;
  /** Quick Look's layout (picture and colorbar, no controls), with `placeholder` in the title until an array is shown. */
  compact?: boolean;
  placeholder?: string;
}

/** Text escaped for HTML (attributes and elements). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/**
 * A webview's document, for every viewer (matrix and table): a strict CSP with a nonce (images
 * only from `imgSrc` when given), the styles, the body (with `bodyAttrs`), then one script.
 */
export function webviewDocument(o: { title: string; css: string; bodyAttrs: string; body: string; script: string; imgSrc?: string }): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const csp = ["default-src 'none'", ...(o.imgSrc ? [`img-src ${o.imgSrc}`] : []), `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">${o.css}</style>
<title>${escapeHtml(o.title)}</title>
</head>
<body ${o.bodyAttrs}>
${o.body}<script nonce="${nonce}" src="${o.script}"></script>
</body>
</html>`;
}

export function viewerPage(o: PageOptions): string {
  const { init } = o;
  const body = o.placeholder ? BODY.replace('<span id="title">Loading…</span>', `<span id="title">${escapeHtml(o.placeholder)}</span>`) : BODY;
  const blocks = init
    ? // Data blocks, never run; '<' is escaped so that no text in them can close the element.
      `<script type="application/json" id="init-json">${init.json.replace(/</g, '\\u003c')}</script>\n<script type="text/plain" id="init-values">${init.values}</script>\n`
    : '';
  return webviewDocument({
    title: o.title,
    css: CSS,
    bodyAttrs: `data-state="loading"${o.compact ? ' data-layout="compact"' : ''}`,
    body: `${body}\n${blocks}`,
    script: o.script,
    imgSrc: `${o.cspSource} data: blob:`,
  });
}
