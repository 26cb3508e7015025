/**
 * Segments made by the `SharedArray` PyPI package (SharedArray.create): the array data
 * from offset 0, in C order, and a packed metadata trailer in the LAST bytes of the file
 * (src/shared_array.h, shared_array_create.c / _attach.c upstream):
 *
 *   struct array_meta { char magic[16] = "[SharedArray]"; size_t size; int typenum;
 *                       int itemsize; int ndims; npy_intp dims[NPY_MAXDIMS]; } __attribute__((packed));
 *
 * NPY_MAXDIMS is 32 with numpy 1.x (292-byte trailer) and 64 with numpy 2.x (548 bytes).
 * `size` is the data size; the file may be longer (ftruncate may round up), the trailer
 * always sits at st_size - sizeof(meta). Native byte order: little-endian on x86_64/aarch64.
 */
import type { Decoded, FileBytes } from '../types';
import { parseNumericDType } from '../dtype';
import { bytesAt, failed, productBig, u64le, view } from './util';

const MAGIC = '[SharedArray]';
const TRAILERS = [
  { maxDims: 32, bytes: 16 + 8 + 4 + 4 + 4 + 8 * 32 }, // 292
  { maxDims: 64, bytes: 16 + 8 + 4 + 4 + 4 + 8 * 64 }, // 548
];

/** numpy C type numbers (NPY_TYPES) on Linux LP64: kind and, for fixed types, itemsize. */
const TYPENUMS: Record<number, { name: string; kind: string; size?: number }> = {
  0: { name: 'NPY_BOOL', kind: 'b', size: 1 },
  1: { name: 'NPY_BYTE', kind: 'i', size: 1 },
  2: { name: 'NPY_UBYTE', kind: 'u', size: 1 },
  3: { name: 'NPY_SHORT', kind: 'i', size: 2 },
  4: { name: 'NPY_USHORT', kind: 'u', size: 2 },
  5: { name: 'NPY_INT', kind: 'i', size: 4 },
  6: { name: 'NPY_UINT', kind: 'u', size: 4 },
  7: { name: 'NPY_LONG', kind: 'i', size: 8 },
  8: { name: 'NPY_ULONG', kind: 'u', size: 8 },
  9: { name: 'NPY_LONGLONG', kind: 'i', size: 8 },
  10: { name: 'NPY_ULONGLONG', kind: 'u', size: 8 },
  11: { name: 'NPY_FLOAT', kind: 'f', size: 4 },
  12: { name: 'NPY_DOUBLE', kind: 'f', size: 8 },
  13: { name: 'NPY_LONGDOUBLE', kind: 'f' },
  14: { name: 'NPY_CFLOAT', kind: 'c', size: 8 },
  15: { name: 'NPY_CDOUBLE', kind: 'c', size: 16 },
  16: { name: 'NPY_CLONGDOUBLE', kind: 'c' },
  17: { name: 'NPY_OBJECT', kind: 'O', size: 8 },
  18: { name: 'NPY_STRING', kind: 'S' },
  19: { name: 'NPY_UNICODE', kind: 'U' },
  20: { name: 'NPY_VOID', kind: 'V' },
  21: { name: 'NPY_DATETIME', kind: 'M', size: 8 },
  22: { name: 'NPY_TIMEDELTA', kind: 'm', size: 8 },
  23: { name: 'NPY_HALF', kind: 'f', size: 2 },
};

interface Trailer {
  maxDims: number;
  bytes: number;
  at: number;
  meta: Uint8Array;
}

/** The trailers whose magic is in place (checked on the bytes already read). */
function trailers(file: FileBytes): Trailer[] {
  const out: Trailer[] = [];
  for (const t of TRAILERS) {
    const at = file.size - t.bytes;
    if (at < 0) continue;
    const meta = bytesAt(file, at, t.bytes);
    if (!meta) continue;
    let ok = meta[MAGIC.length] === 0;
    for (let i = 0; ok && i < MAGIC.length; i++) ok = meta[i] === MAGIC.charCodeAt(i);
    if (ok) out.push({ ...t, at, meta });
  }
  return out;
}

export function isSharedArray(file: FileBytes): boolean {
  return trailers(file).length > 0;
}

/** The numpy dtype string for a type number and item size, or an error. */
function dtypeOf(typenum: number, itemsize: number): { dtype: string; error: string | null } | string {
  const t = TYPENUMS[typenum];
  if (!t) return `unknown numpy type number ${typenum}`;
  if (itemsize <= 0) return `bad item size ${itemsize} for ${t.name}`;
  if (t.size !== undefined && t.size !== itemsize) return `${t.name} with item size ${itemsize} (expected ${t.size})`;
  switch (t.kind) {
    case 'S':
    case 'V':
      return { dtype: `|${t.kind}${itemsize}`, error: null };
    case 'U':
      if (itemsize % 4 !== 0) return `NPY_UNICODE with item size ${itemsize} (not a multiple of 4)`;
      return { dtype: `<U${itemsize / 4}`, error: null };
    case 'O':
      return { dtype: '|O', error: 'object array: the segment holds PyObject pointers of another process, not values' };
    case 'M':
    case 'm':
      return { dtype: `<${t.kind}8`, error: null };
  }
  const str = (itemsize === 1 ? '|' : '<') + t.kind + itemsize;
  return { dtype: parseNumericDType(str)?.str ?? str, error: null };
}

function decodeTrailer(file: FileBytes, t: Trailer): Decoded {
  const dv = view(t.meta);
  const size = u64le(t.meta, 16);
  const typenum = dv.getInt32(24, true);
  const itemsize = dv.getInt32(28, true);
  const ndims = dv.getInt32(32, true);
  const fail = (msg: string) => failed('sharedarray', msg, { trailerBytes: t.bytes, typenum });
  if (ndims < 0 || ndims > t.maxDims) return fail(`SharedArray trailer: ${ndims} dimensions (at most ${t.maxDims})`);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) {
    const d = dv.getBigInt64(36 + 8 * i, true);
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) return fail(`SharedArray trailer: bad dimension ${d}`);
    shape.push(Number(d));
  }
  const dt = dtypeOf(typenum, itemsize);
  if (typeof dt === 'string') return fail(`SharedArray trailer: ${dt}`);
  const need = productBig(shape) * BigInt(itemsize);
  const room = t.at; // data runs from 0 to the trailer
  let error: string | null = dt.error;
  if (size === null || BigInt(size) !== need) {
    error = `SharedArray trailer: data size ${size ?? 'huge'} does not match shape ${JSON.stringify(shape)} x ${itemsize} bytes = ${need}`;
  } else if (need > BigInt(room)) {
    error = `truncated: shape ${JSON.stringify(shape)} needs ${need} bytes, ${room} precede the trailer`;
  }
  return {
    format: 'sharedarray',
    dtype: dt.dtype,
    shape,
    fortranOrder: false,
    dataOffset: 0,
    error,
    details: { trailerBytes: t.bytes, maxDims: t.maxDims, typenum, typeName: TYPENUMS[typenum].name, itemsize },
  };
}

export function decodeSharedArray(file: FileBytes): Decoded {
  const found = trailers(file);
  if (found.length === 0) return failed('sharedarray', 'no SharedArray trailer');
  const decoded = found.map((t) => decodeTrailer(file, t));
  // Both magics can be in place only by accident (data that holds a trailer); prefer a consistent one.
  return decoded.find((d) => d.error === null) ?? decoded[0];
}
