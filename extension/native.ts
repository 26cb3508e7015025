/**
 * The only module that loads the shm_native addon (native/). Everything that
 * needs it imports this module. When the addon cannot load, `nativeLoadError()`
 * says why, naming every path tried; directory scans fall back to a slower
 * pure-TypeScript path, and array reads report that error.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ComplexPart, ReduceMode } from '../contract/reduce';
import type { StatsResult } from '../contract/stats';
import type { KernelType } from './core/dtype';
import { errnoWords, errorCode, errorMessage, ShmError, type ErrorCode } from './core/errors';
import { nodeCrypto } from './core/lazy';
import { spellEntry, spellJoinedNames } from './core/names';

export interface ScanEntry {
  /** The entry's name as spelled (extension/core/names.ts): printable UTF-8 as is, other bytes `\xHH`. */
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  blocks: number;
  dev: number;
  ino: number;
  mode: number;
  uid: number;
  mtimeMs: number;
  error?: string;
  /** Beside `error`, its code (EACCES, ENOENT...). */
  errorCode?: ErrorCode;
  linkTarget?: string;
  head?: Uint8Array;
  tail?: Uint8Array;
  tailOffset?: number;
  /** An NPY header the native scan decoded (only the exact form numpy writes); then there is no `head`. */
  npy?: NpyHeader;
}

/** The fields of an NPY header, before they are checked against the file. */
export interface NpyHeader {
  descr: string;
  fortran: boolean;
  shape: number[];
  dataOffset: number;
}

/** What the addon's scanDir returns: one array per field (see native/src/scan.cc). */
export interface ScanColumns {
  /** Every name's raw bytes, joined by NUL (see scanNames). */
  names: Uint8Array;
  kinds: Uint8Array;
  nums: Float64Array;
  ints: Int32Array;
  spans: Uint32Array;
  bytes: ArrayBuffer;
  npy: Int32Array;
  shapes: Float64Array;
  shapeAt: Uint32Array;
  descrs: string[];
  errors: (number | string)[];
  /** The errno name of each error, in the order of `errors`. */
  errorCodes: string[];
  links: (number | string)[];
}

/** The columns with their sparse lists as maps (made in `withMaps`). */
export interface ScanListing extends ScanColumns {
  errorAt: Map<number, string>;
  errorCodeAt: Map<number, ErrorCode>;
  linkAt: Map<number, string>;
}

function pairs(list: (number | string)[]): Map<number, string> {
  const m = new Map<number, string>();
  for (let k = 0; k < list.length; k += 2) m.set(list[k] as number, list[k + 1] as string);
  return m;
}

function withMaps(c: ScanColumns): ScanListing {
  const errorCodeAt = new Map<number, ErrorCode>();
  for (let k = 0; k < c.errors.length; k += 2) errorCodeAt.set(c.errors[k] as number, errorCode({ code: c.errorCodes?.[k / 2] }));
  return Object.assign(c, { errorAt: pairs(c.errors), errorCodeAt, linkAt: pairs(c.links) });
}

export interface FsUsage {
  size: number;
  used: number;
  free: number;
}

export interface ProcMapRef {
  dev: number;
  ino: number;
  path: string;
  /** The path's exact bytes, only when they are not UTF-8 (`path` then has U+FFFD in their place). */
  pathBytes?: Uint8Array;
  deleted: boolean;
  /**
   * True when the path came from /proc/PID/maps with a `\012` in it that /proc/PID/map_files could
   * not settle (unprivileged): the kernel writes a newline and a literal `\012` alike; read as a newline.
   */
  pathUncertain?: boolean;
  /** Bytes of the file this process maps (highest mapped end offset). */
  bytes: number;
  /** How many mappings (VMAs) of it the process has; a System V segment's attach count sums these. */
  count?: number;
}

export interface HolderScanOptions {
  /** Keep System V attachments (`/SYSV%08x`) whatever their device; with no devices, only those. */
  sysv?: boolean;
  /** Read only these processes. */
  pids?: number[];
}
export interface ProcFdRef {
  dev: number;
  ino: number;
  path: string;
  /** As in ProcMapRef. */
  pathBytes?: Uint8Array;
  deleted: boolean;
  fd: number;
  size: number;
}
export interface ProcHolding {
  pid: number;
  comm: string;
  maps: ProcMapRef[];
  fds: ProcFdRef[];
}
export interface HolderScan {
  processes: ProcHolding[];
  /** Processes whose maps or fds could not be read (another user's, without privileges). */
  invisible: number;
}

