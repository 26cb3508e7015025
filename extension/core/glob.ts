/** Globs as `clear --glob` and the sidebar's filter read them (one meaning everywhere). */

/** fnmatch-style glob (`*`, `?`, `[abc]`, `[!abc]`) as a RegExp over a whole name; `*` does not cross `/`. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const neg = body.startsWith('!') || body.startsWith('^');
      if (neg) body = body.slice(1);
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, (x) => '\\' + x)}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, (x) => '\\' + x);
  }
  return new RegExp(`^${re}$`, 's');
}
