/**
 * The toolbar's wiring: each control's events turned into the viewer's actions (values checked
 * against their registries first), and the controls set from the settings. The options in the
 * selects are filled by controls.ts.
 */
import { isColormap, type ColormapName } from '../contract/colormaps';
import { isReduceMode, type ReduceMode } from '../contract/reduce';
import { byId, elementsById } from './controls';
import { isDomainMode, isScale, type DomainMode, type ScaleName } from './scales';
import type { ViewState } from './state';

/** The toolbar's controls (and the header's Keep open and Open, the error's Reopen), each of the type it must be. */
export function toolbarElements() {
  return elementsById({
    colormap: ['colormap', HTMLSelectElement],
    invert: ['invert', HTMLInputElement],
    scale: ['scale', HTMLSelectElement],
    domain: ['domain', HTMLSelectElement],
    customDomain: ['custom-domain', HTMLElement],
    domainLo: ['domain-lo', HTMLInputElement],
    domainHi: ['domain-hi', HTMLInputElement],
    mode: ['mode', HTMLSelectElement],
    aspect: ['aspect', HTMLSelectElement],
    live: ['live', HTMLSelectElement],
    pause: ['pause', HTMLButtonElement],
    table: ['table-toggle', HTMLButtonElement],
    reset: ['reset', HTMLButtonElement],
    retry: ['retry', HTMLButtonElement],
    exportPng: ['export-png', HTMLButtonElement],
    saveNpy: ['save-npy', HTMLButtonElement],
    keep: ['keep', HTMLButtonElement],
    open: ['open', HTMLButtonElement],
  });
}

export type ToolbarElements = ReturnType<typeof toolbarElements>;

export interface ToolbarActions {
  colormap(name: ColormapName): void;
  invert(on: boolean): void;
  scale(s: ScaleName): void;
  domain(d: DomainMode): void;
  /** The custom domain's ends as typed (null: not a number, left as it was). */
  customDomain(lo: number | null, hi: number | null): void;
  mode(m: ReduceMode): void;
  aspect(a: 'equal' | 'fill'): void;
  /** Seconds between live re-reads, 0 = off. */
  live(seconds: number): void;
  pause(): void;
  /** The Table toggle: the grid of exact values around the centre of the view, and back. */
  table(): void;
  reset(): void;
  retry(): void;
  saveNpy(): void;
  exportPng(): void;
  /** Keep open; and any control changed (toolbar or slice selector): the user made this view theirs. */
  pin(): void;
  open(): void;
}

/** A select's change, acted on only when its value is one the registry knows. */
function onSelect<T extends string>(select: HTMLSelectElement, known: (v: string) => v is T, act: (v: T) => void): void {
  select.addEventListener('change', () => known(select.value) && act(select.value));
}

/** The buttons that do one thing when clicked: the action of the same name (Keep open: `pin`). */
const BUTTONS = [
  ['pause', 'pause'],
  ['table', 'table'],
  ['reset', 'reset'],
  ['retry', 'retry'],
  ['saveNpy', 'saveNpy'],
  ['exportPng', 'exportPng'],
  ['keep', 'pin'],
  ['open', 'open'],
] as const;

/** Turns the controls' events into the actions: the toolbar's one wiring, with each control's values checked. */
export function wireToolbar(el: ToolbarElements, a: ToolbarActions): void {
  onSelect(el.colormap, isColormap, (c) => a.colormap(c));
  el.invert.addEventListener('change', () => a.invert(el.invert.checked));
  onSelect(el.scale, isScale, (s) => a.scale(s));
  onSelect(el.domain, isDomainMode, (d) => a.domain(d));
  const custom = () => {
    const lo = el.domainLo.valueAsNumber;
    const hi = el.domainHi.valueAsNumber;
    a.customDomain(Number.isFinite(lo) ? lo : null, Number.isFinite(hi) ? hi : null);
  };
  el.domainLo.addEventListener('change', custom);
  el.domainHi.addEventListener('change', custom);
  onSelect(el.mode, isReduceMode, (m) => a.mode(m));
  el.aspect.addEventListener('change', () => a.aspect(el.aspect.value === 'fill' ? 'fill' : 'equal'));
  el.live.addEventListener('change', () => {
    const s = Number(el.live.value);
    a.live(Number.isFinite(s) ? s : 0);
  });
  for (const [button, action] of BUTTONS) el[button].addEventListener('click', () => a[action]());
  // Any control the user changes (toolbar or slice sliders) keeps this array in the panel.
  byId('toolbar').addEventListener('change', () => a.pin());
  byId('slicer').addEventListener('input', () => a.pin());
  byId('slicer').addEventListener('change', () => a.pin());
}

/** Sets the controls from the settings; a line plot has no colours, cells or aspect to choose. */
export function syncToolbar(el: ToolbarElements, st: ViewState, opts: { line: boolean; aspect: 'equal' | 'fill'; grid: boolean }): void {
  el.colormap.value = st.colormap;
  el.invert.checked = st.invert;
  el.scale.value = st.scale;
  el.domain.value = st.domain;
  el.customDomain.hidden = st.domain !== 'custom';
  if (st.customLo !== null) el.domainLo.value = String(st.customLo);
  if (st.customHi !== null) el.domainHi.value = String(st.customHi);
  el.mode.value = st.mode;
  el.mode.disabled = opts.line;
  el.aspect.value = opts.aspect;
  el.aspect.disabled = opts.line;
  el.colormap.disabled = el.invert.disabled = opts.line;
  el.live.value = String(st.live);
  el.pause.disabled = st.live === 0;
  el.pause.textContent = st.paused ? 'Resume' : 'Pause';
  el.pause.setAttribute('aria-pressed', String(st.paused));
  el.table.setAttribute('aria-pressed', String(opts.grid));
}

/** Keep open takes its room in the header whether offered or not: showing it must not resize the plot. */
export function showKeep(el: Pick<ToolbarElements, 'keep'>, on: boolean): void {
  el.keep.classList.toggle('off', !on);
  el.keep.disabled = !on;
}
