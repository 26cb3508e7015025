/**
 * Statistics of a slice, defined once: what the addon's stats pass returns (StatsResult, typed
 * in extension/native.ts from here) and what the viewer shows (StatsSummary, in messages). The
 * field registries below are what the message validators check, so a field added here is checked.
 */

/** Count fields: non-negative integers. */
export const STATS_COUNT_FIELDS = ['count', 'finiteCount', 'nanCount', 'posInfCount', 'negInfCount'] as const;
/** Value fields: finite numbers, or null when no value is finite. */
export const STATS_VALUE_FIELDS = ['min', 'max', 'mean', 'std'] as const;

export type StatsCounts = { [K in (typeof STATS_COUNT_FIELDS)[number]]: number } & { [K in (typeof STATS_VALUE_FIELDS)[number]]: number | null };

/** One stats pass of the addon (MappedView.stats). */
export interface StatsResult extends StatsCounts {
  /** NaN excluded: posInfCount + negInfCount. */
  infCount: number;
  histogram?: Float64Array;
  /** The range the histogram's bins cover (present with `histogram`). */
  histMin?: number;
  histMax?: number;
}

/** What the viewer shows of a slice: its counts and moments, a histogram and quantiles. */
export interface StatsSummary extends StatsCounts {
  /** Counts of finite values in equal bins over [histMin, histMax] (empty when no finite value). */
  histogram: Float64Array;
  histMin: number;
  histMax: number;
  /** Smallest positive finite value (for log scales), null when there is none. */
  minPositive: number | null;
  /** Requested quantiles (q in [0, 1]) of the finite values. */
  quantiles: { q: number; value: number }[];
}
