/**
 * Names as bytes (docs/cli.md, "Names"): the one spelling of a file name that the CLI, the JSON
 * `name` and `path` fields, the tree and every message use, its inverse, the display escaping of
 * any other text shown to a person, and the byte paths the file system is given.
 *
 * A Linux file name is bytes, not text. The core carries each name as its *spelling*: a string
 * that is the name itself when the name is printable UTF-8, and otherwise writes each byte that
 * is not UTF-8 or belongs to a character that is not printable as `\xHH` (lower-case hex) and a
 * backslash as `\\`. The spelling is a lossless, one-to-one encoding of the bytes: two names
 * that differ in any byte are spelled differently, `unescapeName` gives the bytes back, and `/`
 * and `.` are never escaped, so path arithmetic (prefixes, `..`, joins) works on spellings.
 *
 * Not printable, hence escaped (in names and in displayed text alike): Unicode categories Cc
 * (C0 controls such as ESC and newline, DEL, C1 controls), Cf (format characters: the bidi
 * overrides, embeddings and isolates that reorder a line, zero-width characters, the BOM, the
 * soft hyphen) and Zl/Zp (line and paragraph separators). None of them can reach a terminal, a
 * tree label or a webview raw.
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import * as buffer from 'buffer';
// A character of a name that the spelling writes as `\xHH` bytes: the one definition, which displayText uses too.
import { UNPRINTABLE } from '../../webview/text';

/**
 * A character that makes a string's spelling differ from the string itself; a lone surrogate
 * (\p{Cs}: a JSON key such as a tensor's may hold one) is not UTF-8, so it is spelled too.
 */
const NEEDS_SPELLING = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
/** The spellings of other kinds (docs/cli.md): an entry of D named like one is written `./NAME`. */
const RESERVED_PREFIX = /^(?:sysv|memfd|anon|ns):/;

const HEX = '0123456789abcdef';
const hexByte = (b: number) => '\\x' + HEX[b >> 4] + HEX[b & 15];

const isUtf8: (b: Uint8Array) => boolean =
  typeof (buffer as { isUtf8?: unknown }).isUtf8 === 'function'
    ? (buffer as unknown as { isUtf8: (b: Uint8Array) => boolean }).isUtf8
    : (b) => {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(b);
          return true;
        } catch {
          return false;
        }
      };

/** The length of the valid UTF-8 sequence at b[i], or 0 when b[i] does not start one. */
function utf8Length(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1];
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // a surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1];
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // beyond U+10FFFF
    return 4;
  }
  return 0;
}

/** The spelling of raw bytes: printable UTF-8 as itself, other bytes `\xHH`, a backslash `\\`. */
export function escapeBytes(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = utf8Length(b, i);
    if (n === 0) {
      out += hexByte(b[i++]);
      continue;
    }
    const ch = n === 1 ? String.fromCharCode(b[i]) : Buffer.from(b.buffer, b.byteOffset + i, n).toString('utf8');
    if (ch === '\\') out += '\\\\';
    else if (UNPRINTABLE.test(ch)) for (let k = 0; k < n; k++) out += hexByte(b[i + k]);
    else out += ch;
    i += n;
  }
  return out;
}

/**
 * The spelling of a name held as a JavaScript string (its UTF-8 bytes). A lone surrogate, which
 * UTF-8 cannot hold (Buffer.from would make it U+FFFD, so `"a\ud800"` and `"a\ufffd"` would read
 * alike), is spelled as its WTF-8 bytes: U+D800 is `\xed\xa0\x80`, distinct from U+FFFD's `�`.
 */
export function escapeText(s: string): string {
  return NEEDS_SPELLING.test(s) ? escapeBytes(wtf8(s)) : s;
}

/** UTF-8 of a string, but a lone surrogate as the three bytes its code point would take (WTF-8). */
function wtf8(s: string): Buffer {
  if (!/\p{Cs}/u.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    parts.push(cp >= 0xd800 && cp <= 0xdfff ? Buffer.from([0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)]) : Buffer.from(ch, 'utf8'));
  }
  return Buffer.concat(parts);
}

/**
 * The bytes a spelling stands for: `\\` is a backslash, `\xHH` (either case) the byte HH; every
 * other character (a backslash that starts neither, too) is its UTF-8. The CLI reads NAMEs this
 * way, so it takes both the escaped spelling and a plain UTF-8 name.
 */
