/**
 * joblib pickles with inline arrays (joblib.numpy_pickle, also what `Parallel(max_nbytes=...)`
 * writes as `<pid>-<thread>-<uuid>.pkl` in `joblib_memmapping_folder_*`): the pickle of a
 * `NumpyArrayWrapper` (subclass, shape, order, dtype, allow_mmap, numpy_array_alignment_bytes)
 * ends with BUILD, and the raw array bytes follow that opcode directly. Since joblib 1.2 one
 * byte L (1..alignment) and L padding bytes come first, so the data is aligned; the pickle
 * resumes after the data (usually just STOP). With protocol >= 4 joblib closes the frame
 * before the array, so the array never lies inside a FRAME.
 */
import type { Decoded, FileBytes, ReadAt } from '../types';
import { parseNumericDType } from '../dtype';
import { PDict, PGlobal, PList, PObject, PTuple, walkPickle, type PValue } from './pickle';
import { bytesAt, checkExtent, describeError, dimsProblem, elementCount, failed, FormatError, readExact } from './util';

/** Where to look for the wrapper: joblib's pickle headers are a few hundred bytes. */
const MAX_PICKLE_HEAD = 256 * 1024;
const WRAPPER = ['joblib.numpy_pickle', 'NumpyArrayWrapper'] as const;

function contains(b: Uint8Array, s: string): boolean {
  const first = s.charCodeAt(0);
  outer: for (let i = b.indexOf(first); i >= 0 && i + s.length <= b.length; i = b.indexOf(first, i + 1)) {
    for (let k = 1; k < s.length; k++) if (b[i + k] !== s.charCodeAt(k)) continue outer;
    return true;
  }
  return false;
}

/** A pickle start: PROTO 2..5, or a protocol 0/1 GLOBAL or MARK. */
function looksLikePickle(h: Uint8Array): boolean {
  return (h[0] === 0x80 && h[1] >= 2 && h[1] <= 5) || h[0] === 0x63 /* c */ || h[0] === 0x28; /* ( */
}

export const IN_JOBLIB_FOLDER = /(^|\/)joblib_memmapping_folder_[^/]*\/[^/]+\.pkl$/;

export function isJoblib(name: string, file: FileBytes): boolean {
  const h = file.head;
  if (h.length < 2 || !looksLikePickle(h)) return false;
  return (contains(h, WRAPPER[0]) && contains(h, WRAPPER[1])) || IN_JOBLIB_FOLDER.test(name);
}

function str(v: PValue): string | null {
  return typeof v === 'string' ? v : null;
}

/** numpy's dtype pickle: REDUCE numpy.dtype(('f8', False, True)) and BUILD (3, '<', subdescr, names, ...). */
function dtypeOf(v: PValue): { dtype: string; itemsize: number | null; numeric: boolean } | string {
  if (!(v instanceof PObject)) return 'dtype is not a pickled numpy.dtype';
  const c = v.callable;
  if (!(c instanceof PGlobal) || c.name !== 'dtype' || !c.module.startsWith('numpy')) return 'dtype is not a pickled numpy.dtype';
  const code = v.args instanceof PTuple ? str(v.args.items[0]) : null;
  if (!code || !/^[a-zA-Z]\d*$/.test(code)) return `unexpected dtype code ${JSON.stringify(v.args instanceof PTuple ? String(v.args.items[0]) : v.args)}`;
  const state = v.state instanceof PTuple ? v.state.items : [];
  const order = str(state[1]) ?? '|';
  if (!'<>|='.includes(order) || order.length !== 1) return `unexpected byte order ${JSON.stringify(order)}`;
  const names = state[3];
  if (names !== undefined && names !== null) {
    const elsize = typeof state[5] === 'number' && state[5] > 0 ? state[5] : null;
    return { dtype: 'structured', itemsize: elsize, numeric: false };
  }
  const descr = (order === '=' ? '<' : order) + code;
  const numeric = parseNumericDType(descr);
  if (numeric) return { dtype: numeric.str, itemsize: numeric.itemsize, numeric: true };
  const m = /^[<>|]([SUVaMm])(\d+)$/.exec(descr);
  const itemsize = m ? Number(m[2]) * (m[1] === 'U' ? 4 : 1) : null;
  return { dtype: descr, itemsize, numeric: false };
}

function shapeOf(v: PValue): number[] | string {
  const items = v instanceof PTuple || v instanceof PList ? v.items : null;
  if (!items) return 'shape is not a tuple';
  const tooMany = dimsProblem(items.length);
  if (tooMany) return tooMany;
  const out: number[] = [];
  for (const d of items) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return `bad dimension ${String(d)} in shape`;
    out.push(d);
  }
  return out;
}

