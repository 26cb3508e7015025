/**
 * Globs as `clear --glob` and the sidebar's filter read them (one meaning everywhere).
 *
 * fnmatch-style over a whole name: `*` (any run), `?` (any one character), `[abc]`, `[a-z]`,
 * `[!abc]` / `[^abc]` (a `]` right after the opening `[` or `[!` is a member); none of them
 * matches `/`, which only a `/` in the pattern matches. Every other character is literal.
 * Compiled once, matched without regular expressions: the pattern's components (between
 * slashes) against the name's, each with the two-pointer wildcard algorithm that backtracks
 * to the last star only, so a match costs at most (name length x pattern length) steps, never
 * the exponential backtracking of a RegExp with many stars. A malformed class is a GlobError.
 */
import { UsageError } from './usage-error';

/** A glob that cannot be compiled; a usage error in the CLI (exit 2). */
export class GlobError extends UsageError {}

/** One pattern element: a code point, `?`, `*`, or a class. */
type Token = { t: 'char'; c: number } | { t: 'any' } | { t: 'star' } | { t: 'class'; neg: boolean; fold: boolean; ranges: number[] /* lo, hi, lo, hi... */ };

export interface Glob {
  readonly source: string;
  /** True when the whole name matches. */
  test(name: string): boolean;
}

const SLASH = 0x2f;

/** Lower case of one code point (identity for those without a single-code-point lower case). */
function lower(c: number): number {
  if (c < 0x80) return c >= 0x41 && c <= 0x5a ? c + 32 : c;
  const s = String.fromCodePoint(c);
  const l = s.toLowerCase();
  return l.length === s.length ? l.codePointAt(0)! : c;
}

function upper(c: number): number {
  if (c < 0x80) return c >= 0x61 && c <= 0x7a ? c - 32 : c;
  const s = String.fromCodePoint(c);
  const u = s.toUpperCase();
  return u.length === s.length ? u.codePointAt(0)! : c;
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

function tokenize(glob: string, fold: boolean): Token[] {
  const p = codePoints(glob);
  const out: Token[] = [];
  const bad = (at: number, what: string): never => {
    throw new GlobError(`bad glob '${glob}': ${what} (character ${at + 1})`);
  };
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === 0x2a /* * */) {
      if (out.at(-1)?.t !== 'star') out.push({ t: 'star' }); // ** is *
    } else if (c === 0x3f /* ? */) out.push({ t: 'any' });
    else if (c === 0x5b /* [ */) {
      const open = i;
      let j = i + 1;
      const neg = p[j] === 0x21 /* ! */ || p[j] === 0x5e; /* ^ */
      if (neg) j++;
      const ranges: number[] = [];
      let first = true;
      for (;;) {
        if (j >= p.length) bad(open, "'[' opens a class that is never closed (write [[] for a literal '[')");
        const lo = p[j];
        if (lo === 0x5d /* ] */ && !first) break;
        first = false;
        let hi = lo;
        if (p[j + 1] === 0x2d /* - */ && j + 2 < p.length && p[j + 2] !== 0x5d) {
          hi = p[j + 2];
          if (hi < lo) bad(j, `the range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)} runs backwards`);
          j += 3;
        } else j++;
        ranges.push(lo, hi);
      }
      out.push({ t: 'class', neg, fold, ranges });
      i = j;
    } else out.push({ t: 'char', c: fold ? lower(c) : c });
  }
  return out;
}

function inRanges(ranges: number[], c: number): boolean {
  for (let k = 0; k < ranges.length; k += 2) if (c >= ranges[k] && c <= ranges[k + 1]) return true;
  return false;
}

function inClass(tok: { neg: boolean; fold: boolean; ranges: number[] }, c: number): boolean {
  if (c === SLASH) return false;
  // Ignoring case, the name is in lower case: [A-Z] holds it when its upper case is in.
  const hit = inRanges(tok.ranges, c) || (tok.fold && inRanges(tok.ranges, upper(c)));
  return hit !== tok.neg;
}

function one(tok: Token, c: number): boolean {
  switch (tok.t) {
    case 'char':
      return tok.c === c;
    case 'any':
      return c !== SLASH;
    case 'class':
      return inClass(tok, c);
    default:
      return false;
  }
}

/**
 * Whole-component match (no `/` in `s`, no literal `/` in `pat`): the classic wildcard
 * algorithm. A mismatch after a star moves that star's match on by one character and
 * retries from there; earlier stars are never revisited (any match they could give, the
 * last star gives too), so the work is at most len(s) x len(pat).
 */
function matchPart(pat: Token[], s: number[]): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let resume = 0;
  while (i < s.length) {
    if (p < pat.length && pat[p].t !== 'star' && one(pat[p], s[i])) {
      p++;
      i++;
    } else if (p < pat.length && pat[p].t === 'star') {
      star = p++;
      resume = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++resume;
    } else return false;
  }
  while (p < pat.length && pat[p].t === 'star') p++;
  return p === pat.length;
}

function splitOn<T>(xs: T[], isSep: (x: T) => boolean): T[][] {
  const parts: T[][] = [[]];
  for (const x of xs) {
    if (isSep(x)) parts.push([]);
    else parts[parts.length - 1].push(x);
  }
  return parts;
}

/** Compiles a glob; throws a GlobError when a class is malformed. `ignoreCase` for the sidebar's filter. */
export function compileGlob(glob: string, opts: { ignoreCase?: boolean } = {}): Glob {
  const fold = opts.ignoreCase === true;
  const parts = splitOn(tokenize(glob, fold), (t) => t.t === 'char' && t.c === SLASH);
  return {
    source: glob,
    test(name: string): boolean {
      const cps = codePoints(fold ? name.toLowerCase() : name);
      const segs = splitOn(cps, (c) => c === SLASH);
      // Wildcards never match '/': the name's slashes must line up with the pattern's.
      if (segs.length !== parts.length) return false;
      for (let k = 0; k < parts.length; k++) if (!matchPart(parts[k], segs[k])) return false;
      return true;
    },
  };
}

/** Why `glob` cannot be used, or null when it can (for input boxes). */
export function globProblem(glob: string): string | null {
  try {
    compileGlob(glob);
    return null;
  } catch (e) {
    if (e instanceof GlobError) return e.message;
    throw e;
  }
}

/** The name `clear --glob` has always imported: a compiled, case-sensitive glob. */
export const globRegExp = (glob: string): Glob => compileGlob(glob);