/** A 2-D strided slice of a mapping: element (r, c) at offset + r*strideR + c*strideC. */
export interface SliceSpec {
  dtype: KernelType;
  byteSwap: boolean;
  part?: ComplexPart;
  offset: number;
  strideR: number;
  strideC: number;
  rows: number;
  cols: number;
}

export type { ReduceMode };

export interface ReduceRequest extends SliceSpec {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  gridWidth: number;
  gridHeight: number;
  mode: ReduceMode;
  /**
   * The cells' type: 'f64' (the default), or 'f32': each cell rounded once to float32 after the
   * double-precision pass (half the memory and transfer; for pictures of data no finer than float32).
   */
  output?: 'f64' | 'f32';
}

export interface ReduceResult<V extends Float64Array | Float32Array = Float64Array> {
  values: V;
  width: number;
  height: number;
  /** Finite range of the cells as stored, null when no cell is finite. */
  min: number | null;
  max: number | null;
}

export interface StatsRequest extends SliceSpec {
  /**
   * A histogram of the finite values with this many equal bins (at most 65536): over
   * [histMin, histMax] when both are given (one pass; values outside are not counted, histMax
   * falls in the last bin), otherwise over [min, max] of the finite values (a second pass that
   * only bins). For percentile clipping: find the bin, then refine with a narrower range.
   */
  bins?: number;
  histMin?: number;
  histMax?: number;
  /** When true, cancelPending() also stops this pass (it then rejects with "cancelled"). Default false. */
  cancellable?: boolean;
}

export type { StatsResult };

/**
 * The stable `code` on a view's rejected Error (beside its one-line message):
 * SHRANK: the file now ends before the bytes a read needs (truncated before or during it);
 * NOSPACE: a read met a hole that needed a new page and its file system is full (the file did not shrink);
 * FAULT: a read failed otherwise (SIGBUS on a file that did not shrink: an I/O error, truncated and grown again);
 * CANCELLED: superseded (cancelPending); CLOSED: the view was closed;
 * CHANGED: openView's `expect` names another file than the path does now (renamed over, recreated);
 * RANGE: the bytes asked for lie past the end the file had when opened; NOTFILE: a FIFO, socket, device or directory;
 * DECOMPRESS, LENGTH_MISMATCH: decompress() met a corrupt frame, or one of another length than declared;
 * else the errno name of a failed open or mmap (ENOENT, EACCES, ELOOP for a symbolic link, ENOMEM...).
 */
export type ViewErrorCode =
  | 'SHRANK'
  | 'NOSPACE'
  | 'FAULT'
  | 'CANCELLED'
  | 'CLOSED'
  | 'CHANGED'
  | 'RANGE'
  | 'NOTFILE'
  | 'DECOMPRESS'
  | 'LENGTH_MISMATCH'
  | 'ENOENT'
  | 'EACCES'
  | 'ELOOP'
  | (string & {});

/** The file a header was decoded from: openView refuses another (CHANGED). */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * The holes of the mapped file that read as zeros without touching the file (reading a hole of a
 * tmpfs file through a plain mapping would give it a page: a sparse segment would fill its RAM).
 * `holesLeft`/`holeBytesLeft`: holes beyond what vm.max_map_count allows to map over, which stay
 * mapped to the file and take a page each when read (none in practice: their number is in the thousands).
 */
export interface HoleInfo {
  /** The mapped length (holes), or the file's size now (refresh). */
  size: number;
  holes: number;
  holeBytes: number;
  holesLeft: number;
  holeBytesLeft: number;
}

