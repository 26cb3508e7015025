/**
 * Statistics of one numeric column of a table (`stats NAME/COLUMN`, the column summaries):
 * count, nulls, finite count, NaN and Inf counts, min, max, mean, std (ddof=0) and optionally a
 * histogram. Native passes over the mapping wherever the values lie at a fixed stride (an Arrow
 * batch without nulls, a record field, an array column), combined over batches; batches with
 * nulls (whose slots hold no values) or compressed ones are read page by page, nulls skipped. Cancellable between passes.
 */
import type { MappedView, SliceSpec, StatsResult } from '../../native';
import { arrowValuesDtype } from '../formats/arrow';
import { parseNumericDType } from '../dtype';
import { ArrowTable } from './arrow';
import { ArrayTable, RecordTable } from './npy';
import { TableError, type Cell, type TableModel } from './types';

export interface ColumnStats extends StatsResult {
  /** Rows whose value is null (not counted in `count`). */
  nullCount: number;
}

export interface ColumnStatsOptions {
  bins?: number;
  /** Called between passes with rows done and the total. */
  progress?: (done: number, total: number) => void;
  /** Checked between passes: true stops with a TableError('cancelled'). */
  cancelled?: () => boolean;
}

/**
 * One pass: a native strided run; a compressed Arrow batch without nulls, its values decompressed
 * (`batch`; cells when its type has no typed array); or cells read through the model (nulls skipped).
 */
type Pass = { spec: SliceSpec } | { start: number; rows: number; batch?: number };

const PAGE = 65_536;

function passesOf(model: TableModel, col: number): { passes: Pass[]; nulls: number } {
  if (model instanceof ArrowTable) {
    const dt = parseNumericDType(arrowValuesDtype(model.columns[col].type) ?? '');
    if (!dt) throw new TableError(`column '${model.columns[col].name}' is ${model.columns[col].type}, not a number`);
    const runs = model.valueRuns(col);
    return {
      passes: runs.map((r) =>
        r.nullCount > 0 || r.compressed
          ? { start: r.start, rows: r.rows, ...(r.compressed && r.nullCount === 0 ? { batch: r.batch } : {}) }
          : { spec: { dtype: dt.kernel, byteSwap: false, offset: r.offset, strideR: 0, strideC: dt.itemsize, rows: r.rows > 0 ? 1 : 0, cols: r.rows } },
      ),
      nulls: runs.reduce((n, r) => n + r.nullCount, 0),
    };
  }
  if (model instanceof RecordTable) {
    const f = model.fields[col];
    const dt = parseNumericDType(f.dtype);
    if (!dt || f.shape.length) throw new TableError(`field '${f.name}' is ${model.columns[col].type}, not a number`);
    const n = model.totalRows;
    return {
      passes: [
        {
          spec: { dtype: dt.kernel, byteSwap: dt.byteSwap, offset: model.dataOffset + f.offset, strideR: 0, strideC: model.itemsize, rows: n > 0 ? 1 : 0, cols: n },
        },
      ],
      nulls: 0,
    };
  }
  if (model instanceof ArrayTable) {
    const s = model.columnRun(col);
    return { passes: [{ spec: s }], nulls: 0 };
  }
  return { passes: [{ start: 0, rows: model.totalRows }], nulls: -1 };
}

/** A number from a cell of a numeric column, null for a null; a non-number cell is an error. */
function numberOf(c: Cell): number | null {
  if (c === null) return null;
  if (typeof c === 'number') return c;
  if (typeof c === 'boolean') return c ? 1 : 0;
  if (typeof c === 'string') {
    const v = c === 'NaN' ? NaN : c === 'Infinity' ? Infinity : c === '-Infinity' ? -Infinity : Number(c);
    if (!Number.isNaN(v) || c === 'NaN') return v;
  }
  throw new TableError(`a value that is not a number (${JSON.stringify(c).slice(0, 40)})`);
}

