/**
 * Layout proposals for a raw segment (bytes with no header we know): which dtype, shape and
 * offset most likely produced its size, best first. Used by *Interpret As…* and by
 * `shm-inspector interpret NAME` without `--dtype` (it lists them).
 *
 * From the size alone: for every dtype width, the factorisations of the element count into
 * near-square 2-D shapes (exact fits), the same after a small header (8…4096 bytes, what
 * producers put before the data), and products a little smaller than the file: page padding
 * (a producer that rounds its segment up to whole pages) or a small trailer. A shape scores for
 * being square-ish and for "round" dimensions (1000, 1024, 480): users' matrices have them far
 * more often than 978 x 1024, which is the exact fit of a page-rounded 1000 x 1000 float16.
 *
 * From the bytes (optional, `sampleSegment`: at most 72 KiB read on the addon's worker threads):
 * how plausible each dtype is (finite floats of one magnitude scale vs bit noise; small integers),
 * and where the zeros at the end begin (padding must be zeros). No vscode import.
 */
import { parseNumericDType } from './dtype';
import { openView } from '../native';
import { leftoverBytes, type Interpretation } from './interpretations';

export interface LayoutProposal extends Interpretation {
  /** Bytes the array takes (elements x itemsize). */
  dataBytes: number;
  /** Bytes after the array that the layout leaves unread. */
  trailingBytes: number;
  /** Why this layout: `exact fit`, `16-byte header`, `page padding (2944 bytes)`, `6 bytes left over`. */
  reason: string;
  /** Higher is likelier (a log-odds-like sum; only the order means anything). */
  score: number;
  /** 0..1 from sampled bytes (how much the data looks like this dtype); null without a sample. */
  plausibility: number | null;
}

/** What was read of the segment for the plausibility scores. */
export interface ByteSample {
  size: number;
  /** Pieces of the file, each at a page-aligned offset. */
  chunks: { offset: number; bytes: Uint8Array }[];
  /** Offset after the last non-zero byte of the file's end (0 when the whole tail read is zeros); null when not read. */
  zerosFrom: number | null;
  /** Where the tail that was read begins (zerosFrom is only known down to here). */
  tailFrom: number;
}

export const PAGE = 4096;
/** Header sizes tried before the data. */
export const HEADERS = [8, 16, 32, 64, 128, 256, 512, 1024, 4096];
/** Dtypes proposed, with a small prior (what our users share most). */
const DTYPES: { dtype: string; prior: number }[] = [
  { dtype: '<f4', prior: 0.3 },
  { dtype: '<f8', prior: 0.1 },
  { dtype: '<f2', prior: 0 },
  { dtype: '|u1', prior: -0.2 },
  { dtype: '<i4', prior: -0.3 },
  { dtype: '<i8', prior: -0.4 },
  { dtype: '<i2', prior: -0.5 },
  { dtype: '<u2', prior: -0.6 },
  { dtype: 'bfloat16', prior: -0.7 },
  { dtype: '<c8', prior: -0.8 },
];
/** Widest aspect ratio proposed as 2-D. */
const MAX_RATIO = 64;
/** Most candidate rows tried per (dtype, offset): bounds the work on huge segments. */
const MAX_ROW_STEPS = 20_000;

/** 0..3: trailing decimal zeros, or binary ones / 3 (1000 and 1024 both score 3). */
function roundness(d: number): number {
  let dec = 0;
  for (let x = d; dec < 3 && x % 10 === 0 && x > 0; x /= 10) dec++;
  let bin = 0;
  for (let x = d; bin < 12 && x % 2 === 0 && x > 0; x /= 2) bin++;
  // 25, 50, 75: common too (half a decimal zero).
  const quarter = dec === 0 && d % 25 === 0 ? 0.5 : 0;
  return Math.min(3, Math.max(dec + quarter, bin / 3));
}

function shapeScore(rows: number, cols: number): number {
  const ratio = Math.max(rows, cols) / Math.min(rows, cols);
  return -0.5 * Math.log2(ratio) + 0.5 * (roundness(rows) + roundness(cols));
}

type FitKind = 'exact' | 'page' | 'trailer' | 'left';

/** How likely the bytes around the data are (a header before it, padding or a trailer after it), or null. */
function fitScore(size: number, offset: number, trailing: number, dataBytes: number, sample: ByteSample | null): { score: number; kind: FitKind } {
  const head = offset === 0 ? 0 : offset <= 64 ? -0.5 : -0.8;
  // A size of whole pages is as likely padding as an exact fit.
  if (trailing === 0) return { score: head + (size % PAGE === 0 ? 0.3 : 1), kind: 'exact' };
  const end = offset + dataBytes;
  // Bytes the layout leaves over that are not zeros: data it would cut off.
  const dataLeftOver = sample !== null && sample.zerosFrom !== null && end >= sample.tailFrom && sample.zerosFrom > end;
  if (size % PAGE === 0 && Math.ceil(end / PAGE) * PAGE === size && !dataLeftOver) return { score: head - 0.2, kind: 'page' };
  if (trailing <= 64) return { score: head - 1 - (dataLeftOver ? 0.3 : 0), kind: 'trailer' };
  return { score: head - 2.5 - Math.log2(trailing / 64) * 0.3 - (dataLeftOver ? 1.5 : 0), kind: 'left' };
}

