/**
 * numpy arrays as tables. A structured array (a record dtype: `np.save` of a record array,
 * `df.to_records()`) is one row per record and one column per field (nested fields `a.b`,
 * sub-arrays as nested lists, either byte order, packed or aligned: numpy's descr lists the
 * padding), read at the record's offset. A numeric 1-D array is one column `value`; a 2-D one
 * has columns "0".."n-1" (C or Fortran order).
 */
import { parseNumericDType } from '../dtype';
import { PyDict, PyTuple, parsePyLiteral, type PyValue } from '../formats/pyliteral';
import type { ArrayLayout } from '../array';
import type { SliceSpec } from '../../native';
import { describeError } from '../formats/util';
import { clipRows, pickColumns, readRange, TableError, type Cell, type CellKind, type TableBytes, type TableColumn, type TableModel, type TablePage } from './types';
import { bigCell, bigLE, f16, floatCell, hex, text, timestampText } from './values';

/** A leaf field of a record: where it lies in the record and how to read it. */
export interface RecordField {
  name: string;
  offset: number;
  dtype: string;
  /** Sub-array shape ([] for a scalar field). */
  shape: number[];
  itemsize: number;
}

const MAX_FIELDS = 10_000;
const MAX_HEADER = 1 << 20;

/** Bytes of one element of a dtype string (`<f8` 8, `<U5` 20, `|S3` 3, `<M8[ns]` 8), or null. */
function elementSize(dtype: string): number | null {
  const num = parseNumericDType(dtype);
  if (num) return num.itemsize;
  const m = /^[<>|=]?([SUVaMmO])(\d*)(\[\w+\])?$/.exec(dtype);
  if (!m) return null;
  const n = m[2] === '' ? null : Number(m[2]);
  switch (m[1]) {
    case 'U':
      return n === null ? null : n * 4;
    case 'S':
    case 'a':
    case 'V':
      return n;
    case 'M':
    case 'm':
      return n ?? 8;
    case 'O':
      return 8;
  }
  return null;
}

function dims(v: PyValue): number[] | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? [v] : null;
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
  if (!items) return null;
  const out: number[] = [];
  for (const d of items) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return null;
    out.push(d);
  }
  return out;
}

/**
 * The leaf fields of a numpy descr list ([('a', '<f8'), ('b', [('x', '<i4')]), ('c', '<f4', (3,))],
 * padding entries named ''), and the record's size. Throws a TableError for what is not a descr.
 */
export function recordFields(descr: PyValue): { fields: RecordField[]; itemsize: number } {
  const fields: RecordField[] = [];
  const walk = (list: PyValue, base: number, prefix: string, depth: number): number => {
    if (!Array.isArray(list)) throw new TableError('structured dtype: descr is not a list of fields');
    if (depth > 32) throw new TableError('structured dtype nested more than 32 deep');
    let at = base;
    for (const entry of list) {
      const items = entry instanceof PyTuple ? entry.items : Array.isArray(entry) ? entry : null;
      if (!items || items.length < 2 || items.length > 3) throw new TableError('structured dtype: a field is not (name, format[, shape])');
      const rawName = items[0] instanceof PyTuple ? items[0].items[1] : items[0];
      if (typeof rawName !== 'string') throw new TableError('structured dtype: a field name is not a string');
      const shape = items.length === 3 ? dims(items[2]) : [];
      if (!shape) throw new TableError(`structured dtype: field '${rawName}' has a bad shape`);
      const count = shape.reduce((x, y) => x * y, 1);
      const name = prefix + rawName;
      if (Array.isArray(items[1])) {
        if (count !== 1) throw new TableError(`structured dtype: field '${name}' is an array of records, not shown`);
        at += walk(items[1], at, `${name}.`, depth + 1);
        continue;
      }
      if (typeof items[1] !== 'string') throw new TableError(`structured dtype: field '${name}' has no format string`);
      const dtype = items[1];
      const size = elementSize(dtype);
      if (size === null) throw new TableError(`structured dtype: field '${name}' has format '${dtype}', which is not read`);
      if (rawName !== '') {
        if (fields.length >= MAX_FIELDS) throw new TableError(`structured dtype has more than ${MAX_FIELDS} fields`);
        fields.push({ name, offset: at, dtype, shape, itemsize: size });
      }
      at += size * count;
      if (!Number.isSafeInteger(at)) throw new TableError('structured dtype: a record larger than 2^53 bytes');
    }
    return at - base;
  };
  const itemsize = walk(descr, 0, '', 0);
  return { fields, itemsize };
}

