/**
 * From a decoded array (dtype, shape, order, offset) to the 2-D strided slice
 * the native kernels read: two displayed axes, fixed indices on the others.
 */
import type { SliceSpec } from '../native';
import { parseNumericDType, type NumericDType } from './dtype';

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

export class SliceError extends Error {}

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
