/**
 * From a decoded array (dtype, shape, order, offset) to the 2-D strided slice
 * the native kernels read: two displayed axes, fixed indices on the others.
 */
import type { SliceSpec } from '../native';
import { parseNumericDType, type NumericDType } from './dtype';
import { arrowValuesDtype } from './formats/arrow';
import type { SegmentFormat } from './types';
import { ShmError } from './errors';

export interface ArrayLayout {
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  dataOffset: number;
}

export interface SliceChoice {
  /** The two displayed axes (row axis, column axis); default the last two. */
  axes?: [number, number];
  /** Fixed index for every axis (entries for the displayed axes are ignored); default 0. */
  index?: number[];
  part?: SliceSpec['part'];
}

export interface ResolvedSlice extends SliceSpec {
  numeric: NumericDType;
  axes: [number, number] | null;
}

/** Axes, an index or a dtype that do not give a 2-D slice of the array (code SELECTION). */
export class SliceError extends ShmError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'SELECTION', options);
  }
}

/** What a segment, a tensor or a column says of its array (Segment, Decoded and DecodedChild all have these). */
export interface ArrayFacts {
  format: SegmentFormat;
  dtype: string | null;
  shape: number[] | null;
  fortranOrder: boolean | null;
  dataOffset: number | null;
  error: string | null;
  details?: Record<string, unknown>;
}

/**
 * The numeric array a segment or a child of one holds, or why there is none (words to put after
 * its name). The one rule for the tree (click, menus, palette), the preview and the CLI: an Arrow
 * column is the 1-D array of its values buffer (`Float64` read as `<f8`, timestamps as their
 * int64 storage), when it lies in one place.
 */
export function arrayLayoutOf(s: ArrayFacts): { layout: ArrayLayout } | { reason: string } {
  if (s.error) return { reason: s.error };
  if (s.format === 'column') {
    const values = s.dtype === null ? null : arrowValuesDtype(s.dtype);
    if (values === null) return { reason: `Arrow type ${s.dtype ?? '?'} is not numeric; it cannot be drawn` };
    if (s.shape === null || s.dataOffset === null) {
      const note = typeof s.details?.note === 'string' ? s.details.note : 'its values are not in one place (compressed, or not read)';
      return { reason: note };
    }
    return { layout: { dtype: values, shape: s.shape, fortranOrder: false, dataOffset: s.dataOffset } };
  }
  if (s.dtype === null || s.shape === null || s.dataOffset === null || s.fortranOrder === null) return { reason: 'not an array' };
  if (!parseNumericDType(s.dtype)) return { reason: `dtype ${s.dtype} is not numeric; it cannot be drawn` };
  return { layout: { dtype: s.dtype, shape: s.shape, fortranOrder: s.fortranOrder, dataOffset: s.dataOffset } };
}

export function byteStrides(shape: number[], itemsize: number, fortran: boolean): number[] {
  const n = shape.length;
  const strides = new Array<number>(n).fill(0);
  let acc = itemsize;
  if (fortran) {
    for (let k = 0; k < n; k++) {
      strides[k] = acc;
      acc *= shape[k];
    }
  } else {
    for (let k = n - 1; k >= 0; k--) {
      strides[k] = acc;
      acc *= shape[k];
    }
  }
  return strides;
}

/** The 2-D slice of `layout` to read, or a SliceError saying why it cannot be read. */
export function resolveSlice(layout: ArrayLayout, choice: SliceChoice = {}): ResolvedSlice {
  const numeric = parseNumericDType(layout.dtype);
  if (!numeric) throw new SliceError(`dtype ${layout.dtype} is not numeric; it cannot be drawn`);
  const { shape } = layout;
  const strides = byteStrides(shape, numeric.itemsize, layout.fortranOrder);
  const base = {
    dtype: numeric.kernel,
    byteSwap: numeric.byteSwap,
    part: choice.part ?? 'magnitude',
    numeric,
  } as const;
  if (shape.length === 0) {
    return { ...base, offset: layout.dataOffset, strideR: 0, strideC: 0, rows: 1, cols: 1, axes: null };
  }
  if (shape.length === 1) {
    return { ...base, offset: layout.dataOffset, strideR: 0, strideC: strides[0], rows: 1, cols: shape[0], axes: null };
  }
  const axes = choice.axes ?? [shape.length - 2, shape.length - 1];
  const [ar, ac] = axes;
  if (ar === ac || ![ar, ac].every((a) => Number.isInteger(a) && a >= 0 && a < shape.length)) {
    throw new SliceError(`axes ${ar},${ac} are not two different axes of a ${shape.length}-D array`);
  }
  let offset = layout.dataOffset;
  for (let k = 0; k < shape.length; k++) {
    if (k === ar || k === ac) continue;
    const i = choice.index?.[k] ?? 0;
    if (!Number.isInteger(i) || i < 0 || i >= shape[k]) {
      throw new SliceError(`index ${i} is out of range for axis ${k} of size ${shape[k]}`);
    }
    offset += i * strides[k];
  }
  return { ...base, offset, strideR: strides[ar], strideC: strides[ac], rows: shape[ar], cols: shape[ac], axes: [ar, ac] };
}

/** A shape written wrongly (code USAGE; the callers say where it was written). */
export class ShapeSyntaxError extends ShmError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'USAGE', options);
  }
}

/** numpy's limit on dimensions. */
export const MAX_DIMS = 32;

/**
 * A shape as the contract writes it (`--shape A,B[,...]`, docs/cli.md): whole numbers >= 0
 * separated by commas, spaces allowed around them; the empty text is a scalar. The CLI
 * (create and the array commands) and the create wizard all read shapes here, so what one
 * accepts the others accept. ShapeSyntaxError says what is wrong and how to write it.
 */
export function parseShape(text: string): number[] {
  if (text.trim() === '') return [];
  const parts = text.split(',');
  const dims = parts.map((p) => {
    const t = p.trim();
    if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
      const where = parts.length > 1 ? ` in '${text}'` : '';
      throw new ShapeSyntaxError(`bad dimension '${t}'${where}: write whole numbers separated by commas, e.g. 512,512`);
    }
    return Number(t);
  });
  if (dims.length > MAX_DIMS) throw new ShapeSyntaxError(`${dims.length} dimensions; numpy allows ${MAX_DIMS}`);
  return dims;
}
