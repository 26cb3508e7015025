/** Checks shared by the format decoders. */
import type { Decoded, DecodedChild, FileBytes, ReadAt, SegmentFormat } from '../types';
import { ShmError } from '../errors';

/**
 * Null when `shape` x `itemsize` bytes from `offset` fit in a file of `size` bytes,
 * otherwise a message with the figures. Uses BigInt so absurd shapes cannot overflow.
 */
export function checkExtent(shape: number[], itemsize: number, offset: number, size: number): string | null {
  // In doubles while exact (below 2^53, the common case); in BigInt past that.
  let p = itemsize;
  for (const d of shape) p *= d;
  if (p <= Number.MAX_SAFE_INTEGER && size <= Number.MAX_SAFE_INTEGER && p <= size - offset) return null;
  let n = 1n;
  for (const d of shape) n *= BigInt(d);
  const need = n * BigInt(itemsize);
  const have = BigInt(size) - BigInt(offset);
  if (need > have) {
    return `truncated: shape ${JSON.stringify(shape)} needs ${need} bytes of data from offset ${offset}, the file has ${have < 0n ? 0n : have}`;
  }
  return null;
}

/**
 * At most this many dimensions, in every decoder and in the native scan's NPY fast path
 * (numpy 2's NPY_MAXDIMS; numpy 1 allowed 32, so nothing numpy wrote has more).
 */
export const MAX_DIMS = 64;

/** Null when a shape has at most MAX_DIMS dimensions, otherwise the message every decoder gives. */
export function dimsProblem(ndim: number): string | null {
  return ndim > MAX_DIMS ? `shape has ${ndim} dimensions, more than numpy's ${MAX_DIMS}` : null;
}

/**
 * What a decoder keeps of a file is bounded, whatever the file holds: one text (a metadata
 * value, a dtype description, a name) up to MAX_KEPT_TEXT characters, all of a file's metadata
 * together up to MAX_KEPT_METADATA, and up to MAX_PARTS tensors or columns. Longer texts are cut
 * (with their full length said), the rest is counted, not kept.
 */
export const MAX_KEPT_TEXT = 4096;
export const MAX_KEPT_METADATA = 64 * 1024;
export const MAX_PARTS = 10_000;

/** `s`, or its first `max` characters and how long it was. */
export function cutText(s: string, max = MAX_KEPT_TEXT): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (cut: ${s.length} characters in all)`;
}

/**
 * Metadata (string keys to values) as a decoder keeps it: each value a string, cut to
 * MAX_KEPT_TEXT; keys past MAX_KEPT_METADATA in all left out. `size` is the whole metadata's
 * size in UTF-8 bytes (keys and values), `cut` says whether anything was cut or left out.
 */
export function keptMetadata(entries: Iterable<[string, unknown]>): { metadata: Record<string, string>; size: number; cut: boolean } {
  const metadata: Record<string, string> = {};
  let size = 0;
  let kept = 0;
  let cut = false;
  for (const [k, v] of entries) {
    const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
    size += Buffer.byteLength(k) + Buffer.byteLength(text);
    const key = cutText(k, 256);
    const value = cutText(text);
    if (key !== k || value !== text) cut = true;
    if (kept + key.length + value.length > MAX_KEPT_METADATA) {
      cut = true;
      continue;
    }
    kept += key.length + value.length;
    metadata[key] = value;
  }
  return { metadata, size, cut };
}

/**
 * The tensors or columns a decoder keeps: the first MAX_PARTS, names cut to MAX_KEPT_TEXT
 * (such a part gets an error saying so); `details.partsListed` says how many when some are left out.
 */
export function keptParts(parts: DecodedChild[], details: Record<string, unknown>): DecodedChild[] {
  const kept = parts.length > MAX_PARTS ? parts.slice(0, MAX_PARTS) : parts;
  if (kept !== parts) details.partsListed = kept.length;
  return kept.map((c) =>
    c.name.length <= MAX_KEPT_TEXT ? c : { ...c, name: cutText(c.name), error: c.error ?? `a name of ${c.name.length} characters (cut here)` },
  );
}

/** The message of any thrown value (one definition: core/errors.ts). */
export { errorMessage as describeError } from '../errors';

/** Number of elements of a shape (as a JS number; exact up to 2^53). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A Decoded that only says what went wrong. */
export function failed(format: SegmentFormat, error: string, details?: Record<string, unknown>): Decoded {
  const d: Decoded = { format, dtype: null, shape: null, fortranOrder: null, dataOffset: null, error };
  if (details) d.details = details;
  return d;
}

/** Thrown by `readExact` and caught by each decoder, which turns it into an `error` string (code FORMAT). */
export class FormatError extends ShmError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'FORMAT', options);
  }
}

/**
 * The bytes [offset, offset + length) of the file, from `head`/`tail` when they hold them,
 * otherwise null (the caller then uses `readExact`).
 */
export function bytesAt(file: FileBytes, offset: number, length: number): Uint8Array | null {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) return null;
  if (offset + length <= file.head.length) return file.head.subarray(offset, offset + length);
  const t = file.tail;
  const to = file.tailOffset;
  if (t && to !== undefined && offset >= to && offset + length <= to + t.length) {
    return t.subarray(offset - to, offset - to + length);
  }
  return null;
}

/**
 * Exactly `length` bytes at `offset`: from head/tail when possible, otherwise through `read`.
 * Throws a FormatError (never reads) when the range is outside the file or longer than `cap`,
 * so no decoder can ask for more than the file holds.
 */
export async function readExact(file: FileBytes, read: ReadAt, offset: number, length: number, what: string, cap = 16 * MiB): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError(`${what}: bad range ${offset}+${length}`);
  }
  if (offset + length > file.size) {
    throw new FormatError(`truncated: ${what} needs bytes ${offset}..${offset + length}, the file has ${file.size}`);
  }
  if (length > cap) throw new FormatError(`${what} is ${length} bytes, more than the ${cap}-byte limit`);
  const have = bytesAt(file, offset, length);
  if (have) return have;
  const got = await read(offset, length);
  if (got.length < length) throw new FormatError(`truncated: ${what} (file shrank while reading)`);
  return got.length === length ? got : got.subarray(0, length);
}

export const MiB = 1024 * 1024;

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Unsigned 64-bit little-endian as a number, or null beyond 2^53. */
export function u64le(b: Uint8Array, at: number): number | null {
  const v = view(b).getBigUint64(at, true);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

/** Signed 64-bit little-endian as a number, or null outside +-2^53. */
export function i64le(b: Uint8Array, at: number): number | null {
  const v = view(b).getBigInt64(at, true);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : null;
}

/** Product of a shape as a BigInt (exact for any shape). */
export function productBig(shape: readonly number[]): bigint {
  let n = 1n;
  for (const d of shape) n *= BigInt(d);
  return n;
}

/** Strict UTF-8, or null when the bytes are not valid UTF-8. */
export function utf8(b: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

export function startsWith(b: Uint8Array, magic: readonly number[] | string, at = 0): boolean {
  const m = typeof magic === 'string' ? [...magic].map((c) => c.charCodeAt(0)) : magic;
  if (b.length < at + m.length) return false;
  for (let i = 0; i < m.length; i++) if (b[at + i] !== m[i]) return false;
  return true;
}

/** Bytes as Latin-1 text (one char per byte), without per-byte garbage. */
export function latin1Text(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}