export interface MappedView {
  readonly size: number;
  readonly path: string;
  /** The mapped file's device and inode (from the open file: its name may since name another). */
  readonly dev: number;
  readonly ino: number;
  readonly closed: boolean;
  /** The holes as of the open or the last refresh; null once closed. */
  readonly holes: HoleInfo | null;
  /**
   * Looks for the file's holes again: ranges a producer has since written read its data, new holes
   * read as zeros. Live mode calls it before each re-read. Resolves with the file's size now.
   */
  refresh(): Promise<HoleInfo>;
  reduce(req: ReduceRequest & { output: 'f32' }): Promise<ReduceResult<Float32Array>>;
  reduce(req: ReduceRequest & { output?: 'f64' }): Promise<ReduceResult>;
  reduce(req: ReduceRequest): Promise<ReduceResult<Float32Array | Float64Array>>;
  stats(req: StatsRequest): Promise<StatsResult>;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The window's elements as stored, in C order, at any strides (at most 256 MiB). */
  gather(req: { offset: number; rows: number; cols: number; strideR: number; strideC: number; itemSize: number }): Promise<Uint8Array>;
  /**
   * Decodes bytes [offset, offset + length) of the mapping, one LZ4 frame or one ZSTD frame (an
   * Arrow compressed buffer after its 8-byte length), into exactly `declaredLength` bytes (at most
   * 1 GiB; the output is allocated once, never larger). Rejects with code DECOMPRESS (a corrupt or
   * truncated frame), LENGTH_MISMATCH (it decodes to more or fewer bytes than declared), RANGE, SHRANK...
   */
  decompress(codec: 'lz4' | 'zstd', offset: number, length: number, declaredLength: number): Promise<Uint8Array>;
  /** Makes running reductions of this view stop early (their promises reject with "cancelled"). */
  cancelPending(): void;
  close(): void;
}

/** One directory entry to remove, as it was planned: its name in the directory and its identity. */
export interface RemoveItem {
  /** The entry's name in the directory (no `/`); bytes for a name that is not UTF-8. */
  name: string | Uint8Array;
  dev: number;
  ino: number;
  /** Its type when planned; removed only while it still is of that type (default: any). */
  kind?: 'file' | 'dir' | 'symlink' | 'other';
}

/**
 * What became of one RemoveItem. `code`: `OK` (removed); `ENOENT` (no entry of that name);
 * `CHANGED` (the name held a different inode or type: put back untouched); `DISPLACED` (a
 * different inode whose name was taken while it was checked: left under `displacedAs`, never
 * deleted); `ENOTEMPTY` (a folder that gained entries: put back); or the errno of the
 * rename/unlink that failed (`EACCES`, `EPERM`, `EBUSY`...). `message` says it in words.
 */
export interface RemoveOutcome {
  code: string;
  message?: string;
  /** The removed inode's st_blocks and st_nlink (0 unless OK). */
  blocks: number;
  nlink: number;
  displacedAs?: string;
}