function reasonOf(kind: FitKind, offset: number, trailing: number): string {
  const parts = offset === 0 ? [] : [`${offset}-byte header`];
  if (kind === 'exact' && offset === 0) parts.push('exact fit');
  else if (kind === 'page') parts.push(`page padding (${trailing} bytes)`);
  else if (kind === 'trailer') parts.push(`${trailing}-byte trailer`);
  else if (kind === 'left') parts.push(`${trailing} bytes left over`);
  return parts.join(' + ');
}

/** Candidate 2-D shapes (rows <= cols) of `itemsize` elements that fit in [lo, hi] bytes. */
function shapesBetween(lo: number, hi: number, itemsize: number, visit: (rows: number, cols: number) => void): void {
  const nHi = Math.floor(hi / itemsize);
  const nLo = Math.ceil(lo / itemsize);
  if (nHi < 4) return;
  const top = Math.floor(Math.sqrt(nHi));
  const bottom = Math.max(2, Math.ceil(Math.sqrt(nLo / MAX_RATIO)), top - MAX_ROW_STEPS);
  for (let a = top; a >= bottom; a--) {
    const bMax = Math.floor(nHi / a);
    for (let b = bMax; b >= a && a * b >= nLo; b--) visit(a, b);
  }
}

/** Plausibility 0..1 of the sampled bytes as `dtype` with elements starting at `align` (mod itemsize). */
export function plausibility(sample: ByteSample, dtype: string, align: number): number {
  const dt = parseNumericDType(dtype);
  if (!dt) return 0;
  const w = dt.itemsize;
  if (dt.kernel === 'u1' || dt.kernel === 'i1' || dt.kernel === 'b1') return 0.5;
  // Floats: finite, normal (subnormals are what small integers look like as floats), and of one
  // scale with their neighbour: a wrong width reads mantissa bits as exponents, or one element's
  // exponent as a much wider one's (its spread times 8 or 64), so neighbours differ by many binades.
  let count = 0;
  let good = 0;
  let small = 0;
  let pairs = 0;
  let near = 0;
  const exps: number[] = [];
  const minNormal = dt.kernel === 'f2' ? 2 ** -14 : dt.kernel === 'f8' ? 2 ** -1022 : 2 ** -126;
  const isInt = dt.kernel.startsWith('i') || dt.kernel.startsWith('u');
  for (const { offset, bytes } of sample.chunks) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let prev = NaN;
    for (let p = (((align - offset) % w) + w) % w; p + w <= bytes.length; p += w) {
      count++;
      const v = readElement(dv, p, dt.kernel);
      if (isInt) {
        if (Math.abs(v) < 2 ** (4 * w)) small++;
        continue;
      }
      const a = Math.abs(v);
      if (v === 0) {
        good++;
        prev = NaN;
        continue;
      }
      if (!(a >= minNormal) || a === Infinity) {
        prev = NaN;
        continue;
      }
      good++;
      const e = Math.log2(a);
      exps.push(e);
      if (!Number.isNaN(prev)) {
        pairs++;
        if (Math.abs(e - prev) <= 4) near++;
      }
      prev = e;
    }
  }
  if (count === 0) return 0.5;
  if (isInt) return (0.75 * small) / count;
  const goodFrac = good / count;
  if (pairs < 8) return goodFrac;
  exps.sort((x, y) => x - y);
  const median = Math.abs(exps[exps.length >> 1]);
  const magnitude = median <= 40 ? 1 : median >= 100 ? 0 : (100 - median) / 60;
  return goodFrac * (near / pairs) * magnitude;
}

