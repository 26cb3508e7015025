/**
 * memfd regions and shared anonymous memory (docs/cli.md, "Names of what is not a plain file"):
 * no directory lists them; they live on the kernel's internal shmem mount (the device that
 * `shmemDevice` finds), and only their holders show them: `/memfd:NAME (deleted)` in
 * /proc/PID/maps and as /proc/PID/fd links (a memfd), `/dev/zero (deleted)` or `[anon_shmem:NAME]`
 * in maps (`mmap(-1, n)` in Python, MAP_SHARED|MAP_ANONYMOUS in C, shared across fork). Each is
 * one inode: `memfd:INO` or `anon:INO`, its producer's name as `label`. Sized, read and decoded
 * through a holder's /proc/PID/fd/N or /proc/PID/map_files/A-B (catalog.ts readHeld, the path
 * deleted-but-mapped segments take); without the privilege to open those, size is the mapping's.
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import { newSegment, readHeld, UsageError } from '../catalog';
import { escapeText } from '../names';
import type { Holder, Segment } from '../types';
import { scanHolders, shmemDevice, tryNative, type HolderScan } from '../../native';

export type MemKind = 'memfd' | 'anonymous';

/** A memfd region or shared anonymous mapping as a segment: `path` null, `label` its producer's name. */
export type MemSegment = Omit<Segment, 'path'> & {
  kind: MemKind;
  path: null;
  /** The name given to memfd_create, or to the anonymous mapping (PR_SET_VMA_ANON_NAME); null without one. */
  label: string | null;
};

/** The name prefix of each kind (docs/cli.md). */
export const MEM_PREFIX: Record<MemKind, string> = { memfd: 'memfd', anonymous: 'anon' };

/** `memfd:INO` / `anon:INO` to kind and inode; null when NAME is not of these forms. */
export function parseMemName(name: string): { kind: MemKind; ino: number } | null {
  const m = /^(memfd|anon):(.*)$/.exec(name);
  if (!m) return null;
  if (!/^\d+$/.test(m[2]) || !Number.isSafeInteger(Number(m[2]))) throw new UsageError(`'${name}' is not a ${m[1]} name (${m[1]}:INO, the inode list shows)`);
  return { kind: m[1] === 'memfd' ? 'memfd' : 'anonymous', ino: Number(m[2]) };
}

/** What a mapping's or fd's path says: the kind and the label, or null (System V, or not shared memory). */
export function classifyShmemPath(path: string): { kind: MemKind; label: string | null } | null {
  if (path.startsWith('/SYSV')) return null;
  if (path.startsWith('/memfd:')) return { kind: 'memfd', label: path.slice('/memfd:'.length) };
  const named = /^\[anon_shmem:(.*)\]$/.exec(path);
  if (named) return { kind: 'anonymous', label: named[1] };
  // `/dev/zero` (MAP_SHARED|MAP_ANONYMOUS, or a shared mapping of /dev/zero) and any other name
  // the kernel gives shared anonymous memory on its internal mount.
  return { kind: 'anonymous', label: path === '/dev/zero' ? null : path };
}

interface MemRef {
  kind: MemKind;
  dev: number;
  ino: number;
  label: string | null;
  holders: Holder[];
  fdSize: number | null;
  mapBytes: number;
  access: string[];
}

function addHolder(list: Holder[], pid: number, comm: string, via: 'map' | 'fd'): void {
  const h = list.find((x) => x.pid === pid);
  if (!h) list.push({ pid, comm, via });
  else if (h.via !== via) h.via = 'map+fd';
}

/** The regions of a holder scan of the shmem device, one per inode (our own short reads left out). */
export function memRefs(scan: HolderScan, dev: number): MemRef[] {
  const refs = new Map<number, MemRef>();
  const get = (ino: number, path: string): MemRef | null => {
    let r = refs.get(ino);
    if (r) return r;
    const c = classifyShmemPath(path);
    if (!c) return null;
    refs.set(ino, (r = { ...c, dev, ino, holders: [], fdSize: null, mapBytes: 0, access: [] }));
    return r;
  };
  for (const p of scan.processes) {
    const self = p.pid === process.pid;
    const mapped = new Set(p.maps.filter((m) => m.dev === dev).map((m) => m.ino));
    for (const f of p.fds) {
      // Our own fds are this listing's reads, except on regions we also map (an open preview).
      if (f.dev !== dev || (self && !mapped.has(f.ino))) continue;
      const r = get(f.ino, f.path);
      if (!r) continue;
      addHolder(r.holders, p.pid, p.comm, 'fd');
      r.fdSize = Math.max(r.fdSize ?? 0, f.size);
      r.access.unshift(`/proc/${p.pid}/fd/${f.fd}`);
    }
    for (const m of p.maps as (HolderScan['processes'][number]['maps'][number] & { mapFile?: string })[]) {
      if (m.dev !== dev) continue;
      const r = get(m.ino, m.path);
      if (!r) continue;
      addHolder(r.holders, p.pid, p.comm, 'map');
      r.mapBytes = Math.max(r.mapBytes, m.bytes);
      if (m.mapFile) r.access.push(m.mapFile);
    }
  }
  for (const r of refs.values()) r.holders.sort((a, b) => a.pid - b.pid);
  return [...refs.values()];
}