export interface NativeAddon {
  abiVersion: number;
  /** Threads a full pass uses (the CPUs this process may run on, at most 16). */
  threads: number;
  /** The instruction set of the inner loops picked for this CPU: 'x86-64-v4', 'x86-64-v3' or 'baseline'. */
  simd: string;
  /**
   * The reduce modes `reduce` accepts, from the addon's own registry of reductions (native/src/reduce.cc):
   * a unit test holds them equal, as a set, to REDUCE_MODE_NAMES of contract/reduce.ts.
   */
  reduceModes: readonly ReduceMode[];
  /** `dir` as a Buffer when its bytes are not UTF-8 (see core/names.ts fsPath). */
  scanDir(dir: string | Buffer, headBytes: number, tailBytes: number): Promise<ScanColumns>;
  statfs(dir: string): Promise<FsUsage>;
  /**
   * Removes entries of the directory open as `dirFd`, each only while its name still holds the
   * planned inode (renamed to a private name, checked there, then unlinked or put back; see
   * native/src/fsops.cc). One outcome per item, in order; all on a worker thread.
   */
  removeEntries(dirFd: number, items: RemoveItem[]): Promise<RemoveOutcome[]>;
  /**
   * Processes' mappings and fds of files on these devices (all devices when empty). `sysv: true`
   * also keeps System V attachments (`/SYSV%08x`, inode = shmid) whatever their device; with no
   * devices, only those. `pids`: only these processes (none read when it holds no valid pid).
   */
  scanHolders(devices: number[], opts?: HolderScanOptions): Promise<RawHolderScan>;
  openView(file: string | Buffer, expect?: FileIdentity): Promise<MappedView>;
  /**
   * Attaches System V segment `shmid` read-only (shmat SHM_RDONLY); close() detaches. Rejects
   * with `code` EINVAL (no such segment, removed), EACCES (not readable), ENOMEM (too large).
   */
  openSysvView(shmid: number, ns?: IpcNamespaceRef | null): Promise<MappedView>;
  /** shmctl(IPC_RMID). Rejects with `code` EINVAL (no such segment) or EPERM. */
  removeSysv(shmid: number, ns?: IpcNamespaceRef | null): Promise<void>;
  /** The first and last bytes of each segment, each attached read-only and detached at once, in one worker pass. */
  readSysvEnds(shmids: number[], headBytes: number, tailBytes: number, ns?: IpcNamespaceRef | null): Promise<RawSysvEnds>;
  /**
   * /proc/sysvipc/shm and every listed segment's ends (with `shmid`), in one worker pass; with
   * headBytes and tailBytes 0, the table alone (`ends` empty: nothing attached). With `ns`
   * (and the four System V calls above), in that IPC namespace, entered by a thread of its own
   * (setns); rejects with `code` NONS when it cannot be entered (no CAP_SYS_ADMIN, its process gone).
   */
  scanSysv(headBytes: number, tailBytes: number, ns?: IpcNamespaceRef | null): Promise<RawSysvEnds & { table: string }>;
  /** The device of the kernel's internal shmem mount (memfd, shared anonymous memory, System V). */
  shmemDevice(): Promise<number>;
  /**
   * Opens `path` inside `root` (another mount namespace's /proc/PID/root), resolved in that root
   * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS; a final symbolic link is not followed: code
   * ELOOP). The caller owns `fd` (close it); read through /proc/self/fd/FD.
   */
  openInRoot(root: string, path: string | Buffer, dir?: boolean): Promise<RootOpened>;
  // ---- processes (native/src/procs.cc; read by extension/core/processes/) ----
  /** Every inspectable process: `fields` numbers each in `nums` (order in core/processes/scan.ts). */
  scanProcesses(): Promise<ProcScanColumns>;
  /** One process's smaps: 12 numbers per mapping in `nums`, its `perms` and `paths`. */
  processMappings(pid: number): Promise<{ nums: Float64Array; perms: string[]; paths: string[] }>;
  /**
   * Pages shared and copied since fork for pairs [child, parent, child, parent, ...]; `control`
   * (3 numbers): set [0] to 1 to cancel; [1] and [2] are bytes done and total as it runs.
   */
  compareInherited(pairs: number[], exact: boolean, control: Float64Array): Promise<InheritedColumns>;
}

/** Another IPC namespace: a /proc/PID/ns/ipc link and the namespace inode it must still name. */
export interface IpcNamespaceRef {
  path: string;
  ino: number;
}

/** What openInRoot opened: its descriptor (ours to close) and fstat. */
export interface RootOpened {
  fd: number;
  dev: number;
  ino: number;
  mode: number;
  uid: number;
  size: number;
  blocks: number;
  mtimeMs: number;
}

export interface ProcScanColumns {
  fields: number;
  nums: Float64Array;
  comms: string[];
  /** The command line, arguments separated by NUL. */
  cmdlines: string[];
  zombies: number;
  uninspectable: number;
  pageSize: number;
  clockTicks: number;
}

export interface InheritedColumns {
  /** 6 per pair: shared, copied, status (1 exact, 0 estimate, -1 failed), childOnly, parentOnly, compared. */
  nums: Float64Array;
  /** Per pair: (start, end, shared, copied) of each common range. */
  ranges: Float64Array[];
  errors: (string | null)[];
  pageSize: number;
}

/** One segment's ends (readSysvEnds), or why it could not be read (`code` EINVAL, EACCES, ENOMEM...). */
export interface SysvEnds {
  size: number;
  /** An NPY header the addon parsed (only the exact form numpy writes), as the directory scan's; then there is no `head`. */
  npy?: NpyHeader;
  head?: Uint8Array;
  tail?: Uint8Array;
  tailOffset?: number;
  error?: string;
  code?: string;
}

/**
 * The addon's ends of many segments as columns (see native/src/view.cc, SysvEndsWorker::Result):
 * every head and tail in `bytes`; per segment five numbers in `cols` (shmid, size, offset in
 * `bytes`, head length, tail length); `errors` flat triples (index, code, message).
 */
interface RawSysvEnds {
  bytes: Uint8Array;
  cols: Float64Array;
  errors: (number | string)[];
  npy: Int32Array;
  shapes: Float64Array;
  shapeAt: Uint32Array;
  descrs: string[];
}

