/**
 * Value scales (linear, log, symlog, sqrt), the colour domain (min-max,
 * percentile clip, custom); colouring is contract/colormaps.ts's colorize. DOM-free,
 * so it runs (and is unit-tested) in Node too.
 */

export const SCALES = ['linear', 'log', 'symlog', 'sqrt'] as const;
export type ScaleName = (typeof SCALES)[number];

export function isScale(v: unknown): v is ScaleName {
  return typeof v === 'string' && (SCALES as readonly string[]).includes(v);
}

/** A scale fixed to a domain: t(lo) = 0, t(hi) = 1. */
export interface Norm {
  scale: ScaleName;
  lo: number;
  hi: number;
  /** symlog's linear threshold (values within ±c are roughly linear). */
  c: number;
  f(v: number): number;
  t(v: number): number;
  /** The value at normalised position t (inverse of `t`). */
  inv(t: number): number;
}

/** symlog's constant: three decades below the largest magnitude of the domain, as a power of ten. */
export function symlogConstant(lo: number, hi: number): number {
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  if (!(m > 0) || !Number.isFinite(m)) return 1;
  return Math.pow(10, Math.floor(Math.log10(m)) - 3);
}

export function forward(scale: ScaleName, c: number): (v: number) => number {
  switch (scale) {
    case 'log':
      return (v) => (v > 0 ? Math.log10(v) : -Infinity);
    case 'symlog':
      return (v) => Math.sign(v) * Math.log10(1 + Math.abs(v) / c);
    case 'sqrt':
      return (v) => Math.sign(v) * Math.sqrt(Math.abs(v));
    default:
      return (v) => v;
  }
}

export function inverse(scale: ScaleName, c: number): (u: number) => number {
  switch (scale) {
    case 'log':
      return (u) => Math.pow(10, u);
    case 'symlog':
      return (u) => Math.sign(u) * c * (Math.pow(10, Math.abs(u)) - 1);
    case 'sqrt':
      return (u) => Math.sign(u) * u * u;
    default:
      return (u) => u;
  }
}

export function makeNorm(scale: ScaleName, lo: number, hi: number): Norm {
  const c = symlogConstant(lo, hi);
  const f = forward(scale, c);
  const g = inverse(scale, c);
  const f0 = f(lo);
  const f1 = f(hi);
  const span = f1 - f0;
  const degenerate = !(span > 0) || !Number.isFinite(span);
  return {
    scale,
    lo,
    hi,
    c,
    f,
    t: degenerate ? (v) => (v < lo ? 0 : v > hi ? 1 : 0.5) : (v) => (f(v) - f0) / span,
    inv: degenerate ? () => lo : (t) => g(f0 + t * span),
  };
}

export const DOMAIN_MODES = ['minmax', 'p1', 'p01', 'p5', 'visible', 'custom'] as const;
export type DomainMode = (typeof DOMAIN_MODES)[number];

export const DOMAIN_LABELS: Record<DomainMode, string> = {
  minmax: 'Min – max',
  p1: '1 – 99 %',
  p01: '0.1 – 99.9 %',
  p5: '5 – 95 %',
  visible: 'Visible min – max',
  custom: 'Custom',
};

/** The quantiles a percentile domain clips at. */
export const DOMAIN_QUANTILES: Partial<Record<DomainMode, [number, number]>> = {
  p1: [0.01, 0.99],
  p01: [0.001, 0.999],
  p5: [0.05, 0.95],
};

export function isDomainMode(v: unknown): v is DomainMode {
  return typeof v === 'string' && (DOMAIN_MODES as readonly string[]).includes(v);
}

export interface DomainInputs {
  mode: DomainMode;
  scale: ScaleName;
  /** Whole-slice statistics, once the host has them. */
  stats?: { min: number | null; max: number | null; minPositive: number | null; quantiles: { q: number; value: number }[] } | null;
  /** Finite range of the cells on screen. */
  visible?: { min: number | null; max: number | null } | null;
  custom?: { lo: number; hi: number } | null;
}

