/**
 * The catalog: every entry of the configured directories, decoded, with the
 * processes that hold it and the deleted segments that are still mapped.
 * All file-system and /proc work happens in the native addon's worker threads
 * (or in libuv's pool on the pure-TS fallback and for single reads): never on
 * the caller's thread. The /proc holder scan is native only; without the addon
 * there are no holders (and `orphan` stays null).
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  scanDir,
  scanDirListing,
  scanEntry,
  scanField,
  scanHolders,
  scanNames,
  scanNpyHeader,
  statEntry,
  statfs,
  tryNative,
  type FsUsage,
  type HolderScan,
  type ProcMapRef,
  type ScanEntry,
  type ScanListing,
} from '../native';
import { codeBeside, errorCode, errorCodeOr, ShmError, type ErrorCode } from './errors';
import { decodeFile, nameClass } from './formats';
import { npyDecoded } from './formats/npy';
import { applyInterpretation, birthOf, InterpretationIndex, loadInterpretations } from './interpretations';
import { displayText, entryName, entryPath, escapeBytes, escapeText, fsPath, isPlainName, nameBytesHex, unescapeName } from './names';
import { producerOf } from './producer';
import { findLiveByPath } from './segments';
import { isOurTemporary, removedPath } from './fsutil';
import { HEAD_BYTES, TAIL_BYTES, type Catalog, type Decoded, type Holder, type ReadAt, type Segment } from './types';

export const DEFAULT_DIR = '/dev/shm';
/** Folders inside folders are listed down to this depth (a bind-mount loop must not recurse forever). */
export const MAX_FOLDER_DEPTH = 16;

export interface ListOptions {
  /** Directories to list (default /dev/shm). */
  dirs?: string[];
  /** Scan /proc for holders and deleted-but-mapped segments (default true). */
  holders?: boolean;
  /** Apply the user's interpretations of raw segments (default true; a file path reads that file instead). */
  interpretations?: boolean | string;
}

export { UsageError } from './usage-error';
import { UsageError } from './usage-error';

/** Reads `length` bytes at `offset` of a file without following symlinks. */
export async function readFileRange(file: string | Buffer, offset: number, length: number): Promise<Uint8Array> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    return await readHandleRange(fh, offset, length);
  } finally {
    await fh.close();
  }
}

async function readHandleRange(fh: fs.promises.FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const st = await fh.stat();
  const n = Math.max(0, Math.min(length, st.size - offset));
  const buf = Buffer.alloc(n);
  const { bytesRead } = n > 0 ? await fh.read(buf, 0, n, offset) : { bytesRead: 0 };
  return buf.subarray(0, bytesRead);
}

/** Head and tail of an open file, as the native scan reads them. */
async function readEnds(fh: fs.promises.FileHandle, size: number): Promise<{ head: Uint8Array; tail?: Uint8Array; tailOffset?: number }> {
  const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
  const { bytesRead } = head.length > 0 ? await fh.read(head, 0, head.length, 0) : { bytesRead: 0 };
  const out: { head: Uint8Array; tail?: Uint8Array; tailOffset?: number } = { head: head.subarray(0, bytesRead) };
  if (size > head.length) {
    const t = Buffer.alloc(Math.min(TAIL_BYTES, size));
    const off = size - t.length;
    const r = await fh.read(t, 0, t.length, off);
    if (r.bytesRead > 0) {
      out.tail = t.subarray(0, r.bytesRead);
      out.tailOffset = off;
    }
  }
  return out;
}

function compareNames(a: Segment, b: Segment): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** `nameBytes` beside a spelled name that is not the plain name (docs/cli.md, "Names"). */
function nameBytesOf(name: string): { nameBytes?: string } {
  return isPlainName(name) ? {} : { nameBytes: nameBytesHex(entryPath(name)) };
}

/**
 * `rel` and `full` are spelled (core/names.ts); the segment's name gets `./` when it reads as another
 * kind's, unless `given` names it (memfd:INO, ns:NS/NAME: core/kinds/).
 */
