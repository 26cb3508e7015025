/**
 * A walker over pickle opcodes (protocols 0 to 5) that builds a symbolic stack and
 * executes NOTHING: globals stay names, REDUCE/NEWOBJ/BUILD only record their arguments.
 * It stops at the BUILD of an object of a chosen class (joblib's NumpyArrayWrapper, whose
 * raw array bytes follow that opcode) or at STOP. Bounded in opcodes, stack and memo.
 */
import type { Decoded, FileBytes, ReadAt } from '../types';
import { describeError, failed, latin1Text, MiB, readExact, view } from './util';

export class PGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  is(module: string, name: string): boolean {
    return this.module === module && this.name === name;
  }
}
export class PTuple {
  constructor(readonly items: PValue[]) {}
}
export class PList {
  /** Items appended: `items` keeps the first ones (all, unless the walk keeps fewer), `count` counts them all. */
  count: number;
  constructor(readonly items: PValue[]) {
    this.count = items.length;
  }
}
export class PDict {
  /** Entries set, as PList's `count`. */
  count: number;
  constructor(readonly entries: [PValue, PValue][]) {
    this.count = entries.length;
  }
  get(key: string): PValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
  has(key: string): boolean {
    return this.entries.some(([k]) => k === key);
  }
}
/** An object made by REDUCE, NEWOBJ, INST or OBJ: its callable/class, arguments and BUILD state. */
export class PObject {
  state: PValue | undefined;
  constructor(
    readonly callable: PValue,
    readonly args: PValue,
  ) {}
  /** The class: the callable, or the first argument of copyreg._reconstructor (protocols 0 and 1). */
  get cls(): PValue {
    const c = this.callable;
    if (c instanceof PGlobal && (c.is('copy_reg', '_reconstructor') || c.is('copyreg', '_reconstructor'))) {
      return this.args instanceof PTuple ? this.args.items[0] : undefined;
    }
    return c;
  }
}
/** Bytes, sets and anything else whose content does not matter here. */
export class POpaque {
  constructor(readonly what: string) {}
}
export type PValue = undefined | null | boolean | number | bigint | string | PGlobal | PTuple | PList | PDict | PObject | POpaque;

export type WalkResult =
  /** BUILD of a wanted object: `pos` is the offset of the BUILD opcode; `globals` every global named before it. */
  | { kind: 'build'; pos: number; object: PObject; globals: PGlobal[] }
  | { kind: 'stop'; pos: number; globals: PGlobal[]; value: PValue }
  /** The bytes ran out before the pickle did; `bottom` is the outermost value begun so far. */
  | { kind: 'more'; bottom?: PValue; globals?: PGlobal[] }
  | { kind: 'error'; error: string };

const MAX_OPS = 200_000;
const MAX_STACK = 100_000;
const MAX_STRING = 1 << 16;

class Fail extends Error {}
class NeedMore extends Error {}

/**
 * Walks the pickle in `b` from offset 0 until BUILD of an object whose class satisfies `want`.
 * `complete` says `b` holds the whole file (running out is then an error, not `more`).
 */
export interface WalkOptions {
  /** Items a list or dict keeps (the rest are only counted): bounds memory on a huge container. */
  keep?: number;
  /** Opcodes walked at most (default 200000). */
  maxOps?: number;
}

