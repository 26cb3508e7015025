/**
 * A parser for the small subset of Python literals that NPY headers use:
 * dicts, tuples, lists, strings, integers, True/False/None. It evaluates
 * nothing and bounds its depth, so hostile headers only produce errors.
 */
import { ShmError } from '../errors';

export type PyValue = string | number | bigint | boolean | null | PyValue[] | PyTuple | PyDict;
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  constructor(readonly entries: Map<string, PyValue>) {}
}

/** A Python literal that is malformed or beyond what is read (code FORMAT). */
export class PyLiteralError extends ShmError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'FORMAT', options);
  }
}

const MAX_DEPTH = 32;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const WORDS = [
  ['True', true],
  ['False', false],
  ['None', null],
] as const;

// Character codes the parser compares against (charCodeAt: no one-character strings made).
const LBRACE = 0x7b,
  RBRACE = 0x7d,
  LPAREN = 0x28,
  RPAREN = 0x29,
  LBRACKET = 0x5b,
  RBRACKET = 0x5d;
const COLON = 0x3a,
  COMMA = 0x2c,
  QUOTE = 0x27,
  DQUOTE = 0x22,
  BACKSLASH = 0x5c,
  MINUS = 0x2d,
  ZERO = 0x30,
  NINE = 0x39;

/**
 * Parses `text` in one pass: every character is looked at a bounded number of times (a 1 MiB
 * header of 100,000 strings is parsed in milliseconds), recursion is bounded by MAX_DEPTH.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  // The next backslash at or after i, found once and reused by every later string until passed
  // (a lastIndexOf per string rescanned the text back to its start: a 1 MiB header took a minute).
  let backslash = -1;
  const fail = (what: string): never => {
    throw new PyLiteralError(`${what} at character ${i}`);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      // space, \t, \n, \v, \f, \r
      if (c === 32 || (c >= 9 && c <= 13)) i++;
      else return;
    }
  };
  const str = (q: number): string => {
    i++;
    const end = text.indexOf(q === QUOTE ? "'" : '"', i);
    if (backslash < i) backslash = text.indexOf('\\', i) >>> 0; // not found: 2^32 - 1, past any text
    if (end >= 0 && backslash > end) {
      // No escape inside: one slice.
      const out = text.slice(i, end);
      i = end + 1;
      return out;
    }
    const parts: string[] = [];
    let from = i;
    while (i < text.length && text.charCodeAt(i) !== q) {
      if (text.charCodeAt(i) === BACKSLASH) {
        const n = text[i + 1];
        if (n === undefined) fail('unterminated escape');
        parts.push(text.slice(from, i), n === 'n' ? '\n' : n === 't' ? '\t' : n);
        i += 2;
        from = i;
      } else i++;
    }
    if (text.charCodeAt(i) !== q) fail('unterminated string');
    parts.push(text.slice(from, i));
    i++;
    return parts.join('');
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    ws();
    const c = text.charCodeAt(i);
    if (i >= text.length) fail('unexpected end');
    if (c === LBRACE) {
      i++;
      const map = new Map<string, PyValue>();
      ws();
      while (text.charCodeAt(i) !== RBRACE) {
        const k = value(depth + 1);
        if (typeof k !== 'string') fail('dict key is not a string');
        ws();
        if (text.charCodeAt(i) !== COLON) fail("expected ':'");
        i++;
        map.set(k as string, value(depth + 1));
        ws();
        if (text.charCodeAt(i) === COMMA) {
          i++;
          ws();
        } else if (text.charCodeAt(i) !== RBRACE) fail("expected ',' or '}'");
      }
      i++;
      return new PyDict(map);
    }
    if (c === LPAREN || c === LBRACKET) {
      const close = c === LPAREN ? RPAREN : RBRACKET;
      i++;
      const items: PyValue[] = [];
      let sawComma = false;
      ws();
      while (text.charCodeAt(i) !== close) {
        items.push(value(depth + 1));
        ws();
        if (text.charCodeAt(i) === COMMA) {
          sawComma = true;
          i++;
          ws();
        } else if (text.charCodeAt(i) !== close) fail(`expected ',' or '${String.fromCharCode(close)}'`);
      }
      i++;
      if (c === LPAREN && items.length === 1 && !sawComma) return items[0]; // parenthesised expression
      return c === LPAREN ? new PyTuple(items) : items;
    }
    if (c === QUOTE || c === DQUOTE) return str(c);
    let j = i + (c === MINUS ? 1 : 0);
    const digitsStart = j;
    while (j < text.length && j - digitsStart < 64 && text.charCodeAt(j) >= ZERO && text.charCodeAt(j) <= NINE) j++;
    if (j > digitsStart) {
      const digits = text.slice(i, j);
      i = j;
      if (text[i] === 'L') i++; // Python 2 long suffix, seen in old headers
      if (j - digitsStart <= 15) return Number(digits);
      const big = BigInt(digits);
      return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
    }
    for (const [word, v] of WORDS) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail('unexpected character');
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}
