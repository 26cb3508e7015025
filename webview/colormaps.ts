/**
 * Colormaps as 256-entry RGB lookup tables (data in colormap-data.ts), the
 * value-to-entry rule, and the colours of NaN and ±Inf. DOM-free.
 */
import { LUT_HEX } from './colormap-data';

export const COLORMAPS = ['viridis', 'magma', 'inferno', 'plasma', 'cividis', 'gray', 'turbo', 'RdBu', 'coolwarm', 'twilight'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

export const COLORMAP_LABELS: Record<ColormapName, string> = {
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
};

export function isColormap(v: unknown): v is ColormapName {
  return typeof v === 'string' && (COLORMAPS as readonly string[]).includes(v);
}

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
    for (let k = 0; k < 3; k++) {
      t[i * 3 + k] = hex ? parseInt(hex.substr(src * 6 + k * 2, 2), 16) : src; // gray: (i, i, i)
    }
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