/** One region as a segment, read through its holders (the first link that opens it). */
async function memSegment(r: MemRef): Promise<MemSegment> {
  const name = `${MEM_PREFIX[r.kind]}:${r.ino}`;
  // The decoders read hints from a name (`.npy`): the label's.
  const rel = r.label !== null ? escapeText(r.label) : name;
  const held = await readHeld(rel, r.access, r.dev, r.ino);
  let seg: Segment;
  if ('error' in held) {
    const size = r.fdSize ?? r.mapBytes;
    seg = newSegment(
      rel,
      name,
      { dev: r.dev, ino: r.ino, size, blocks: 0, mtimeMs: 0, uid: -1, mode: 0 },
      { format: 'raw', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error: null },
      name,
    );
    const why = held.error
      ? `cannot open it through its holders (${held.error})`
      : "no holder to read it through (reading another process's mapping needs CAP_SYS_ADMIN)";
    seg.details = { sizeFrom: r.fdSize !== null ? 'fstat' : 'mapping', unread: why, residentUnknown: true };
  } else {
    seg = newSegment(rel, name, held.e, held.d, name);
    seg.details = { ...(seg.details ?? {}), sizeFrom: 'fstat', readVia: held.via };
  }
  const out = { kind: r.kind, ...seg } as unknown as MemSegment;
  out.path = null;
  out.label = r.label === null ? null : escapeText(r.label);
  out.mode = seg.mode & 0o777;
  out.producer = null;
  out.holders = r.holders;
  // Found through its holders: held by construction.
  out.orphan = false;
  out.deleted = false;
  for (const c of out.children ?? []) {
    c.holders = r.holders;
    c.orphan = false;
    (c as { path: string | null }).path = null;
  }
  delete out.nameBytes;
  return out;
}

export interface MemListOptions {
  kinds?: MemKind[];
  /** A holder scan of the shmem device made already (shared with another lister). */
  scan?: HolderScan;
}

/** Every memfd region and shared anonymous mapping that a visible process holds, by kind then inode. */
export async function listMemSegments(opts: MemListOptions = {}): Promise<MemSegment[]> {
  if (tryNative() === null) return [];
  const want = new Set(opts.kinds ?? ['memfd', 'anonymous']);
  const dev = await shmemDevice();
  const scan = opts.scan ?? (await scanHolders([dev]));
  const refs = memRefs(scan, dev).filter((r) => want.has(r.kind));
  const segs = await Promise.all(refs.map(memSegment));
  return segs.sort((a, b) => (a.kind === b.kind ? a.ino - b.ino : a.kind === 'memfd' ? -1 : 1));
}

/** One region by name (`memfd:INO`, `anon:INO`), or null when no visible process holds it. */
export async function inspectMemSegment(name: string): Promise<MemSegment | null> {
  const p = parseMemName(name);
  if (!p) return null;
  const list = await listMemSegments({ kinds: [p.kind] });
  return list.find((s) => s.ino === p.ino) ?? null;
}

/** Why a region cannot be removed the way a file is (unlink, clear): it goes when its last holder lets go. */
export function memRemoveRefusal(s: MemSegment): string {
  const who = s.holders.map((h) => `${escapeText(h.comm)} (pid ${h.pid})`).join(', ') || 'its processes';
  return s.kind === 'memfd'
    ? `a memfd region has no name to unlink; it is freed when ${who} close${s.holders.length === 1 ? 's' : ''} and unmap${s.holders.length === 1 ? 's' : ''} it`
    : `shared anonymous memory has no name to unlink; it is freed when ${who} unmap${s.holders.length === 1 ? 's' : ''} it or exit${s.holders.length === 1 ? 's' : ''}`;
}

/** Why `clear` never selects memfd regions or shared anonymous memory. */
export function memClearRefusal(kind: 'memfd' | 'anonymous'): string {
  return (
    `${kind === 'memfd' ? 'memfd regions' : 'shared anonymous memory'} cannot be cleared: nothing names ${kind === 'memfd' ? 'them' : 'it'} (no file to unlink, no id to remove); ` +
    `${kind === 'memfd' ? 'each is' : 'it is'} freed when the processes that hold it close and unmap it or exit (list --kind ${kind} names them)`
  );
}
