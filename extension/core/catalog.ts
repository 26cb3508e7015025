/**
 * The catalog: every entry of the configured directories, decoded, with the
 * processes that hold it and the deleted segments that are still mapped.
 * All file-system and /proc work happens in the native addon's worker threads
 * (or in libuv's pool on the pure-TS fallback): never on the caller's thread.
 */
import * as fs from 'fs';
import * as path from 'path';
import { scanDir, scanHolders, statfs, tryNative, type HolderScan, type ScanEntry } from '../native';
import { decodeFile } from './formats';
import { producerOf } from './producer';
import { HEAD_BYTES, TAIL_BYTES, type Catalog, type Decoded, type Holder, type Segment } from './types';

export const DEFAULT_DIR = '/dev/shm';

export interface ListOptions {
  /** Directories to list (default /dev/shm). */
  dirs?: string[];
  /** Scan /proc for holders and deleted-but-mapped segments (default true). */
  holders?: boolean;
}

/** Reads `length` bytes at `offset` of a file without following symlinks. */
export async function readFileRange(file: string, offset: number, length: number): Promise<Uint8Array> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    const n = Math.max(0, Math.min(length, st.size - offset));
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function emptyDecoded(format: Segment['format']): Decoded {
  return { format, dtype: null, shape: null, fortranOrder: null, dataOffset: null, error: null };
}

async function entryToSegment(dir: string, rel: string, e: ScanEntry): Promise<Segment> {
  const full = path.join(dir, rel);
  let decoded: Decoded;
  let children: Segment[] | null = null;
  let size = e.size;
  let allocated = e.blocks * 512;
  if (e.kind === 'symlink') {
    decoded = emptyDecoded('symlink');
  } else if (e.kind === 'dir') {
    decoded = emptyDecoded('directory');
    try {
      const inner = await scanDir(full, HEAD_BYTES, TAIL_BYTES);
      children = await Promise.all(inner.map((c) => entryToSegment(dir, `${rel}/${c.name}`, c)));
      children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      size = children.reduce((s, c) => s + c.size, 0);
      allocated = children.reduce((s, c) => s + c.allocatedBytes, 0);
    } catch (err) {
      decoded.error = `cannot list folder: ${(err as Error).message}`;
      children = [];
    }
  } else if (e.kind === 'file' && e.error) {
    decoded = { ...emptyDecoded(producerOf(rel) === 'semaphore' ? 'semaphore' : 'raw'), error: `unreadable: ${e.error}` };
  } else if (e.kind === 'file') {
    if (producerOf(rel) === 'semaphore') {
      decoded = emptyDecoded('semaphore');
    } else {
      decoded = await decodeFile(
        rel,
        { size: e.size, head: e.head ?? new Uint8Array(0), tail: e.tail, tailOffset: e.tailOffset },
        (offset, length) => readFileRange(full, offset, length),
      );
    }
  } else {
    decoded = { ...emptyDecoded('raw'), error: e.error ?? 'not a regular file' };
  }
  const seg: Segment = {
    name: rel,
    path: full,
    dev: e.dev,
    ino: e.ino,
    size,
    allocatedBytes: allocated,
    mtimeMs: Math.floor(e.mtimeMs),
    uid: e.uid,
    mode: e.mode & 0o7777,
    format: decoded.format,
    producer: producerOf(rel),
    dtype: decoded.dtype,
    shape: decoded.shape,
    fortranOrder: decoded.fortranOrder,
    dataOffset: decoded.dataOffset,
    children,
    holders: [],
    orphan: null,
    deleted: false,
    symlinkTarget: e.kind === 'symlink' ? (e.linkTarget ?? '') : null,
    error: decoded.error,
  };
  if (decoded.details) seg.details = decoded.details;
  if (decoded.children) {
    seg.children = decoded.children.map((c) => ({
      ...seg,
      name: `${rel}/${c.name}`,
      format: c.format,
      size: c.size,
      allocatedBytes: 0,
      dtype: c.dtype,
      shape: c.shape,
      fortranOrder: c.fortranOrder,
      dataOffset: c.dataOffset,
      children: null,
      error: c.error,
      details: undefined,
    }));
  }
  return seg;
}

const key = (dev: number, ino: number) => `${dev}:${ino}`;

/** Holders by (dev, ino), from one /proc scan. */
export function holdersIndex(scan: HolderScan): Map<string, Holder[]> {
  const idx = new Map<string, Map<number, Holder>>();
  const add = (dev: number, ino: number, pid: number, comm: string, via: 'map' | 'fd') => {
    const k = key(dev, ino);
    let m = idx.get(k);
    if (!m) idx.set(k, (m = new Map()));
    const h = m.get(pid);
    if (!h) m.set(pid, { pid, comm, via });
    else if (h.via !== via) h.via = 'map+fd';
  };
  for (const p of scan.processes) {
    for (const r of p.maps) add(r.dev, r.ino, p.pid, p.comm, 'map');
    for (const r of p.fds) add(r.dev, r.ino, p.pid, p.comm, 'fd');
  }
  const out = new Map<string, Holder[]>();
  for (const [k, m] of idx) out.set(k, [...m.values()].sort((a, b) => a.pid - b.pid));
  return out;
}

