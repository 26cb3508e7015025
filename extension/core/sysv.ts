/**
 * System V shared memory segments (shmget/shmat) of this process's IPC namespace, as segments
 * (docs/cli.md, "Names of what is not a plain file"): `name` `sysv:SHMID`, `path` null, `ino` the
 * shmid, `kind` "sysv" and the kernel's record in `sysv`. The table is /proc/sysvipc/shm; the
 * holders are the processes whose /proc/PID/maps show `/SYSV%08x (deleted)` with the shmid as
 * inode (the native holder scan, `{ sysv: true }`), in our IPC namespace; the header decoders
 * read the first and last bytes through a read-only attach (`openSysvView`, a worker thread).
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import * as fs from 'fs';
import { openSysvView, removeSysv, scanHolders, tryNative, type HolderScan, type MappedView } from '../native';
import { decodeFile } from './formats';
import { UsageError } from './catalog';
import { HEAD_BYTES, TAIL_BYTES, type Decoded, type Holder, type Segment } from './types';

export const SYSV_TABLE = '/proc/sysvipc/shm';
/** `perms & SHM_DEST`: removed (IPC_RMID) while still attached; it goes with its last detach. */
export const SHM_DEST = 0o1000;

/** One line of /proc/sysvipc/shm (times in milliseconds since the epoch, 0 for never). */
export interface SysvRecord {
  /** The key as an unsigned 32-bit number (0 is IPC_PRIVATE). */
  key: number;
  shmid: number;
  /** Mode bits with the kernel's flags (SHM_DEST 0o1000, SHM_LOCKED 0o2000). */
  perms: number;
  size: number;
  cpid: number;
  lpid: number;
  nattch: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  atimeMs: number;
  dtimeMs: number;
  ctimeMs: number;
  /** Resident and swapped bytes (the kernel prints bytes). */
  rss: number;
  swap: number;
}

/** What a System V segment carries beside the common segment fields. */
export interface SysvFacts extends SysvRecord {
  /** The key as lsipc writes it: `0x` and eight hex digits. */
  keyHex: string;
  /** SHM_DEST: removed, kept alive by its attachments. */
  markedForRemoval: boolean;
}

export type SysvSegment = Omit<Segment, 'path'> & { kind: 'sysv'; path: null; sysv: SysvFacts };

/** Parses the text of /proc/sysvipc/shm (a header line, then one line per segment). */
export function parseSysvTable(text: string): SysvRecord[] {
  const out: SysvRecord[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    if (f.length < 14) continue;
    const n = f.map(Number);
    if (n.slice(0, 14).some((v) => !Number.isFinite(v))) continue;
    out.push({
      key: n[0] >>> 0, shmid: n[1], perms: parseInt(f[2], 8), size: n[3], cpid: n[4], lpid: n[5], nattch: n[6],
      uid: n[7], gid: n[8], cuid: n[9], cgid: n[10], atimeMs: n[11] * 1000, dtimeMs: n[12] * 1000, ctimeMs: n[13] * 1000,
      rss: f.length > 14 ? n[14] : 0, swap: f.length > 15 ? n[15] : 0,
    });
  }
  return out;
}

