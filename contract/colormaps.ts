/**
 * Colormaps: the registry (names and labels), their 256-entry RGB lookup tables (data in
 * colormap-data.ts, one per name or a type error), matplotlib's value-to-entry rule, the
 * colours of NaN and ±Inf, and the one `colorize` that the webview's heatmap and the CLI's
 * `render` PNGs both paint with. DOM-free, Node-free.
 */
import { LUT_HEX } from './colormap-data';
import { isKeyOf, keysOf } from './registry';

/** Every colormap, with the label the toolbar shows, in the toolbar's order; the first is the default. */
export const COLORMAP_LABELS = {
  viridis: 'Viridis',
  magma: 'Magma',
  inferno: 'Inferno',
  plasma: 'Plasma',
  cividis: 'Cividis',
  gray: 'Gray',
  turbo: 'Turbo',
  RdBu: 'RdBu (diverging)',
  coolwarm: 'Coolwarm (diverging)',
  twilight: 'Twilight (cyclic)',
} as const;
export type ColormapName = keyof typeof COLORMAP_LABELS;
export const COLORMAPS: ColormapName[] = keysOf(COLORMAP_LABELS);

export const isColormap = isKeyOf(COLORMAP_LABELS);

const tables = new Map<string, Uint8Array>();

/** The 256 x RGB table of a colormap (reversed when `inverted`). */
export function lut(name: ColormapName, inverted = false): Uint8Array {
  const key = `${name}${inverted ? '_r' : ''}`;
  let t = tables.get(key);
  if (t) return t;
  t = new Uint8Array(256 * 3);
  const hex = LUT_HEX[name];
  for (let i = 0; i < 256; i++) {
    const src = inverted ? 255 - i : i;
    for (let k = 0; k < 3; k++) t[i * 3 + k] = parseInt(hex.substr(src * 6 + k * 2, 2), 16);
  }
  tables.set(key, t);
  return t;
}

/**
 * Table entry for a normalised value t (0 = domain low end, 1 = high end), matplotlib's rule:
 * floor(t * 256), with t = 1 on the last entry; values outside [0, 1] take the end colours.
 */
export function colorIndex(t: number): number {
  if (!(t > 0)) return 0; // also -Infinity
  if (t >= 1) return 255;
  const i = Math.floor(t * 256);
  return i > 255 ? 255 : i;
}

/** RGB of t on a colormap. */
export function colorAt(name: ColormapName, t: number, inverted = false): [number, number, number] {
  const table = lut(name, inverted);
  const i = colorIndex(t) * 3;
  return [table[i], table[i + 1], table[i + 2]];
}

export interface SpecialColors {
  /** RGBA; NaN is transparent (a checkerboard shows through). */
  nan: [number, number, number, number];
  posInf: [number, number, number, number];
  negInf: [number, number, number, number];
}

/** Colours for NaN and ±Inf, chosen to stand apart from every entry of the colormap. */
export function specialColors(name: ColormapName): SpecialColors {
  const magenta: [number, number, number, number] = [255, 0, 255, 255];
  const cyan: [number, number, number, number] = [0, 255, 255, 255];
  const white: [number, number, number, number] = [255, 255, 255, 255];
  const lime: [number, number, number, number] = [0, 255, 0, 255];
  const nan: [number, number, number, number] = [0, 0, 0, 0];
  switch (name) {
    case 'turbo': // has cyan and green; no white or magenta
      return { nan, posInf: magenta, negInf: white };
    case 'plasma':
    case 'magma': // pinks near magenta
      return { nan, posInf: lime, negInf: cyan };
    default:
      return { nan, posInf: magenta, negInf: cyan };
  }
}

export function cssColor(c: readonly number[]): string {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** What `colorize` needs of a value scale fixed to a domain: t(lo) = 0, t(hi) = 1 (webview/scales.ts makes them). */
export interface ColorNorm {
  scale: string;
  lo: number;
  hi: number;
  t(v: number): number;
}

/** A linear scale over [lo, hi]; an empty domain (lo = hi) puts every value on the lowest colour. */
export function linearNorm(lo: number, hi: number): ColorNorm {
  const span = hi - lo;
  return { scale: 'linear', lo, hi, t: (v) => (span > 0 ? (v - lo) / span : 0) };
}

/**
 * Writes RGBA pixels for `values` (row-major cells) into `out` (4 bytes a value): colormap
 * entries for finite values, the colormap's special colours for NaN and ±Inf.
 */
export function colorize(values: ArrayLike<number>, out: Uint8Array | Uint8ClampedArray, norm: ColorNorm, cmap: ColormapName, inverted = false): void {
  const table = lut(cmap, inverted);
  const special = specialColors(cmap);
  const n = values.length;
  const [nr, ng, nb, na] = special.nan;
  const [pr, pg, pb, pa] = special.posInf;
  const [mr, mg, mb, ma] = special.negInf;
  const lin = norm.scale === 'linear' && norm.hi > norm.lo;
  const lo = norm.lo;
  // A division, not a multiplication by 1 / span: the same entry as (v - lo) / (hi - lo), matplotlib's rule, at bin edges too.
  const span = norm.hi - norm.lo;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const v = values[i];
    if (v !== v) {
      out[o] = nr;
      out[o + 1] = ng;
      out[o + 2] = nb;
      out[o + 3] = na;
    } else if (v === Infinity) {
      out[o] = pr;
      out[o + 1] = pg;
      out[o + 2] = pb;
      out[o + 3] = pa;
    } else if (v === -Infinity) {
      out[o] = mr;
      out[o + 1] = mg;
      out[o + 2] = mb;
      out[o + 3] = ma;
    } else {
      const k = colorIndex(lin ? (v - lo) / span : norm.t(v)) * 3;
      out[o] = table[k];
      out[o + 1] = table[k + 1];
      out[o + 2] = table[k + 2];
      out[o + 3] = 255;
    }
  }
}
