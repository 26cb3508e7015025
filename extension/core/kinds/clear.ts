/**
 * `clear` on the kinds beyond the segment directory (issue #15), with the discipline of the posix
 * `clear` (a plan first; selectors by AND; in-use ones only when asked; exactly what was planned):
 *
 * - System V segments, of this IPC namespace or (asked for) of others: each planned as its shmid
 *   with its key, creation time and creator, and re-checked to be that segment right before
 *   IPC_RMID (a shmid that names a new segment since is skipped, never removed).
 * - Containers' /dev/shm entries: the directory is opened inside the container's root (openat2
 *   RESOLVE_IN_ROOT), checked to be the tmpfs that was listed, and cleared through
 *   /proc/self/fd/DIRFD by the posix `clear` itself (the race-safe rename, check, unlink).
 * - memfd regions and shared anonymous memory are refused: nothing names them (memfd.ts says why).
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import * as fs from 'fs';
import { DEFAULT_DIR, UsageError } from '../catalog';
import { globRegExp } from '../glob';
import type { ClearRequest, ClearResult, PlannedName } from '../manage/api';
import { clearSegments } from '../manage/remove';
import { listSysv, ownIpcNamespace, removeSysvSegment, sameSysvSegment, type SysvSegment } from '../sysv';
import { listForeignSysv, removeForeignSysv, type ForeignSysvSegment } from './ipcns';
import { listContainers, openShmDir, parseContainerName, type ContainerSegment } from './containers';

const SELECTOR_NEEDED = 'clear needs at least one selector: --glob G, --orphans or --older-than DURATION';
const REPLACED = 'replaced by another segment since it was listed; left alone';

function emptyResult(dryRun: boolean | undefined): ClearResult {
  return { ...(dryRun ? { dryRun: true as const, planned: [] as string[] } : {}), removed: [], skipped: [], failed: [], bytes: 0, pendingBytes: 0 };
}

export interface SysvClearRequest {
  /** Matched against the key as `0x%08x` (lsipc's spelling), e.g. `0x5eed*`. */
  glob?: string;
  /** Only segments no process attaches (NATTCH 0). */
  orphans?: boolean;
  /** Only segments created (or last changed with IPC_SET) at least this long ago. */
  olderThanMs?: number;
  /** Also remove attached ones (they go when their last process detaches). */
  includeInUse?: boolean;
  dryRun?: boolean;
  now?: number;
  /** Which IPC namespace: ours (default), another one's inode, or `all` (ours and every other that can be entered). */
  namespace?: number | 'all';
  /** Exactly these listed segments (the tree's selection), combined with the selectors by AND. */
  segments?: SysvSegment[];
}

const nsOf = (s: SysvSegment): number | null => (s as Partial<ForeignSysvSegment>).namespace?.id ?? null;
const idOf = (s: SysvSegment) => `${nsOf(s) ?? ''}/${s.sysv.shmid}`;

/** The System V segments a clear looks at, listed now without decoding (our attach would change what ipcs shows). */
async function sysvCandidates(req: SysvClearRequest, out: ClearResult): Promise<SysvSegment[]> {
  const own = await ownIpcNamespace();
  const given = req.segments ?? null;
  const ns = req.namespace === own ? undefined : req.namespace;
  const wantOwn = given ? given.some((s) => nsOf(s) === null || nsOf(s) === own) : ns === undefined || ns === 'all';
  const others: (number | 'all')[] = given ? [...new Set(given.map(nsOf).filter((n): n is number => n !== null && n !== own))] : ns === undefined ? [] : [ns];
  const list: SysvSegment[] = wantOwn ? await listSysv({ decode: false }) : [];
  for (const n of others) {
    const scan = await listForeignSysv(n === 'all' ? { decode: false } : { only: n, decode: false });
    list.push(...scan.segments);
    for (const u of scan.unreadable) out.failed.push({ name: `sysv:${u.id}/`, error: `IPC namespace ${u.id} could not be entered: ${u.error}` });
    if (n !== 'all' && scan.namespaces.length === 0 && scan.unreadable.length === 0)
      out.failed.push({ name: `sysv:${n}/`, error: `no process is in IPC namespace ${n}` });
  }
  if (!given) return list;
  const now = new Map(list.map((s) => [idOf(s), s]));
  const keep: SysvSegment[] = [];
  for (const g of given) {
    const s = now.get(idOf(g)) ?? (nsOf(g) === own ? now.get(`/${g.sysv.shmid}`) : undefined);
    if (!s) out.skipped.push({ name: g.name, reason: 'gone since it was listed' });
    else if (!sameSysvSegment(s.sysv, g.sysv)) out.skipped.push({ name: g.name, reason: REPLACED });
    else keep.push(s);
  }
  return keep;
}

/**
 * `clear --kind sysv`: the segments every given selector picks (AND), removed with IPC_RMID, or
 * only planned (`dryRun`). An attached one is skipped unless `includeInUse`; one already removed
 * (SHM_DEST) is skipped. Each is removed only while its shmid still names the segment listed.
 * The result has the shape of the posix `clear`'s.
 */