function kindOfDtype(dtype: string, shape: number[]): CellKind {
  if (shape.length) return 'list';
  const num = parseNumericDType(dtype);
  if (num) return num.kernel === 'b1' ? 'bool' : /^[iu]/.test(num.kernel) ? 'int' : num.complex ? 'other' : 'float';
  const m = /^[<>|=]?([SUVaMmO])/.exec(dtype);
  switch (m?.[1]) {
    case 'U':
    case 'S':
    case 'a':
      return 'string';
    case 'V':
      return 'bytes';
    case 'M':
      return 'timestamp';
    case 'm':
      return 'duration';
  }
  return 'other';
}

const M8_UNITS: Record<string, [number, bigint]> = {
  // unit -> (digits of the ISO fraction, factor to those digits)
  s: [0, 1n],
  ms: [3, 1n],
  us: [6, 1n],
  ns: [9, 1n],
  m: [0, 60n],
  h: [0, 3600n],
  D: [0, 86400n],
  W: [0, 604800n],
};
const NAT = -(1n << 63n);

/** A converter from the bytes of one element of `dtype` to its cell. */
export function elementCell(dtype: string): (b: Uint8Array, at: number) => Cell {
  const num = parseNumericDType(dtype);
  const little = !dtype.startsWith('>');
  if (num) {
    const w = num.itemsize;
    switch (num.kernel[0]) {
      case 'b':
        return (b, at) => b[at] !== 0;
      case 'i':
      case 'u': {
        const signed = num.kernel[0] === 'i';
        if (w === 8) return (b, at) => bigCell(bigLE(b, at, 8, signed, little));
        return (b, at) => Number(bigLE(b, at, w, signed, little));
      }
      case 'f':
        if (w === 2) return (b, at) => floatCell(f16(new DataView(b.buffer, b.byteOffset).getUint16(at, little)));
        if (w === 4) return (b, at) => floatCell(new DataView(b.buffer, b.byteOffset).getFloat32(at, little));
        return (b, at) => floatCell(new DataView(b.buffer, b.byteOffset).getFloat64(at, little));
      case 'c': {
        const h = w / 2;
        const get = (b: Uint8Array, at: number) =>
          h === 4 ? new DataView(b.buffer, b.byteOffset).getFloat32(at, little) : new DataView(b.buffer, b.byteOffset).getFloat64(at, little);
        return (b, at) => [floatCell(get(b, at)), floatCell(get(b, at + h))];
      }
    }
  }
  if (dtype === 'bfloat16') {
    const f32 = new DataView(new ArrayBuffer(4));
    return (b, at) => {
      f32.setUint32(0, ((b[at] | (b[at + 1] << 8)) << 16) >>> 0, true);
      return floatCell(f32.getFloat32(0, true));
    };
  }
  const m = /^[<>|=]?([SUVaMmO])(\d*)(?:\[(\w+)\])?$/.exec(dtype)!;
  const n = m[2] === '' ? 0 : Number(m[2]);
  switch (m[1]) {
    case 'S':
    case 'a':
      // numpy strips trailing NULs from a bytes field; its text is usually ASCII or UTF-8.
      return (b, at) => {
        let end = at + n;
        while (end > at && b[end - 1] === 0) end--;
        return text(b.subarray(at, end));
      };
    case 'U':
      return (b, at) => {
        const dv = new DataView(b.buffer, b.byteOffset);
        let s = '';
        for (let k = 0; k < n; k++) {
          const cp = dv.getUint32(at + 4 * k, little);
          if (cp === 0) {
            // numpy drops trailing NULs only; an embedded one ends nothing.
            let rest = false;
            for (let j = k + 1; j < n; j++) if (dv.getUint32(at + 4 * j, little) !== 0) rest = true;
            if (!rest) break;
          }
          s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
        }
        return s;
      };
    case 'V':
      return (b, at) => hex(b.subarray(at, at + n));
    case 'M': {
      const unit = M8_UNITS[m[3] ?? ''];
      if (!unit) throw new TableError(`datetime64 unit '${m[3] ?? ''}' is not read`);
      return (b, at) => {
        const v = bigLE(b, at, 8, true, little);
        if (v === NAT) return null;
        const text = timestampText(v * unit[1], unit[0], null);
        return m[3] === 'D' || m[3] === 'W' ? text.slice(0, text.indexOf('T')) : text;
      };
    }
    case 'm':
      return (b, at) => {
        const v = bigLE(b, at, 8, true, little);
        return v === NAT ? null : bigCell(v);
      };
  }
  throw new TableError(`dtype '${dtype}' is not read (an object field holds pointers into the producer's memory)`);
}