export function walkPickle(b: Uint8Array, want: (cls: PGlobal) => boolean, complete: boolean, opts: WalkOptions = {}): WalkResult {
  const keep = opts.keep ?? Infinity;
  const maxOps = opts.maxOps ?? MAX_OPS;
  const dv = view(b);
  let i = 0;
  const stack: PValue[] = [];
  // Every distinct global the pickle names (what unpickling it would import and may call).
  const globals = new Map<string, PGlobal>();
  const global = (module: string, name: string): PGlobal => {
    const key = `${module}\n${name}`;
    let g = globals.get(key);
    if (!g) {
      if (globals.size >= 1024) fail('pickle names too many globals');
      globals.set(key, (g = new PGlobal(module, name)));
    }
    return g;
  };
  const marks: number[] = [];
  const memo = new Map<number, PValue>();
  const fail = (msg: string): never => {
    throw new Fail(`${msg} at byte ${i}`);
  };
  const need = (n: number) => {
    if (i + n > b.length) {
      if (complete) fail('truncated pickle');
      throw new NeedMore();
    }
  };
  const u8 = () => (need(1), b[i++]);
  const take = (n: number) => (need(n), (i += n), b.subarray(i - n, i));
  const u16 = () => (need(2), (i += 2), dv.getUint16(i - 2, true));
  const i32 = () => (need(4), (i += 4), dv.getInt32(i - 4, true));
  const u64 = () => {
    need(8);
    i += 8;
    const v = dv.getBigUint64(i - 8, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? fail('absurd length') : Number(v);
  };
  const line = () => {
    const start = i;
    while (true) {
      need(1);
      if (b[i++] === 0x0a) return latin1Text(b.subarray(start, i - 1));
      if (i - start > MAX_STRING) fail('line too long');
    }
  };
  const push = (v: PValue) => {
    if (stack.length >= MAX_STACK) fail('pickle stack too deep');
    stack.push(v);
  };
  const pop = (): PValue => (stack.length > (marks.at(-1) ?? 0) ? stack.pop() : fail('pickle stack underflow'));
  const top = (): PValue => (stack.length > (marks.at(-1) ?? 0) ? stack[stack.length - 1] : fail('pickle stack underflow'));
  const popMark = (): PValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK');
    return stack.splice(m!);
  };
  const text = (n: number): string => {
    if (n > MAX_STRING) {
      take(n);
      return '';
    }
    const bytes = take(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return fail('pickle string is not valid UTF-8');
    }
  };
  const asInt = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const memoGet = (k: number) => (memo.has(k) ? memo.get(k) : fail(`memo ${k} missing`));
  const memoPut = (k: number) => {
    if (memo.size >= MAX_STACK && !memo.has(k)) fail('pickle memo too large');
    memo.set(k, top());
  };
  const setItems = (d: PValue, items: PValue[]) => {
    if (!(d instanceof PDict)) fail('SETITEMS on a non-dict');
    const dict = d as PDict;
    for (let k = 0; k + 1 < items.length; k += 2) {
      if (dict.entries.length < keep) dict.entries.push([items[k], items[k + 1]]);
      dict.count++;
    }
  };
  const append = (l: PValue, items: PValue[]) => {
    if (l instanceof PList) {
      for (const it of items) if (l.items.length < keep) l.items.push(it);
      l.count += items.length;
    } else if (!(l instanceof POpaque || l instanceof PObject)) fail('APPEND on a non-list');
  };

  try {
    for (let ops = 0; ops < maxOps; ops++) {
      const at = i;
      const op = u8();
      switch (op) {
        case 0x80: // PROTO
          if (u8() > 5) fail('unknown pickle protocol');
          break;
        case 0x95: // FRAME: its contents are ordinary opcodes
          u64();
          break;
        case 0x2e: // STOP
          return { kind: 'stop', pos: at, globals: [...globals.values()], value: stack[stack.length - 1] };
        case 0x28: // MARK
          marks.push(stack.length);
          break;
        case 0x30: // POP
          if (marks.length && marks[marks.length - 1] === stack.length) marks.pop();
          else pop();
          break;
        case 0x31: // POP_MARK
          popMark();
          break;
        case 0x32: // DUP
          push(top());
          break;
        case 0x4e: // NONE
          push(null);
          break;
        case 0x88: // NEWTRUE
          push(true);
          break;
        case 0x89: // NEWFALSE
          push(false);
          break;
        case 0x4b: // BININT1
          push(u8());
          break;
        case 0x4d: // BININT2
          push(u16());
          break;
        case 0x4a: // BININT
          push(i32());
          break;
        case 0x8a: // LONG1
        case 0x8b: {
          // LONG4
          const n = op === 0x8a ? u8() : i32();
          if (n < 0 || n > 64) fail('absurd long');
          const bytes = take(n);
          let v = 0n;
          for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[k]);
          if (n > 0 && bytes[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
          push(asInt(v));
          break;
        }
        case 0x49: {
          // INT (text): also True/False as I01/I00
          const s = line().trim();
          if (s === '01' || s === '00') push(s === '01');
          else if (/^[-+]?\d{1,30}$/.test(s)) push(asInt(BigInt(s)));
          else fail('bad INT');
          break;
        }
        case 0x4c: {
          // LONG (text)
          const s = line().trim().replace(/L$/, '');
          if (!/^[-+]?\d{1,300}$/.test(s)) fail('bad LONG');
          push(asInt(BigInt(s)));
          break;
        }
        case 0x46: // FLOAT (text)
          push(Number(line()));
          break;
        case 0x47: // BINFLOAT (big-endian)
          need(8);
          push(dv.getFloat64(i, false));
          i += 8;
          break;
        case 0x8c: // SHORT_BINUNICODE
          push(text(u8()));
          break;
        case 0x58: {
          // BINUNICODE
          const n = i32();
          if (n < 0) fail('negative length');
          push(text(n));
          break;
        }
        case 0x8d: // BINUNICODE8
          push(text(u64()));
          break;
        case 0x56: // UNICODE (text, raw-unicode-escape)
          push(unescapeRaw(line()));
          break;
        case 0x53: {
          // STRING (text, quoted)
          const s = line().trim();
          push(s.length >= 2 && (s[0] === "'" || s[0] === '"') ? s.slice(1, -1) : fail('bad STRING'));
          break;
        }
        case 0x55: // SHORT_BINSTRING (latin-1 str in Python 2 pickles)
          push(latin1Text(take(u8())));
          break;
        case 0x54: {
          // BINSTRING
          const n = i32();
          if (n < 0) fail('negative length');
          push(n > MAX_STRING ? (take(n), '') : latin1Text(take(n)));
          break;
        }
        case 0x43: // SHORT_BINBYTES
          take(u8());
          push(new POpaque('bytes'));
          break;
        case 0x42: {
          // BINBYTES
          const n = i32();
          if (n < 0) fail('negative length');
          take(n);
          push(new POpaque('bytes'));
          break;
        }
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          take(u64());
          push(new POpaque('bytes'));
          break;
        case 0x29: // EMPTY_TUPLE
          push(new PTuple([]));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: {
          // TUPLE3
          const n = op - 0x84;
          const items: PValue[] = [];
          for (let k = 0; k < n; k++) items.unshift(pop());
          push(new PTuple(items));
          break;
        }
        case 0x74: // TUPLE
          push(new PTuple(popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          push(new PList([]));
          break;
        case 0x6c: // LIST
          push(new PList(popMark()));
          break;
        case 0x7d: // EMPTY_DICT
          push(new PDict([]));
          break;
        case 0x64: {
          // DICT
          const d = new PDict([]);
          setItems(d, popMark());
          push(d);
          break;
        }
        case 0x8f: // EMPTY_SET
          push(new POpaque('set'));
          break;
        case 0x91: // FROZENSET
          popMark();
          push(new POpaque('frozenset'));
          break;
        case 0x90: // ADDITEMS
          popMark();
          if (!(top() instanceof POpaque)) fail('ADDITEMS on a non-set');
          break;
        case 0x61: {
          // APPEND
          const v = pop();
          append(top(), [v]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = popMark();
          append(top(), items);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = pop();
          const k = pop();
          setItems(top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = popMark();
          setItems(top(), items);
          break;
        }
        case 0x63: {
          // GLOBAL (text)
          const module = line();
          push(global(module, line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL of non-strings');
          push(global(module as string, name as string));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = pop();
          push(new PObject(pop(), args));
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = pop();
          push(new PObject(pop(), args));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          pop(); // kwargs
          const args = pop();
          push(new PObject(pop(), args));
          break;
        }
        case 0x69: {
          // INST (text): class by name, arguments since MARK
          const module = line();
          const g = global(module, line());
          push(new PObject(g, new PTuple(popMark())));
          break;
        }
        case 0x6f: {
          // OBJ: class and arguments since MARK
          const items = popMark();
          if (items.length === 0) fail('OBJ without a class');
          push(new PObject(items[0], new PTuple(items.slice(1))));
          break;
        }
        case 0x62: {
          // BUILD
          const state = pop();
          const obj = top();
          if (obj instanceof PObject) {
            obj.state = state;
            const cls = obj.cls;
            if (cls instanceof PGlobal && want(cls)) return { kind: 'build', pos: at, object: obj, globals: [...globals.values()] };
          }
          break;
        }
        case 0x94: // MEMOIZE
          memoPut(memo.size);
          break;
        case 0x70: // PUT (text)
          memoPut(Number(line()));
          break;
        case 0x71: // BINPUT
          memoPut(u8());
          break;
        case 0x72: // LONG_BINPUT
          memoPut(i32() >>> 0);
          break;
        case 0x67: // GET (text)
          push(memoGet(Number(line())));
          break;
        case 0x68: // BINGET
          push(memoGet(u8()));
          break;
        case 0x6a: // LONG_BINGET
          push(memoGet(i32() >>> 0));
          break;
        default:
          fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
    if (opts.maxOps !== undefined) return { kind: 'more', bottom: stack[0], globals: [...globals.values()] };
    return { kind: 'error', error: `pickle longer than ${maxOps} opcodes` };
  } catch (e) {
    if (e instanceof NeedMore) return { kind: 'more', bottom: stack[0], globals: [...globals.values()] };
    if (e instanceof Fail) return { kind: 'error', error: e.message };
    throw e;
  }
}

/** Python's raw-unicode-escape: only \uXXXX and \UXXXXXXXX are escapes. */
function unescapeRaw(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) => {
    const cp = parseInt(a ?? b ?? '0', 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}

/** What `details.pickle` says of a pickle (docs/cli.md): found by walking it, never by running it. */
export interface PickleDescription {
  /** The top-level object's type as `module.name` (`builtins.dict`, `pandas.core.frame.DataFrame`). */
  type: string;
  /** Entries of a dict, items of a list or tuple, characters of a str; null otherwise or when not walked to its end. */
  length: number | null;
  protocol: number | null;
  /** The first keys and values as Python-like text, cut. */
  preview: string;
  /** Every global the pickle names (classes, functions), as `module.name`: what loading it would import. */
  classes: string[];
  /** False when the walk stopped before STOP (the pickle is longer than what was read). */
  complete: boolean;
}

function typeName(v: PValue): string {
  if (v instanceof PDict) return 'builtins.dict';
  if (v instanceof PList) return 'builtins.list';
  if (v instanceof PTuple) return 'builtins.tuple';
  if (v instanceof PObject) {
    const c = v.cls;
    return c instanceof PGlobal ? `${c.module}.${c.name}` : 'object';
  }
  if (v instanceof PGlobal) return `${v.module}.${v.name}`;
  if (v instanceof POpaque) return `builtins.${v.what}`;
  if (v === null || v === undefined) return 'builtins.NoneType';
  if (typeof v === 'boolean') return 'builtins.bool';
  if (typeof v === 'bigint') return 'builtins.int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'builtins.int' : 'builtins.float';
  return 'builtins.str';
}

/** Python-like text of a value, at most `max` characters (a container shows its first items, then `...`). */
export function pyText(v: PValue, max = 200): string {
  let out = '';
  const put = (s: string) => {
    if (out.length < max) out += s;
  };
  const walk = (x: PValue, depth: number): void => {
    if (out.length >= max) return;
    if (x instanceof PDict) {
      put('{');
      x.entries.forEach(([k, val], i) => {
        if (i) put(', ');
        walk(k, depth + 1);
        put(': ');
        walk(val, depth + 1);
      });
      if (x.count > x.entries.length) put(', ...');
      put('}');
    } else if (x instanceof PList || x instanceof PTuple) {
      const list = x instanceof PList;
      put(list ? '[' : '(');
      x.items.forEach((it, i) => {
        if (i) put(', ');
        walk(it, depth + 1);
      });
      if (list && x.count > x.items.length) put(', ...');
      put(list ? ']' : x.items.length === 1 ? ',)' : ')');
    } else if (x instanceof PObject) put(`${typeName(x)}(...)`);
    else if (x instanceof PGlobal) put(`${x.module}.${x.name}`);
    else if (x instanceof POpaque) put(`<${x.what}>`);
    else if (x === null || x === undefined) put('None');
    else if (typeof x === 'boolean') put(x ? 'True' : 'False');
    else if (typeof x === 'string') put(`'${x.length > max ? x.slice(0, max) : x}'`);
    else put(String(x));
  };
  walk(v, 0);
  return out.length >= max ? `${out.slice(0, max)}...` : out;
}

/** Describes a pickle from its bytes (`complete`: they are all of it). Null when the bytes are not a pickle the walker reads. */
export function describePickle(b: Uint8Array, complete: boolean, maxOps = 2_000_000): PickleDescription | { error: string } {
  const r = walkPickle(b, () => false, complete, { keep: 16, maxOps });
  const protocol = b[0] === 0x80 ? b[1] : null;
  if (r.kind === 'error') return { error: r.error };
  if (r.kind === 'build') return { error: 'unexpected' };
  const value = r.kind === 'stop' ? r.value : r.bottom;
  const globals = (r.kind === 'stop' ? r.globals : r.globals) ?? [];
  const done = r.kind === 'stop';
  let length: number | null = null;
  if (done) {
    if (value instanceof PDict || value instanceof PList) length = value.count;
    else if (value instanceof PTuple) length = value.items.length;
    else if (typeof value === 'string') length = value.length;
  }
  return {
    type: typeName(value),
    length,
    protocol,
    preview: pyText(value),
    classes: globals.slice(0, 64).map((g) => `${g.module}.${g.name}`),
    complete: done,
  };
}

/** Bytes of a pickle segment walked at most (its description stops there: `complete` false, `length` null). */
const MAX_PICKLE_READ = 4 * MiB;

/**
 * A pickle written into a segment (`shm.buf[:n] = pickle.dumps(obj)`): PROTO 2..5 and opcodes the
 * walker reads through the first bytes. Protocols 0 and 1 (text) are not guessed at.
 */
export function isPickle(file: FileBytes): boolean {
  const h = file.head;
  if (h.length < 3 || h[0] !== 0x80 || h[1] < 2 || h[1] > 5) return false;
  const r = walkPickle(h, () => false, h.length >= file.size, { keep: 0, maxOps: 10_000 });
  return r.kind === 'stop' || r.kind === 'more';
}

/** `format` `pickle`: `details.pickle` describes the object (docs/cli.md); nothing is executed, nothing imported. */
export async function decodePickle(file: FileBytes, read: ReadAt): Promise<Decoded> {
  try {
    const n = Math.min(file.size, MAX_PICKLE_READ);
    const bytes = n <= file.head.length ? file.head.subarray(0, n) : await readExact(file, read, 0, n, 'pickle', MAX_PICKLE_READ);
    const d = describePickle(bytes, n >= file.size);
    if ('error' in d) return failed('pickle', `malformed pickle: ${d.error}`);
    const details: Record<string, unknown> = { pickle: d };
    if (!d.complete) details.note = `described from its first ${n} bytes: the pickle goes on`;
    return { format: 'pickle', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error: null, details };
  } catch (e) {
    return failed('pickle', `pickle: ${describeError(e)}`);
  }
}
