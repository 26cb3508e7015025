/**
 * Whole-slice statistics for the viewer: min/max/mean/std, a histogram, and
 * quantiles (for percentile clipping) found from histograms made by the native
 * stats kernel, refined once so they are exact to about range / 4096².
 */
import type { ErrorCode } from '../../contract/errors';
import type { StatsResult, StatsSummary } from '../../contract/stats';
import type { MappedView, SliceSpec, StatsRequest } from '../native';

export const HIST_BINS = 4096;

/**
 * The value below which a fraction q of `total` values lies, from a histogram of equal bins
 * over [lo, hi] with `below` values under lo; linear within a bin. Also says which bin.
 */
export function quantileFromHistogram(hist: ArrayLike<number>, lo: number, hi: number, below: number, total: number, q: number): { value: number; bin: number } {
  const nb = hist.length;
  const w = (hi - lo) / nb;
  // numpy's default ('linear'): the value at rank q * (n - 1) of the sorted values.
  const rank = q * Math.max(0, total - 1);
  let cum = below;
  for (let i = 0; i < nb; i++) {
    const c = hist[i];
    if (c > 0 && cum + c > rank) {
      const frac = (rank - cum + 0.5) / c;
      return { value: lo + (i + Math.min(1, Math.max(0, frac))) * w, bin: i };
    }
    cum += c;
  }
  return { value: hi, bin: nb - 1 };
}

/**
 * One stats pass, unless `signal` is aborted (then it rejects with code CANCELLED). A pass that has
 * started runs to its end: the addon cancels passes only per view, which would stop its pictures too.
 */
function pass(view: MappedView, req: StatsRequest, signal: AbortSignal | undefined): Promise<StatsResult> {
  if (signal?.aborted) return Promise.reject(Object.assign(new Error('cancelled: superseded by a newer request'), { code: 'CANCELLED' satisfies ErrorCode }));
  return view.stats(req);
}

/** Statistics and histogram of a slice, without quantiles (two passes over the data). */
export async function baseStats(view: MappedView, slice: SliceSpec, bins = HIST_BINS, signal?: AbortSignal): Promise<StatsSummary> {
  const s1: StatsResult = await pass(view, { ...slice }, signal);
  const base = {
    count: s1.count,
    finiteCount: s1.finiteCount,
    nanCount: s1.nanCount,
    posInfCount: s1.posInfCount,
    negInfCount: s1.negInfCount,
    min: s1.min,
    max: s1.max,
    mean: s1.mean,
    std: s1.std,
    quantiles: [],
  };
  if (s1.min === null || s1.max === null || s1.finiteCount === 0) {
    return { ...base, histogram: new Float64Array(0), histMin: 0, histMax: 0, minPositive: null };
  }
  const lo = s1.min;
  const hi = s1.max;
  if (!(hi > lo)) {
    const h = new Float64Array(1);
    h[0] = s1.finiteCount;
    return { ...base, histogram: h, histMin: lo, histMax: hi, minPositive: lo > 0 ? lo : null };
  }
  const s2 = await pass(view, { ...slice, bins, histMin: lo, histMax: hi }, signal);
  const hist = s2.histogram ?? new Float64Array(bins);
  const w = (hi - lo) / bins;
  // Smallest positive value: exact when all are positive, else the first non-empty bin above 0 (approximate).
  let minPositive: number | null = null;
  if (lo > 0) minPositive = lo;
  else if (hi > 0) {
    for (let i = 0; i < bins; i++) {
      const right = lo + (i + 1) * w;
      if (hist[i] > 0 && right > 0) {
        const left = lo + i * w;
        minPositive = left > 0 ? left : right;
        break;
      }
    }
  }
  return { ...base, histogram: hist, histMin: lo, histMax: hi, minPositive };
}

/** The quantile q of the slice's finite values: from the histogram, refined by one more pass inside its bin. */
export async function sliceQuantile(view: MappedView, slice: SliceSpec, base: StatsSummary, q: number, signal?: AbortSignal): Promise<number> {
  const hist = base.histogram;
  const lo = base.histMin;
  const hi = base.histMax;
  const total = base.finiteCount;
  if (hist.length === 0 || total === 0) return NaN;
  if (!(hi > lo) || hist.length === 1) return lo;
  const bins = hist.length;
  const w = (hi - lo) / bins;
  const first = quantileFromHistogram(hist, lo, hi, 0, total, q);
  const bl = lo + first.bin * w;
  const br = first.bin === bins - 1 ? hi : bl + w;
  let below = 0;
  for (let i = 0; i < first.bin; i++) below += hist[i];
  let value = first.value;
  if (hist[first.bin] > 1 && br > bl) {
    const s3 = await pass(view, { ...slice, bins, histMin: bl, histMax: br }, signal);
    if (s3.histogram) value = quantileFromHistogram(s3.histogram, bl, br, below, total, q).value;
  }
  return Math.min(hi, Math.max(lo, value));
}