export interface Domain {
  lo: number;
  hi: number;
  /** Set when the domain had to be changed for the scale (e.g. log of non-positive values). */
  note: string | null;
  /** True while waiting for statistics (a provisional domain from the visible cells). */
  provisional: boolean;
}

function quantile(stats: NonNullable<DomainInputs['stats']>, q: number): number | null {
  const hit = stats.quantiles.find((x) => Math.abs(x.q - q) < 1e-12);
  return hit ? hit.value : null;
}

/** The colour domain for the chosen mode and scale. */
export function resolveDomain(inp: DomainInputs): Domain {
  let lo: number | null = null;
  let hi: number | null = null;
  let provisional = false;
  const vis = inp.visible ?? null;
  const st = inp.stats ?? null;
  if (inp.mode === 'custom' && inp.custom && Number.isFinite(inp.custom.lo) && Number.isFinite(inp.custom.hi)) {
    lo = Math.min(inp.custom.lo, inp.custom.hi);
    hi = Math.max(inp.custom.lo, inp.custom.hi);
  } else if (inp.mode === 'visible') {
    lo = vis?.min ?? null;
    hi = vis?.max ?? null;
  } else {
    const qs = DOMAIN_QUANTILES[inp.mode];
    if (st && qs) {
      lo = quantile(st, qs[0]);
      hi = quantile(st, qs[1]);
    } else if (st) {
      lo = st.min;
      hi = st.max;
    }
    if (lo === null || hi === null) {
      provisional = true;
      lo = vis?.min ?? null;
      hi = vis?.max ?? null;
    }
  }
  if (lo === null || hi === null) return { lo: 0, hi: 1, note: null, provisional };
  let note: string | null = null;
  if (inp.scale === 'log' && !(lo > 0)) {
    const pos = st?.minPositive ?? (hi > 0 ? hi / 1e6 : null);
    if (pos !== null && hi > 0) {
      note = `log scale: values ≤ 0 drawn in the lowest colour; domain starts at ${pos.toPrecision(3)}`;
      lo = Math.max(pos, Math.min(lo > 0 ? lo : pos, hi));
    } else {
      note = 'log scale: no positive values; shown linear';
    }
  }
  return { lo, hi, note, provisional };
}

/** True when `resolveDomain` fell back to a linear scale. */
export function effectiveScale(scale: ScaleName, domain: Domain): ScaleName {
  return scale === 'log' && !(domain.lo > 0 && domain.hi > 0) ? 'linear' : scale;
}

/**
 * Re-bins a histogram of equal bins over [hmin, hmax] onto arbitrary increasing edges
 * (e.g. one pixel row of the colorbar each, in any scale), sharing each bin's count in
 * proportion to its overlap.
 */
export function rebin(hist: ArrayLike<number>, hmin: number, hmax: number, edges: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.max(0, edges.length - 1));
  const nb = hist.length;
  if (nb === 0 || !(hmax > hmin)) {
    // All values equal (one bin): put everything where hmin falls.
    if (nb > 0) {
      let total = 0;
      for (let i = 0; i < nb; i++) total += hist[i];
      for (let j = 0; j < out.length; j++) {
        const a = Math.min(edges[j], edges[j + 1]);
        const b = Math.max(edges[j], edges[j + 1]);
        if (hmin >= a && hmin <= b) {
          out[j] = total;
          break;
        }
      }
    }
    return out;
  }
  const w = (hmax - hmin) / nb;
  for (let j = 0; j < out.length; j++) {
    let a = edges[j];
    let b = edges[j + 1];
    if (a > b) [a, b] = [b, a];
    a = Math.max(a, hmin);
    b = Math.min(b, hmax);
    if (!(b > a)) continue;
    const i0 = Math.max(0, Math.floor((a - hmin) / w));
    const i1 = Math.min(nb - 1, Math.floor((b - hmin) / w));
    let s = 0;
    for (let i = i0; i <= i1; i++) {
      const bl = hmin + i * w;
      const br = bl + w;
      const ov = Math.min(br, b) - Math.max(bl, a);
      if (ov > 0) s += (hist[i] * ov) / w;
    }
    out[j] = s;
  }
  return out;
}
