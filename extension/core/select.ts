/**
 * What an array command reads (docs/cli.md, "Array commands"): from a catalogued
 * segment and the selection flags to an array layout, then to the 2-D slice the native kernels
 * read, or to the whole array as one run of elements. No vscode import: the CLI and the
 * extension can both use it.
 *
 * Errors: UsageError (exit 2) for flags that are malformed or do not apply to the segment;
 * SelectionError (exit 1) for what the data does not allow (not numeric, index out of range,
 * a tensor that is not there, an interpretation that does not fit).
 */
import { COMPLEX_PART_NAMES, isComplexPart, type ComplexPart } from '../../contract/reduce';
import type { FileIdentity, SliceSpec } from '../native';
import { arrayLayoutOf, parseShape, resolveSlice, SliceError, type ArrayFacts, type ArrayLayout, type ResolvedSlice } from './array';
import { UsageError } from './catalog';
import { parseDTypeSpec, parseNumericDType } from './dtype';
import { respell } from './names';
import { isPart } from './segments';
import type { Segment } from './types';
import { ShmError } from './errors';

export type Part = ComplexPart;

/** The tensor, column, slice or dtype asked for does not exist or cannot be drawn (code SELECTION). */
export class SelectionError extends ShmError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'SELECTION', options);
  }
}

export interface SelectionFlags {
  tensor?: string;
  column?: string;
  /** Raw segments: the layout given on the command line (dtype normalised, e.g. `<f4`, `bfloat16`). */
  raw?: { dtype: string; shape: number[]; offset: number; order: 'C' | 'F' };
  /** The displayed axes as given (negative counts from the end), resolved against the array later. */
  axes?: [number, number];
  /** Fixed indices: one per non-displayed axis (in axis order), or one per axis. */
  index?: number[];
  part?: Part;
}

/** parseArgs option specs of the selection flags. */
export const SELECTION_OPTIONS = {
  tensor: { type: 'string' },
  column: { type: 'string' },
  dtype: { type: 'string' },
  shape: { type: 'string' },
  offset: { type: 'string' },
  order: { type: 'string' },
  axes: { type: 'string' },
  index: { type: 'string' },
  part: { type: 'string' },
} as const;

function intList(flag: string, text: string, allowNegative: boolean): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((t) => {
    const s = t.trim();
    const ok = allowNegative ? /^-?\d+$/.test(s) : /^\d+$/.test(s);
    const n = Number(s);
    if (!ok || !Number.isSafeInteger(n)) {
      throw new UsageError(`--${flag} takes comma-separated ${allowNegative ? '' : 'non-negative '}integers (got '${text}')`);
    }
    return n;
  });
}

/** `--shape` of `create` and of the array commands: the one shape parser (core/array.ts), a UsageError when malformed. */
export function shapeFlag(text: string): number[] {
  try {
    return parseShape(text);
  } catch (e) {
    throw new UsageError(`--shape: ${(e as Error).message}`);
  }
}

function str(values: Record<string, unknown>, k: string): string | undefined {
  const v = values[k];
  return typeof v === 'string' ? v : undefined;
}

/** Reads the selection flags from parsed options; UsageError on bad syntax or bad combinations. */
export function parseSelectionFlags(values: Record<string, unknown>): SelectionFlags {
  const f: SelectionFlags = {};
  const tensor = str(values, 'tensor');
  const column = str(values, 'column');
  if (tensor !== undefined && column !== undefined) throw new UsageError('give --tensor or --column, not both');
  if (tensor !== undefined) f.tensor = tensor;
  if (column !== undefined) f.column = column;
  const dtype = str(values, 'dtype');
  const shape = str(values, 'shape');
  const offset = str(values, 'offset');
  const order = str(values, 'order');
  if (dtype !== undefined || shape !== undefined || offset !== undefined || order !== undefined) {
    if (dtype === undefined || shape === undefined) throw new UsageError('a raw layout needs both --dtype and --shape');
    if (f.tensor !== undefined || f.column !== undefined) throw new UsageError('--dtype/--shape are for raw segments, not with --tensor or --column');
    const dt = parseDTypeSpec(dtype);
    if (!dt) throw new UsageError(`unsupported dtype '${dtype}' (numeric numpy types such as <f4, float32, u1, >i8, complex64, or bfloat16)`);
    const dims = shapeFlag(shape);
    let off = 0;
    if (offset !== undefined) {
      if (!/^\d+$/.test(offset.trim()) || !Number.isSafeInteger(Number(offset))) throw new UsageError(`--offset takes a non-negative integer (got '${offset}')`);
      off = Number(offset);
    }
    if (order !== undefined && order !== 'C' && order !== 'F') throw new UsageError(`--order is C or F (got '${order}')`);
    f.raw = { dtype: dt.str, shape: dims, offset: off, order: order === 'F' ? 'F' : 'C' };
  }
  const axes = str(values, 'axes');
  if (axes !== undefined) {
    const a = intList('axes', axes, true);
    if (a.length !== 2) throw new UsageError(`--axes takes two axes, I,J (got '${axes}')`);
    f.axes = [a[0], a[1]];
  }
  const index = str(values, 'index');
  if (index !== undefined) f.index = intList('index', index, false);
  const part = str(values, 'part');
  if (part !== undefined) {
    if (!isComplexPart(part)) throw new UsageError(`--part is one of ${COMPLEX_PART_NAMES.join(', ')} (got '${part}')`);
    f.part = part;
  }
  return f;
}

