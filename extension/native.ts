/**
 * The only module that loads the shm_native addon (native/). Everything that
 * needs it imports this module. When the addon cannot load, `nativeLoadError()`
 * says why, naming every path tried; directory scans fall back to a slower
 * pure-TypeScript path, and array reads report that error.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { KernelType } from './core/dtype';

export interface ScanEntry {
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
  linkTarget?: string;
  head?: Uint8Array;
  tail?: Uint8Array;
  tailOffset?: number;
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
  deleted: boolean;
  /** Bytes of the file this process maps (highest mapped end offset). */
  bytes: number;
}
export interface ProcFdRef {
  dev: number;
  ino: number;
  path: string;
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
  part?: 'magnitude' | 'phase' | 'real' | 'imag';
  offset: number;
  strideR: number;
  strideC: number;
  rows: number;
  cols: number;
}

export type ReduceMode = 'strided' | 'mean' | 'min' | 'max';

export interface ReduceRequest extends SliceSpec {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  gridWidth: number;
  gridHeight: number;
  mode: ReduceMode;
}

export interface ReduceResult {
  values: Float64Array;
  width: number;
  height: number;
  /** Finite range of the cells, null when no cell is finite. */
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

export interface StatsResult {
  count: number;
  finiteCount: number;
  nanCount: number;
  infCount: number;
  posInfCount: number;
  negInfCount: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  histogram?: Float64Array;
  /** The range the histogram's bins cover (present with `histogram`). */
  histMin?: number;
  histMax?: number;
}

export interface MappedView {
  readonly size: number;
  readonly path: string;
  readonly closed: boolean;
  reduce(req: ReduceRequest): Promise<ReduceResult>;
  stats(req: StatsRequest): Promise<StatsResult>;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Makes running reductions of this view stop early (their promises reject with "cancelled"). */
  cancelPending(): void;
  close(): void;
}

export interface NativeAddon {
  abiVersion: number;
  /** Threads a full pass uses (the CPUs this process may run on, at most 16). */
  threads: number;
  /** The instruction set of the inner loops picked for this CPU: 'x86-64-v4', 'x86-64-v3' or 'baseline'. */
  simd: string;
  scanDir(dir: string, headBytes: number, tailBytes: number): Promise<ScanEntry[]>;
  statfs(dir: string): Promise<FsUsage>;
  scanHolders(devices: number[]): Promise<HolderScan>;
  openView(file: string): Promise<MappedView>;
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
  if (!n) throw new Error(nativeLoadError() ?? 'native addon unavailable');
  return n;
}

export function nativeLoadError(): string | null {
  tryNative();
  return loadError;
}

// ---- pure-TypeScript fallbacks (slower; used only when the addon is missing) ----

async function scanDirTs(dir: string, headBytes: number, tailBytes: number): Promise<ScanEntry[]> {
  const names = await fs.promises.readdir(dir);
  const out: ScanEntry[] = [];
  await Promise.all(
    names.map(async (name) => {
      const full = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = await fs.promises.lstat(full);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        out.push({ name, kind: 'other', size: 0, blocks: 0, dev: 0, ino: 0, mode: 0, uid: 0, mtimeMs: 0, error: String(e) });
        return;
      }
      const e: ScanEntry = {
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
        } finally {
          await fh?.close();
        }
      }
      out.push(e);
    }),
  );
  return out;
}

/** Lists a directory with stat fields and the first/last bytes of each file. */
export function scanDir(dir: string, headBytes: number, tailBytes: number): Promise<ScanEntry[]> {
  const n = tryNative();
  return n ? n.scanDir(dir, headBytes, tailBytes) : scanDirTs(dir, headBytes, tailBytes);
}

export async function statfs(dir: string): Promise<FsUsage> {
  const n = tryNative();
  if (n) return n.statfs(dir);
  const s = await fs.promises.statfs(dir);
  return { size: s.bsize * s.blocks, used: s.bsize * (s.blocks - s.bfree), free: s.bsize * s.bavail };
}

export function openView(file: string): Promise<MappedView> {
  return native().openView(file);
}

export function scanHolders(devices: number[]): Promise<HolderScan> {
  return native().scanHolders(devices);
}