/** The objects of the columns: heads and tails are views into the one buffer (no copy). */
function sysvEndsOf(raw: RawSysvEnds): (SysvEnds & { shmid: number })[] {
  const { cols } = raw;
  // A plain Uint8Array: a Buffer's subarray goes through its species constructor, slow when cold.
  const bytes = new Uint8Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
  const out: (SysvEnds & { shmid: number })[] = new Array(cols.length / 5);
  for (let i = 0; i < out.length; i++) {
    const c = i * 5;
    const size = cols[c + 1];
    const npy = scanNpyHeader(raw, i);
    // A header the addon parsed needs no bytes (as the directory scan's).
    if (npy) {
      out[i] = { shmid: cols[c], size, npy };
      continue;
    }
    const at = cols[c + 2];
    const h = cols[c + 3];
    const t = cols[c + 4];
    const e: SysvEnds & { shmid: number } = { shmid: cols[c], size, head: bytes.subarray(at, at + h) };
    if (t > 0) {
      e.tail = bytes.subarray(at + h, at + h + t);
      e.tailOffset = size - t;
    }
    out[i] = e;
  }
  for (let k = 0; k + 2 < raw.errors.length; k += 3) {
    const e = out[raw.errors[k] as number];
    delete e.head;
    e.code = raw.errors[k + 1] as string;
    e.error = raw.errors[k + 2] as string;
  }
  return out;
}

const ADDON_FILE = 'shm_native.node';
let loaded: NativeAddon | null | undefined;
let loadError: string | null = null;

function candidates(): string[] {
  const out: string[] = [];
  if (process.env.SHM_INSPECTOR_NATIVE) out.push(process.env.SHM_INSPECTOR_NATIVE);
  // From dist/ (bundle), out/extension/ (tests), or deeper: walk up to the package root.
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    out.push(path.join(dir, 'native', 'build', 'Release', ADDON_FILE));
    out.push(path.join(dir, ADDON_FILE));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return [...new Set(out)];
}

/** The addon, or null when it cannot load (then `nativeLoadError()` says why). */
export function tryNative(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  const tried: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`${file}: not found`);
      continue;
    }
    try {
      // A computed path: bundlers leave this require alone.
      const req = typeof __non_webpack_require__ === 'function' ? __non_webpack_require__ : require;
      loaded = req(file) as NativeAddon;
      return loaded;
    } catch (e) {
      tried.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  loadError =
    `The SHM Inspector native addon (${ADDON_FILE}) could not be loaded; ` +
    `rebuild it with 'npm install' (needs python3, make and g++). Tried:\n  ` +
    tried.join('\n  ');
  loaded = null;
  return null;
}

declare const __non_webpack_require__: NodeRequire | undefined;

/** The addon; throws an error naming every path tried when it cannot load. */
export function native(): NativeAddon {
  const n = tryNative();
  if (!n) throw new ShmError(nativeLoadError() ?? 'native addon unavailable', 'NATIVE');
  return n;
}

export function nativeLoadError(): string | null {
  tryNative();
  return loadError;
}

// ---- pure-TypeScript fallbacks (slower; used only when the addon is missing) ----

/** An entry as the scan gives it, from its lstat (the names of the kinds it knows; nothing read yet). */
export function statEntry(name: string, st: fs.Stats): ScanEntry {
  return {
    name,
    kind: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other',
    size: st.size,
    blocks: st.blocks,
    dev: st.dev,
    ino: st.ino,
    mode: st.mode,
    uid: st.uid,
    mtimeMs: st.mtimeMs,
  };
}