function fromWrapper(file: FileBytes, bytes: Uint8Array, buildAt: number, wrapper: PObject, protocol: number | null): Decoded {
  const fail = (msg: string) => failed('joblib', `joblib NumpyArrayWrapper: ${msg}`);
  const state = wrapper.state;
  if (!(state instanceof PDict)) return fail('state is not a dict');
  const shape = shapeOf(state.get('shape'));
  if (typeof shape === 'string') return fail(shape);
  const order = state.get('order');
  if (order !== 'C' && order !== 'F') return fail(`order ${JSON.stringify(String(order))} is neither 'C' nor 'F'`);
  const dt = dtypeOf(state.get('dtype'));
  if (typeof dt === 'string') return fail(dt);
  const subclass = state.get('subclass');
  const align = state.get('numpy_array_alignment_bytes');
  const details: Record<string, unknown> = {
    protocol,
    allowMmap: state.get('allow_mmap') === true,
    subclass: subclass instanceof PGlobal ? `${subclass.module}.${subclass.name}` : null,
    alignment: typeof align === 'number' ? align : null,
  };
  const base: Decoded = { format: 'joblib', dtype: dt.dtype, shape, fortranOrder: order === 'F', dataOffset: null, error: null, details };
  if (dt.dtype.endsWith('O') || /^[<>|]O\d*$/.test(dt.dtype)) {
    return { ...base, error: null, details: { ...details, note: 'object array: pickled, not raw bytes' } };
  }
  // The array starts right after BUILD; joblib >= 1.2 first writes a padding-length byte and the padding.
  let dataOffset = buildAt + 1;
  if (typeof align === 'number') {
    if (align < 1 || align > 4096) return { ...base, error: `joblib: alignment ${align} is absurd` };
    if (dataOffset >= bytes.length) return { ...base, error: 'truncated: no padding byte after the pickle header' };
    const pad = bytes[dataOffset];
    if (pad > align) return { ...base, error: `joblib: padding of ${pad} bytes exceeds the ${align}-byte alignment` };
    dataOffset += 1 + pad;
  } else if (align !== undefined && align !== null) {
    return { ...base, error: `joblib: numpy_array_alignment_bytes is ${String(align)}` };
  }
  const extent = dt.itemsize === null ? null : checkExtent(shape, dt.itemsize, dataOffset, file.size);
  return { ...base, dataOffset, error: extent };
}

/** Globals a joblib array pickle names (the wrapper, the array class, dtype; copyreg in protocols 0 and 1). */
const SAFE_GLOBALS = new Set([
  'joblib.numpy_pickle.NumpyArrayWrapper',
  ...['numpy', 'numpy.core.memmap', 'numpy._core.memmap', 'numpy.matrixlib.defmatrix'].flatMap((m) =>
    ['ndarray', 'dtype', 'memmap', 'matrix'].map((n) => `${m}.${n}`),
  ),
  'copy_reg._reconstructor',
  'copyreg._reconstructor',
  '__builtin__.object',
  'builtins.object',
]);

/**
 * Why loading this pickle (joblib.load) could run code we did not see, or null when the walker
 * saw all of it: only the globals of an array wrapper, then the raw array, then STOP as the last byte.
 */
async function unsafeBecause(file: FileBytes, read: ReadAt, d: Decoded, globals: PGlobal[]): Promise<string | null> {
  const other = globals.find((g) => !SAFE_GLOBALS.has(`${g.module}.${g.name}`));
  if (other) return `the pickle names ${other.module}.${other.name}, which loading it would import and may call`;
  if (d.error !== null) return `the array could not be checked (${d.error})`;
  if (d.dataOffset === null || d.shape === null) return 'an object array: its items are pickled objects, not checked';
  const text = /^[<>|]([SUV])(\d+)$/.exec(d.dtype ?? '');
  const itemsize = parseNumericDType(d.dtype ?? '')?.itemsize ?? (text ? Number(text[2]) * (text[1] === 'U' ? 4 : 1) : null);
  if (itemsize === null) return `a ${d.dtype} array: its layout is not checked`;
  const end = d.dataOffset + elementCount(d.shape) * itemsize;
  if (end + 1 !== file.size) return `the pickle goes on for ${file.size - end} bytes after the array (more objects), not checked`;
  const last = bytesAt(file, end, 1) ?? (await readExact(file, read, end, 1, 'joblib pickle end'));
  return last[0] === 0x2e ? null : `the byte after the array is 0x${last[0].toString(16)}, not the pickle's STOP`;
}

export async function decodeJoblib(file: FileBytes, read: ReadAt): Promise<Decoded> {
  try {
    let bytes = file.head;
    const want = (g: PGlobal) => g.is(...WRAPPER);
    let r = walkPickle(bytes, want, bytes.length >= file.size);
    if (r.kind === 'more' && bytes.length < file.size) {
      bytes = await readExact(file, read, 0, Math.min(file.size, MAX_PICKLE_HEAD), 'joblib pickle', MAX_PICKLE_HEAD);
      r = walkPickle(bytes, want, bytes.length >= file.size);
    }
    const protocol = bytes[0] === 0x80 ? bytes[1] : null;
    switch (r.kind) {
      case 'build': {
        const d = fromWrapper(file, bytes, r.pos, r.object, protocol);
        const why = await unsafeBecause(file, read, d, r.globals);
        d.details = { ...(d.details ?? {}), ...(why === null ? { loadable: true } : { notLoadable: why }) };
        return d;
      }
      case 'stop':
        return failed('joblib', 'pickle holds no joblib NumpyArrayWrapper', { protocol });
      case 'more':
        return failed('joblib', `no NumpyArrayWrapper in the first ${bytes.length} bytes of the pickle`, { protocol });
      case 'error':
        return failed('joblib', `malformed pickle: ${r.error}`, { protocol });
    }
  } catch (e) {
    return failed('joblib', e instanceof FormatError ? e.message : `joblib: ${describeError(e)}`);
  }
}
