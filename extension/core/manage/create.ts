/**
 * createSegment: a new array segment (NPY with a numpy-identical header, or raw bytes),
 * filled with zeros (sparse: ftruncate), random values, arange, or an .npy file's array.
 * Written completely under a `.shmi-*.tmp` name first, then linked to its name, which never
 * replaces anything (a kill leaves no truncated segment under the name); checks free space
 * first; a cancelled or failed create removes the file it made (only that file: by dev/ino).
 */
import { nodeCrypto } from '../lazy';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_DIR } from '../catalog';
import { parseDTypeSpec, parseNumericDType, type NumericDType } from '../dtype';
import { decodeNpy } from '../formats/npy';
import { fsPathIn, respell } from '../names';
import { OperationError, type CreateRequest, type CreateResult, type Fill } from './api';
import {
  arrayBytes,
  bytesWords,
  checkAbort,
  CHUNK,
  copyRange,
  createExclusive,
  errnoOf,
  errnoText,
  isAbort,
  npyDescr,
  npyHeader,
  openRegular,
  placeNoReplace,
  removeIfSame,
  requireRoom,
  sweepStaleTemps,
  tempBeside,
  validateName,
  writeAll,
} from './util';
import { errorCode } from '../errors';

export interface CreatePlan {
  dt: NumericDType;
  shape: number[];
  fortranOrder: boolean;
  header: Buffer;
  dataBytes: number;
  /** The .npy to copy from: its data offset, and its identity (the copy reads that very file). */
  from: { file: string; dataOffset: number; dev: number; ino: number } | null;
}

function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new OperationError('shape must be a list of integers');
  if (shape.length > 32) throw new OperationError(`shape has ${shape.length} dimensions; numpy allows 32`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new OperationError(`bad dimension ${String(d)} in shape`);
  }
  return [...(shape as number[])];
}

