/**
 * Display escaping of text shown to a person, shared by the extension host (re-exported by
 * extension/core/names.ts, which defines the spelling of names) and the webview, so both escape
 * alike. Plain functions, no DOM and no Node API.
 */

/** Characters never shown raw: Unicode Cc (C0, DEL, C1), Cf (bidi overrides, zero-width...), Zl, Zp. */
export const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const UNPRINTABLE_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
const encoder = new TextEncoder();

/**
 * Every character that is not printable written as its UTF-8 bytes `\xHH` (lower-case hex), as
 * in a name's spelling (docs/cli.md, "Names"); a backslash is left alone, so a spelled name
 * passes through unchanged.
 */
export function displayText(s: string): string {
  if (!UNPRINTABLE.test(s)) return s;
  return s.replace(UNPRINTABLE_ALL, (ch) => {
    let out = '';
    for (const b of encoder.encode(ch)) out += '\\x' + b.toString(16).padStart(2, '0');
    return out;
  });
}

/** Like displayText, but the newlines between the lines of a multi-line text are kept. */
export function displayLines(s: string): string {
  return s.includes('\n') ? s.split('\n').map(displayText).join('\n') : displayText(s);
}
