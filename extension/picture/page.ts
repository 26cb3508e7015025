/**
 * The memory picture's page as text (the treemap above, the family timeline below), on the
 * webview page shell of extension/preview/page.ts. No vscode import.
 */
import { SHARED_CSS, webviewDocument } from '../preview/page';

const CSS = `${SHARED_CSS}
  :root { --ctl-h: 24px; }
  [hidden] { display: none !important; }
  html, body { height: 100%; margin: 0; padding: 0; overflow: hidden; }
  body { display: flex; flex-direction: column; font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
         color: var(--vscode-foreground); background: var(--vscode-editor-background); }
  header { display: flex; align-items: baseline; gap: 4px 14px; padding: 6px 12px 4px; white-space: nowrap; overflow: hidden; flex-wrap: wrap; }
  #title { font-weight: 600; font-size: 1.15em; }
  #info, #status, .section-info { color: var(--vscode-descriptionForeground); font-variant-numeric: tabular-nums; overflow: hidden; text-overflow: ellipsis; }
  #status { margin-left: auto; }
  #export-png { align-self: center; }
  .section-head { display: flex; align-items: baseline; gap: 10px; padding: 4px 12px 2px; white-space: nowrap; overflow: hidden; }
  .section-title { font-weight: 600; }
  #legend { display: inline-flex; gap: 12px; margin-left: auto; color: var(--vscode-descriptionForeground); font-size: 0.92em; }
  .swatch { display: inline-block; width: 11px; height: 11px; vertical-align: -1px; margin-right: 4px; border: 1px solid var(--vscode-widget-border, rgba(128,128,128,.5)); }
  .plot { position: relative; margin: 0 8px; min-height: 0; }
  #treemap-box { flex: 3 1 0; }
  #timeline-box { flex: 2 1 0; }
  .plot canvas { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
  #treemap { cursor: pointer; }
  #timeline-empty { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; color: var(--vscode-descriptionForeground);
                    text-align: center; padding: 0 24px; pointer-events: none; }
  #notice { margin: 2px 12px; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

const BODY = `
<header>
  <span id="title">Memory picture</span>
  <span id="info">Reading every process…</span>
  <span id="status" aria-live="polite"></span>
  <button id="export-png" title="Save the treemap and the timeline as one PNG image">Export PNG</button>
</header>
<div id="notice" role="status" hidden></div>
<div class="section-head"><span class="section-title">RAM by fork family, process and kind (PSS)</span>
  <span class="section-info" id="treemap-info">click a family (or step with the arrow keys, then Enter) to watch it over time</span><span id="legend"></span></div>
<div id="treemap-box" class="plot"><canvas id="treemap" tabindex="0" role="img" aria-label="Treemap of the machine's RAM: fork families, processes and kinds of memory, sized by PSS. Arrow keys step through the families and processes, Enter watches a family over time"></canvas></div>
<div class="section-head"><span class="section-title" id="timeline-title">Family over time</span><span class="section-info" id="timeline-info"></span></div>
<div id="timeline-box" class="plot"><canvas id="timeline" role="img" aria-label="Shared and copied bytes of each forked member over time"></canvas>
  <div id="timeline-empty"><span>Click a fork family in the treemap (or <i>Watch Family Over Time</i> on a family in the Processes view) to watch what its members still share with their parents and what they have copied.</span></div></div>
<div id="tooltip" hidden></div>
<span id="announce" class="sr-only" aria-live="polite"></span>`;

export function picturePage(o: { script: string; cspSource: string }): string {
  return webviewDocument({
    script: o.script,
    imgSrc: `${o.cspSource} data: blob:`,
    title: 'Memory Picture',
    css: CSS,
    bodyAttrs: 'data-state="loading"',
    body: `${BODY}\n`,
  });
}