/** The .npy header of a file on disk, numeric dtypes only. */
async function readNpySource(file: string): Promise<{ dt: NumericDType; shape: number[]; fortranOrder: boolean; dataOffset: number; dev: number; ino: number }> {
  const { fh, st } = await openRegular(file, { follow: true });
  try {
    const head = Buffer.alloc(Math.min(st.size, 4096));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const read = async (offset: number, length: number) => {
      const b = Buffer.alloc(length);
      const r = await fh.read(b, 0, length, offset);
      return b.subarray(0, r.bytesRead);
    };
    const d = await decodeNpy({ size: st.size, head: head.subarray(0, bytesRead) }, read);
    if (head.length < 6 || head.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new OperationError(`${file}: not an .npy file`);
    if (d.error) throw new OperationError(`${file}: ${d.error}`);
    const dt = d.dtype ? parseNumericDType(d.dtype) : null;
    if (!dt) throw new OperationError(`${file}: dtype ${d.dtype ?? '?'} is not numeric; only numeric arrays can be copied into a segment`);
    return { dt, shape: d.shape!, fortranOrder: d.fortranOrder === true, dataOffset: d.dataOffset!, dev: st.dev, ino: st.ino };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Checks a request and works out the layout (no file is touched). */
export async function planCreate(req: CreateRequest): Promise<CreatePlan> {
  const bad = validateName(req.name);
  if (bad) throw new OperationError(bad);
  const format = req.format ?? 'npy';
  if (format !== 'npy' && format !== 'raw') throw new OperationError(`unknown format '${String(format)}' (npy or raw)`);
  const fill = req.fill ?? 'zeros';
  if (!['zeros', 'random', 'arange'].includes(fill)) throw new OperationError(`unknown fill '${String(fill)}' (zeros, random or arange)`);
  let dt: NumericDType | null = null;
  if (req.dtype !== undefined) {
    dt = parseDTypeSpec(req.dtype);
    if (!dt) throw new OperationError(`unsupported dtype '${req.dtype}' (a numeric numpy dtype such as float32, <f4, >i8, u1, complex64, or bfloat16)`);
  }
  const shape = req.shape !== undefined ? checkShape(req.shape) : null;
  let fortranOrder = false;
  let from: CreatePlan['from'] = null;
  if (req.from !== undefined) {
    const src = await readNpySource(req.from);
    if (dt && dt.str !== src.dt.str) throw new OperationError(`dtype ${dt.str} differs from ${req.from}'s ${src.dt.str}`);
    if (shape && JSON.stringify(shape) !== JSON.stringify(src.shape)) {
      throw new OperationError(`shape ${JSON.stringify(shape)} differs from ${req.from}'s ${JSON.stringify(src.shape)}`);
    }
    dt = src.dt;
    fortranOrder = src.fortranOrder;
    from = { file: req.from, dataOffset: src.dataOffset, dev: src.dev, ino: src.ino };
    const dataBytes = arrayBytes(src.shape, dt.itemsize);
    const header = format === 'npy' ? npyHeader(npyDescr(dt), fortranOrder, src.shape) : Buffer.alloc(0);
    return { dt, shape: src.shape, fortranOrder, header, dataBytes, from };
  }
  if (!dt) throw new OperationError('a dtype is needed (or an .npy file to copy from)');
  if (!shape) throw new OperationError('a shape is needed (or an .npy file to copy from)');
  const header = format === 'npy' ? npyHeader(npyDescr(dt), false, shape) : Buffer.alloc(0);
  return { dt, shape, fortranOrder, header, dataBytes: arrayBytes(shape, dt.itemsize), from };
}

// ---- element fills ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a double (through float32), rounding to nearest even. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp8 = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp8 === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const exp = exp8 - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** bfloat16 from a double (through float32), rounding to nearest even, as ml_dtypes does. */
export function toBfloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The bytes of elements [start, start + count) of a random or arange fill (arange: numpy's `np.arange(n).astype(dtype)`). */
export function fillChunk(dt: NumericDType, fill: Exclude<Fill, 'zeros'>, start: number, count: number): Buffer {
  const ab = new ArrayBuffer(count * dt.itemsize);
  const u8 = new Uint8Array(ab);
  const rnd = fill === 'random';
  const at = (i: number) => start + i;
  // Uniform in [0, 1) after rounding to the element type (a value just below 1 may round up to 1).
  const unit = (bits: (v: number) => number, one: number) => {
    for (;;) {
      const b = bits(Math.random());
      if (b !== one) return b;
    }
  };
  const unit32 = () => {
    for (;;) {
      const r = Math.fround(Math.random());
      if (r < 1) return r;
    }
  };
  switch (dt.kernel) {
    case 'b1':
      if (rnd) {
        nodeCrypto().randomFillSync(u8);
        for (let i = 0; i < count; i++) u8[i] &= 1;
      } else for (let i = 0; i < count; i++) u8[i] = at(i) !== 0 ? 1 : 0;
      break;
    case 'i1':
    case 'u1':
    case 'i2':
    case 'u2':
    case 'i4':
    case 'u4': {
      if (rnd) {
        nodeCrypto().randomFillSync(u8);
        break;
      }
      const Arr = { i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array }[dt.kernel];
      const a = new Arr(ab);
      for (let i = 0; i < count; i++) a[i] = at(i);
      break;
    }
    case 'i8':
    case 'u8': {
      if (rnd) {
        nodeCrypto().randomFillSync(u8);
        break;
      }
      const a = new Uint32Array(ab);
      for (let i = 0; i < count; i++) {
        const v = at(i);
        a[2 * i] = v % 4294967296;
        a[2 * i + 1] = Math.floor(v / 4294967296);
      }
      break;
    }
    case 'f2':
    case 'bf16': {
      const a = new Uint16Array(ab);
      const conv = dt.kernel === 'f2' ? toHalfBits : toBfloat16Bits;
      const one = dt.kernel === 'f2' ? 0x3c00 : 0x3f80;
      for (let i = 0; i < count; i++) a[i] = rnd ? unit(conv, one) : conv(at(i));
      break;
    }
    case 'f4':
    case 'f8': {
      const a = dt.kernel === 'f4' ? new Float32Array(ab) : new Float64Array(ab);
      const r = dt.kernel === 'f4' ? unit32 : Math.random;
      for (let i = 0; i < count; i++) a[i] = rnd ? r() : at(i);
      break;
    }
    case 'c8':
    case 'c16': {
      const a = dt.kernel === 'c8' ? new Float32Array(ab) : new Float64Array(ab);
      const r = dt.kernel === 'c8' ? unit32 : Math.random;
      for (let i = 0; i < count; i++) {
        a[2 * i] = rnd ? r() : at(i);
        a[2 * i + 1] = rnd ? r() : 0;
      }
      break;
    }
  }
  const buf = Buffer.from(ab);
  if (dt.byteSwap) {
    const unit = dt.complex ? dt.itemsize / 2 : dt.itemsize;
    if (unit === 2) buf.swap16();
    else if (unit === 4) buf.swap32();
    else if (unit === 8) buf.swap64();
  }
  return buf;
}

/** Creates a segment (see CreateRequest); rejects with OperationError (or an AbortError when cancelled). */
export async function createSegment(req: CreateRequest): Promise<CreateResult> {
  const dir = req.dir ?? DEFAULT_DIR;
  const plan = await planCreate(req);
  const format = req.format ?? 'npy';
  const fill = req.fill ?? 'zeros';
  // req.name is a spelling (core/names.ts): `full` holds its exact bytes, `shown` its canonical spelling.
  const name = respell(req.name);
  const full = fsPathIn(dir, req.name);
  const total = plan.header.length + plan.dataBytes;
  await sweepStaleTemps(dir);
  await requireRoom(dir, total, name);
  checkAbort(req.signal);
  const taken = async () => {
    const st = await fs.promises.lstat(full).catch(() => null);
    return st ? new OperationError(`${name}: already exists${st.isSymbolicLink() ? ' (a symbolic link; not followed)' : ''}`, 'EXISTS') : null;
  };
  // Refused before any byte is written; placeNoReplace checks again, atomically, at the end.
  const early = await taken();
  if (early) throw early;
  const tmp = tempBeside(dir);
  let made: Awaited<ReturnType<typeof createExclusive>>;
  try {
    made = await createExclusive(tmp, req.mode ?? 0o600);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new OperationError(`${dir}: no such directory`, 'ENOENT');
    throw new OperationError(`${name}: cannot create: ${errnoText(e)}`, errorCode(e));
  }
  const { fh, dev, ino } = made;
  let src: fs.promises.FileHandle | undefined;
  try {
    if (plan.header.length > 0) await writeAll(fh, plan.header, 0);
    const base = plan.header.length;
    if (plan.from) {
      const opened = await openRegular(plan.from.file, { follow: true });
      src = opened.fh;
      if (opened.st.dev !== plan.from.dev || opened.st.ino !== plan.from.ino)
        throw new OperationError(`${plan.from.file}: replaced while it was being read; try again`);
      await copyRange(src, plan.from.dataOffset, plan.dataBytes, fh, base, { signal: req.signal, onProgress: req.onProgress });
    } else if (fill === 'zeros') {
      await fh.truncate(total);
      req.onProgress?.(plan.dataBytes, plan.dataBytes);
    } else {
      const per = Math.max(1, Math.floor(CHUNK / plan.dt.itemsize));
      const n = plan.dataBytes / plan.dt.itemsize;
      for (let i = 0; i < n; i += per) {
        checkAbort(req.signal);
        const count = Math.min(per, n - i);
        await writeAll(fh, fillChunk(plan.dt, fill, i, count), base + i * plan.dt.itemsize);
        req.onProgress?.((i + count) * plan.dt.itemsize, plan.dataBytes);
      }
    }
    await fh.close();
    checkAbort(req.signal);
    if (!(await placeNoReplace(tmp, full))) throw (await taken()) ?? new OperationError(`${name}: already exists`, 'EXISTS');
  } catch (e) {
    await src?.close().catch(() => undefined);
    await fh.close().catch(() => undefined);
    await removeIfSame(tmp, dev, ino);
    if (isAbort(e) || e instanceof OperationError) throw e;
    if (errnoOf(e) === 'ENOSPC') throw new OperationError(`${dir} ran out of room while writing ${name} (${bytesWords(total)}); nothing was left behind`, 'ENOSPC');
    throw new OperationError(`${name}: ${errnoText(e)}; nothing was left behind`, errorCode(e));
  }
  await src?.close().catch(() => undefined);
  return {
    name,
    path: path.join(dir, name),
    size: total,
    dtype: plan.dt.str,
    shape: plan.shape,
    format,
    dataOffset: plan.header.length,
    fortranOrder: plan.fortranOrder,
    npyDescr: format === 'npy' ? npyDescr(plan.dt) : null,
  };
}
