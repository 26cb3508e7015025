/**
 * What the management operations share: name rules, cancellation, NPY headers,
 * chunked copies with hashing, temp files (named `.shmi-*`, never listed) and careful
 * removal, opening user-given files without blocking (openRegular), and placing a
 * finished file under a name that must not be taken (placeNoReplace). All I/O is async.
 */
import type { Hash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { formatBytes } from '../format-words';
import { removeEntries } from '../../native';
import type { NumericDType } from '../dtype';
import { OperationError, type ProgressFn } from './api';
import { respell, unescapeName } from '../names';
import { bytesWords, errnoOf, isOurTemporary, TEMP_PREFIX } from '../fsutil';
// Re-exported: the management modules take them from here.
export { bytesWords, errnoOf, errnoText, openRegular, readSmallRegular, tempBeside } from '../fsutil';

/** Copies and fills go in chunks of this many bytes (progress and cancellation between them). */
export const CHUNK = 8 * 1024 * 1024;

/**
 * Why `name` cannot be a new segment's name, or null when it can:
 * not empty, no `/`, not `.` or `..`, no NUL, at most 255 bytes. NAME is a spelling (core/names.ts).
 */
export function validateName(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'a segment name cannot be empty';
  // NAME is a spelling (core/names.ts): its bytes are what is checked, it is what messages show.
  const shown = respell(name);
  const bytes = unescapeName(name);
  if (bytes.includes(0)) return `invalid segment name '${shown.replace(/\\x00/g, '\\0')}': it contains a NUL byte`;
  if (bytes.includes(0x2f)) return `invalid segment name '${shown}': it may not contain '/'`;
  if (shown === '.' || shown === '..') return `invalid segment name '${shown}'`;
  if (isOurTemporary(shown))
    return `invalid segment name '${shown}': names like ${TEMP_PREFIX}PID-HEX.tmp and ${TEMP_PREFIX}rm-HEX are SHM Inspector's temporary files`;
  if (bytes.length > 255) return `invalid segment name: ${bytes.length} bytes long, at most 255`;
  return null;
}

/** An Error whose name is AbortError (what an aborted operation rejects with). */
export function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}

export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** Free bytes on the file system holding `dir` (unprivileged view: f_bavail). */
export async function freeSpace(dir: string): Promise<{ free: number; size: number }> {
  const s = await fs.promises.statfs(dir);
  return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
}

export async function requireRoom(dir: string, need: number, what: string): Promise<void> {
  const { free, size } = await freeSpace(dir);
  if (need > free) {
    throw new OperationError(`not enough room in ${dir}: ${what} needs ${bytesWords(need)}, ${bytesWords(free)} free of ${formatBytes(size)}`);
  }
}

/**
 * Removes `file` only when it is still the inode (dev, ino) we made: never a file that was
 * given its name meanwhile (the addon's removeEntries checks the inode it takes away).
 */
export async function removeIfSame(file: string, dev: number, ino: number): Promise<void> {
  let d: fs.promises.FileHandle | undefined;
  try {
    d = await fs.promises.open(path.dirname(file), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    await removeEntries(d.fd, [{ name: path.basename(file), dev, ino }]);
  } catch {
    // gone already, or not ours
  } finally {
    await d?.close().catch(() => undefined);
  }
}

/** A temp name tempBeside made: its process id, then random hex. */
const OUR_TEMP = /^\.shmi-(\d+)-[0-9a-f]{12}\.tmp$/;

/** A temp of ours whose process is gone and that nobody wrote for this long was left by a kill. */
export const STALE_TEMP_MS = 10 * 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

/**
 * Removes the temps that a killed operation left in `dir` (SIGKILL runs no clean-up): a
 * `.shmi-PID-HEX.tmp` whose process is gone and which nobody wrote for STALE_TEMP_MS
 * (a writer in another PID namespace keeps writing, so it is never taken for dead).
 * Best effort: returns the names removed, never throws.
 */
export async function sweepStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for (const n of await fs.promises.readdir(dir)) {
      const m = OUR_TEMP.exec(n);
      if (!m || processAlive(Number(m[1]))) continue;
      const p = path.join(dir, n);
      const st = await fs.promises.lstat(p).catch(() => null);
      if (!st?.isFile() || Date.now() - st.mtimeMs < STALE_TEMP_MS) continue;
      await removeIfSame(p, st.dev, st.ino);
      removed.push(n);
    }
  } catch {
    // an unreadable folder: the operation itself will say so
  }
  return removed;
}

