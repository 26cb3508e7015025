/** Axis ticks at nice numbers, for indices and for each value scale, and number formatting. DOM-free. */
import { formatNumber } from '../extension/core/numbers';
import type { ScaleName } from './scales';

/** A step of 1, 2 or 5 times a power of ten giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  const f = m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10;
  return f * p;
}

/** Multiples of a nice step within [lo, hi]. */
export function linearTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi >= lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const step = niceStep(hi - lo, count);
  const out: number[] = [];
  const start = Math.ceil(lo / step - 1e-9);
  const end = Math.floor(hi / step + 1e-9);
  for (let k = start; k <= end && out.length < 1000; k++) out.push(roundTo(k * step, step));
  return out;
}

/** Integer indices for an index axis showing [lo, hi) (cell i spans [i, i + 1)): steps of 1, 2, 5, 10... */
export function indexTicks(lo: number, hi: number, count: number): number[] {
  const step = Math.max(1, niceStep(hi - lo, count));
  const first = Math.ceil(Math.max(0, lo - 0.5) / step) * step;
  const out: number[] = [];
  for (let i = first; i + 0.5 <= hi + 1e-9 && out.length < 1000; i += step) {
    if (i + 0.5 >= lo - 1e-9) out.push(i);
  }
  return out;
}

/** Powers of ten in [lo, hi] (lo > 0); with 2 and 5 multiples when there are few decades; linear within one decade. */
export function logTicks(lo: number, hi: number, count: number): number[] {
  if (!(lo > 0) || !(hi > lo)) return linearTicks(lo, hi, count);
  const d0 = Math.floor(Math.log10(lo));
  const d1 = Math.ceil(Math.log10(hi));
  const decades = d1 - d0;
  if (Math.log10(hi / lo) < 1) return linearTicks(lo, hi, count);
  const out: number[] = [];
  const every = Math.max(1, Math.ceil(decades / count));
  const mults = decades * 3 <= count ? [1, 2, 5] : [1];
  for (let d = d0; d <= d1; d++) {
    if ((d - d0) % every !== 0 && mults.length === 1) continue;
    for (const m of mults) {
      const v = m * Math.pow(10, d);
      if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) out.push(Number(v.toPrecision(12)));
    }
  }
  return out;
}

/** 0 and ±powers of ten for symlog, thinned to about `count`. */
export function symlogTicks(lo: number, hi: number, c: number, count: number): number[] {
  const out: number[] = [];
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  if (!(m > 0)) return [0];
  const dMin = Math.floor(Math.log10(c));
  const dMax = Math.ceil(Math.log10(m));
  const all: number[] = [];
  for (let d = dMin; d <= dMax; d++) all.push(Math.pow(10, d));
  const every = Math.max(1, Math.ceil((2 * all.length + 1) / count));
  const kept = all.filter((_, i) => (all.length - 1 - i) % every === 0);
  for (const v of kept) if (-v >= lo && -v <= hi) out.push(-v);
  if (lo <= 0 && hi >= 0) out.push(0);
  for (const v of kept) if (v >= lo && v <= hi) out.push(v);
  return out.sort((a, b) => a - b).map((v) => Number(v.toPrecision(12)));
}

export function scaleTicks(scale: ScaleName, lo: number, hi: number, count: number, c = 1): number[] {
  switch (scale) {
    case 'log':
      return logTicks(lo, hi, count);
    case 'symlog':
      return symlogTicks(lo, hi, c, count);
    default:
      return linearTicks(lo, hi, count);
  }
}

function roundTo(v: number, step: number): number {
  const dec = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, dec)));
}

/** A tick label: as many decimals as the step needs; exponents for very large or small numbers. */
export function formatTick(v: number, step?: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const s = v.toExponential(step && step > 0 ? Math.max(0, Math.min(6, Math.floor(Math.log10(a)) - Math.floor(Math.log10(step)))) : 2);
    return s.replace(/\.?0+e/, 'e').replace('e+', 'e');
  }
  if (step && step > 0) {
    const dec = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
    return v.toFixed(dec);
  }
  return String(Number(v.toPrecision(6)));
}

const VALUE_WORDS = { posInf: '+Inf', negInf: '−Inf' };

/** A value in about `digits` significant digits (tooltips, stats, colorbar ends). */
export function formatValue(v: number | null, digits = 5): string {
  return formatNumber(v, digits, VALUE_WORDS);
}

/** Thousands separated with thin spaces: 16 384. */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}
