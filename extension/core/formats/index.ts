/**
 * Chooses a decoder for a file from its name and its first and last bytes.
 * Every decoder returns a Decoded (with `error` set for malformed input);
 * nothing thrown by a decoder escapes `decodeFile`.
 */
import type { Decoded, FileBytes, ReadAt } from '../types';
import { decodeArrow, isArrow } from './arrow';
import { decodeJoblib, isJoblib } from './joblib';
import { decodeNpy, isNpy } from './npy';
import { decodeSafetensors, isSafetensors } from './safetensors';
import { decodeSharedArray, isSharedArray } from './sharedarray';
import { describeError } from './util';

export interface FormatDecoder {
  /** Cheap test on the bytes already read (and the name). */
  matches(name: string, file: FileBytes): boolean;
  decode(file: FileBytes, read: ReadAt, name: string): Promise<Decoded>;
}

/**
 * Decoders tried in order; the first that matches decodes. Most specific first: NPY's magic,
 * then the SharedArray trailer (its data at offset 0 could look like anything), then the
 * safetensors length + '{', Arrow's magic or message prefix, joblib's pickle. Anything else is raw.
 */
export const DECODERS: FormatDecoder[] = [
  { matches: (_n, f) => isNpy(f.head), decode: (f, r) => decodeNpy(f, r) },
  { matches: (_n, f) => isSharedArray(f), decode: async (f) => decodeSharedArray(f) },
  { matches: (_n, f) => isSafetensors(f), decode: (f, r) => decodeSafetensors(f, r) },
  { matches: (_n, f) => isArrow(f), decode: (f, r) => decodeArrow(f, r) },
  { matches: (n, f) => isJoblib(n, f), decode: (f, r) => decodeJoblib(f, r) },
];

export function rawDecoded(): Decoded {
  return { format: 'raw', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error: null };
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
      return { ...rawDecoded(), error: `decoder failed: ${describeError(e)}` };
    }
  }
  return rawDecoded();
}