function layoutFrom(what: string, d: ArrayFacts): ArrayLayout {
  const r = arrayLayoutOf(d);
  if ('reason' in r) throw new SelectionError(`${what}: ${r.reason}`);
  return r.layout;
}

function childNames(seg: Segment): string {
  return (seg.children ?? []).map((c) => c.name.slice(seg.name.length + 1)).join(', ');
}

function elementCount(shape: number[]): bigint {
  return shape.reduce((n, d) => n * BigInt(d), 1n);
}

export interface Selected {
  /** Words for messages: `psm_1a2b`, `model.safetensors tensor 'w'`. */
  what: string;
  /** The file to map. */
  path: string;
  /** The file the layout was decoded from: the view is opened on it or not at all (openView's `expect`). */
  identity: FileIdentity;
  layout: ArrayLayout;
  /** Nulls the array's values do not mark (an Arrow column's validity bitmap is not applied). */
  nullCount?: number;
  /** What to tell the user about reading it as an array (the nulls), when anything. */
  note?: string;
}

/** The nulls an Arrow column's details report, as Selected's fields. */
function nullsOf(child: Segment): Pick<Selected, 'nullCount' | 'note'> {
  const n = child.details?.nullCount;
  return typeof n === 'number' && n > 0 ? { nullCount: n, note: String(child.details?.note ?? `${n} nulls`) } : {};
}

/** The array a segment and the flags select. */
export function selectArray(seg: Segment, flags: SelectionFlags): Selected {
  const name = seg.name;
  if (seg.format === 'directory' || seg.format === 'symlink' || seg.format === 'semaphore') {
    throw new SelectionError(`${name}: a ${seg.format}, not an array`);
  }
  if (seg.deleted) throw new SelectionError(`${name}: deleted (only its holders can still read it)`);
  const identity = { dev: seg.dev, ino: seg.ino };
  if (isPart(seg)) {
    // Named as FILE/CHILD (docs/cli.md): the tensor or column itself.
    if (flags.tensor !== undefined || flags.column !== undefined || flags.raw) {
      throw new UsageError(`${name} is a ${seg.format} already: give FILE/${seg.format.toUpperCase()} or --${seg.format} ${seg.format.toUpperCase()}, not both`);
    }
    return { what: name, path: seg.path, identity, layout: layoutFrom(name, seg), ...nullsOf(seg) };
  }
  if (flags.tensor !== undefined && seg.format !== 'safetensors') throw new UsageError(`--tensor is for safetensors files; ${name} is ${seg.format}`);
  if (flags.column !== undefined && seg.format !== 'arrow') throw new UsageError(`--column is for Arrow files; ${name} is ${seg.format}`);
  if (flags.raw && seg.format !== 'raw') throw new UsageError(`--dtype/--shape are for raw segments; ${name} is ${seg.format} (its layout is known)`);

  if (seg.format === 'safetensors' || seg.format === 'arrow') {
    const kind = seg.format === 'safetensors' ? 'tensor' : 'column';
    const wanted = seg.format === 'safetensors' ? flags.tensor : flags.column;
    if (seg.error && !seg.children?.length) throw new SelectionError(`${name}: ${seg.error}`);
    const children = seg.children ?? [];
    let child: Segment | undefined;
    if (wanted === undefined) {
      if (children.length !== 1) {
        throw new UsageError(`${name} holds ${children.length} ${kind}s${children.length ? ` (${childNames(seg)})` : ''}: pick one with --${kind}`);
      }
      child = children[0];
    } else {
      // Children are spelled like names (core/names.ts): the spelling or the plain text finds one.
      child = children.find((c) => c.name === `${name}/${wanted}` || c.name === `${name}/${respell(wanted)}`);
      if (!child) throw new SelectionError(`${name}: no ${kind} '${wanted}'${children.length ? ` (it has ${childNames(seg)})` : ''}`);
    }
    const label = `${name} ${kind} '${child.name.slice(name.length + 1)}'`;
    return { what: label, path: seg.path, identity, layout: layoutFrom(label, child), ...nullsOf(child) };
  }

  if (seg.format === 'raw') {
    // What keeps a layout from applying at all (a FIFO, socket or device; an unreadable file) is said
    // before any layout check: a FIFO is not "a segment of 0 bytes".
    const interpreted = seg.details !== undefined && 'interpretation' in seg.details;
    if (seg.error && !interpreted) throw new SelectionError(`${name}: ${seg.error}`);
    if (flags.raw) {
      const dt = parseNumericDType(flags.raw.dtype)!;
      const need = BigInt(flags.raw.offset) + elementCount(flags.raw.shape) * BigInt(dt.itemsize);
      if (need > BigInt(seg.size)) {
        throw new SelectionError(
          `${name}: ${flags.raw.dtype} ${JSON.stringify(flags.raw.shape)} from offset ${flags.raw.offset} needs ${need} bytes, the segment has ${seg.size}`,
        );
      }
      return {
        what: name,
        path: seg.path,
        identity,
        layout: { dtype: flags.raw.dtype, shape: flags.raw.shape, fortranOrder: flags.raw.order === 'F', dataOffset: flags.raw.offset },
      };
    }
    if (seg.dtype !== null && seg.shape !== null) return { what: name, path: seg.path, identity, layout: layoutFrom(name, seg) };
    if (seg.error) throw new SelectionError(`${name}: ${seg.error}`);
    throw new UsageError(`${name} is a raw segment: give its layout with --dtype D --shape A,B[,...] [--offset N] [--order C|F]`);
  }
  return { what: name, path: seg.path, identity, layout: layoutFrom(name, seg) };
}