export function newSegment(
  rel: string,
  full: string,
  e: { dev: number; ino: number; size: number; blocks: number; mtimeMs: number; uid: number; mode: number },
  d: Decoded,
  given?: string,
): Segment {
  const name = given ?? entryName(rel);
  // No spread in this literal: V8 then builds each of 10,000 segments through a slow generic
  // path (bench/list.mjs). A name that is not plain gets its nameBytes (after `name`) below.
  let seg: Segment = {
    name,
    path: full,
    dev: e.dev,
    ino: e.ino,
    size: e.size,
    allocatedBytes: e.blocks * 512,
    mtimeMs: Math.floor(e.mtimeMs),
    uid: e.uid,
    mode: e.mode & 0o7777,
    format: d.format,
    producer: producerOf(rel),
    dtype: d.dtype,
    shape: d.shape,
    fortranOrder: d.fortranOrder,
    dataOffset: d.dataOffset,
    children: null,
    holders: [],
    orphan: null,
    deleted: false,
    symlinkTarget: null,
    error: d.error,
    errorCode: codeBeside(d.error, d.errorCode),
  };
  if (d.details) seg.details = d.details;
  if (d.children) {
    seg.children = d.children.map((c) => ({
      ...seg,
      name: `${name}/${escapeText(c.name)}`,
      ...nameBytesOf(`${name}/${escapeText(c.name)}`),
      format: c.format,
      size: c.size,
      allocatedBytes: 0,
      dtype: c.dtype,
      shape: c.shape,
      fortranOrder: c.fortranOrder,
      dataOffset: c.dataOffset,
      children: null,
      error: c.error,
      errorCode: codeBeside(c.error, c.errorCode),
      details: c.details,
    }));
  }
  if (!isPlainName(name)) {
    const { name: n, ...rest } = seg;
    seg = { name: n, ...nameBytesOf(n), ...rest };
  }
  return seg;
}

/** The segments sorted by name, awaiting only those that still read more (most are made at once). */
async function settled(items: (Segment | Promise<Segment>)[]): Promise<Segment[]> {
  const out: Segment[] = new Array(items.length);
  const pending: Promise<void>[] = [];
  items.forEach((s, i) => {
    if (s instanceof Promise) pending.push(s.then((seg) => void (out[i] = seg)));
    else out[i] = s;
  });
  if (pending.length > 0) await Promise.all(pending);
  return out.sort(compareNames);
}

/** Every entry of one directory listing as segments, sorted by name. */
function segmentsOf(dir: string, entries: ScanEntry[], depth: number, prefix = ''): Promise<Segment[]> {
  return settled(entries.filter((e) => !isOurTemporary(e.name)).map((e) => entryToSegment(dir, prefix + e.name, e, depth)));
}

/**
 * The segments of a native listing. A readable file whose NPY header the native scan
 * decoded goes straight from the columns to its segment, through one reused stat record:
 * a listing of 10,000 such files makes no per-entry object but the segment itself.
 */
function segmentsOfListing(dir: string, c: ScanListing): Promise<Segment[]> {
  const names = scanNames(c);
  const items: (Segment | Promise<Segment>)[] = [];
  const st = { dev: 0, ino: 0, size: 0, blocks: 0, mtimeMs: 0, uid: 0, mode: 0 };
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (isOurTemporary(name)) continue;
    const h = c.kinds[i] === 0 && !c.errorAt.has(i) && !name.startsWith('sem.') ? scanNpyHeader(c, i) : null;
    if (h) {
      st.size = scanField(c, i, 0);
      st.blocks = scanField(c, i, 1);
      st.dev = scanField(c, i, 2);
      st.ino = scanField(c, i, 3);
      st.mode = scanField(c, i, 4);
      st.uid = scanField(c, i, 5);
      st.mtimeMs = c.nums[i * 8 + 6];
      items.push(newSegment(name, joinPath(dir, name), st, npyDecoded(h.descr, h.fortran, h.shape, h.dataOffset, st.size)));
    } else {
      items.push(entryToSegment(dir, name, scanEntry(c, i, name), 0));
    }
  }
  return settled(items);
}

function emptyDecoded(format: Segment['format'], error: string | null = null, errorCode?: ErrorCode): Decoded {
  return { format, dtype: null, shape: null, fortranOrder: null, dataOffset: null, error, errorCode };
}

const NO_BYTES = new Uint8Array(0);

/**
 * Bytes that decoders may hold at once beyond the heads and tails the scan read (safetensors
 * headers of up to 100 MiB, Arrow footers...): a decode whose first read would pass it waits for
 * others to finish (one alone always runs), so 46 links to a 100 MiB header, or 46 such files,
 * are never all in memory at once. A decode already reading is never stopped (no deadlock).
 */
const DECODE_BYTES_IN_FLIGHT = 128 * 1024 * 1024;
const gate = { used: 0, waiting: [] as (() => void)[] };

