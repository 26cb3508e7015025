/** The toolbar's options and the slice selector (tensor, complex part, displayed axes, index sliders). */
import { COLORMAP_LABELS, COLORMAPS } from '../contract/colormaps';
import type { SegmentSummary } from '../contract/protocol';
import { COMPLEX_PARTS, COMPLEX_PART_NAMES, REDUCE_MODES, REDUCE_MODE_NAMES, type ComplexPart } from '../contract/reduce';
import { DOMAIN_LABELS, DOMAIN_MODES, SCALES } from './scales';
import { displayText } from './text';
import { LIVE_INTERVALS } from './state';

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
}

/**
 * The page's elements named in `spec` (`key: [id, type]`), typed from it; an id missing from the
 * page, or naming an element of another type, throws at once rather than at first use.
 */
export function elementsById<S extends Record<string, readonly [string, new () => HTMLElement]>>(spec: S): { [K in keyof S]: InstanceType<S[K][1]> } {
  const out: Record<string, HTMLElement> = {};
  for (const [key, [id, type]] of Object.entries(spec)) {
    const el = byId(id);
    if (!(el instanceof type)) throw new Error(`#${id} is not a ${type.name}`);
    out[key] = el;
  }
  return out as { [K in keyof S]: InstanceType<S[K][1]> };
}

function options(select: HTMLSelectElement, items: readonly (readonly [string, string])[]): void {
  select.replaceChildren(
    ...items.map(([value, label]) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = displayText(label);
      return o;
    }),
  );
}

const SCALE_LABELS: Record<string, string> = { linear: 'Linear', log: 'Log', symlog: 'Symlog', sqrt: 'Sqrt' };

/** Fills the toolbar's selects. */
export function fillToolbar(el: Record<'colormap' | 'scale' | 'domain' | 'mode' | 'live', HTMLSelectElement>): void {
  options(
    el.colormap,
    COLORMAPS.map((c) => [c, COLORMAP_LABELS[c]] as const),
  );
  options(
    el.scale,
    SCALES.map((s) => [s, SCALE_LABELS[s]] as const),
  );
  options(
    el.domain,
    DOMAIN_MODES.map((d) => [d, DOMAIN_LABELS[d]] as const),
  );
  options(
    el.mode,
    REDUCE_MODE_NAMES.map((m) => [m, REDUCE_MODES[m]] as const),
  );
  options(el.live, [['0', 'Off'], ...LIVE_INTERVALS.map((s) => [String(s), `${s} s`] as const)]);
}

export interface SlicerCallbacks {
  tensor(name: string): void;
  part(p: ComplexPart): void;
  axes(row: number, col: number): void;
  index(axis: number, value: number): void;
}

function labelled(text: string, control: HTMLElement, id: string): HTMLElement {
  const wrap = document.createElement('span');
  wrap.className = 'group';
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = text;
  control.id = id;
  wrap.append(label, control);
  return wrap;
}

/** Builds the slice selector for this array; empty for a plain real 2-D array. */
export function buildSlicer(seg: SegmentSummary, sel: { axes: [number, number] | null; index: number[]; part: ComplexPart }, cb: SlicerCallbacks): void {
  const root = byId('slicer');
  root.replaceChildren();
  if (seg.tensors && seg.tensors.length > 0) {
    const s = document.createElement('select');
    options(
      s,
      seg.tensors.map((t) => [t.name, `${t.name}  ${t.shape ? `(${t.shape.join('×')})` : ''} ${t.dtype ?? ''}${t.error ? ' — cannot show' : ''}`] as const),
    );
    s.value = seg.tensor ?? '';
    s.addEventListener('change', () => cb.tensor(s.value));
    root.append(labelled('Tensor', s, 'tensor'));
  }
  if (seg.complex) {
    const s = document.createElement('select');
    options(
      s,
      COMPLEX_PART_NAMES.map((p) => [p, COMPLEX_PARTS[p]] as const),
    );
    s.value = sel.part;
    s.addEventListener('change', () => cb.part(s.value as ComplexPart));
    root.append(labelled('Part', s, 'part'));
  }
  const nd = seg.shape.length;
  if (nd >= 3 && sel.axes) {
    const axisOptions = seg.shape.map((n, k) => [String(k), `axis ${k} (${n})`] as const);
    const rowSel = document.createElement('select');
    const colSel = document.createElement('select');
    options(rowSel, axisOptions);
    options(colSel, axisOptions);
    rowSel.value = String(sel.axes[0]);
    colSel.value = String(sel.axes[1]);
    const change = (which: 'row' | 'col') => {
      let r = Number(rowSel.value);
      let c = Number(colSel.value);
      if (r === c) {
        // Picking the other axis's axis swaps them.
        if (which === 'row') c = sel.axes![0];
        else r = sel.axes![1];
      }
      cb.axes(r, c);
    };
    rowSel.addEventListener('change', () => change('row'));
    colSel.addEventListener('change', () => change('col'));
    const axes = document.createElement('span');
    axes.className = 'group';
    axes.append(labelled('Rows', rowSel, 'axis-row'), labelled('Columns', colSel, 'axis-col'));
    root.append(axes);
    const sliders = document.createElement('span');
    sliders.className = 'group';
    sliders.id = 'sliders';
    for (let k = 0; k < nd; k++) {
      if (k === sel.axes[0] || k === sel.axes[1]) continue;
      const wrap = document.createElement('span');
      wrap.className = 'axis-slider';
      const label = document.createElement('label');
      label.htmlFor = `index-${k}`;
      label.textContent = `axis ${k}`;
      const range = document.createElement('input');
      range.type = 'range';
      range.id = `index-${k}`;
      range.min = '0';
      range.max = String(seg.shape[k] - 1);
      range.step = '1';
      range.value = String(sel.index[k] ?? 0);
      range.setAttribute('aria-valuetext', `${range.value} of ${seg.shape[k] - 1}`);
      const out = document.createElement('output');
      out.htmlFor.add(range.id);
      out.textContent = `${range.value} / ${seg.shape[k] - 1}`;
      range.addEventListener('input', () => {
        out.textContent = `${range.value} / ${seg.shape[k] - 1}`;
        range.setAttribute('aria-valuetext', `${range.value} of ${seg.shape[k] - 1}`);
        cb.index(k, Number(range.value));
      });
      wrap.append(label, range, out);
      sliders.append(wrap);
    }
    root.append(sliders);
  }
}