async function scanDirTs(dir: string | Buffer, headBytes: number, tailBytes: number): Promise<ScanEntry[]> {
  const raw = await fs.promises.readdir(dir, { encoding: 'buffer' });
  const out: ScanEntry[] = [];
  const base = Buffer.isBuffer(dir) ? dir : Buffer.from(dir, 'utf8');
  await Promise.all(
    raw.map(async (bytes) => {
      const name = spellEntry(bytes);
      const full = Buffer.concat([base, Buffer.from('/'), bytes]);
      let st: fs.Stats;
      try {
        st = await fs.promises.lstat(full);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        out.push({ name, kind: 'other', size: 0, blocks: 0, dev: 0, ino: 0, mode: 0, uid: 0, mtimeMs: 0, error: String(e), errorCode: errorCode(e) });
        return;
      }
      const e = statEntry(name, st);
      if (e.kind === 'symlink') e.linkTarget = await fs.promises.readlink(full).catch(() => '');
      if (e.kind === 'file') {
        let fh: fs.promises.FileHandle | undefined;
        try {
          fh = await fs.promises.open(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
          const h = Buffer.alloc(Math.min(headBytes, st.size));
          const { bytesRead } = await fh.read(h, 0, h.length, 0);
          e.head = h.subarray(0, bytesRead);
          if (st.size > h.length && tailBytes > 0) {
            const t = Buffer.alloc(Math.min(tailBytes, st.size));
            const off = st.size - t.length;
            const r = await fh.read(t, 0, t.length, off);
            e.tail = t.subarray(0, r.bytesRead);
            e.tailOffset = off;
          }
        } catch (err) {
          e.error = `open: ${(err as Error).message}`;
          e.errorCode = errorCode(err);
        } finally {
          await fh?.close();
        }
      }
      out.push(e);
    }),
  );
  return out;
}

const KINDS: ScanEntry['kind'][] = ['file', 'dir', 'symlink', 'other'];

/** Entry i's stat field k (0 size, 1 blocks, 2 dev, 3 ino, 4 mode, 5 uid): a small integer when it fits. */
export function scanField(c: ScanListing, i: number, k: number): number {
  const v = c.ints[i * 6 + k];
  return v >= 0 ? v : c.nums[i * 8 + k];
}

/** The names of a native scan, in its order, spelled (core/names.ts). */
export function scanNames(c: ScanListing): string[] {
  return spellJoinedNames(c.names, c.kinds.length);
}

/** Entry i of a native scan as an object. */
export function scanEntry(c: ScanListing, i: number, name: string): ScanEntry {
  const e: ScanEntry = {
    name,
    kind: KINDS[c.kinds[i]],
    size: scanField(c, i, 0),
    blocks: scanField(c, i, 1),
    dev: scanField(c, i, 2),
    ino: scanField(c, i, 3),
    mode: scanField(c, i, 4),
    uid: scanField(c, i, 5),
    mtimeMs: c.nums[i * 8 + 6],
  };
  const error = c.errorAt.get(i);
  if (error !== undefined) {
    e.error = error;
    e.errorCode = c.errorCodeAt.get(i);
  } else if (e.kind === 'file') {
    const h = scanNpyHeader(c, i);
    if (h) {
      e.npy = h;
    } else {
      const s = i * 4;
      e.head = new Uint8Array(c.bytes, c.spans[s], c.spans[s + 1]);
      if (c.spans[s + 3] > 0) {
        e.tail = new Uint8Array(c.bytes, c.spans[s + 2], c.spans[s + 3]);
        e.tailOffset = c.nums[i * 8 + 7];
      }
    }
  } else if (e.kind === 'symlink') {
    e.linkTarget = c.linkAt.get(i) ?? '';
  }
  return e;
}

/** The NPY header the native scan (or System V read) decoded for entry i, if it did. */
export function scanNpyHeader(c: Pick<ScanListing, 'npy' | 'shapes' | 'shapeAt' | 'descrs'>, i: number): NpyHeader | null {
  const d = c.npy[i * 3];
  if (d < 0) return null;
  const shape: number[] = [];
  for (let k = c.shapeAt[i]; k < c.shapeAt[i + 1]; k++) shape.push(c.shapes[k]);
  return { descr: c.descrs[d], fortran: c.npy[i * 3 + 1] === 1, shape, dataOffset: c.npy[i * 3 + 2] };
}

function entriesOf(c: ScanListing): ScanEntry[] {
  const names = scanNames(c);
  return names.map((name, i) => scanEntry(c, i, name));
}

/** The native scan's columns, or null without the addon (then use scanDir). */
export function scanDirListing(dir: string | Buffer, headBytes: number, tailBytes: number): Promise<ScanListing> | null {
  const n = tryNative();
  return n ? n.scanDir(dir, headBytes, tailBytes).then(withMaps) : null;
}

/** Lists a directory with stat fields and the first/last bytes of each file. */
export function scanDir(dir: string | Buffer, headBytes: number, tailBytes: number): Promise<ScanEntry[]> {
  const n = tryNative();
  return n ? n.scanDir(dir, headBytes, tailBytes).then((c) => entriesOf(withMaps(c))) : scanDirTs(dir, headBytes, tailBytes);
}

export async function statfs(dir: string): Promise<FsUsage> {
  const n = tryNative();
  if (n) return n.statfs(dir);
  const s = await fs.promises.statfs(dir);
  return { size: s.bsize * s.blocks, used: s.bsize * (s.blocks - s.bfree), free: s.bsize * s.bavail };
}

/**
 * Maps `file` read-only, through the descriptor it fstat()s (never following a symbolic link, never
 * blocking on a FIFO). With `expect`, a file other than the one whose header was decoded is refused
 * with code CHANGED. Rejections carry a `code` (ViewErrorCode).
 */
export function openView(file: string | Buffer, expect?: FileIdentity): Promise<MappedView> {
  return native().openView(file, expect);
}

/** See NativeAddon.removeEntries; without the addon, the same steps in libuv's pool (no RENAME_NOREPLACE there). */
export async function removeEntries(dirFd: number, items: RemoveItem[]): Promise<RemoveOutcome[]> {
  const n = tryNative();
  if (n) return n.removeEntries(dirFd, items);
  return removeEntriesTs(dirFd, items);
}

/** removeEntries without the addon (exported for its tests). */
export async function removeEntriesTs(dirFd: number, items: RemoveItem[]): Promise<RemoveOutcome[]> {
  const out: RemoveOutcome[] = [];
  for (const it of items) out.push(await removeEntryTs(dirFd, it));
  return out;
}

function kindOf(st: fs.Stats): RemoveItem['kind'] {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

function failed(e: unknown): RemoveOutcome {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return { code, message: errnoWords(e) ?? errorMessage(e), blocks: 0, nlink: 0 };
}

/** The fallback of removeEntries for one item: rename to a private name, check, unlink or put back. */
async function removeEntryTs(dirFd: number, it: RemoveItem): Promise<RemoveOutcome> {
  const name = Buffer.from(it.name);
  const at = (n: Buffer) => Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), n]);
  if (name.length === 0 || name.includes(0x2f) || name.includes(0) || ['.', '..'].includes(name.toString('latin1'))) {
    return { code: 'EINVAL', message: 'invalid argument', blocks: 0, nlink: 0 };
  }
  const hex = (k: number) => nodeCrypto().randomBytes(k).toString('hex');
  const free = async (p: Buffer) =>
    fs.promises.lstat(p).then(
      () => false,
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
    );
  // With the name when it fits (NAME_MAX): an unlinked file keeps its last name in /proc/PID/maps and fd links (fsutil.ts removedName).
  const stem = Buffer.from(`.shmi-rm-${hex(8)}`);
  const priv = at(stem.length + 1 + name.length <= 255 ? Buffer.concat([stem, Buffer.from('-'), name]) : stem);
  try {
    if (!(await free(priv))) return { code: 'EEXIST', message: 'file exists', blocks: 0, nlink: 0 };
    await fs.promises.rename(at(name), priv);
  } catch (e) {
    return failed(e);
  }
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(priv);
  } catch (e) {
    return failed(e);
  }
  const putBack = async (code: string, message: string): Promise<RemoveOutcome> => {
    // Back under its name only if that is still free: link() never replaces (files, links); rename() does not replace a non-empty folder.
    try {
      if (st.isDirectory()) {
        if (!(await free(at(name)))) throw new Error('taken');
        await fs.promises.rename(priv, at(name));
      } else {
        await fs.promises.link(priv, at(name));
        await fs.promises.unlink(priv);
      }
      return { code, message, blocks: 0, nlink: 0 };
    } catch {
      const alt = Buffer.concat([name.subarray(0, 240), Buffer.from(`.displaced-${hex(3)}`)]);
      const left =
        (await free(at(alt))) &&
        (await fs.promises.rename(priv, at(alt)).then(
          () => true,
          () => false,
        ))
          ? alt
          : priv.subarray(priv.lastIndexOf(0x2f) + 1);
      return {
        code: 'DISPLACED',
        message: `${message}; its name was taken meanwhile, so it was left as ${left.toString()}`,
        blocks: 0,
        nlink: 0,
        displacedAs: left.toString(),
      };
    }
  };
  if (st.dev !== it.dev || st.ino !== it.ino || (it.kind !== undefined && kindOf(st) !== it.kind)) {
    return putBack('CHANGED', 'replaced by a different file since it was listed');
  }
  try {
    if (st.isDirectory()) await fs.promises.rmdir(priv);
    else await fs.promises.unlink(priv);
  } catch (e) {
    const f = failed(e);
    if (f.code === 'ENOTEMPTY' || f.code === 'EEXIST') return putBack('ENOTEMPTY', 'entries that were not listed appeared in it');
    return putBack(f.code, f.message ?? f.code);
  }
  return { code: 'OK', blocks: st.blocks, nlink: st.nlink };
}