function applyHolders(seg: Segment, idx: Map<string, Holder[]>, invisible: number): void {
  if (seg.format === 'tensor' || seg.format === 'column') {
    return;
  }
  if (seg.format === 'directory' && seg.children) {
    for (const c of seg.children) applyHolders(c, idx, invisible);
    const any = seg.children.some((c) => c.orphan === false);
    seg.orphan = any ? false : invisible > 0 ? null : true;
    return;
  }
  seg.holders = idx.get(key(seg.dev, seg.ino)) ?? [];
  seg.orphan = seg.holders.length > 0 ? false : invisible > 0 ? null : true;
  if (seg.children) {
    for (const c of seg.children) {
      c.holders = seg.holders;
      c.orphan = seg.orphan;
    }
  }
}

/** Segments that were unlinked but are still mapped or open, one per (dev, ino). */
function deletedSegments(scan: HolderScan, dirs: { path: string; dev: number }[], idx: Map<string, Holder[]>, invisible: number): Segment[] {
  const seen = new Map<string, Segment>();
  for (const p of scan.processes) {
    const refs = [
      ...p.maps.filter((m) => m.deleted).map((m) => ({ dev: m.dev, ino: m.ino, path: m.path, size: m.bytes })),
      ...p.fds.filter((f) => f.deleted).map((f) => ({ dev: f.dev, ino: f.ino, path: f.path, size: f.size })),
    ];
    for (const r of refs) {
      const dir = dirs.find((d) => d.dev === r.dev && (r.path === d.path || r.path.startsWith(d.path + '/')));
      if (!dir) continue;
      const k = key(r.dev, r.ino);
      const existing = seen.get(k);
      if (existing) {
        existing.size = Math.max(existing.size, r.size);
        continue;
      }
      const rel = r.path.slice(dir.path.length + 1);
      const holders = idx.get(k) ?? [];
      seen.set(k, {
        name: rel,
        path: r.path,
        dev: r.dev,
        ino: r.ino,
        size: r.size,
        allocatedBytes: r.size,
        mtimeMs: 0,
        uid: -1,
        mode: 0,
        format: 'raw',
        producer: producerOf(rel),
        dtype: null,
        shape: null,
        fortranOrder: null,
        dataOffset: null,
        children: null,
        holders,
        orphan: holders.length > 0 ? false : invisible > 0 ? null : true,
        deleted: true,
        symlinkTarget: null,
        error: null,
      });
    }
  }
  return [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function readShmem(): Promise<number | null> {
  try {
    const text = await fs.promises.readFile('/proc/meminfo', 'utf8');
    const m = /^Shmem:\s+(\d+) kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function normaliseDir(d: string): string {
  const r = path.resolve(d);
  return r.length > 1 && r.endsWith('/') ? r.slice(0, -1) : r;
}

/** Lists every configured directory: the `list --json` document. */
export async function listCatalog(opts: ListOptions = {}): Promise<Catalog> {
  const dirs = (opts.dirs && opts.dirs.length > 0 ? opts.dirs : [DEFAULT_DIR]).map(normaliseDir);
  const wantHolders = opts.holders !== false && tryNative() !== null;
  const perDir = await Promise.all(
    dirs.map(async (dir) => {
      const [entries, usage, st] = await Promise.all([
        scanDir(dir, HEAD_BYTES, TAIL_BYTES),
        statfs(dir),
        fs.promises.stat(dir),
      ]);
      const segments = await Promise.all(entries.map((e) => entryToSegment(dir, e.name, e)));
      segments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { dir, dev: st.dev, usage, segments };
    }),
  );
  const [scan, shmem] = await Promise.all([
    wantHolders ? scanHolders([...new Set(perDir.map((d) => d.dev))]) : Promise.resolve<HolderScan | null>(null),
    readShmem(),
  ]);
  const segments = perDir.flatMap((d) => d.segments);
  let invisible = 0;
  if (scan) {
    invisible = scan.invisible;
    const idx = holdersIndex(scan);
    for (const s of segments) applyHolders(s, idx, invisible);
    segments.push(...deletedSegments(scan, perDir.map((d) => ({ path: d.dir, dev: d.dev })), idx, invisible));
  }
  return {
    directories: perDir.map((d) => ({ path: d.dir, size: d.usage.size, used: d.usage.used, free: d.usage.free })),
    shmem,
    invisibleProcesses: invisible,
    segments,
  };
}

/**
 * Resolves a contract NAME (relative to `dir`; a leading `/` is stripped) to an
 * absolute path inside `dir`, or throws when it escapes the directory.
 */
export function resolveName(dir: string, name: string): { rel: string; full: string } {
  const base = normaliseDir(dir);
  const rel = name.replace(/^\/+/, '');
  if (rel === '' || rel.includes('\0')) throw new UsageError(`invalid segment name '${name}'`);
  const full = path.resolve(base, rel);
  if (!full.startsWith(base + '/')) throw new UsageError(`'${name}' is outside ${base}`);
  return { rel: full.slice(base.length + 1), full };
}

export class UsageError extends Error {}

/** One segment by name (live ones preferred over deleted ones of the same name). */
export async function inspectSegment(name: string, opts: ListOptions = {}): Promise<Segment | null> {
  const dir = (opts.dirs && opts.dirs[0]) || DEFAULT_DIR;
  const { rel } = resolveName(dir, name);
  const cat = await listCatalog({ ...opts, dirs: [dir] });
  const find = (list: Segment[]): Segment | null => {
    for (const s of list) {
      if (s.name === rel && !s.deleted) return s;
      if (s.children && rel.startsWith(s.name + '/')) {
        const c = find(s.children);
        if (c) return c;
      }
    }
    return null;
  };
  return find(cat.segments) ?? cat.segments.find((s) => s.deleted && s.name === rel) ?? null;
}
