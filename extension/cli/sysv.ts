/** Human-readable text for System V segments: the `lsipc -m`-like table of `list --kind sysv`, and `inspect sysv:ID`. */
import * as fs from 'fs';
import { dtypeWords } from '../core/dtype';
import { formatBytes, shapeWords } from '../core/format-words';
import type { SysvSegment } from '../core/sysv';
import { table } from './common';

let users: Map<number, string> | null = null;

/** A user's name from /etc/passwd (as lsipc shows OWNER), else the number. */
function userName(uid: number): string {
  if (users === null) {
    users = new Map();
    try {
      for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length > 2 && /^\d+$/.test(f[2]) && !users.has(Number(f[2]))) users.set(Number(f[2]), f[0]);
      }
    } catch {
      // No passwd file: numbers.
    }
  }
  return users.get(uid) ?? String(uid);
}

/** lsipc's STATUS words, plus `orphan` for a segment no process has attached. */
export function sysvStatus(s: SysvSegment): string {
  const w: string[] = [];
  if (s.sysv.markedForRemoval) w.push('dest');
  if ((s.sysv.perms & 0o2000) !== 0) w.push('locked');
  if (s.sysv.nattch === 0) w.push('orphan');
  return w.join(',') || '-';
}

function holdersWords(s: SysvSegment): string {
  if (s.holders.length > 0) return s.holders.map((h) => `${h.comm}(${h.pid})`).join(',');
  return s.sysv.nattch > 0 ? '?' : '';
}

function whatWords(s: SysvSegment): string {
  if (s.error) return s.error;
  if (s.dtype !== null) return `${s.format} ${dtypeWords(s.dtype)} ${shapeWords(s.shape)}`;
  return s.format;
}

export function sysvTableText(list: SysvSegment[]): string {
  const ram = list.reduce((a, s) => a + s.allocatedBytes, 0);
  const orphans = list.filter((s) => s.sysv.nattch === 0).length;
  const head = `System V segments: ${list.length}, ${formatBytes(ram)} in RAM${orphans > 0 ? `, ${orphans} orphaned` : ''}`;
  if (list.length === 0) return `${head}\n(no System V segments)`;
  const rows = [['KEY', 'ID', 'OWNER', 'PERMS', 'SIZE', 'NATTCH', 'STATUS', 'CPID', 'LPID', 'RSS', 'FORMAT', 'HOLDERS']];
  for (const s of list) {
    rows.push([
      s.sysv.keyHex,
      String(s.sysv.shmid),
      userName(s.uid),
      (s.sysv.perms & 0o777).toString(8).padStart(3, '0'),
      formatBytes(s.size),
      String(s.sysv.nattch),
      sysvStatus(s),
      String(s.sysv.cpid),
      String(s.sysv.lpid),
      formatBytes(s.allocatedBytes),
      whatWords(s),
      holdersWords(s),
    ]);
  }
  return `${head}\n${table(rows, new Set([1, 4, 5, 7, 8, 9]))}`;
}

const when = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : 'never');

export function sysvSegmentText(s: SysvSegment): string {
  const rows: string[][] = [];
  const add = (k: string, v: string) => rows.push([k, v]);
  const r = s.sysv;
  add('name', s.name);
  add('key', `${r.keyHex}${r.key === 0 ? ' (IPC_PRIVATE)' : ''}`);
  add('format', s.format);
  if (s.dtype !== null) add('dtype', `${dtypeWords(s.dtype)} (${s.dtype})`);
  if (s.shape !== null) add('shape', `${shapeWords(s.shape)}${s.fortranOrder === null ? '' : s.fortranOrder ? ', Fortran order' : ', C order'}`);
  if (s.dataOffset !== null) add('data offset', String(s.dataOffset));
  add('size', `${formatBytes(s.size)} (${s.size} bytes)`);
  add('in RAM', `${formatBytes(r.rss)}${r.swap > 0 ? `, ${formatBytes(r.swap)} swapped` : ''}`);
  add('owner', `${userName(r.uid)} (uid ${r.uid}, gid ${r.gid}), mode ${(r.perms & 0o777).toString(8).padStart(3, '0')}`);
  add('creator', `uid ${r.cuid}, gid ${r.cgid}, pid ${r.cpid}`);
  add('attached', `${r.nattch} time${r.nattch === 1 ? '' : 's'}; last attach/detach by pid ${r.lpid}`);
  add('status', sysvStatus(s) + (r.markedForRemoval ? ' (removed: goes when its last process detaches)' : ''));
  add('times', `created/changed ${when(r.ctimeMs)}, last attach ${when(r.atimeMs)}, last detach ${when(r.dtimeMs)}`);
  add(
    'holders',
    s.holders.length > 0
      ? s.holders.map((h) => `${h.comm} (pid ${h.pid})`).join(', ')
      : r.nattch > 0
        ? 'none visible (attached by processes that could not be inspected)'
        : 'none (orphan)',
  );
  if (s.error) add('error', s.error);
  return table(rows);
}