/** The addon's holder scan: each process's mapped files as columns (see native/src/scan.cc). */
interface RawHolderScan {
  processes: (Omit<ProcHolding, 'maps'> & {
    maps: {
      dev: Float64Array;
      ino: Float64Array;
      bytes: Float64Array;
      count: Float64Array;
      deleted: Uint8Array;
      paths: string;
      mapFile: (number | string)[];
      pathBytes: (number | Uint8Array)[];
      uncertain: number[];
    };
  })[];
  invisible: number;
}

/** Builds the mapped-file objects from the columns (in JavaScript: far cheaper than through Node-API). */
function holderScanOf(raw: RawHolderScan): HolderScan {
  return {
    invisible: raw.invisible,
    processes: raw.processes.map((p) => {
      const c = p.maps;
      const paths = c.paths === '' && c.dev.length === 0 ? [] : c.paths.split('\0');
      const maps: (ProcMapRef & { mapFile?: string })[] = new Array(c.dev.length);
      for (let j = 0; j < c.dev.length; j++)
        maps[j] = { dev: c.dev[j], ino: c.ino[j], path: paths[j], deleted: c.deleted[j] === 1, bytes: c.bytes[j], count: c.count[j] };
      for (let k = 0; k + 1 < c.mapFile.length; k += 2) maps[c.mapFile[k] as number].mapFile = c.mapFile[k + 1] as string;
      for (let k = 0; k + 1 < c.pathBytes.length; k += 2) maps[c.pathBytes[k] as number].pathBytes = c.pathBytes[k + 1] as Uint8Array;
      for (const j of c.uncertain) maps[j].pathUncertain = true;
      return { pid: p.pid, comm: p.comm, maps, fds: p.fds };
    }),
  };
}