async function gatedDecode(read: ReadAt, decode: (read: ReadAt) => Promise<Decoded>): Promise<Decoded> {
  let held = 0;
  const counted: ReadAt = async (offset, length) => {
    if (held === 0) while (gate.used > 0 && gate.used + length > DECODE_BYTES_IN_FLIGHT) await new Promise<void>((r) => gate.waiting.push(r));
    gate.used += length;
    held += length;
    return read(offset, length);
  };
  try {
    return await decode(counted);
  } finally {
    if (held > 0) {
      gate.used -= held;
      for (const wake of gate.waiting.splice(0)) wake();
    }
  }
}

/**
 * Decodes in progress or done during the current listings, by inode, size, mtime and the part of
 * the name decoders look at: hard links (46 names of one file) decode once. Emptied when no
 * listing runs, so nothing outlives the listings that read it.
 */
const decodes = new Map<string, Promise<Decoded>>();
let listingsRunning = 0;

/** Decodes one file from the bytes already read; `read` fetches more when a header is longer. */
function decodeEntry(rel: string, e: ScanEntry, read: ReadAt): Promise<Decoded> {
  if (rel.startsWith('sem.')) return Promise.resolve(emptyDecoded('semaphore'));
  const key = `${e.dev}:${e.ino}:${e.size}:${e.mtimeMs}:${nameClass(rel)}`;
  const known = listingsRunning > 0 ? decodes.get(key) : undefined;
  if (known) return known;
  const d = gatedDecode(read, (r) => decodeFile(rel, { size: e.size, head: e.head ?? NO_BYTES, tail: e.tail, tailOffset: e.tailOffset }, r));
  if (listingsRunning > 0) decodes.set(key, d);
  return d;
}

/** `dir` is normalised (no trailing slash) and `rel` is made of readdir names (no '.', '..' or empty parts). */
const joinPath = (dir: string, rel: string) => (dir === '/' ? '/' + rel : dir + '/' + rel);

/**
 * One entry as a segment. An NPY header the native scan decoded needs no promise
 * (this runs once per entry: 10,000 of them make a listing's cost); others may read more.
 */
function entryToSegment(dir: string, rel: string, e: ScanEntry, depth: number): Segment | Promise<Segment> {
  if (e.kind === 'file' && !e.error) {
    const full = joinPath(dir, rel);
    const h = e.npy;
    if (h && !rel.startsWith('sem.')) return newSegment(rel, full, e, npyDecoded(h.descr, h.fortran, h.shape, h.dataOffset, e.size));
    return decodeEntry(rel, e, (offset, length) => readFileRange(fsPath(full), offset, length)).then((d) => newSegment(rel, full, e, d));
  }
  return otherEntryToSegment(dir, rel, e, depth);
}

async function otherEntryToSegment(dir: string, rel: string, e: ScanEntry, depth: number): Promise<Segment> {
  const full = joinPath(dir, rel);
  if (e.kind === 'symlink') {
    const seg = newSegment(rel, full, e, emptyDecoded('symlink', e.error ?? null, e.errorCode));
    // The target's exact bytes (the scan's text is decoded lossily), spelled like a name.
    const raw = await fs.promises.readlink(fsPath(full), { encoding: 'buffer' }).catch(() => null);
    seg.symlinkTarget = raw ? escapeBytes(raw) : escapeText(e.linkTarget ?? '');
    if (!isPlainName(seg.symlinkTarget)) seg.symlinkTargetBytes = (raw ?? unescapeName(seg.symlinkTarget)).toString('hex');
    return seg;
  }
  if (e.kind === 'dir') {
    const seg = newSegment(rel, full, e, emptyDecoded('directory'));
    seg.children = [];
    if (depth >= MAX_FOLDER_DEPTH) {
      seg.error = `folder nested deeper than ${MAX_FOLDER_DEPTH} levels; not listed`;
      seg.errorCode = 'UNREADABLE';
      return seg;
    }
    try {
      const inner = await scanDir(fsPath(full), HEAD_BYTES, TAIL_BYTES);
      const children = await segmentsOf(dir, inner, depth + 1, `${rel}/`);
      seg.children = children;
      // A folder's size and RAM are its entries' (the directory inode's own blocks are not data).
      seg.size = children.reduce((s, c) => s + c.size, 0);
      seg.allocatedBytes = children.reduce((s, c) => s + c.allocatedBytes, 0);
    } catch (err) {
      seg.error = `cannot list folder: ${(err as Error).message}`;
      seg.errorCode = errorCodeOr(err, 'UNREADABLE');
    }
    return seg;
  }
  if (e.kind === 'file') {
    // Listed but not readable (permissions): stat fields only.
    const fmt = rel.startsWith('sem.') ? 'semaphore' : 'raw';
    return newSegment(rel, full, e, emptyDecoded(fmt, `unreadable: ${e.error}`, e.errorCode ?? 'UNREADABLE'));
  }
  if (e.error) return newSegment(rel, full, e, emptyDecoded('raw', e.error, e.errorCode ?? 'UNREADABLE'));
  return newSegment(rel, full, e, emptyDecoded('raw', 'not a regular file (FIFO, socket or device)', 'NOTFILE'));
}

