/**
 * Chooses a decoder for a file from its name and its first and last bytes.
 * Every decoder returns a Decoded (with `error` set for malformed input);
 * nothing thrown by a decoder escapes `decodeFile`.
 */
import { errorCodeOr } from '../errors';
import type { Decoded, FileBytes, ReadAt } from '../types';
import { decodeArrow, isArrow } from './arrow';
import { decodeJoblib, IN_JOBLIB_FOLDER, isJoblib } from './joblib';
import { decodeNpy, isNpy } from './npy';
import { decodePickle, isPickle } from './pickle';
import { decodeShareableList, isShareableList } from './shareablelist';
import { decodeSafetensors, isSafetensors } from './safetensors';
import { decodeSharedArray, isSharedArray } from './sharedarray';
import { describeError, u64le } from './util';

export interface FormatDecoder {
  /** Cheap test on the bytes already read (and the name). */
  matches(name: string, file: FileBytes): boolean;
  decode(file: FileBytes, read: ReadAt, name: string): Promise<Decoded>;
}

/**
 * Decoders tried in order; the first that matches decodes. Most specific first: NPY's magic,
 * then the SharedArray trailer (its data at offset 0 could look like anything), then the
 * safetensors length + '{', Arrow's magic or message prefix, joblib's pickle, a ShareableList's
 * count and offsets, any other pickle (protocol 2 to 5). Anything else is raw.
 */
export const DECODERS: FormatDecoder[] = [
  { matches: (_n, f) => isNpy(f.head), decode: (f, r) => decodeNpy(f, r) },
  { matches: (_n, f) => isSharedArray(f), decode: async (f) => decodeSharedArray(f) },
  { matches: (_n, f) => isSafetensors(f), decode: (f, r) => decodeSafetensors(f, r) },
  { matches: (_n, f) => isArrow(f), decode: (f, r) => decodeArrow(f, r) },
  { matches: (n, f) => isJoblib(n, f), decode: (f, r) => decodeJoblib(f, r) },
  { matches: (_n, f) => isShareableList(f), decode: (f, r) => decodeShareableList(f, r) },
  { matches: (_n, f) => isPickle(f), decode: (f, r) => decodePickle(f, r) },
];

export function rawDecoded(): Decoded {
  return { format: 'raw', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error: null };
}

/** Formats a name can state by its extension, and what their files start with. */
const NAMED: Record<string, string> = {
  '.npy': 'the NPY magic \\x93NUMPY',
  '.safetensors': "a safetensors header (an 8-byte little-endian length, then '{')",
  '.arrow': 'the Arrow file magic ARROW1 or an Arrow IPC stream schema message',
  '.feather': 'the Arrow file magic ARROW1 (Feather v2) or an Arrow IPC stream schema message',
};

function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/**
 * The part of a name that decoding depends on (the extension, a joblib folder): two names of one
 * file with the same class decode alike, so the catalog decodes a hard-linked file once.
 */
export function nameClass(name: string): string {
  const ext = extensionOf(name);
  return `${ext in NAMED ? ext : ''}${IN_JOBLIB_FOLDER.test(name) ? ':joblib' : ''}`;
}

function hexBytes(b: Uint8Array): string {
  const shown = [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = [...b.subarray(0, 8)].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return `${shown} ("${text}")`;
}

/** Why a file whose name states a format did not decode as it: what was expected, what was found. */
function notAsNamed(name: string, file: FileBytes): string | null {
  const ext = extensionOf(name);
  const expected = NAMED[ext];
  if (!expected) return null;
  const h = file.head;
  let found: string;
  if (file.size === 0) found = 'the file is empty';
  else if (ext === '.feather' && h.length >= 4 && String.fromCharCode(...h.subarray(0, 4)) === 'FEA1') {
    found = 'it starts with FEA1: Feather v1, which is not Arrow IPC and is not decoded';
  } else if (ext === '.safetensors' && h.length >= 9) {
    const n = u64le(h, 0);
    found =
      h[8] !== 0x7b
        ? `byte 8 is 0x${h[8].toString(16).padStart(2, '0')}, not '{' (the file starts ${hexBytes(h)})`
        : n !== null && n >= 2 && n <= file.size - 8
          ? `its header length ${n} is past the 100 MiB limit`
          : `its header length ${n ?? 'beyond 2^53'} does not fit the file's ${file.size} bytes`;
  } else found = `the file starts ${hexBytes(h)}${file.size < 8 ? ` and is only ${file.size} bytes long` : ''}`;
  return `named ${ext} but not decoded as such: expected ${expected}; ${found}`;
}

export async function decodeFile(name: string, file: FileBytes, read: ReadAt): Promise<Decoded> {
  for (const d of DECODERS) {
    let matched = false;
    try {
      matched = d.matches(name, file);
    } catch {
      matched = false;
    }
    if (!matched) continue;
    try {
      return await d.decode(file, read, name);
    } catch (e) {
      return { ...rawDecoded(), error: `decoder failed: ${describeError(e)}`, errorCode: errorCodeOr(e, 'FORMAT') };
    }
  }
  return { ...rawDecoded(), error: notAsNamed(name, file) };
}
