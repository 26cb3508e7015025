/**
 * The toolbar's wiring: each control's events turned into the viewer's actions (values checked
 * against their registries first), and the controls set from the settings. The options in the
 * selects are filled by controls.ts.
 */
import { isColormap, type ColormapName } from '../contract/colormaps';
import { isReduceMode, type ReduceMode } from '../contract/reduce';
import { byId } from './controls';
import { isDomainMode, isScale, type DomainMode, type ScaleName } from './scales';
import type { ViewState } from './state';

export interface ToolbarElements {
  colormap: HTMLSelectElement;
  invert: HTMLInputElement;
  scale: HTMLSelectElement;
  domain: HTMLSelectElement;
  customDomain: HTMLElement;
  domainLo: HTMLInputElement;
  domainHi: HTMLInputElement;
  mode: HTMLSelectElement;
  aspect: HTMLSelectElement;
  live: HTMLSelectElement;
  pause: HTMLButtonElement;
  reset: HTMLButtonElement;
  retry: HTMLButtonElement;
  exportPng: HTMLButtonElement;
  saveNpy: HTMLButtonElement;
  keep: HTMLButtonElement;
  open: HTMLButtonElement;
}

export function toolbarElements(): ToolbarElements {
  return {
    colormap: byId<HTMLSelectElement>('colormap'),
    invert: byId<HTMLInputElement>('invert'),
    scale: byId<HTMLSelectElement>('scale'),
    domain: byId<HTMLSelectElement>('domain'),
    customDomain: byId('custom-domain'),
    domainLo: byId<HTMLInputElement>('domain-lo'),
    domainHi: byId<HTMLInputElement>('domain-hi'),
    mode: byId<HTMLSelectElement>('mode'),
    aspect: byId<HTMLSelectElement>('aspect'),
    live: byId<HTMLSelectElement>('live'),
    pause: byId<HTMLButtonElement>('pause'),
    reset: byId<HTMLButtonElement>('reset'),
    retry: byId<HTMLButtonElement>('retry'),
    exportPng: byId<HTMLButtonElement>('export-png'),
    saveNpy: byId<HTMLButtonElement>('save-npy'),
    keep: byId<HTMLButtonElement>('keep'),
    open: byId<HTMLButtonElement>('open'),
  };
}

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
  reset(): void;
  retry(): void;
  saveNpy(): void;
  exportPng(): void;
  /** Keep open; and any control changed (toolbar or slice selector): the user made this view theirs. */
  pin(): void;
  open(): void;
}

export function wireToolbar(el: ToolbarElements, a: ToolbarActions): void {
  el.colormap.addEventListener('change', () => isColormap(el.colormap.value) && a.colormap(el.colormap.value));
  el.invert.addEventListener('change', () => a.invert(el.invert.checked));
  el.scale.addEventListener('change', () => isScale(el.scale.value) && a.scale(el.scale.value));
  el.domain.addEventListener('change', () => isDomainMode(el.domain.value) && a.domain(el.domain.value));
  const custom = () => {
    const lo = el.domainLo.valueAsNumber;
    const hi = el.domainHi.valueAsNumber;
    a.customDomain(Number.isFinite(lo) ? lo : null, Number.isFinite(hi) ? hi : null);
  };
  el.domainLo.addEventListener('change', custom);
  el.domainHi.addEventListener('change', custom);
  el.mode.addEventListener('change', () => isReduceMode(el.mode.value) && a.mode(el.mode.value));
  el.aspect.addEventListener('change', () => a.aspect(el.aspect.value === 'fill' ? 'fill' : 'equal'));
  el.live.addEventListener('change', () => {
    const s = Number(el.live.value);
    a.live(Number.isFinite(s) ? s : 0);
  });
  el.pause.addEventListener('click', () => a.pause());
  el.reset.addEventListener('click', () => a.reset());
  el.retry.addEventListener('click', () => a.retry());
  el.saveNpy.addEventListener('click', () => a.saveNpy());
  el.exportPng.addEventListener('click', () => a.exportPng());
  el.keep.addEventListener('click', () => a.pin());
  el.open.addEventListener('click', () => a.open());
  // Any control the user changes (toolbar or slice sliders) keeps this array in the panel.
  byId('toolbar').addEventListener('change', () => a.pin());
  byId('slicer').addEventListener('input', () => a.pin());
  byId('slicer').addEventListener('change', () => a.pin());
}

/** Sets the controls from the settings; a line plot has no colours, cells or aspect to choose. */
export function syncToolbar(el: ToolbarElements, st: ViewState, opts: { line: boolean; aspect: 'equal' | 'fill' }): void {
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
}

/** Keep open takes its room in the header whether offered or not: showing it must not resize the plot. */
export function showKeep(el: Pick<ToolbarElements, 'keep'>, on: boolean): void {
  el.keep.classList.toggle('off', !on);
  el.keep.disabled = !on;
}
