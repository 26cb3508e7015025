/** User names for uids, from /etc/passwd (read once, asynchronously). */
import * as fs from 'fs';

let cache: Promise<Map<number, string>> | null = null;

function load(): Promise<Map<number, string>> {
  return fs.promises.readFile('/etc/passwd', 'utf8').then(
    (text) => {
      const m = new Map<number, string>();
      for (const line of text.split('\n')) {
        const f = line.split(':');
        if (f.length > 3 && /^\d+$/.test(f[2])) m.set(Number(f[2]), f[0]);
      }
      return m;
    },
    () => new Map(),
  );
}

export async function userName(uid: number): Promise<string> {
  cache ??= load();
  return (await cache).get(uid) ?? String(uid);
}