function readElement(dv: DataView, p: number, kernel: string): number {
  switch (kernel) {
    case 'f2':
      return half(dv.getUint16(p, true));
    case 'bf16':
      return bf16(dv.getUint16(p, true));
    case 'f4':
    case 'c8':
      return dv.getFloat32(p, true);
    case 'f8':
      return dv.getFloat64(p, true);
    case 'i2':
      return dv.getInt16(p, true);
    case 'u2':
      return dv.getUint16(p, true);
    case 'i4':
      return dv.getInt32(p, true);
    case 'i8':
      return Number(dv.getBigInt64(p, true));
    default:
      return 0;
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Likely layouts of a raw segment of `size` bytes, best first (at most `max`).
 * `sample` (from sampleSegment) adds how the bytes look; without it, the size alone decides.
 */
export function proposeLayouts(size: number, opts: { sample?: ByteSample | null; max?: number } = {}): LayoutProposal[] {
  const sample = opts.sample ?? null;
  const max = opts.max ?? 12;
  if (!Number.isSafeInteger(size) || size <= 0) return [];
  const best = new Map<string, LayoutProposal>();
  const plaus = new Map<string, number>();
  const plausOf = (dtype: string, offset: number, w: number): number | null => {
    if (!sample) return null;
    const k = `${dtype}@${offset % w}`;
    let p = plaus.get(k);
    if (p === undefined) plaus.set(k, (p = plausibility(sample, dtype, offset % w)));
    return p;
  };
  const add = (p: LayoutProposal) => {
    // One entry per dtype and shape: the same shape after a header is the less likely reading.
    const k = `${p.dtype}|${p.shape.join(',')}`;
    const had = best.get(k);
    if (!had || had.score < p.score) best.set(k, p);
  };
  for (const { dtype, prior } of DTYPES) {
    const w = parseNumericDType(dtype)!.itemsize;
    for (const offset of [0, ...HEADERS]) {
      if (offset * 2 > size) break;
      const avail = size - offset;
      const p = plausOf(dtype, offset, w);
      const base = prior + (p === null ? 0 : 4 * (p - 0.5));
      // The few best shapes of this dtype and offset (keeping all would be thousands).
      const local: { rows: number; cols: number; score: number; kind: FitKind }[] = [];
      let worst = -Infinity;
      const consider = (rows: number, cols: number) => {
        const shape = shapeScore(rows, cols);
        // The fit adds at most 1: skip what cannot enter the few kept.
        if (local.length >= 4 && base + shape + 1 <= worst) return;
        const fit = fitScore(size, offset, avail - rows * cols * w, rows * cols * w, sample);
        const score = base + fit.score + shape;
        if (local.length >= 4 && score <= worst) return;
        local.push({ rows, cols, score, kind: fit.kind });
        local.sort((x, y) => y.score - x.score);
        if (local.length > 4) local.pop();
        worst = local[local.length - 1].score;
      };
      // After a header, exact fits only (a header and padding too is rarer than either, and would
      // crowd the list with one shape at every header size).
      shapesBetween(offset === 0 ? Math.max(0, avail - (PAGE - 1)) : avail, avail, w, consider);
      for (const c of local) {
        const dataBytes = c.rows * c.cols * w;
        const trailing = avail - dataBytes;
        add({
          dtype,
          shape: [c.rows, c.cols],
          offset,
          order: 'C',
          dataBytes,
          trailingBytes: trailing,
          reason: reasonOf(c.kind, offset, trailing),
          score: c.score,
          plausibility: p,
        });
      }
      // 1-D, when it fits exactly: a vector, or a size with no 2-D factorisation (a prime count).
      if (avail % w === 0) {
        const fit = fitScore(size, offset, 0, avail, sample);
        add({
          dtype,
          shape: [avail / w],
          offset,
          order: 'C',
          dataBytes: avail,
          trailingBytes: 0,
          reason: reasonOf(fit.kind, offset, 0),
          score: base + fit.score - 2,
          plausibility: p,
        });
      }
    }
  }
  return [...best.values()].sort((a, b) => b.score - a.score).slice(0, max);
}

/** What sampleSegment needs of a mapped view (MappedView.read runs on the addon's worker threads). */
export interface ByteReader {
  read(offset: number, length: number): Promise<Uint8Array>;
}

const CHUNK = 4096;
const CHUNKS = 16;
const TAIL = 8192;

/** Reads a bounded sample of a segment for proposeLayouts: 16 pages spread over it, and its last 8 KiB. */
export async function sampleSegment(view: ByteReader, size: number): Promise<ByteSample> {
  const pages = Math.ceil(size / CHUNK);
  const picks = new Set<number>();
  for (let k = 0; k < CHUNKS && k < pages; k++) picks.add(Math.floor((k * pages) / Math.min(CHUNKS, pages)) * CHUNK);
  const chunks = await Promise.all([...picks].map(async (offset) => ({ offset, bytes: await view.read(offset, Math.min(CHUNK, size - offset)) })));
  const tailFrom = Math.max(0, size - TAIL);
  const tail = await view.read(tailFrom, size - tailFrom);
  let last = tail.length - 1;
  while (last >= 0 && tail[last] === 0) last--;
  return { size, chunks, zerosFrom: last < 0 ? tailFrom : tailFrom + last + 1, tailFrom };
}

/** `leaves 896 bytes after the data unread` (null when the layout reads to the end of the segment). */
export function leftoverWords(size: number, i: Interpretation): string | null {
  const after = leftoverBytes(size, i);
  if (after <= 0) return null;
  return `leaves ${after} byte${after === 1 ? '' : 's'} after the data unread (it uses ${size - after} of ${size} bytes${i.offset ? `, from offset ${i.offset}` : ''})`;
}

/**
 * Proposals for the file of a segment: its bytes sampled through a mapping (on the addon's
 * worker threads), or from its size alone when it cannot be mapped (permission, vanished).
 */
export async function proposeForFile(file: string | Buffer, size: number, max = 12): Promise<LayoutProposal[]> {
  let sample: ByteSample | null = null;
  if (size > 0) {
    const view = await openView(file).catch(() => null);
    if (view) {
      try {
        sample = await sampleSegment(view, Math.min(size, view.size));
      } catch {
        sample = null; // shrank, SIGBUS: the size still proposes
      } finally {
        view.close();
      }
    }
  }
  return proposeLayouts(size, { sample, max });
}
