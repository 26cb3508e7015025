/**
 * Single elements read exactly from the bytes (for the hover tooltip), and windows
 * of elements written out as NPY v1.0 files.
 */
import type { ResolvedSlice } from '../core/array';
import type { NumericDType } from '../core/dtype';
import { formatNumber } from '../core/numbers';
import type { MappedView } from '../native';
import type { ErrorCode } from '../../contract/errors';
import type { ComplexPart, Window2D } from '../../contract/protocol';

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * Math.pow(2, -24);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * Math.pow(2, e - 15);
}

/** x rounded to a binary float with `bits` significand bits and minimum exponent `emin`. */
function roundToBits(x: number, bits: number, emin: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), emin);
  const q = Math.pow(2, e - (bits - 1));
  return Math.round(x / q) * q;
}

/** Shortest decimal that reads back as `v` in a float with the given rounding. */
function shortest(v: number, round: (x: number) => number, maxDigits: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  for (let p = 1; p <= maxDigits; p++) {
    const s = Number(v.toPrecision(p));
    if (round(s) === v) return formatNumber(s);
  }
  return formatNumber(v);
}

export interface ElementValue {
  /** As stored, written out exactly (shortest round-trip form for floats). */
  text: string;
  /** The number the viewer draws (the chosen part of a complex). */
  value: number;
}

function floatText(v: number, kernel: string): string {
  switch (kernel) {
    case 'f2':
      return shortest(v, (x) => roundToBits(x, 11, -14), 6);
    case 'bf16':
      return shortest(v, (x) => roundToBits(x, 8, -126), 5);
    case 'f4':
    case 'c8':
      return shortest(v, Math.fround, 9);
    default:
      return shortest(v, (x) => x, 17);
  }
}

/** Decodes one element from its bytes. */
export function decodeElement(bytes: Uint8Array, dt: NumericDType, part: ComplexPart): ElementValue {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !dt.byteSwap;
  const k = dt.kernel;
  const num = (value: number, text = String(value)): ElementValue => ({ text, value });
  switch (k) {
    case 'b1':
      return num(bytes[0] ? 1 : 0, bytes[0] ? 'True' : 'False');
    case 'i1':
      return num(dv.getInt8(0));
    case 'u1':
      return num(dv.getUint8(0));
    case 'i2':
      return num(dv.getInt16(0, le));
    case 'u2':
      return num(dv.getUint16(0, le));
    case 'i4':
      return num(dv.getInt32(0, le));
    case 'u4':
      return num(dv.getUint32(0, le));
    case 'i8': {
      const b = dv.getBigInt64(0, le);
      return { text: b.toString(), value: Number(b) };
    }
    case 'u8': {
      const b = dv.getBigUint64(0, le);
      return { text: b.toString(), value: Number(b) };
    }
    case 'f2': {
      const v = halfToFloat(dv.getUint16(0, le));
      return { text: floatText(v, k), value: v };
    }
    case 'bf16': {
      const bits = dv.getUint16(0, le) << 16;
      const v = new DataView(new Uint32Array([bits >>> 0]).buffer).getFloat32(0, true);
      return { text: floatText(v, k), value: v };
    }
    case 'f4': {
      const v = dv.getFloat32(0, le);
      return { text: floatText(v, k), value: v };
    }
    case 'f8': {
      const v = dv.getFloat64(0, le);
      return { text: floatText(v, k), value: v };
    }
    case 'c8':
    case 'c16': {
      const half = k === 'c8' ? 4 : 8;
      const re = half === 4 ? dv.getFloat32(0, le) : dv.getFloat64(0, le);
      const im = half === 4 ? dv.getFloat32(4, le) : dv.getFloat64(8, le);
      const value = part === 'real' ? re : part === 'imag' ? im : part === 'phase' ? Math.atan2(im, re) : Math.hypot(re, im);
      const imText = floatText(Math.abs(im), k);
      const sign = im < 0 || Object.is(im, -0) ? '-' : '+';
      return { text: `(${floatText(re, k)}${Number.isNaN(im) ? '+' : sign}${Number.isNaN(im) ? 'nan' : imText}j)`, value };
    }
  }
}

/** Byte offset of element (row, col) of a resolved slice. */
export function elementOffset(slice: ResolvedSlice, row: number, col: number): number {
  return slice.offset + row * slice.strideR + col * slice.strideC;
}

