/**
 * NPY v1.0, v2.0 and v3.0 headers (numpy.lib.format): `\x93NUMPY`, version,
 * header length, then a Python dict literal with descr, fortran_order and shape.
 */
import type { Decoded, FileBytes, ReadAt } from '../types';
import { parseNumericDType } from '../dtype';
import { parsePyLiteral, PyDict, PyTuple, PyValue } from './pyliteral';
import { checkExtent, describeError, dimsProblem, latin1Text, MAX_KEPT_TEXT } from './util';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** The header exactly as numpy's writer formats it (simple dtypes); anything else takes the general parser. */
const CANONICAL = /^\{'descr': '([<>|=]?[a-zA-Z]\w{0,15})', 'fortran_order': (True|False), 'shape': \(((?:\d{1,19}, ?)*(?:\d{1,19})?)\), \} *\n?$/;

/** numpy refuses headers over 10000 bytes unless told otherwise; we allow more but bound it. */
const MAX_HEADER = 1 << 20;

export function isNpy(head: Uint8Array): boolean {
  return head.length >= 6 && MAGIC.every((b, i) => head[i] === b);
}

function npyError(error: string): Decoded {
  return { format: 'npy', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error };
}

export async function decodeNpy(file: FileBytes, read: ReadAt): Promise<Decoded> {
  try {
    const head = file.head;
    if (head.length < 10) return npyError(`truncated NPY preamble (${file.size} bytes)`);
    const major = head[6];
    const minor = head[7];
    if (major < 1 || major > 3 || minor !== 0) return npyError(`unknown NPY version ${major}.${minor}`);
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    let headerLen: number;
    let start: number;
    if (major === 1) {
      headerLen = dv.getUint16(8, true);
      start = 10;
    } else {
      if (head.length < 12) return npyError(`truncated NPY preamble (${file.size} bytes)`);
      headerLen = dv.getUint32(8, true);
      start = 12;
    }
    if (headerLen > MAX_HEADER) return npyError(`NPY header length ${headerLen} is absurd`);
    const dataOffset = start + headerLen;
    if (dataOffset > file.size) {
      return npyError(`truncated: header says ${headerLen} bytes, file has ${file.size}`);
    }
    const bytes = dataOffset <= head.length ? head.subarray(start, dataOffset) : await read(start, headerLen);
    if (bytes.length < headerLen) return npyError('truncated NPY header');
    let text: string;
    if (major === 3) {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return npyError('NPY v3 header is not valid UTF-8');
      }
    } else {
      text = latin1Text(bytes);
    }
    let descr: PyValue | undefined;
    let fortran: PyValue | undefined;
    let shape: number[] | string;
    const fast = CANONICAL.exec(text);
    if (fast) {
      // The exact form numpy writes: no need for the general literal parser.
      descr = fast[1];
      fortran = fast[2] === 'True';
      const dims =
        fast[3] === ''
          ? []
          : fast[3]
              .split(',')
              .filter((d) => d.trim() !== '')
              .map(Number);
      shape = dimsProblem(dims.length) ?? dims;
      if (dims.some((d) => !Number.isSafeInteger(d))) shape = 'bad dimension in shape';
    } else {
      const header = parsePyLiteral(text.trimEnd());
      if (!(header instanceof PyDict)) return npyError('NPY header is not a dict');
      descr = header.entries.get('descr');
      fortran = header.entries.get('fortran_order');
      shape = shapeOf(header.entries.get('shape'));
    }
    if (typeof fortran !== 'boolean') return npyError('NPY header: fortran_order missing or not a bool');
    if (typeof shape === 'string') return npyError(`NPY header: ${shape}`);
    return npyDecoded(descr, fortran, shape, dataOffset, file.size);
  } catch (e) {
    return npyError(describeError(e));
  }
}

/** A parsed header checked against the file: also what the native scan's decoded headers go through. */
export function npyDecoded(descr: PyValue | undefined, fortran: boolean, shape: number[], dataOffset: number, size: number): Decoded {
  const base: Decoded = { format: 'npy', dtype: null, shape, fortranOrder: fortran, dataOffset, error: null };
  if (typeof descr !== 'string') {
    if (Array.isArray(descr)) {
      return { ...base, dtype: 'structured', error: null, details: { descr: describePy(descr), fields: descr.length } };
    }
    return npyError('NPY header: descr missing');
  }
  // A dtype string is short ('<f8', '|V24', '<U10'): a longer one is not kept.
  if (descr.length > 64) return npyError(`NPY header: descr is a ${descr.length}-character string, not a dtype`);
  const numeric = parseNumericDType(descr);
  if (!numeric) {
    // Object, string, datetime, void... reported as written, not guessed.
    return { ...base, dtype: descr, details: { numeric: false } };
  }
  base.dtype = numeric.str;
  base.error = checkExtent(shape, numeric.itemsize, dataOffset, size);
  return base;
}

function shapeOf(v: PyValue | undefined): number[] | string {
  if (!(v instanceof PyTuple) && !Array.isArray(v)) return 'shape missing or not a tuple';
  const items = v instanceof PyTuple ? v.items : v;
  const tooMany = dimsProblem(items.length);
  if (tooMany) return tooMany;
  const out: number[] = [];
  for (const d of items) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return `bad dimension ${String(d)} in shape`;
    out.push(d);
  }
  return out;
}

/** A Python-like description of a value, at most MAX_KEPT_TEXT characters (a 1 MiB descr is cut, not copied). */
function describePy(v: PyValue): string {
  const parts: string[] = [];
  let n = 0;
  const put = (s: string) => {
    parts.push(s);
    n += s.length;
  };
  const walk = (x: PyValue): void => {
    if (n > MAX_KEPT_TEXT) return;
    if (x instanceof PyTuple || Array.isArray(x)) {
      const items = x instanceof PyTuple ? x.items : x;
      put(x instanceof PyTuple ? '(' : '[');
      items.forEach((it, k) => {
        if (n > MAX_KEPT_TEXT) return;
        if (k > 0) put(', ');
        walk(it);
      });
      put(x instanceof PyTuple ? ')' : ']');
    } else if (x instanceof PyDict) put('{...}');
    else if (typeof x === 'string') put(`'${x.length > MAX_KEPT_TEXT ? x.slice(0, MAX_KEPT_TEXT) : x}'`);
    else put(String(x));
  };
  walk(v);
  const text = parts.join('');
  return n > MAX_KEPT_TEXT ? `${text.slice(0, MAX_KEPT_TEXT)}… (cut)` : text;
}
