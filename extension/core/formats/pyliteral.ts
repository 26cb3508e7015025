/**
 * A parser for the small subset of Python literals that NPY headers use:
 * dicts, tuples, lists, strings, integers, True/False/None. It evaluates
 * nothing and bounds its depth, so hostile headers only produce errors.
 */

export type PyValue = string | number | bigint | boolean | null | PyValue[] | PyTuple | PyDict;
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  constructor(readonly entries: Map<string, PyValue>) {}
}

export class PyLiteralError extends Error {}

const MAX_DEPTH = 32;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const WORDS = [
  ['True', true],
  ['False', false],
  ['None', null],
] as const;

export function parsePyLiteral(text: string): PyValue {
  let i = 0;
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
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === undefined) fail('unexpected end');
    if (c === '{') {
      i++;
      const map = new Map<string, PyValue>();
      ws();
      while (text[i] !== '}') {
        const k = value(depth + 1);
        if (typeof k !== 'string') fail('dict key is not a string');
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        map.set(k as string, value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          ws();
        } else if (text[i] !== '}') fail("expected ',' or '}'");
      }
      i++;
      return new PyDict(map);
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      let sawComma = false;
      ws();
      while (text[i] !== close) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          sawComma = true;
          i++;
          ws();
        } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      i++;
      if (c === '(' && items.length === 1 && !sawComma) return items[0]; // parenthesised expression
      return c === '(' ? new PyTuple(items) : items;
    }
    if (c === "'" || c === '"') {
      i++;
      const end = text.indexOf(c, i);
      if (end >= 0 && text.lastIndexOf('\\', end) < i) {
        // No escape inside: one slice.
        const str = text.slice(i, end);
        i = end + 1;
        return str;
      }
      let out = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') {
          const n = text[i + 1];
          if (n === undefined) fail('unterminated escape');
          out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
        } else out += text[i++];
      }
      if (text[i] !== c) fail('unterminated string');
      i++;
      return out;
    }
    let j = i + (c === '-' ? 1 : 0);
    const digitsStart = j;
    while (j < text.length && j - digitsStart < 64 && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
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
