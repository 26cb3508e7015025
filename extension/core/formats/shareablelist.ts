/**
 * `multiprocessing.shared_memory.ShareableList` segments (CPython 3.8+): an int64 count N, N + 1
 * int64 offsets of the items in the data area (the first 0), the data area (8 bytes per int, float,
 * bool or None; strings and bytes in multiples of 8), N 8-byte struct formats (`q`, `d`,
 * `xxxxxxx?`, `xxxxxx?x`, `16s`...), then N back-transform codes (0 as is, 1 str, 2 bytes, 3 None).
 * SharedMemory sizes the segment exactly (Linux), so the codes are its last bytes. `format`
 * `shareablelist`; its items are read as a one-column table (core/tables/).
 */
import type { Decoded, FileBytes, ReadAt } from '../types';
import { bytesAt, describeError, failed, FormatError, readExact, view } from './util';

export interface ShareableListLayout {
  count: number;
  /** Where the data area starts: (count + 2) * 8. */
  dataStart: number;
  /** Where the struct formats start (dataStart + the last offset), then the codes. */
  formatsAt: number;
  codesAt: number;
  /** The bytes the list takes (what SharedMemory was asked for). */
  size: number;
}

export type ItemKind = 'int' | 'float' | 'bool' | 'none' | 'str' | 'bytes';

/** A packing format and a code as one item's kind and its data bytes, or null when they do not go together. */
export function itemKind(format: string, code: number): { kind: ItemKind; bytes: number } | null {
  if (format === 'q' && code === 0) return { kind: 'int', bytes: 8 };
  if (format === 'd' && code === 0) return { kind: 'float', bytes: 8 };
  if (format === 'xxxxxxx?' && code === 0) return { kind: 'bool', bytes: 8 };
  if (format === 'xxxxxx?x' && code === 3) return { kind: 'none', bytes: 8 };
  const m = /^(\d{1,7})s$/.exec(format);
  if (m && (code === 1 || code === 2) && Number(m[1]) % 8 === 0 && Number(m[1]) > 0) return { kind: code === 1 ? 'str' : 'bytes', bytes: Number(m[1]) };
  return null;
}

/** A struct format of 8 bytes, NULs cut. */
export function formatText(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

const i64 = (b: Uint8Array, at: number): number => {
  const v = view(b).getBigInt64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) || v < 0n ? -1 : Number(v);
};

/** The layout from the count and the last offset, or why it cannot be one. */
export function shareableListLayout(count: number, lastOffset: number, fileSize: number): ShareableListLayout | string {
  if (count < 1) return 'no items';
  if (lastOffset < 8 * count || lastOffset % 8 !== 0) return `the last offset ${lastOffset} does not fit ${count} items`;
  const dataStart = (count + 2) * 8;
  const formatsAt = dataStart + lastOffset;
  const codesAt = formatsAt + 8 * count;
  const size = codesAt + count;
  if (!Number.isSafeInteger(size) || size > fileSize) return `${count} items need ${size} bytes, the segment has ${fileSize}`;
  // SharedMemory makes the segment exactly this size; a page more at most (other platforms round up).
  if (fileSize - size >= 4096) return `${count} items take ${size} bytes of the ${fileSize}`;
  return { count, dataStart, formatsAt, codesAt, size };
}

/** Cheap test on the first bytes: a count, offsets from 0 rising by multiples of 8, formats and codes that fit. */
export function isShareableList(file: FileBytes): boolean {
  const h = file.head;
  if (h.length < 24) return false;
  const n = i64(h, 0);
  if (n < 1 || n * 25 + 16 > file.size) return false;
  if (i64(h, 8) !== 0) return false;
  let prev = 0;
  for (let i = 1; i <= n && 8 + 8 * i + 8 <= h.length; i++) {
    const o = i64(h, 8 + 8 * i);
    if (o < prev + 8 || o % 8 !== 0) return false;
    prev = o;
  }
  // The count and the last offset, when the head holds it, must account for the size.
  if (16 + 8 * n <= h.length) return typeof shareableListLayout(n, i64(h, 8 + 8 * n), file.size) !== 'string';
  return true;
}

/** Reads and checks the layout: the count, the last offset, and every item's format and code (bounded). */
export async function readShareableList(size: number, read: ReadAt, file?: FileBytes): Promise<ShareableListLayout> {
  const f: FileBytes = file ?? { size, head: new Uint8Array(0) };
  const first = await readExact(f, read, 0, 16, 'ShareableList count');
  const n = i64(first, 0);
  if (n < 1 || n * 25 + 16 > size) throw new FormatError(`ShareableList count ${n} does not fit the ${size}-byte segment`);
  const last = i64(await readExact(f, read, 8 + 8 * n, 8, 'ShareableList offsets'), 0);
  const layout = shareableListLayout(n, last, size);
  if (typeof layout === 'string') throw new FormatError(`not a ShareableList: ${layout}`);
  return layout;
}

function rawDecoded(): Decoded {
  return { format: 'raw', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error: null };
}

export async function decodeShareableList(file: FileBytes, read: ReadAt): Promise<Decoded> {
  let layout: ShareableListLayout;
  try {
    layout = await readShareableList(file.size, read, file);
  } catch {
    return rawDecoded(); // its first bytes only looked like one
  }
  try {
    // The first items' formats and codes must make sense (all of them when few): else it is not one.
    const k = Math.min(layout.count, 4096);
    const formats = await readExact(file, read, layout.formatsAt, 8 * k, 'ShareableList formats');
    const codes = bytesAt(file, layout.codesAt, k) ?? (await readExact(file, read, layout.codesAt, k, 'ShareableList codes'));
    const kinds: Record<string, number> = {};
    for (let i = 0; i < k; i++) {
      const item = itemKind(formatText(formats.subarray(8 * i, 8 * i + 8)), codes[i]);
      if (!item) return rawDecoded();
      kinds[item.kind] = (kinds[item.kind] ?? 0) + 1;
    }
    return {
      format: 'shareablelist',
      dtype: null,
      shape: [layout.count],
      fortranOrder: null,
      dataOffset: layout.dataStart,
      error: null,
      details: { items: layout.count, ...(k === layout.count ? { kinds } : {}), bytes: layout.size },
    };
  } catch (e) {
    return failed('shareablelist', `ShareableList: ${describeError(e)}`);
  }
}
