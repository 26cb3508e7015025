/**
 * numpy dtypes as array-interface strings (`<f4`, `>i8`, `|u1`, `|b1`, `<c8`) plus
 * `bfloat16`, and what the native kernels need to read them.
 */

/** The element codes the native kernels know. */
export type KernelType = 'b1' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' | 'f2' | 'bf16' | 'f4' | 'f8' | 'c8' | 'c16';

export interface NumericDType {
  /** Canonical array-interface string: `<f4`, `|u1`, `>c16`, or `bfloat16`. */
  str: string;
  kernel: KernelType;
  itemsize: number;
  /** True when the bytes are big-endian (this extension only runs on little-endian Linux). */
  byteSwap: boolean;
  /** Human name: float32, uint8, complex64, bool, bfloat16. */
  name: string;
  complex: boolean;
}

const KINDS: Record<string, { sizes: number[]; name: string }> = {
  b: { sizes: [1], name: 'bool' },
  i: { sizes: [1, 2, 4, 8], name: 'int' },
  u: { sizes: [1, 2, 4, 8], name: 'uint' },
  f: { sizes: [2, 4, 8], name: 'float' },
  c: { sizes: [8, 16], name: 'complex' },
};

const parsedDTypes = new Map<string, NumericDType | null>();

/**
 * Parses an array-interface dtype string; null when it is not a plain numeric type.
 * Results are shared (a listing asks for the same few thousands of times): never mutate one.
 */
export function parseNumericDType(descr: string): NumericDType | null {
  let r = parsedDTypes.get(descr);
  if (r === undefined) {
    r = parseNumericDTypeOnce(descr);
    if (r) Object.freeze(r);
    if (parsedDTypes.size < 256) parsedDTypes.set(descr, r);
  }
  return r;
}

function parseNumericDTypeOnce(descr: string): NumericDType | null {
  if (descr === 'bfloat16' || descr === '<bfloat16') {
    return { str: 'bfloat16', kernel: 'bf16', itemsize: 2, byteSwap: false, name: 'bfloat16', complex: false };
  }
  const m = /^([<>|=]?)([biufc])(\d{1,2})$/.exec(descr);
  if (!m) return null;
  const [, order, kind, sizeText] = m;
  const size = Number(sizeText);
  const k = KINDS[kind];
  if (!k || !k.sizes.includes(size)) return null;
  const big = order === '>';
  const oneByte = size === 1; // '>u1' is legal in numpy and means '|u1'
  const str = (oneByte ? '|' : big ? '>' : '<') + kind + size;
  const kernel = (kind === 'c' ? `c${size}` : `${kind}${size}`) as KernelType;
  const name = kind === 'b' ? 'bool' : `${k.name}${size * 8}`;
  return { str, kernel, itemsize: size, byteSwap: big && !oneByte, name, complex: kind === 'c' };
}

const ALIASES: Record<string, string> = {
  bool: '|b1',
  bool_: '|b1',
  '?': '|b1',
  int8: '|i1',
  byte: '|i1',
  b: '|i1',
  uint8: '|u1',
  ubyte: '|u1',
  B: '|u1',
  int16: '<i2',
  short: '<i2',
  h: '<i2',
  uint16: '<u2',
  ushort: '<u2',
  H: '<u2',
  int32: '<i4',
  intc: '<i4',
  int: '<i8',
  i: '<i4',
  uint32: '<u4',
  uintc: '<u4',
  I: '<u4',
  int64: '<i8',
  long: '<i8',
  l: '<i8',
  q: '<i8',
  int_: '<i8',
  uint64: '<u8',
  ulong: '<u8',
  L: '<u8',
  Q: '<u8',
  uint: '<u8',
  float16: '<f2',
  half: '<f2',
  e: '<f2',
  float32: '<f4',
  single: '<f4',
  f: '<f4',
  float64: '<f8',
  double: '<f8',
  d: '<f8',
  float: '<f8',
  float_: '<f8',
  complex64: '<c8',
  csingle: '<c8',
  F: '<c8',
  complex128: '<c16',
  cdouble: '<c16',
  D: '<c16',
  complex: '<c16',
  bfloat16: 'bfloat16',
};

/**
 * What `np.dtype()` accepts for numeric types (`float32`, `f4`, `<f4`, `>i8`, `u1`, `complex64`),
 * plus `bfloat16`. Null when it is not one of them.
 */
export function parseDTypeSpec(spec: string): NumericDType | null {
  const s = spec.trim();
  if (ALIASES[s] !== undefined) return parseNumericDType(ALIASES[s]);
  const m = /^([<>|=]?)([biufc])(\d{1,2})$/.exec(s);
  if (m) return parseNumericDType((m[1] === '=' ? '<' : m[1] || '<') + m[2] + m[3]);
  const n = /^([<>|=]?)([a-z_]+\d*)$/.exec(s);
  if (n && ALIASES[n[2]] !== undefined && n[2] !== 'bfloat16') {
    const base = ALIASES[n[2]];
    return parseNumericDType((n[1] === '>' ? '>' : '<') + base.slice(1));
  }
  return null;
}

/** Short words for a dtype string: `float32`, `>float64`, `bool`, or the string itself. */
export function dtypeWords(descr: string | null): string {
  if (descr === null) return '';
  const d = parseNumericDType(descr);
  if (!d) return descr;
  return (d.byteSwap ? '>' : '') + d.name;
}