const inodeKey = (dev: number, ino: number) => `${dev}:${ino}`;

/**
 * Holders by (dev, ino), from one /proc scan: numbers to arrays, no key strings (a process that
 * maps 60,000 files adds 60,000 entries on every refresh).
 */
export class HolderIndex {
  private readonly byDev = new Map<number, Map<number, Holder[]>>();
  /** Number of files held. */
  size = 0;

  constructor(scan: HolderScan) {
    for (const p of scan.processes) {
      for (const r of p.maps) this.add(r.dev, r.ino, p.pid, p.comm, 'map');
      for (const r of p.fds) this.add(r.dev, r.ino, p.pid, p.comm, 'fd');
    }
    for (const m of this.byDev.values()) for (const hs of m.values()) if (hs.length > 1) hs.sort((a, b) => a.pid - b.pid);
  }

  private add(dev: number, ino: number, pid: number, comm: string, via: 'map' | 'fd'): void {
    let m = this.byDev.get(dev);
    if (!m) this.byDev.set(dev, (m = new Map()));
    const hs = m.get(ino);
    if (!hs) {
      m.set(ino, [{ pid, comm, via }]);
      this.size++;
      return;
    }
    // One process's maps and fds are added one after the other: only the last holder can be this one.
    const last = hs[hs.length - 1];
    if (last.pid !== pid) hs.push({ pid, comm, via });
    else if (last.via !== via) last.via = 'map+fd';
  }

  /** The holders of a file, sorted by pid (a fresh array), or none. */
  get(dev: number, ino: number): Holder[] {
    const hs = this.byDev.get(dev)?.get(ino);
    return hs ? [...hs] : [];
  }
}

export function holdersIndex(scan: HolderScan): HolderIndex {
  return new HolderIndex(scan);
}

function orphanOf(held: boolean, invisible: number): boolean | null {
  return held ? false : invisible > 0 ? null : true;
}

type HolderLookup = HolderIndex;

function holdersOf(h: HolderLookup, dev: number, ino: number): Holder[] {
  return h.get(dev, ino);
}

function applyHolders(seg: Segment, h: HolderLookup, invisible: number): void {
  if (seg.format === 'directory') {
    for (const c of seg.children ?? []) applyHolders(c, h, invisible);
    seg.orphan = orphanOf(
      (seg.children ?? []).some((c) => c.orphan === false),
      invisible,
    );
    return;
  }
  seg.holders = holdersOf(h, seg.dev, seg.ino);
  seg.orphan = orphanOf(seg.holders.length > 0, invisible);
  // Tensors and columns live in their container's file: they share its holders.
  for (const c of seg.children ?? []) {
    c.holders = seg.holders;
    c.orphan = seg.orphan;
  }
}

/**
 * The /proc scan runs while this process reads the directories, so it sees our own
 * short-lived fds on the files being read: drop our fds except on files we also map
 * (a MappedView keeps its fd and its mapping: that stays `map+fd`).
 */
function withoutOwnReads(scan: HolderScan): HolderScan {
  const self = scan.processes.find((p) => p.pid === process.pid);
  if (!self || self.fds.length === 0) return scan;
  const mapped = new Set(self.maps.map((m) => inodeKey(m.dev, m.ino)));
  const fds = self.fds.filter((f) => mapped.has(inodeKey(f.dev, f.ino)));
  const processes = scan.processes.map((p) => (p === self ? { ...p, fds } : p)).filter((p) => p.maps.length > 0 || p.fds.length > 0);
  return { ...scan, processes };
}

/** The map_files path the native scan adds to each mapping (see native/src/scan.cc). */
type MapRefWithFile = ProcMapRef & { mapFile?: string };

interface DeletedRef {
  dev: number;
  ino: number;
  /** Spelled (core/names.ts), as `dir` is. */
  path: string;
  dir: string;
  /** The name was read from /proc/PID/maps text only, where a newline and `\012` look alike. */
  uncertain?: boolean;
  /** Exact size from fstat through /proc/PID/fd, when some holder has an fd. */
  fdSize: number | null;
  /** Highest mapped end offset (page-rounded), when some holder maps it. */
  mapBytes: number;
  /** Paths that open the file itself: /proc/PID/fd/N, then /proc/PID/map_files/A-B. */
  access: string[];
}