/** The segments of this IPC namespace; none when the kernel has no System V IPC. */
export async function readSysvTable(file = SYSV_TABLE): Promise<SysvRecord[]> {
  try {
    return parseSysvTable(await fs.promises.readFile(file, 'latin1'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export const keyHex = (key: number) => '0x' + (key >>> 0).toString(16).padStart(8, '0');

/** `sysv:SHMID` (or `sysv:NS/SHMID` with our own namespace's NS) to the shmid; null when not a sysv name. */
export function parseSysvName(name: string, ownNs: number | null = null): number | null {
  const m = /^sysv:(?:(\d+)\/)?(\d+)$/.exec(name);
  if (!m) {
    if (name.startsWith('sysv:')) throw new UsageError(`'${name}' is not a System V name (sysv:SHMID)`);
    return null;
  }
  if (m[1] !== undefined && Number(m[1]) !== ownNs) {
    throw new UsageError(`${name}: segments of another IPC namespace are not supported yet (only this one${ownNs === null ? '' : `, ${ownNs}`})`);
  }
  const id = Number(m[2]);
  if (!Number.isSafeInteger(id) || id > 0x7fffffff) throw new UsageError(`'${name}': shmid out of range`);
  return id;
}

/** The inode of an IPC namespace link (`ipc:[4026531839]`), or null when it cannot be read. */
async function ipcNamespace(pid: number | 'self'): Promise<number | null> {
  try {
    const m = /\[(\d+)\]/.exec(await fs.promises.readlink(`/proc/${pid}/ns/ipc`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export const ownIpcNamespace = () => ipcNamespace('self');

const SYSV_PATH = /^\/SYSV([0-9a-f]{8})$/;

/**
 * Holders by shmid, from a holder scan made with `{ sysv: true }`. A process in another IPC
 * namespace (whose shmids are its own) is left out; when its namespace cannot be read, the
 * key in the mapping's name must match too.
 */
export async function sysvHolders(scan: HolderScan, records: SysvRecord[]): Promise<Map<number, Holder[]>> {
  const byId = new Map(records.map((r) => [r.shmid, r]));
  const own = await ownIpcNamespace();
  const out = new Map<number, Holder[]>();
  const candidates = scan.processes.filter((p) => p.maps.some((m) => SYSV_PATH.test(m.path)));
  const nss = await Promise.all(candidates.map((p) => (own === null ? null : ipcNamespace(p.pid))));
  candidates.forEach((p, i) => {
    if (own !== null && nss[i] !== null && nss[i] !== own) return;
    for (const m of p.maps) {
      const k = SYSV_PATH.exec(m.path);
      const r = k && byId.get(m.ino);
      // The maps name keeps the key the segment was made with; the kernel sets a removed one's key to 0.
      if (!r || (r.key !== 0 && parseInt(k[1], 16) !== r.key)) continue;
      let l = out.get(m.ino);
      if (!l) out.set(m.ino, (l = []));
      if (!l.some((h) => h.pid === p.pid)) l.push({ pid: p.pid, comm: p.comm, via: 'map' });
    }
  });
  for (const l of out.values()) l.sort((a, b) => a.pid - b.pid);
  return out;
}

function undecoded(error: string | null): Decoded {
  return { format: 'raw', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error };
}

/** Decodes a segment's header through a read-only attach; a refused attach is the error. */
async function decodeSysv(r: SysvRecord): Promise<Decoded> {
  if (r.size === 0) return undecoded(null);
  let view: MappedView;
  try {
    view = await openSysvView(r.shmid);
  } catch (e) {
    return undecoded(`unreadable: ${(e as Error).message.replace(`sysv:${r.shmid}: `, '')}`);
  }
  try {
    const head = await view.read(0, Math.min(HEAD_BYTES, view.size));
    const file: { size: number; head: Uint8Array; tail?: Uint8Array; tailOffset?: number } = { size: view.size, head };
    if (view.size > head.length) {
      const n = Math.min(TAIL_BYTES, view.size);
      file.tail = await view.read(view.size - n, n);
      file.tailOffset = view.size - n;
    }
    return await decodeFile(`sysv:${r.shmid}`, file, (offset, length) => view.read(offset, Math.max(0, Math.min(length, view.size - offset))));
  } catch (e) {
    return undecoded(`unreadable: ${(e as Error).message}`);
  } finally {
    view.close();
  }
}

/** One record as a segment object (docs/cli.md), with its holders and what its header says. */
export function sysvSegment(r: SysvRecord, holders: Holder[], d: Decoded): SysvSegment {
  const seg: SysvSegment = {
    kind: 'sysv',
    name: `sysv:${r.shmid}`,
    path: null,
    dev: 0,
    ino: r.shmid,
    size: r.size,
    allocatedBytes: r.rss,
    mtimeMs: Math.max(r.atimeMs, r.dtimeMs, r.ctimeMs),
    uid: r.uid,
    mode: r.perms & 0o777,
    format: d.format,
    producer: null,
    dtype: d.dtype,
    shape: d.shape,
    fortranOrder: d.fortranOrder,
    dataOffset: d.dataOffset,
    children: null,
    holders,
    // The kernel counts every attachment, also those of processes we cannot inspect.
    orphan: r.nattch === 0,
    deleted: (r.perms & SHM_DEST) !== 0,
    symlinkTarget: null,
    error: d.error,
    sysv: { ...r, keyHex: keyHex(r.key), markedForRemoval: (r.perms & SHM_DEST) !== 0 },
  };
  if (d.details) seg.details = d.details;
  return seg;
}

export interface SysvListOptions {
  /** Decode headers through a read-only attach (default true). */
  decode?: boolean;
  /** Look up the holders in /proc (default true; needs the addon). */
  holders?: boolean;
  /** The table to read (tests); default /proc/sysvipc/shm. */
  table?: string;
}

/** Every System V segment of this IPC namespace, by shmid. */
export async function listSysv(opts: SysvListOptions = {}): Promise<SysvSegment[]> {
  const wantHolders = opts.holders !== false && tryNative() !== null;
  const [records, scan] = await Promise.all([readSysvTable(opts.table), wantHolders ? scanHolders([], { sysv: true }) : Promise.resolve(null)]);
  return segmentsOf(records.sort((a, b) => a.shmid - b.shmid), scan, opts);
}

async function segmentsOf(records: SysvRecord[], scan: HolderScan | null, opts: SysvListOptions): Promise<SysvSegment[]> {
  const holders = scan ? await sysvHolders(scan, records) : new Map<number, Holder[]>();
  const decode = opts.decode !== false && tryNative() !== null;
  // After the holder scan: our own attach for decoding must not show as a holder.
  const decoded = await Promise.all(records.map((r) => (decode ? decodeSysv(r) : Promise.resolve(undecoded(null)))));
  return records.map((r, i) => sysvSegment(r, holders.get(r.shmid) ?? [], decoded[i]));
}

/** One System V segment by shmid, or null when there is none. */
export async function inspectSysv(shmid: number, opts: SysvListOptions = {}): Promise<SysvSegment | null> {
  const wantHolders = opts.holders !== false && tryNative() !== null;
  const [records, scan] = await Promise.all([readSysvTable(opts.table), wantHolders ? scanHolders([], { sysv: true }) : Promise.resolve(null)]);
  const r = records.find((x) => x.shmid === shmid);
  if (!r) return null;
  return (await segmentsOf([r], scan, opts))[0];
}

/** The segment's bytes, attached read-only (close() detaches). Errors carry `code` (EACCES, EINVAL...). */
export function attachSysv(shmid: number): Promise<MappedView> {
  return openSysvView(shmid);
}

export type SysvRemoveStatus = 'removed' | 'held' | 'missing' | 'failed';
export interface SysvRemoveOutcome {
  name: string;
  status: SysvRemoveStatus;
  error: string | null;
  /** RAM freed now (an unattached segment), and RAM its attachments keep until they detach. */
  bytes: number;
  pendingBytes: number;
  holders: Holder[];
}

/**
 * IPC_RMID on one segment. An attached one is refused unless `force` (its memory stays until its
 * last process detaches: `pendingBytes`). `expected` (a listed segment) guards against a shmid
 * that now names another segment: its key and creation time must still match.
 */
export async function removeSysvSegment(shmid: number, opts: { force?: boolean; expected?: SysvRecord } = {}): Promise<SysvRemoveOutcome> {
  const name = `sysv:${shmid}`;
  const seg = await inspectSysv(shmid, { decode: false });
  const none = { bytes: 0, pendingBytes: 0 };
  if (!seg || (opts.expected && (seg.sysv.key !== opts.expected.key || seg.sysv.ctimeMs !== opts.expected.ctimeMs || seg.sysv.cpid !== opts.expected.cpid))) {
    return { name, status: 'missing', error: 'no such System V segment', ...none, holders: [] };
  }
  const attached = seg.sysv.nattch > 0;
  if (attached && !opts.force) {
    return { name, status: 'held', error: `attached ${seg.sysv.nattch} time${seg.sysv.nattch === 1 ? '' : 's'}; pass --force to remove it when they detach`, ...none, holders: seg.holders };
  }
  try {
    await removeSysv(shmid);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EINVAL') return { name, status: 'missing', error: 'no such System V segment', ...none, holders: [] };
    return { name, status: 'failed', error: (e as Error).message.replace(`${name}: `, ''), ...none, holders: seg.holders };
  }
  return { name, status: 'removed', error: null, bytes: attached ? 0 : seg.allocatedBytes, pendingBytes: attached ? seg.allocatedBytes : 0, holders: seg.holders };
}
