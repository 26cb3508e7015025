// The reductions the addon's tiled pass computes for a picture, and the parts
// of a complex number a picture can show. One registry each, `as const`; every
// list of modes or parts in the host, the CLI, the webview and their
// validators derives from these. The addon exports its own list of modes
// (`reduceModes`) and a unit test holds it equal to REDUCE_MODES.
import { isKeyOf, keysOf } from './registry';

/** Reduce modes, with the label the toolbar shows, in the toolbar's order; the first is the default. */
export const REDUCE_MODES = {
  mean: 'Mean',
  max: 'Max',
  min: 'Min',
  strided: 'Sample',
} as const;
export type ReduceMode = keyof typeof REDUCE_MODES;
export const REDUCE_MODE_NAMES: ReduceMode[] = keysOf(REDUCE_MODES);
export const DEFAULT_REDUCE_MODE: ReduceMode = 'mean';
export const isReduceMode = isKeyOf(REDUCE_MODES);

/** Parts of a complex element, with their labels; the first is the default. */
export const COMPLEX_PARTS = {
  magnitude: 'Magnitude',
  phase: 'Phase',
  real: 'Real',
  imag: 'Imaginary',
} as const;
export type ComplexPart = keyof typeof COMPLEX_PARTS;
export const COMPLEX_PART_NAMES: ComplexPart[] = keysOf(COMPLEX_PARTS);
export const isComplexPart = isKeyOf(COMPLEX_PARTS);