/** Deleted-but-held files of the listed directories, one per (dev, ino). */
function deletedRefs(scan: HolderScan, realDirs: { real: string; dev: number }[], live: Set<string>): DeletedRef[] {
  const refs = new Map<string, DeletedRef>();
  // Paths compared and kept spelled: a name that is not UTF-8 keeps its bytes.
  const dirs = realDirs.map((d) => ({ dev: d.dev, real: escapeText(d.real) }));
  // A segment unlinked by SHM Inspector shows its private name there (.shmi-rm-HEX-NAME): named NAME again.
  const spelled = (r: { path: string; pathBytes?: Uint8Array }) => removedPath(r.pathBytes ? escapeBytes(r.pathBytes) : escapeText(r.path));
  const dirOf = (dev: number, p: string) => {
    let best: string | null = null;
    for (const d of dirs) {
      if (d.dev !== dev || !(p.startsWith(d.real + '/') || (d.real === '/' && p.startsWith('/')))) continue;
      if (best === null || d.real.length > best.length) best = d.real;
    }
    return best;
  };
  const get = (dev: number, ino: number, p: string): DeletedRef | null => {
    const k = inodeKey(dev, ino);
    // A live entry with this inode (a name that merely ends in " (deleted)", or a hard link) is not deleted.
    if (live.has(k)) return null;
    let r = refs.get(k);
    if (!r) {
      const dir = dirOf(dev, p);
      if (dir === null) return null;
      refs.set(k, (r = { dev, ino, path: p, dir, fdSize: null, mapBytes: 0, access: [] }));
    }
    return r;
  };
  for (const p of scan.processes) {
    for (const f of p.fds) {
      if (!f.deleted) continue;
      const r = get(f.dev, f.ino, spelled(f));
      if (!r) continue;
      if (r.uncertain && dirOf(f.dev, spelled(f)) === r.dir) {
        // An fd's link holds the exact name: it settles one read from another process's maps.
        r.path = spelled(f);
        r.uncertain = false;
      }
      r.fdSize = Math.max(r.fdSize ?? 0, f.size);
      r.access.unshift(`/proc/${p.pid}/fd/${f.fd}`);
    }
    for (const m of p.maps as MapRefWithFile[]) {
      if (!m.deleted) continue;
      const r = get(m.dev, m.ino, spelled(m));
      if (!r) continue;
      if (m.pathUncertain && r.access.every((a) => !a.includes('/fd/'))) r.uncertain = true;
      r.mapBytes = Math.max(r.mapBytes, m.bytes);
      if (m.mapFile) r.access.push(m.mapFile);
    }
  }
  return [...refs.values()];
}

/**
 * A deleted segment: its file is opened through a holder (/proc/PID/fd/N, or
 * /proc/PID/map_files/A-B which needs CAP_SYS_ADMIN) for fstat and decoding;
 * when none opens, size is the fd's fstat or the mapping's extent.
 */
/** A file read through one of its holders' links: its stat, decoded header, birth and the link that opened it. */
export interface HeldFile {
  e: ScanEntry;
  d: Decoded;
  birth: string;
  via: string;
}

/**
 * Opens a file that has no name to open it by (deleted, a memfd, shared anonymous memory) through
 * the first of `access` (/proc/PID/fd/N, /proc/PID/map_files/A-B) that still reaches (dev, ino),
 * and decodes its header (`rel` tells the decoders what the name says). `error`: why none opened.
 */
export async function readHeld(rel: string, access: string[], dev: number, ino: number): Promise<HeldFile | { error: string | null }> {
  let openError: string | null = null;
  for (const p of access) {
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
      const st = await fh.stat({ bigint: true });
      // The pid may have exited and its number been reused: it must be the same file.
      if (Number(st.dev) !== dev || Number(st.ino) !== ino || !st.isFile()) continue;
      const size = Number(st.size);
      const ends = await readEnds(fh, size);
      const handle = fh;
      const e: ScanEntry = {
        name: rel,
        kind: 'file',
        size,
        blocks: Number(st.blocks),
        dev,
        ino,
        mode: Number(st.mode),
        uid: Number(st.uid),
        mtimeMs: Number(st.mtimeNs / 1000000n),
        ...ends,
      };
      const d = await decodeEntry(rel, e, (offset, length) => readHandleRange(handle, offset, length));
      return { e, d, birth: birthOf(st), via: p };
    } catch (err) {
      openError = (err as Error).message;
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }
  return { error: openError };
}