export function unescapeName(s: string): Buffer {
  if (!s.includes('\\')) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  const flush = () => {
    if (run) parts.push(Buffer.from(run, 'utf8'));
    run = '';
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === '\\') {
      run += '\\';
      i++;
    } else if (c === '\\' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      flush();
      parts.push(Buffer.from([parseInt(s.slice(i + 2, i + 4), 16)]));
      i += 3;
    } else {
      run += c;
    }
  }
  flush();
  return Buffer.concat(parts);
}

/** True when a name is printable UTF-8 without a backslash: its spelling is itself. */
export function isPlainName(spelled: string): boolean {
  return !spelled.includes('\\');
}

/** The name's bytes in hex (the JSON `nameBytes`), for a spelling that is not the plain name. */
export function nameBytesHex(spelled: string): string {
  return unescapeName(spelled).toString('hex');
}

/**
 * The name field of an entry of a directory: its spelling, and `./` before it when it would
 * read as another kind's name (`sysv:`, `memfd:`, `anon:`, `ns:`).
 */
export function entryName(spelledRel: string): string {
  return RESERVED_PREFIX.test(spelledRel) ? './' + spelledRel : spelledRel;
}

/** The relative path an entry name stands for (without the `./` of `entryName`). */
export function entryPath(name: string): string {
  return name.startsWith('./') ? name.slice(2) : name;
}

/**
 * What to give `fs` (or the addon) for a spelled path: the string itself when it holds no escape,
 * a string when the bytes are UTF-8, else a Buffer of the exact bytes.
 */
export function fsPath(spelled: string): string | Buffer {
  if (!spelled.includes('\\')) return spelled;
  const b = unescapeName(spelled);
  return isUtf8(b) ? b.toString('utf8') : b;
}

/**
 * What to give `fs` for the entry of a directory named by a spelling: the directory as given (a
 * literal path, never unescaped), `/`, and the name's exact bytes; a string when it is all UTF-8.
 */
export function fsPathIn(dir: string, spelledName: string): string | Buffer {
  if (!spelledName.includes('\\')) return `${dir.replace(/\/+$/, '')}/${spelledName}`;
  const b = Buffer.concat([Buffer.from(`${dir.replace(/\/+$/, '')}/`, 'utf8'), unescapeName(spelledName)]);
  return isUtf8(b) ? b.toString('utf8') : b;
}

/** The canonical spelling of a name given as a spelling (or a plain name): `a\b` becomes `a\\b`. */
export function respell(spelled: string): string {
  return spelled.includes('\\') ? escapeBytes(unescapeName(spelled)) : escapeText(spelled);
}

/**
 * The name as Python's os module decodes it (surrogateescape): each byte that is not UTF-8 as the
 * lone surrogate U+DC80..U+DCFF. A Python string literal of this opens the exact file.
 */
export function pythonFsName(spelled: string): string {
  if (!spelled.includes('\\')) return spelled;
  const b = unescapeName(spelled);
  let out = '';
  for (let i = 0; i < b.length;) {
    const n = utf8Length(b, i);
    if (n === 0) out += String.fromCharCode(0xdc00 + b[i++]);
    else {
      out += Buffer.from(b.buffer, b.byteOffset + i, n).toString('utf8');
      i += n;
    }
  }
  return out;
}

/** The spelling of an entry name as readdir gives it (bytes, or a string when it was UTF-8). */
export function spellEntry(raw: Uint8Array | string): string {
  return typeof raw === 'string' ? escapeText(raw) : escapeBytes(raw);
}

/**
 * Names joined by NUL as raw bytes (the native scan's `names`), spelled. One decode and one
 * test per name when all are UTF-8 (the common case: 10,000 names cost about as much as a split).
 */
export function spellJoinedNames(joined: Uint8Array, count: number): string[] {
  if (count === 0) return [];
  const buf = Buffer.from(joined.buffer, joined.byteOffset, joined.byteLength);
  if (isUtf8(buf)) {
    const names = buf.toString('utf8').split('\0');
    for (let i = 0; i < names.length; i++) if (NEEDS_SPELLING.test(names[i])) names[i] = escapeText(names[i]);
    return names;
  }
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i === buf.length || buf[i] === 0) {
      const name = buf.subarray(start, i);
      out.push(isUtf8(name) ? escapeText(name.toString('utf8')) : escapeBytes(name));
      start = i + 1;
    }
  }
  return out;
}

/** Text for a person: see webview/text.ts (one implementation, which the webview also runs). */
export { displayText, displayLines } from '../../webview/text';