export async function clearSysv(req: SysvClearRequest): Promise<ClearResult> {
  if (req.glob === undefined && !req.orphans && req.olderThanMs === undefined && (req.segments?.length ?? 0) === 0) throw new UsageError(SELECTOR_NEEDED);
  const re = req.glob !== undefined ? globRegExp(req.glob) : null;
  const now = req.now ?? Date.now();
  const out = emptyResult(req.dryRun);
  for (const s of await sysvCandidates(req, out)) {
    const r = s.sysv;
    if (re && !re.test(r.keyHex)) continue;
    if (req.orphans && r.nattch > 0) continue;
    if (req.olderThanMs !== undefined && !(r.ctimeMs > 0 && r.ctimeMs <= now - req.olderThanMs)) continue;
    if (r.markedForRemoval) {
      out.skipped.push({ name: s.name, reason: `already removed; goes when its ${r.nattch} attachment${r.nattch === 1 ? '' : 's'} detach` });
      continue;
    }
    if (r.nattch > 0 && !req.includeInUse) {
      const who = s.holders.length > 0 ? s.holders.map((h) => `${h.comm} (pid ${h.pid})`).join(', ') : `${r.nattch} process${r.nattch === 1 ? '' : 'es'}`;
      out.skipped.push({ name: s.name, reason: `attached by ${who}; pass --include-in-use` });
      continue;
    }
    if (req.dryRun) {
      out.planned!.push(s.name);
      if (r.nattch > 0) out.pendingBytes += s.allocatedBytes;
      else out.bytes += s.allocatedBytes;
      continue;
    }
    const ns = nsOf(s);
    const o = ns === null ? await removeSysvSegment(r.shmid, { force: true, expected: r }) : await removeForeignSysv(ns, r.shmid, { force: true, expected: r });
    if (o.status === 'removed') {
      out.removed.push(s.name);
      out.bytes += o.bytes;
      out.pendingBytes += o.pendingBytes;
    } else if (o.status === 'missing') {
      out.skipped.push({ name: s.name, reason: 'gone or replaced meanwhile; left alone' });
    } else {
      out.failed.push({ name: s.name, error: o.error ?? o.status });
    }
  }
  return out;
}

export interface ContainerClearRequest extends Omit<ClearRequest, 'names'> {
  /** Only this mount namespace's /dev/shm (its inode, NS of `ns:NS/NAME`). */
  namespace?: number;
  /** Exactly these listed entries (the tree's selection), each only as the device and inode listed. */
  segments?: ContainerSegment[];
}

/**
 * `clear --kind container`: containers' /dev/shm entries, by the posix `clear`'s selectors and rules
 * (holders matched across namespaces by device and inode), each container's folder opened inside
 * its root and checked to be the tmpfs listed. Names in the result are `ns:NS/NAME`.
 */
export async function clearContainers(req: ContainerClearRequest): Promise<ClearResult> {
  const given = req.segments ?? null;
  if (req.glob === undefined && !req.orphans && req.olderThanMs === undefined && (given?.length ?? 0) === 0) throw new UsageError(SELECTOR_NEEDED);
  const dir = req.dir ?? DEFAULT_DIR;
  const out = emptyResult(req.dryRun);
  const byNs = new Map<number, PlannedName[]>();
  for (const s of given ?? []) {
    const p = parseContainerName(s.name);
    if (!p) continue;
    let l = byNs.get(p.ns);
    if (!l) byNs.set(p.ns, (l = []));
    l.push({ name: p.rel, dev: s.dev, ino: s.ino });
  }
  const only = req.namespace ?? (byNs.size === 1 ? [...byNs.keys()][0] : undefined);
  const scan = await listContainers({ dir, only, holders: false });
  for (const u of scan.unreadable)
    if (!given || byNs.has(u.id)) out.failed.push({ name: `ns:${u.id}/`, error: `mount namespace ${u.id} could not be read: ${u.error}` });
  const groups = scan.groups.filter((g) => (given ? byNs.has(g.namespace.id) : req.namespace === undefined || g.namespace.id === req.namespace));
  for (const [id, names] of byNs) {
    if (!groups.some((g) => g.namespace.id === id))
      for (const n of names) out.skipped.push({ name: `ns:${id}/${n.name}`, reason: 'its container is gone since it was listed' });
  }
  if (!given && req.namespace !== undefined && groups.length === 0 && out.failed.length === 0) {
    out.failed.push({ name: `ns:${req.namespace}/`, error: `mount namespace ${req.namespace} has no /dev/shm of its own here` });
  }
  for (const g of groups) {
    if (req.signal?.aborted) return { interrupted: true, ...out };
    const prefix = `ns:${g.namespace.id}/`;
    let opened: { fd: number; dev: number } | null = null;
    try {
      opened = await openShmDir(g.namespace.pid, dir);
    } catch (e) {
      out.failed.push({ name: prefix, error: (e as Error).message });
      continue;
    }
    if (!opened) continue;
    try {
      if (opened.dev !== g.dev) {
        out.failed.push({ name: prefix, error: 'its /dev/shm is another file system than the one listed; left alone' });
        continue;
      }
      const names = given ? byNs.get(g.namespace.id) : undefined;
      const r = await clearSegments({ ...req, dir: `/proc/self/fd/${opened.fd}`, names });
      if (r.planned) out.planned!.push(...r.planned.map((n) => prefix + n));
      out.removed.push(...r.removed.map((n) => prefix + n));
      out.skipped.push(...r.skipped.map((x) => ({ ...x, name: prefix + x.name })));
      out.failed.push(...r.failed.map((x) => ({ ...x, name: prefix + x.name })));
      out.bytes += r.bytes;
      out.pendingBytes += r.pendingBytes;
      if (r.interrupted) return { interrupted: true, ...out };
    } finally {
      fs.closeSync(opened.fd);
    }
  }
  return out;
}
