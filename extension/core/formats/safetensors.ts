/**
 * safetensors (huggingface/safetensors): u64 little-endian header length N, N bytes of
 * UTF-8 JSON `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}`,
 * then the data; offsets are relative to byte 8 + N.
 */
import type { Decoded, DecodedChild, FileBytes, ReadAt } from '../types';
import { describeError, dimsProblem, failed, FormatError, keptMetadata, keptParts, MiB, productBig, readExact, u64le, utf8 } from './util';

/** The reference implementation refuses headers over 100 MB (N_LEN_MAX). */
const MAX_HEADER = 100 * MiB;

/** safetensors dtype -> numpy array-interface string (or ml_dtypes name) and item size. */
const DTYPES: Record<string, { dtype: string; itemsize: number }> = {
  BOOL: { dtype: '|b1', itemsize: 1 },
  U8: { dtype: '|u1', itemsize: 1 },
  I8: { dtype: '|i1', itemsize: 1 },
  U16: { dtype: '<u2', itemsize: 2 },
  I16: { dtype: '<i2', itemsize: 2 },
  U32: { dtype: '<u4', itemsize: 4 },
  I32: { dtype: '<i4', itemsize: 4 },
  U64: { dtype: '<u8', itemsize: 8 },
  I64: { dtype: '<i8', itemsize: 8 },
  F16: { dtype: '<f2', itemsize: 2 },
  BF16: { dtype: 'bfloat16', itemsize: 2 },
  F32: { dtype: '<f4', itemsize: 4 },
  F64: { dtype: '<f8', itemsize: 8 },
  C64: { dtype: '<c8', itemsize: 8 },
  F8_E4M3: { dtype: 'float8_e4m3fn', itemsize: 1 },
  F8_E5M2: { dtype: 'float8_e5m2', itemsize: 1 },
  F8_E8M0: { dtype: 'float8_e8m0fnu', itemsize: 1 },
};

export function isSafetensors(file: FileBytes): boolean {
  const h = file.head;
  if (h.length < 9 || h[8] !== 0x7b /* { */) return false;
  const n = u64le(h, 0);
  return n !== null && n >= 2 && n <= file.size - 8 && n <= MAX_HEADER;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tensor(name: string, info: unknown, base: number, dataBytes: number): DecodedChild {
  const child: DecodedChild = { name, format: 'tensor', dtype: null, shape: null, fortranOrder: null, dataOffset: null, size: 0, error: null };
  const bad = (msg: string) => ({ ...child, error: `tensor '${name}': ${msg}` });
  if (!isObject(info)) return bad('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') return bad('dtype missing');
  const dt = DTYPES[dtype];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return bad(`bad shape ${JSON.stringify(shape)?.slice(0, 80)}`);
  }
  const tooMany = dimsProblem(shape.length);
  if (tooMany) return bad(tooMany);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    return bad(`bad data_offsets ${JSON.stringify(offsets)?.slice(0, 80)}`);
  }
  const [begin, end] = offsets as number[];
  const out: DecodedChild = {
    ...child,
    dtype: dt ? dt.dtype : dtype,
    shape: shape as number[],
    fortranOrder: false,
    dataOffset: base + begin,
    size: Math.max(0, end - begin),
  };
  if (!dt) return { ...out, error: `tensor '${name}': unsupported dtype ${dtype}` };
  if (end < begin) return { ...out, error: `tensor '${name}': data_offsets [${begin}, ${end}] run backwards` };
  if (end > dataBytes) {
    return { ...out, error: `truncated: tensor '${name}' ends at data byte ${end}, the file holds ${dataBytes}` };
  }
  const need = productBig(out.shape!) * BigInt(dt.itemsize);
  if (need !== BigInt(end - begin)) {
    return { ...out, error: `tensor '${name}': shape ${JSON.stringify(shape)} x ${dt.itemsize} bytes = ${need}, but data_offsets span ${end - begin}` };
  }
  return out;
}

/**
 * Like the reference implementation (MetadataIncompleteBuffer, InvalidOffset): sorted by
 * offset, the tensors must tile the data section exactly, without gaps or overlaps.
 */
function coverage(children: DecodedChild[], base: number, dataBytes: number): string | null {
  const spans = children.map((c) => [c.dataOffset! - base, c.dataOffset! - base + c.size]).sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [begin, end] of spans) {
    if (begin !== at) return `safetensors data_offsets ${begin < at ? 'overlap' : 'leave a gap'} at data byte ${Math.min(begin, at)}`;
    at = end;
  }
  if (at !== dataBytes) return `safetensors tensors cover ${at} data bytes, the file holds ${dataBytes}`;
  return null;
}

export async function decodeSafetensors(file: FileBytes, read: ReadAt): Promise<Decoded> {
  try {
    const n = u64le(file.head, 0);
    if (n === null || n > MAX_HEADER) return failed('safetensors', `safetensors header length ${n ?? 'huge'} is absurd`);
    const bytes = await readExact(file, read, 8, n, 'safetensors header', MAX_HEADER);
    const text = utf8(bytes);
    if (text === null) return failed('safetensors', 'safetensors header is not valid UTF-8');
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch (e) {
      return failed('safetensors', `safetensors header is not valid JSON: ${describeError(e)}`);
    }
    if (!isObject(header)) return failed('safetensors', 'safetensors header is not a JSON object');
    const base = 8 + n;
    const dataBytes = file.size - base;
    const children: DecodedChild[] = [];
    let metadata: unknown = null;
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') metadata = info;
      else children.push(tensor(name, info, base, dataBytes));
    }
    let error = children.find((c) => c.error !== null)?.error ?? null;
    error ??= coverage(children, base, dataBytes);
    if (metadata !== null && (!isObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string'))) {
      error ??= '__metadata__ is not a map of strings';
    }
    const details: Record<string, unknown> = { headerLength: n, tensors: children.length };
    if (metadata !== null) {
      // Kept bounded (a 100 MiB __metadata__ was kept whole, once per hard link): cut, with its size.
      const kept = keptMetadata(isObject(metadata) ? Object.entries(metadata) : [['__metadata__', metadata]]);
      details.metadata = kept.metadata;
      if (kept.cut) Object.assign(details, { metadataCut: true, metadataBytes: kept.size });
    }
    return { format: 'safetensors', dtype: null, shape: null, fortranOrder: null, dataOffset: null, children: keptParts(children, details), error, details };
  } catch (e) {
    return failed('safetensors', e instanceof FormatError ? e.message : `safetensors: ${describeError(e)}`);
  }
}