async function deletedSegment(r: DeletedRef, h: HolderLookup, invisible: number, births: Map<Segment, string>): Promise<Segment> {
  const rel = r.path.slice(r.dir === '/' ? 1 : r.dir.length + 1);
  const holders = holdersOf(h, r.dev, r.ino);
  let seg: Segment | null = null;
  const held = await readHeld(rel, r.access, r.dev, r.ino);
  const openError = 'error' in held ? held.error : null;
  if (!('error' in held)) {
    seg = newSegment(rel, r.path, held.e, held.d);
    seg.details = { ...(seg.details ?? {}), sizeFrom: 'fstat' };
    births.set(seg, held.birth);
  }
  if (!seg) {
    const size = r.fdSize ?? r.mapBytes;
    const what = r.access.length > 0 && openError ? `cannot open it through its holders (${openError})` : 'no holder to read it through';
    seg = newSegment(rel, r.path, { dev: r.dev, ino: r.ino, size, blocks: Math.ceil(size / 512), mtimeMs: 0, uid: -1, mode: 0 }, emptyDecoded('raw'));
    // Without an open, we know the size but not the bytes: say so rather than guess a format.
    seg.details = { sizeFrom: r.fdSize !== null ? 'fstat' : 'mapping', unread: what };
  }
  seg.deleted = true;
  seg.holders = holders;
  if (r.uncertain)
    seg.details = {
      ...(seg.details ?? {}),
      nameUncertain:
        'its name was read from /proc/PID/maps, which writes a newline and the 4 characters \\012 alike (reading /proc/PID/map_files needs CAP_SYS_ADMIN): \\012 was taken for a newline',
    };
  seg.orphan = orphanOf(holders.length > 0, invisible);
  for (const c of seg.children ?? []) {
    c.deleted = true;
    c.holders = holders;
    c.orphan = seg.orphan;
  }
  return seg;
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

/** Every raw top-level or folder segment (not tensors/columns), depth first. */
function* rawSegments(list: Segment[]): Generator<Segment> {
  for (const s of list) {
    if (s.format === 'raw' && s.error === null) yield s;
    if (s.format === 'directory' && s.children) yield* rawSegments(s.children);
  }
}

/** Gives raw segments their user interpretation (see interpretations.ts for the key). */
async function applyInterpretations(segments: Segment[], index: InterpretationIndex, births: Map<Segment, string>): Promise<void> {
  if (index.size === 0) return;
  const jobs: Promise<void>[] = [];
  for (const s of rawSegments(segments)) {
    if (!index.mayHave(s.dev, s.ino)) continue;
    jobs.push(
      (async () => {
        let birth = births.get(s);
        if (birth === undefined && !s.deleted) {
          const st = await fs.promises.lstat(fsPath(s.path), { bigint: true }).catch(() => null);
          // Replaced since the scan: not the file we listed.
          if (!st || Number(st.ino) !== s.ino || Number(st.dev) !== s.dev) return;
          birth = birthOf(st);
        }
        if (birth === undefined) return;
        const interp = index.get({ dev: s.dev, ino: s.ino, birth, name: s.name });
        if (interp) applyInterpretation(s, interp);
      })(),
    );
  }
  await Promise.all(jobs);
}

interface DirScan {
  dir: string;
  /** realpath of dir: what /proc/PID/maps shows for files inside it. */
  real: string;
  dev: number;
  usage: FsUsage | null;
  /** The native listing, or the pure-TypeScript scan's entries. */
  entries: ScanListing | ScanEntry[];
}

/** Decodes scanned entries and adds holders, deleted segments and interpretations. */
async function buildCatalog(scans: DirScan[], holderScan: Promise<HolderScan | null>, interps: Promise<InterpretationIndex>): Promise<Catalog> {
  listingsRunning++;
  try {
    return await buildCatalogOnce(scans, holderScan, interps);
  } finally {
    if (--listingsRunning === 0) decodes.clear();
  }
}

async function buildCatalogOnce(scans: DirScan[], holderScan: Promise<HolderScan | null>, interps: Promise<InterpretationIndex>): Promise<Catalog> {
  const perDir = await Promise.all(
    // Segment paths are spelled like names (core/names.ts): the directory's too.
    scans.map((d) => (Array.isArray(d.entries) ? segmentsOf(escapeText(d.dir), d.entries, 0) : segmentsOfListing(escapeText(d.dir), d.entries))),
  );
  const segments = perDir.flat();
  const [rawScan, index] = await Promise.all([holderScan, interps]);
  const scan = rawScan && withoutOwnReads(rawScan);
  const births = new Map<Segment, string>();
  let invisible = 0;
  if (scan) {
    invisible = scan.invisible;
    const h = holdersIndex(scan);
    for (const s of segments) applyHolders(s, h, invisible);
    const anyDeleted = scan.processes.some((p) => p.maps.some((m) => m.deleted) || p.fds.some((f) => f.deleted));
    const live = new Set<string>();
    const addLive = (l: Segment[]) => {
      for (const s of l) {
        live.add(inodeKey(s.dev, s.ino));
        if (s.format === 'directory' && s.children) addLive(s.children);
      }
    };
    if (anyDeleted) addLive(segments);
    const refs = anyDeleted
      ? deletedRefs(
          scan,
          scans.map((d) => ({ real: d.real, dev: d.dev })),
          live,
        )
      : [];
    const deleted = await Promise.all(refs.map((r) => deletedSegment(r, h, invisible, births)));
    segments.push(...deleted.sort(compareNames));
  }
  await applyInterpretations(segments, index, births);
  return {
    directories: scans.filter((d) => d.usage).map((d) => ({ path: d.dir, size: d.usage!.size, used: d.usage!.used, free: d.usage!.free })),
    shmem: null,
    invisibleProcesses: invisible,
    segments,
  };
}

function startHolderScan(devs: Promise<number[]>, opts: ListOptions): Promise<HolderScan | null> {
  if (opts.holders === false || tryNative() === null) return Promise.resolve(null);
  return devs.then((d) => scanHolders([...new Set(d)]));
}

function startInterpretations(opts: ListOptions): Promise<InterpretationIndex> {
  const o = opts.interpretations;
  if (o === false) return Promise.resolve(new InterpretationIndex({ version: 1, entries: {} }));
  return (typeof o === 'string' ? loadInterpretations(o) : loadInterpretations()).then((f) => new InterpretationIndex(f));
}

async function dirIdentity(dir: string): Promise<{ real: string; dev: number }> {
  try {
    const [real, st] = await Promise.all([fs.promises.realpath(dir), fs.promises.stat(dir)]);
    if (!st.isDirectory()) throw new ShmError(`${dir}: not a directory`, 'ENOTDIR');
    return { real, dev: st.dev };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // The code stays on the error: the sidebar tells a missing directory (macOS, Windows) from other failures.
    if (code === 'ENOENT') throw new ShmError(`${dir}: no such directory`, 'ENOENT');
    if (code === 'EACCES') throw new ShmError(`${dir}: permission denied`, 'EACCES');
    if (code === 'ENOTDIR') throw new ShmError(`${dir}: not a directory`, 'ENOTDIR');
    throw e;
  }
}

/** Lists every configured directory: the `list --json` document. */
export async function listCatalog(opts: ListOptions = {}): Promise<Catalog> {
  const dirs = [...new Set((opts.dirs && opts.dirs.length > 0 ? opts.dirs : [DEFAULT_DIR]).map(normaliseDir))];
  const ids = dirs.map(dirIdentity);
  // The /proc scan only needs the devices: it runs while the directories are read and decoded.
  const holderScan = startHolderScan(
    Promise.all(ids).then((l) => l.map((i) => i.dev)),
    opts,
  );
  const interps = startInterpretations(opts);
  const shmem = readShmem();
  // Settle every started promise even when one directory fails, so none rejects unobserved.
  holderScan.catch(() => undefined);
  const scans = await Promise.all(
    dirs.map(async (dir, i): Promise<DirScan> => {
      const listing = scanDirListing(dir, HEAD_BYTES, TAIL_BYTES) ?? scanDir(dir, HEAD_BYTES, TAIL_BYTES);
      const [id, entries, usage] = await Promise.all([ids[i], listing, statfs(dir)]);
      return { dir, real: id.real, dev: id.dev, usage, entries };
    }),
  );
  const cat = await buildCatalog(scans, holderScan, interps);
  cat.shmem = await shmem;
  return cat;
}

/**
 * Resolves a contract NAME to a segment name and path inside `dir`, or throws a UsageError:
 * - `psm_1a2b`, `folder/x.pkl`: relative to `dir`;
 * - `/psm_1a2b` (the shm_open spelling: one component after the slash): the slash is stripped;
 * - `/dev/shm/folder/x.pkl`: an absolute path inside `dir` is taken as such;
 * - anything that resolves outside `dir` (`..`, `/etc/passwd`, `/tmp/x`) is a usage error.
 * NAME is read as a spelling (core/names.ts: `\xHH` a byte, `\\` a backslash; any other text as its
 * UTF-8), so the escaped form that `list` prints and a plain UTF-8 name both work. `rel` is the
 * name as segments spell it (`./` before one that reads as another kind's), `full` the spelled
 * path (fsPath(full) is what to open).
 */
export function resolveName(dir: string, name: string): { rel: string; full: string } {
  const base = escapeText(normaliseDir(dir));
  const inside = base === '/' ? '/' : base + '/';
  const bytes = unescapeName(name);
  if (bytes.includes(0)) throw new UsageError(`invalid segment name '${displayText(name).replace(/\0/g, '\\0')}': it contains a NUL byte`);
  const spelled = escapeBytes(bytes);
  let rel: string;
  if (spelled.startsWith('/')) {
    const abs = path.resolve(spelled);
    if (abs.startsWith(inside)) rel = abs.slice(inside.length);
    else if (!spelled.replace(/^\/+/, '').includes('/')) rel = spelled.replace(/^\/+/, '');
    else throw new UsageError(`'${spelled}' is outside ${base}`);
  } else {
    rel = spelled;
  }
  if (rel === '') throw new UsageError(`invalid segment name '${spelled}'`);
  const full = path.resolve(base, rel);
  if (!full.startsWith(inside) || full === base) throw new UsageError(`'${spelled}' is outside ${base}`);
  return { rel: entryName(full.slice(inside.length)), full };
}

/** One directory entry (`name` spelled), stat'ed and (for a file) its ends read, like one element of scanDir. */
async function scanOne(dir: string, name: string): Promise<ScanEntry | null> {
  const full = fsPath(joinPath(escapeText(dir), name));
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(full);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
  const e = statEntry(name, st);
  if (e.kind === 'symlink') {
    try {
      e.linkTarget = await fs.promises.readlink(full);
    } catch (err) {
      e.error = `readlink: ${(err as Error).message}`;
      e.errorCode = errorCode(err);
    }
  } else if (e.kind === 'file') {
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
      const fst = await fh.stat();
      if (!fst.isFile()) return scanOne(dir, name);
      Object.assign(e, { size: fst.size, blocks: fst.blocks, dev: fst.dev, ino: fst.ino, mode: fst.mode, uid: fst.uid, mtimeMs: fst.mtimeMs });
      Object.assign(e, await readEnds(fh, fst.size));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') return scanOne(dir, name); // became a symlink
      e.error = `open: ${(err as Error).message}`;
      e.errorCode = errorCode(err);
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }
  return e;
}

/**
 * One segment by name (a live one preferred over a deleted one of the same name).
 * With several directories, the first that has it wins. Reads only that entry
 * (and the /proc scan), not the whole directory.
 */
export async function inspectSegment(name: string, opts: ListOptions = {}): Promise<Segment | null> {
  const all = [...new Set((opts.dirs && opts.dirs.length > 0 ? opts.dirs : [DEFAULT_DIR]).map(normaliseDir))];
  // An absolute NAME may be inside one configured directory and outside the others.
  const tried = all.map((d) => {
    try {
      return { dir: d, ...resolveName(d, name) };
    } catch (e) {
      return e as Error;
    }
  });
  const targets = tried.filter((t): t is { dir: string; rel: string; full: string } => !(t instanceof Error));
  if (targets.length === 0) throw tried[0];
  const ids = targets.map((t) => dirIdentity(t.dir));
  const holderScan = startHolderScan(
    Promise.all(ids).then((l) => l.map((i) => i.dev)),
    opts,
  );
  holderScan.catch(() => undefined);
  const interps = startInterpretations(opts);
  const scans = await Promise.all(
    targets.map(async (t, i): Promise<DirScan> => {
      const [id, entry] = await Promise.all([ids[i], scanOne(t.dir, entryPath(t.rel).split('/')[0])]);
      return { dir: t.dir, real: id.real, dev: id.dev, usage: null, entries: entry ? [entry] : [] };
    }),
  );
  const cat = await buildCatalog(scans, holderScan, interps);
  for (const t of targets) {
    const live = findLiveByPath(cat.segments, t.full);
    if (live) return live;
  }
  for (let i = 0; i < targets.length; i++) {
    const want = joinPath(escapeText(scans[i].real), entryPath(targets[i].rel));
    const del = cat.segments.find((s) => s.deleted && s.path === want);
    if (del) return del;
  }
  return null;
}