/** Running sums over values read in JavaScript (Welford). */
class Acc {
  count = 0;
  finite = 0;
  nan = 0;
  pos = 0;
  neg = 0;
  nulls = 0;
  min = Infinity;
  max = -Infinity;
  mean = 0;
  m2 = 0;
  add(v: number | null): void {
    if (v === null) {
      this.nulls++;
      return;
    }
    this.count++;
    if (Number.isNaN(v)) this.nan++;
    else if (v === Infinity) this.pos++;
    else if (v === -Infinity) this.neg++;
    else {
      this.finite++;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      const d = v - this.mean;
      this.mean += d / this.finite;
      this.m2 += d * (v - this.mean);
    }
  }
  result(): StatsResult {
    const f = this.finite;
    return {
      count: this.count,
      finiteCount: f,
      nanCount: this.nan,
      infCount: this.pos + this.neg,
      posInfCount: this.pos,
      negInfCount: this.neg,
      min: f ? this.min : null,
      max: f ? this.max : null,
      mean: f ? this.mean : null,
      std: f ? Math.sqrt(this.m2 / f) : null,
    };
  }
}

/** Combines per-pass results (Chan's parallel mean and variance). */
function combine(parts: StatsResult[]): StatsResult {
  const out: StatsResult = { count: 0, finiteCount: 0, nanCount: 0, infCount: 0, posInfCount: 0, negInfCount: 0, min: null, max: null, mean: null, std: null };
  let mean = 0;
  let m2 = 0;
  for (const p of parts) {
    out.count += p.count;
    out.nanCount += p.nanCount;
    out.infCount += p.infCount;
    out.posInfCount += p.posInfCount;
    out.negInfCount += p.negInfCount;
    if (p.finiteCount === 0 || p.mean === null) continue;
    out.min = out.min === null ? p.min : Math.min(out.min, p.min!);
    out.max = out.max === null ? p.max : Math.max(out.max, p.max!);
    const n = out.finiteCount + p.finiteCount;
    const d = p.mean - mean;
    m2 += (p.std ?? 0) ** 2 * p.finiteCount + (d * d * out.finiteCount * p.finiteCount) / n;
    mean += (d * p.finiteCount) / n;
    out.finiteCount = n;
  }
  if (out.finiteCount > 0) {
    out.mean = mean;
    out.std = Math.sqrt(m2 / out.finiteCount);
  }
  return out;
}

export async function columnStats(model: TableModel, col: number, view: Pick<MappedView, 'stats'>, opts: ColumnStatsOptions = {}): Promise<ColumnStats> {
  const { passes } = passesOf(model, col);
  const total = model.totalRows;
  let done = 0;
  const check = () => {
    if (opts.cancelled?.()) throw new TableError('cancelled');
  };
  const parts: StatsResult[] = [];
  let nulls = 0;
  const slow = async (p: { start: number; rows: number; batch?: number }, each: (v: number) => void): Promise<Acc> => {
    const acc = new Acc();
    const values = p.batch !== undefined && model instanceof ArrowTable ? await model.batchValues(col, p.batch) : null;
    if (values) {
      check();
      for (let i = 0; i < values.length; i++) {
        const v = Number(values[i]);
        acc.add(v);
        each(v);
      }
      return acc;
    }
    for (let r = p.start; r < p.start + p.rows; r += PAGE) {
      check();
      const page = await model.rows(r, Math.min(PAGE, p.start + p.rows - r), [col]);
      if (page.errors[0]) throw new TableError(page.errors[0]);
      for (const row of page.rows) {
        const v = numberOf(row[0]);
        acc.add(v);
        if (v !== null) each(v);
      }
    }
    return acc;
  };
  for (const p of passes) {
    check();
    if ('spec' in p) parts.push(await view.stats({ ...p.spec, cancellable: true }));
    else {
      const acc = await slow(p, () => undefined);
      nulls += acc.nulls;
      parts.push(acc.result());
    }
    done += 'spec' in p ? p.spec.cols : p.rows;
    opts.progress?.(done, total);
  }
  const out: ColumnStats = { ...combine(parts), nullCount: nulls };
  const bins = opts.bins ?? 0;
  if (bins > 0 && out.min !== null && out.max !== null) {
    const hist = new Float64Array(bins);
    const lo = out.min;
    const hi = out.max;
    for (const p of passes) {
      check();
      if ('spec' in p) {
        const r = await view.stats({ ...p.spec, bins, histMin: lo, histMax: hi, cancellable: true });
        r.histogram?.forEach((v, i) => (hist[i] += v));
      } else {
        await slow(p, (v) => {
          if (!Number.isFinite(v)) return;
          const k = hi > lo ? Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins)) : 0;
          hist[k]++;
        });
      }
    }
    Object.assign(out, { histogram: hist, histMin: lo, histMax: hi });
  }
  return out;
}
