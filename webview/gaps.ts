/**
 * Where a sampled line breaks (the memory picture's timeline): DOM-free, so that the unit tests run it.
 */

/**
 * The indices of points that follow a gap in sampling (the window was reloaded, the machine was
 * suspended): more than five times the usual interval, and at least 3 s. The line breaks there.
 */
export function gapsIn(times: readonly number[]): Set<number> {
  const dts = times.slice(1).map((t, i) => t - times[i]);
  if (dts.length === 0) return new Set();
  const usual = [...dts].sort((a, b) => a - b)[dts.length >> 1];
  const limit = Math.max(3000, 5 * usual);
  const out = new Set<number>();
  dts.forEach((dt, i) => dt > limit && out.add(i + 1));
  return out;
}