/** A field's cell: the element, or nested lists for a sub-array. */
function fieldCell(f: RecordField): (b: Uint8Array, at: number) => Cell {
  const one = elementCell(f.dtype);
  if (f.shape.length === 0) return one;
  const strides = f.shape.map((_, k) => f.shape.slice(k + 1).reduce((x, y) => x * y, 1) * f.itemsize);
  const nest = (b: Uint8Array, at: number, d: number): Cell =>
    Array.from({ length: f.shape[d] }, (_, i) => (d === f.shape.length - 1 ? one(b, at + i * f.itemsize) : nest(b, at + i * strides[d], d + 1)));
  return (b, at) => nest(b, at, 0);
}

/** The parsed header of an NPY file: descr (any form), shape, order, where the data starts. */
export async function readNpyHeader(src: TableBytes): Promise<{ descr: PyValue; shape: number[]; fortran: boolean; dataOffset: number }> {
  const pre = await readRange(src, 0, Math.min(src.size, 12), 'NPY preamble');
  if (pre.length < 10 || pre[0] !== 0x93 || String.fromCharCode(...pre.subarray(1, 6)) !== 'NUMPY') throw new TableError('not an NPY file');
  const major = pre[6];
  const dv = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  if (major > 1 && pre.length < 12) throw new TableError('truncated NPY preamble');
  const len = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (len > MAX_HEADER) throw new TableError(`NPY header length ${len} is absurd`);
  const bytes = await readRange(src, start, len, 'NPY header');
  const header = parsePyLiteral((major === 3 ? text(bytes) : Buffer.from(bytes).toString('latin1')).trimEnd());
  if (!(header instanceof PyDict)) throw new TableError('NPY header is not a dict');
  const shape = dims(header.entries.get('shape') ?? null);
  if (!shape) throw new TableError('NPY header: bad shape');
  return { descr: header.entries.get('descr') ?? null, shape, fortran: header.entries.get('fortran_order') === true, dataOffset: start + len };
}

/** A structured NPY: one row per record (an N-D record array is read flat, in its stored order). */
export class RecordTable implements TableModel {
  readonly source = 'npy' as const;
  readonly columns: TableColumn[];
  readonly notes: string[] = [];
  private readonly cells: ((b: Uint8Array, at: number) => Cell)[];

  constructor(
    private readonly src: TableBytes,
    readonly fields: RecordField[],
    readonly itemsize: number,
    readonly totalRows: number,
    readonly dataOffset: number,
  ) {
    this.columns = fields.map((f) => ({
      name: f.name,
      type: f.shape.length ? `${f.dtype}${JSON.stringify(f.shape).replace('[', '(').replace(']', ')')}` : f.dtype,
      kind: kindOfDtype(f.dtype, f.shape),
    }));
    this.cells = fields.map((f) => {
      try {
        return fieldCell(f);
      } catch (e) {
        const why = describeError(e);
        return () => {
          throw new TableError(why);
        };
      }
    });
  }

  static async open(src: TableBytes): Promise<RecordTable> {
    const h = await readNpyHeader(src);
    if (!Array.isArray(h.descr)) throw new TableError(`not a structured NPY (its dtype is ${JSON.stringify(h.descr)})`);
    const { fields, itemsize } = recordFields(h.descr);
    const rows = h.shape.reduce((x, y) => x * y, 1);
    const need = BigInt(rows) * BigInt(itemsize);
    const have = BigInt(src.size - h.dataOffset);
    if (need > have) {
      throw new TableError(
        `truncated: ${rows} records of ${itemsize} bytes need ${need} bytes of data, the file has ${have < 0n ? 0n : have} after its header (the dtype's itemsize disagrees with the file, or it was cut)`,
      );
    }
    const t = new RecordTable(src, fields, itemsize, rows, h.dataOffset);
    if (h.shape.length > 1) t.notes.push(`a ${h.shape.join(' x ')} record array, read as ${rows} rows in its stored (${h.fortran ? 'Fortran' : 'C'}) order`);
    return t;
  }

  async rows(offset: number, count: number, columns?: readonly number[]): Promise<TablePage> {
    const [a, b] = clipRows(this.totalRows, offset, count);
    const cols = pickColumns(this.columns.length, columns);
    const bytes = await readRange(this.src, this.dataOffset + a * this.itemsize, (b - a) * this.itemsize, 'records');
    const errors: (string | null)[] = cols.map(() => null);
    const rows: Cell[][] = [];
    for (let r = 0; r < b - a; r++) {
      rows.push(
        cols.map((c, j) => {
          if (errors[j]) return null;
          try {
            return this.cells[c](bytes, r * this.itemsize + this.fields[c].offset);
          } catch (e) {
            errors[j] = `field '${this.fields[c].name}': ${describeError(e)}`;
            return null;
          }
        }),
      );
    }
    return { offset: a, columns: cols, rows, errors };
  }

  async refresh(): Promise<number> {
    return this.totalRows;
  }
}