/** Creates a new file exclusively, never following a symlink; returns it with its identity. */
export async function createExclusive(file: string, mode: number): Promise<{ fh: fs.promises.FileHandle; dev: number; ino: number }> {
  const c = fs.constants;
  const fh = await fs.promises.open(file, c.O_CREAT | c.O_EXCL | c.O_WRONLY | c.O_NOFOLLOW, mode);
  try {
    const st = await fh.stat();
    await fh.chmod(mode);
    return { fh, dev: st.dev, ino: st.ino };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Gives the finished file `tmp` the name `final` only if no entry has that name
 * (link(2) fails with EEXIST: never a replacement, never a half-written file under
 * `final`), then removes the temp name. Resolves false when `final` is taken (tmp left).
 */
export async function placeNoReplace(tmp: string, final: string | Buffer): Promise<boolean> {
  try {
    await fs.promises.link(tmp, final);
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    // A file system without hard links (vfat, some FUSE): check, then rename (not atomic there).
    if (!['EPERM', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS'].includes(errnoOf(e) ?? '')) throw e;
    if (
      await fs.promises.lstat(final).then(
        () => true,
        () => false,
      )
    )
      return false;
    await fs.promises.rename(tmp, final);
    return true;
  }
  await fs.promises.unlink(tmp).catch(() => undefined);
  return true;
}

export async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    await fh.sync();
  } catch {
    // some file systems refuse fsync on a directory: the rename is still atomic
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Writes all of `buf` at `position`. */
export async function writeAll(fh: fs.promises.FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('short write');
    done += bytesWritten;
  }
}

export interface CopyOptions {
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  hash?: Hash;
  /** Progress is reported as (base + copied, total). */
  base?: number;
  total?: number;
}

/** Copies `length` bytes from `src` at `srcOffset` to `dst` at `dstOffset`, chunk by chunk. */
/** What copyRange reads from: an open file, or a read-only attach of a System V segment (persist.ts). */
export interface ByteSource {
  read(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

export async function copyRange(
  src: ByteSource,
  srcOffset: number,
  length: number,
  dst: fs.promises.FileHandle,
  dstOffset: number,
  o: CopyOptions = {},
): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(length, 1)));
  let done = 0;
  const base = o.base ?? 0;
  const total = o.total ?? length;
  while (done < length) {
    checkAbort(o.signal);
    const want = Math.min(buf.length, length - done);
    const { bytesRead } = await src.read(buf, 0, want, srcOffset + done);
    if (bytesRead <= 0) throw new OperationError(`the source ended early: ${done} of ${length} bytes read (truncated while copying?)`);
    const chunk = buf.subarray(0, bytesRead);
    o.hash?.update(chunk);
    await writeAll(dst, chunk, dstOffset + done);
    done += bytesRead;
    o.onProgress?.(base + done, total);
  }
  checkAbort(o.signal);
}

// ---- NPY headers (numpy.lib.format, as numpy 1.24 writes them) ----

const NPY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

/** The NPY descr of a dtype: its array-interface string; bfloat16 (which numpy lacks) as 2-byte void, as numpy saves ml_dtypes arrays. */
export function npyDescr(dt: NumericDType): string {
  return dt.kernel === 'bf16' ? '|V2' : dt.str;
}

function pyTuple(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * The NPY preamble and header for (descr, fortran order, shape), byte for byte what
 * numpy's `write_array_header_*` makes: v1.0 when the header fits in 65535 bytes, else v2.0;
 * data starts at a multiple of 64.
 */
export function npyHeader(descr: string, fortranOrder: boolean, shape: readonly number[]): Buffer {
  let text = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${pyTuple(shape)}, }`;
  if (shape.length > 0) {
    const axis = String(shape[fortranOrder ? shape.length - 1 : 0]);
    text += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - axis.length));
  }
  const body = Buffer.from(text, 'latin1');
  const hlen = body.length + 1;
  for (const [major, lenBytes] of [
    [1, 2],
    [2, 4],
  ] as const) {
    const pad = NPY_ALIGN - ((8 + lenBytes + hlen) % NPY_ALIGN);
    const total = hlen + pad;
    if (lenBytes === 2 && total > 0xffff) continue;
    const out = Buffer.alloc(8 + lenBytes + total, 0x20);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(out, 0);
    if (lenBytes === 2) out.writeUInt16LE(total, 8);
    else out.writeUInt32LE(total, 8);
    body.copy(out, 8 + lenBytes);
    out[out.length - 1] = 0x0a;
    return out;
  }
  throw new OperationError('NPY header too large');
}

/** Product of a shape times an item size, refusing what JavaScript cannot count exactly. */
export function arrayBytes(shape: readonly number[], itemsize: number): number {
  let n = BigInt(itemsize);
  for (const d of shape) n *= BigInt(d);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new OperationError(`shape ${JSON.stringify(shape)} is too large`);
  return Number(n);
}