export function scanHolders(devices: number[], opts?: HolderScanOptions): Promise<HolderScan> {
  return (opts ? native().scanHolders(devices, opts) : native().scanHolders(devices)).then(holderScanOf);
}

/** A System V segment attached read-only, as a view (see NativeAddon.openSysvView). */
export function openSysvView(shmid: number, ns?: IpcNamespaceRef | null): Promise<MappedView> {
  return ns ? native().openSysvView(shmid, ns) : native().openSysvView(shmid);
}

/** Heads and tails of System V segments, one worker pass (see NativeAddon.readSysvEnds). */
export function readSysvEnds(shmids: number[], headBytes: number, tailBytes: number, ns?: IpcNamespaceRef | null): Promise<SysvEnds[]> {
  return (ns ? native().readSysvEnds(shmids, headBytes, tailBytes, ns) : native().readSysvEnds(shmids, headBytes, tailBytes)).then(sysvEndsOf);
}

/** The System V table and every segment's ends in one worker pass (see NativeAddon.scanSysv). */
export function scanSysv(headBytes: number, tailBytes: number, ns?: IpcNamespaceRef | null): Promise<{ table: string; ends: (SysvEnds & { shmid: number })[] }> {
  return (ns ? native().scanSysv(headBytes, tailBytes, ns) : native().scanSysv(headBytes, tailBytes)).then((raw) => ({ table: raw.table, ends: sysvEndsOf(raw) }));
}

/** shmctl(IPC_RMID) on a worker thread (see NativeAddon.removeSysv). */
export function removeSysv(shmid: number, ns?: IpcNamespaceRef | null): Promise<void> {
  return ns ? native().removeSysv(shmid, ns) : native().removeSysv(shmid);
}

let shmemDev: Promise<number> | null = null;

/** The kernel's internal shmem device (memfd regions and shared anonymous memory live there); asked once. */
export function shmemDevice(): Promise<number> {
  shmemDev ??= native().shmemDevice();
  shmemDev.catch(() => (shmemDev = null));
  return shmemDev;
}

/** See NativeAddon.openInRoot. */
export function openInRoot(root: string, file: string | Buffer, dir = false): Promise<RootOpened> {
  return native().openInRoot(root, file, dir);
}
