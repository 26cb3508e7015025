/**
 * The one number formatter: CLI `stats`/`render`, the tree's tooltips and the viewer's hover,
 * statistics and colorbar all write values through it, so a value reads the same everywhere.
 * Pure (no Node, no DOM): the webview bundles it too.
 *
 * - at most `digits` significant digits, and no more than the value needs (shortest text that
 *   reads back as the value rounded to `digits`; 17 digits: the shortest round-trip of a double);
 * - scientific notation like C's `%g` (exponent below -4, or at least `digits`), the exponent
 *   written whole and without `+`: `1.4075229870513795e-10`, `1e20`, `-2.5e-7`;
 * - integral values alike: `3`, `16777216` (fewer than `digits` digits), `1e20`, `1.2345e20`;
 *   never a 21-digit integer.
 */

export interface NumberWords {
  nan?: string;
  posInf?: string;
  negInf?: string;
  /** For null (no value). */
  none?: string;
}

const DEFAULT_WORDS: Required<NumberWords> = { nan: 'NaN', posInf: 'Inf', negInf: '-Inf', none: '—' };

/** `v` in at most `digits` (1..17, default 17) significant digits; see the module comment. */
export function formatNumber(v: number | null | undefined, digits = 17, words: NumberWords = {}): string {
  const w = { ...DEFAULT_WORDS, ...words };
  if (v === null || v === undefined) return w.none;
  if (Number.isNaN(v)) return w.nan;
  if (v === Infinity) return w.posInf;
  if (v === -Infinity) return w.negInf;
  if (v === 0) return '0';
  const d = Math.max(1, Math.min(17, Math.round(digits)));
  const target = Number(v.toPrecision(d));
  let p = 1;
  while (p < d && Number(v.toPrecision(p)) !== target) p++;
  const [mantissa, expText] = target.toExponential(p - 1).split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= d) return `${mantissa}e${exp}`;
  // Fixed notation: the digits of the mantissa with the point moved (no binary noise from toFixed).
  return target.toFixed(Math.max(0, p - 1 - exp));
}