/** A 1-D array, or a 2-D grid of elements at (r, c) = offset + r * strideR + c * strideC. */
export interface ArrayGrid {
  dtype: string;
  oneD: boolean;
  rows: number;
  cols: number;
  offset: number;
  strideR: number;
  strideC: number;
}

/** The grid of a 1-D or 2-D array layout (C or Fortran order); a TableError for N-D. */
export function gridOf(layout: ArrayLayout): ArrayGrid {
  const dt = parseNumericDType(layout.dtype);
  if (!dt) throw new TableError(`dtype ${layout.dtype} is not numeric`);
  const shape = layout.shape;
  if (shape.length > 2) throw new TableError(`a ${shape.length}-D array: pick a 2-D slice with --index`);
  const rows = shape.length === 0 ? 1 : shape[0];
  const cols = shape.length === 2 ? shape[1] : 1;
  const w = dt.itemsize;
  return {
    dtype: layout.dtype,
    oneD: shape.length < 2,
    rows,
    cols,
    offset: layout.dataOffset,
    strideR: layout.fortranOrder && shape.length === 2 ? w : cols * w,
    strideC: layout.fortranOrder && shape.length === 2 ? rows * w : w,
  };
}

/** A numeric array as a table: 1-D as one column `value`, 2-D as columns "0".."n-1". */
export class ArrayTable implements TableModel {
  readonly source = 'array' as const;
  readonly columns: TableColumn[];
  readonly notes: string[] = [];
  readonly totalRows: number;
  private readonly cell: (b: Uint8Array, at: number) => Cell;
  private readonly itemsize: number;
  private readonly strideR: number;
  private readonly strideC: number;

  constructor(
    private readonly src: TableBytes,
    readonly grid: ArrayGrid,
  ) {
    const dt = parseNumericDType(grid.dtype);
    if (!dt) throw new TableError(`dtype ${grid.dtype} is not numeric`);
    this.itemsize = dt.itemsize;
    this.cell = elementCell(grid.dtype);
    const kind: CellKind = dt.kernel === 'b1' ? 'bool' : /^[iu]/.test(dt.kernel) ? 'int' : dt.complex ? 'other' : 'float';
    this.totalRows = grid.rows;
    this.columns = grid.oneD ? [{ name: 'value', type: dt.str, kind }] : Array.from({ length: grid.cols }, (_, i) => ({ name: String(i), type: dt.str, kind }));
    this.strideR = grid.strideR;
    this.strideC = grid.strideC;
  }

  /** Column c as one strided run (for native statistics). */
  columnRun(c: number): SliceSpec {
    pickColumns(this.columns.length, [c]);
    const dt = parseNumericDType(this.grid.dtype)!;
    const n = this.totalRows;
    return { dtype: dt.kernel, byteSwap: dt.byteSwap, offset: this.grid.offset + c * this.strideC, strideR: 0, strideC: this.strideR, rows: n > 0 ? 1 : 0, cols: n };
  }

  async rows(offset: number, count: number, columns?: readonly number[]): Promise<TablePage> {
    const [a, b] = clipRows(this.totalRows, offset, count);
    const cols = pickColumns(this.columns.length, columns);
    const out: Cell[][] = Array.from({ length: b - a }, () => []);
    if (b > a && cols.length) {
      // The elements of (row, column) at dataOffset + row * strideR + column * strideC: read as one
      // run when the page's cells are dense in it, else one run per row (C order) or column (Fortran).
      const lo = Math.min(...cols);
      const hi = Math.max(...cols);
      const at = (r: number, c: number) => this.grid.offset + r * this.strideR + c * this.strideC;
      const span = at(b - 1, hi) + this.itemsize - at(a, lo);
      const runs: [number, number, number, number][] = []; // rows a0..a1, columns c0..c1
      if (span <= Math.max(1 << 16, 4 * (b - a) * cols.length * this.itemsize)) runs.push([a, b - 1, lo, hi]);
      else if (this.strideC > this.strideR) for (const c of cols) runs.push([a, b - 1, c, c]);
      else for (let r = a; r < b; r++) runs.push([r, r, lo, hi]);
      const cells = new Map<number, Cell>();
      await Promise.all(
        runs.map(async ([r0, r1, c0, c1]) => {
          const first = at(r0, c0);
          const bytes = await readRange(this.src, first, at(r1, c1) + this.itemsize - first, 'array values');
          for (let r = r0; r <= r1; r++)
            for (const c of cols) if (c >= c0 && c <= c1) cells.set((r - a) * this.columns.length + c, this.cell(bytes, at(r, c) - first));
        }),
      );
      for (let r = 0; r < b - a; r++) for (const c of cols) out[r].push(cells.get(r * this.columns.length + c)!);
    }
    return { offset: a, columns: cols, rows: out, errors: cols.map(() => null) };
  }

  async refresh(): Promise<number> {
    return this.totalRows;
  }
}
