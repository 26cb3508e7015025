/**
 * The table viewer's page as text (preview/page.ts webviewDocument: strict CSP with a nonce), one
 * script (dist/table.js), styles from the VS Code theme. No vscode import, so that tests can serve the same page to a browser.
 */
import { GRID_CSS, webviewDocument } from '../preview/page';

const CSS = `
  html, body { height: 100%; margin: 0; padding: 0; overflow: hidden; }
  body { display: flex; flex-direction: column; font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
         color: var(--vscode-foreground); background: var(--vscode-editor-background); }
  header { display: flex; align-items: baseline; gap: 12px; padding: 6px 12px 4px; white-space: nowrap; overflow: hidden; }
  #title { font-weight: 600; font-size: 1.15em; overflow: hidden; text-overflow: ellipsis; min-width: 4em; }
  #info { color: var(--vscode-descriptionForeground); flex: 0 0 auto; }
  #status { color: var(--vscode-descriptionForeground); margin-left: auto; font-variant-numeric: tabular-nums; font-size: 0.92em;
            overflow: hidden; text-overflow: ellipsis; min-width: 0; }
  .bar { display: flex; align-items: center; gap: 10px; padding: 2px 12px 6px;
         border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
  label { display: inline-flex; align-items: center; gap: 5px; color: var(--vscode-descriptionForeground); }
  input[type=number] { height: 24px; box-sizing: border-box; width: 9em; font: inherit; color: var(--vscode-input-foreground);
         background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); border-radius: 2px; padding: 0 4px; }
  button { height: 24px; font: inherit; color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground);
         border: 1px solid var(--vscode-button-border, transparent); border-radius: 2px; padding: 0 9px; cursor: pointer; white-space: nowrap; }
  button:hover:not(:disabled) { background: var(--vscode-button-secondaryHoverBackground); }
  button.primary { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
  #keep.off { visibility: hidden; }
  #notes { color: var(--vscode-descriptionForeground); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  #error { margin: 8px 12px; padding: 10px 12px; border: 1px solid var(--vscode-inputValidation-errorBorder, #be1100);
           background: var(--vscode-inputValidation-errorBackground, rgba(190,17,0,.15)); display: flex; gap: 12px; align-items: center; }
  #error-text { flex: 1; white-space: pre-wrap; }
  #notice { margin: 4px 12px; padding: 4px 8px; border-left: 3px solid var(--vscode-notificationsInfoIcon-foreground, var(--vscode-focusBorder)); }
  #notice.warning { border-left-color: var(--vscode-notificationsWarningIcon-foreground, #cca700); }
  #notice.error { border-left-color: var(--vscode-notificationsErrorIcon-foreground, #f14c4c); }
  [hidden] { display: none !important; }
  body[data-state=error] #gridwrap { opacity: .35; }
  #gridwrap { flex: 1; min-height: 0; position: relative; }
${GRID_CSS}
  #colstats { position: absolute; z-index: 10; padding: 6px 8px; max-width: 420px; white-space: normal;
              background: var(--vscode-editorHoverWidget-background, #252526); color: var(--vscode-editorHoverWidget-foreground, inherit);
              border: 1px solid var(--vscode-editorHoverWidget-border, #454545); font-variant-numeric: tabular-nums; pointer-events: none; }
  #colstats .name { font-weight: 600; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;

const BODY = `
<header>
  <span id="title">Loading…</span>
  <span id="info"></span>
  <button id="keep" class="off" disabled title="This panel shows the next table you open, unless you keep it (scrolling keeps it too)">Keep open</button>
  <span id="status" aria-live="polite"></span>
</header>
<div class="bar" role="toolbar" aria-label="Table controls">
  <label for="goto">Go to row</label><input id="goto" type="number" min="0" step="1" aria-label="Row number to show first">
  <span id="notes"></span>
</div>
<div id="error" role="alert" hidden><div id="error-text"></div><button id="retry" class="primary">Reopen</button></div>
<div id="notice" role="status" hidden></div>
<div id="gridwrap">
  <div id="scroller" class="grid-scroller" tabindex="0" role="grid" aria-label="Table rows. Arrow keys, Page Up/Down, Home and End scroll.">
    <div id="sticky" class="grid-sticky"><div id="head" role="row"></div><div id="rows"></div></div>
    <div id="spacer" class="grid-spacer"></div>
  </div>
  <div id="colstats" role="tooltip" hidden></div>
</div>`;

export interface TablePageOptions {
  /** The URI of dist/table.js as the webview loads it. */
  script: string;
  title: string;
}

export function tablePage(o: TablePageOptions): string {
  return webviewDocument({ title: o.title, css: CSS, bodyAttrs: 'data-state="loading"', body: `${BODY}\n`, script: o.script });
}