export async function readElement(view: MappedView, slice: ResolvedSlice, row: number, col: number): Promise<ElementValue> {
  if (row < 0 || col < 0 || row >= slice.rows || col >= slice.cols) throw new Error(`(${row}, ${col}) is outside the ${slice.rows}×${slice.cols} slice`);
  const bytes = await view.read(elementOffset(slice, row, col), slice.numeric.itemsize);
  if (bytes.length < slice.numeric.itemsize) throw Object.assign(new Error('the segment ends before this element'), { code: 'SHRANK' satisfies ErrorCode });
  return decodeElement(bytes, slice.numeric, slice.part ?? 'magnitude');
}

/**
 * The elements of window `win` of a slice, each written out as the hover writes it (decodeElement:
 * exactly as stored), row-major: the Table toggle's grid of values. The addon reads the window at its
 * strides on a worker thread; the caller keeps it to what is on screen (MAX_GRID_ROWS × MAX_GRID_COLUMNS).
 */
export async function readElementTexts(view: MappedView, slice: ResolvedSlice, win: Window2D): Promise<string[]> {
  const w: Window2D = { r0: win.r0, r1: Math.min(win.r1, slice.rows), c0: win.c0, c1: Math.min(win.c1, slice.cols) };
  if (w.r1 <= w.r0 || w.c1 <= w.c0) return [];
  const item = slice.numeric.itemsize;
  const n = (w.r1 - w.r0) * (w.c1 - w.c0);
  const raw = await view.gather({
    offset: elementOffset(slice, w.r0, w.c0),
    rows: w.r1 - w.r0,
    cols: w.c1 - w.c0,
    strideR: slice.strideR,
    strideC: slice.strideC,
    itemSize: item,
  });
  if (raw.length < n * item) throw Object.assign(new Error('the segment ends before these elements'), { code: 'SHRANK' satisfies ErrorCode });
  const part = slice.part ?? 'magnitude';
  const out: string[] = new Array<string>(n);
  for (let k = 0; k < n; k++) out[k] = decodeElement(raw.subarray(k * item, (k + 1) * item), slice.numeric, part).text;
  return out;
}

// ---- NPY ---------------------------------------------------------------

/** An NPY v1.0 header (magic, version, length, dict padded so the data starts at a multiple of 64). */
export function npyHeader(descr: string, shape: number[], fortranOrder = false): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + dict.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** Most bytes a saved window may hold. */
export const MAX_NPY_BYTES = 256 * 1024 * 1024;

export interface GatheredWindow {
  descr: string;
  shape: [number, number];
  data: Uint8Array;
  /** Set when the saved type differs from the stored one. */
  note: string | null;
}

/**
 * The elements of `win` exactly as stored, in C order (rows x cols of the displayed slice).
 * Throws a clear message when the window is larger than MAX_NPY_BYTES.
 */
export async function gatherWindow(view: MappedView, slice: ResolvedSlice, win: Window2D, maxBytes = MAX_NPY_BYTES): Promise<GatheredWindow> {
  const dt = slice.numeric;
  const n = win.r1 - win.r0;
  const m = win.c1 - win.c0;
  const bf16 = dt.kernel === 'bf16';
  const outItem = bf16 ? 4 : dt.itemsize;
  const bytes = n * m * outItem;
  if (bytes > maxBytes) {
    throw new Error(
      `the visible window is ${n}×${m} = ${n * m} elements (${(bytes / 2 ** 20).toFixed(1)} MiB); ` +
        `saving is limited to ${maxBytes / 2 ** 20} MiB. Zoom in to a smaller window first.`,
    );
  }
  // The addon reads the window at its strides (any slice of any order, however far apart
  // its elements lie) on a worker thread, row by row in C order.
  const item = dt.itemsize;
  const raw = await view.gather({
    offset: slice.offset + win.r0 * slice.strideR + win.c0 * slice.strideC,
    rows: n,
    cols: m,
    strideR: slice.strideR,
    strideC: slice.strideC,
    itemSize: item,
  });
  let out: Uint8Array = raw;
  if (bf16) {
    // bfloat16 has no NPY type: its exact float32 (the high half of the float's bits).
    out = new Uint8Array(bytes);
    for (let k = 0, o = 0; k < n * m; k++, o += 4) {
      const src = k * 2;
      out[o + 2] = dt.byteSwap ? raw[src + 1] : raw[src];
      out[o + 3] = dt.byteSwap ? raw[src] : raw[src + 1];
    }
  }
  return {
    descr: bf16 ? '<f4' : dt.str,
    shape: [n, m],
    data: out,
    note: bf16 ? 'bfloat16 has no NPY type: saved as float32 (exact)' : null,
  };
}