function checkPart(layout: ArrayLayout, flags: SelectionFlags): void {
  const dt = parseNumericDType(layout.dtype);
  if (!dt) throw new SelectionError(`dtype ${layout.dtype} is not numeric; it cannot be drawn`);
  if (flags.part !== undefined && !dt.complex) throw new UsageError(`--part is for complex arrays; this one is ${dt.name}`);
}

/** The 2-D slice that --axes/--index/--part select (default: the last two axes, index 0 elsewhere). */
export function selectSlice(layout: ArrayLayout, flags: SelectionFlags): ResolvedSlice {
  checkPart(layout, flags);
  const nd = layout.shape.length;
  let axes: [number, number] | undefined;
  if (flags.axes) {
    if (nd < 2) throw new UsageError(`--axes needs an array of 2 or more dimensions; this one has ${nd}`);
    const norm = (a: number) => (a < 0 ? a + nd : a);
    axes = [norm(flags.axes[0]), norm(flags.axes[1])];
    if (axes.some((a) => a < 0 || a >= nd) || axes[0] === axes[1]) {
      throw new UsageError(`--axes ${flags.axes.join(',')}: not two different axes of a ${nd}-D array`);
    }
  }
  let index: number[] | undefined;
  if (flags.index && flags.index.length > 0) {
    const shown = axes ?? [nd - 2, nd - 1];
    const others = [...Array(nd).keys()].filter((k) => nd >= 2 && !shown.includes(k));
    if (flags.index.length === others.length) {
      index = new Array<number>(nd).fill(0);
      others.forEach((k, i) => (index![k] = flags.index![i]));
    } else if (flags.index.length === nd && nd > 2) {
      index = [...flags.index];
    } else {
      throw new UsageError(
        `--index takes ${others.length} number${others.length === 1 ? '' : 's'} (one per axis not shown${others.length ? `: ${others.join(', ')}` : ''}) for this ${nd}-D array`,
      );
    }
  }
  try {
    return resolveSlice(layout, { axes, index, part: flags.part });
  } catch (e) {
    if (e instanceof SliceError) throw new SelectionError(e.message);
    throw e;
  }
}

/** Every element of the array as one run (C or Fortran order alike: statistics ignore the order). */
export function wholeArray(layout: ArrayLayout, flags: SelectionFlags): SliceSpec {
  checkPart(layout, flags);
  const dt = parseNumericDType(layout.dtype)!;
  const n = Number(elementCount(layout.shape));
  return {
    dtype: dt.kernel,
    byteSwap: dt.byteSwap,
    part: flags.part ?? 'magnitude',
    offset: layout.dataOffset,
    strideR: 0,
    strideC: dt.itemsize,
    rows: n > 0 ? 1 : 0,
    cols: n,
  };
}
