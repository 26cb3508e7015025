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
import { openSysvView, readSysvEnds, removeSysv, scanHolders, scanSysv, tryNative, type HolderScan, type IpcNamespaceRef, type SysvEnds } from '../native';
import { codeBeside, errorCode, errorCodeOr, type ErrorCode } from './errors';
import { decodeFile } from './formats';
import { npyDecoded } from './formats/npy';
import { UsageError } from './catalog';
import { applySysvInterpretations } from './sysv-interpret';
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
  /**
   * The kernel printed rss and swap (Linux 4.5 and later): when both are 0 it holds no page of
   * the segment, every byte is zero, and nothing is attached to read it. Not in the JSON.
   */
  pagesKnown?: boolean;
}

/** What a System V segment carries beside the common segment fields. */
export interface SysvFacts extends SysvRecord {
  /** The key as lsipc writes it: `0x` and eight hex digits. */
  keyHex: string;
  /** SHM_DEST: removed, kept alive by its attachments. */
  markedForRemoval: boolean;
}

export type SysvSegment = Omit<Segment, 'path'> & { kind: 'sysv'; path: null; sysv: SysvFacts };

/**
 * Parses the text of /proc/sysvipc/shm (a header line, then one line per segment: key, shmid,
 * perms in octal, size, cpid, lpid, nattch, uid, gid, cuid, cgid, atime, dtime, ctime, rss, swap).
 * One pass over the characters, no per-line strings: 1,000 segments parse in well under a millisecond.
 */
export function parseSysvTable(text: string): SysvRecord[] {
  const out: SysvRecord[] = [];
  const n = text.length;
  const f: number[] = new Array(16).fill(0);
  let i = text.indexOf('\n') + 1;
  if (i === 0) return out;
  while (i < n) {
    let k = 0;
    let bad = false;
    for (;;) {
      let c = text.charCodeAt(i);
      while (c === 32 || c === 9) c = text.charCodeAt(++i);
      if (i >= n || c === 10) break;
      const neg = c === 45;
      if (neg) c = text.charCodeAt(++i);
      const base = k === 2 ? 8 : 10;
      const start = i;
      let v = 0;
      while (c >= 48 && c <= 57) {
        v = v * base + (c - 48);
        c = text.charCodeAt(++i);
      }
      if (i === start || !(c === 32 || c === 9 || c === 10 || i >= n)) {
        bad = true;
        while (i < n && text.charCodeAt(i) !== 10) i++;
        break;
      }
      if (k < 16) f[k] = neg ? -v : v;
      k++;
    }
    i++;
    if (bad || k < 14) continue;
    out.push({
      key: f[0] >>> 0,
      shmid: f[1],
      perms: f[2],
      size: f[3],
      cpid: f[4],
      lpid: f[5],
      nattch: f[6],
      uid: f[7],
      gid: f[8],
      cuid: f[9],
      cgid: f[10],
      atimeMs: f[11] * 1000,
      dtimeMs: f[12] * 1000,
      ctimeMs: f[13] * 1000,
      rss: k > 14 ? f[14] : 0,
      swap: k > 15 ? f[15] : 0,
      pagesKnown: k > 15,
    });
  }
  return out;
}

/** The segments of this IPC namespace; none when the kernel has no System V IPC. */
let tableBuffer: Buffer | null = null;

export async function readSysvTable(file = SYSV_TABLE): Promise<SysvRecord[]> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    // One reused buffer, so a scan is one read plus the one that finds the end, and no garbage:
    // 170 bytes a segment, 512 KiB hold 3,000 (grown and kept for more). Taken while in use: a
    // concurrent read gets its own.
    let buf = tableBuffer ?? Buffer.allocUnsafe(512 << 10);
    tableBuffer = null;
    let used = 0;
    for (;;) {
      if (used === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, used);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, used, buf.length - used, null);
      if (bytesRead === 0) break;
      used += bytesRead;
    }
    const text = buf.toString('latin1', 0, used);
    tableBuffer = buf;
    return parseSysvTable(text);
  } finally {
    await fh.close();
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

let ownNs: Promise<number | null> | null = null;
/**
 * This process's IPC namespace (asked once: only a native worker thread ever enters another, and
 * /proc/self names the main thread's).
 */
export function ownIpcNamespace(): Promise<number | null> {
  ownNs ??= ipcNamespace('self');
  return ownNs;
}

const SYSV_PATH = /^\/SYSV([0-9a-f]{8})$/;

/**
 * Holders by shmid, from a holder scan made with `{ sysv: true }`, and how many mappings of each
 * they have (the kernel's attach count sums these). A process in another IPC namespace (whose
 * shmids are its own) is left out; when its namespace cannot be read, the key in the mapping's
 * name must match too.
 */
async function matchSysv(
  scan: HolderScan,
  records: SysvRecord[],
  known?: Map<number, number | null>,
): Promise<{ holders: Map<number, Holder[]>; vmas: Map<number, number> }> {
  const byId = new Map(records.map((r) => [r.shmid, r]));
  const own = await ownIpcNamespace();
  const holders = new Map<number, Holder[]>();
  const vmas = new Map<number, number>();
  const candidates = scan.processes.filter((p) => p.maps.some((m) => SYSV_PATH.test(m.path)));
  const nss = await Promise.all(candidates.map((p) => (own === null ? null : known?.has(p.pid) ? known.get(p.pid)! : ipcNamespace(p.pid))));
  candidates.forEach((p, i) => {
    if (own !== null && nss[i] !== null && nss[i] !== own) return;
    for (const m of p.maps) {
      const k = SYSV_PATH.exec(m.path);
      const r = k && byId.get(m.ino);
      // The maps name keeps the key the segment was made with; the kernel sets a removed one's key to 0.
      if (!r || (r.key !== 0 && parseInt(k[1], 16) !== r.key)) continue;
      let l = holders.get(m.ino);
      if (!l) holders.set(m.ino, (l = []));
      if (!l.some((h) => h.pid === p.pid)) l.push({ pid: p.pid, comm: p.comm, via: 'map' });
      vmas.set(m.ino, (vmas.get(m.ino) ?? 0) + (m.count ?? 1));
    }
  });
  for (const l of holders.values()) l.sort((a, b) => a.pid - b.pid);
  return { holders, vmas };
}

/**
 * The holders of the attached segments. First only their creators and last attachers (cpid,
 * lpid): when the mappings found there add up to every attach count, no other process can
 * attach one, and the other processes' maps (hundreds of them, the slow part) are never read.
 * Otherwise every process is read.
 */
async function findSysvHolders(records: SysvRecord[]): Promise<Map<number, Holder[]>> {
  const attached = records.filter((r) => r.nattch > 0);
  if (attached.length === 0) return new Map();
  const hint = [...new Set(attached.flatMap((r) => [r.cpid, r.lpid]))].filter((p) => p > 0);
  // Their namespaces asked while their maps are read (one wait, not two: bench/sysv.mjs).
  const [scan, nss] = await Promise.all([scanHolders([], { sysv: true, pids: hint }), Promise.all(hint.map((p) => ipcNamespace(p))), ownIpcNamespace()]);
  const first = await matchSysv(scan, records, new Map(hint.map((p, i) => [p, nss[i]])));
  if (attached.every((r) => (first.vmas.get(r.shmid) ?? 0) >= r.nattch)) return first.holders;
  return (await matchSysv(await scanHolders([], { sysv: true }), records)).holders;
}

function undecoded(error: string | null, errorCode?: ErrorCode): Decoded {
  return { format: 'raw', dtype: null, shape: null, fortranOrder: null, dataOffset: null, error, errorCode };
}

/** Reads more of a segment for a decoder whose header is longer than the head (rare): its own attach. */
async function readSysvRange(shmid: number, offset: number, length: number, ns?: IpcNamespaceRef): Promise<Uint8Array> {
  const view = await openSysvView(shmid, ns);
  try {
    return await view.read(offset, Math.max(0, Math.min(length, view.size - offset)));
  } finally {
    view.close();
  }
}

/**
 * What each segment's header says, decoded from its ends (read in one native pass unless given; a
 * refused attach is the error), or, without `decode`, nothing read: raw, no attach at all. `ns`:
 * the segments are another IPC namespace's (core/kinds/ipcns.ts).
 */
export function sysvHeaders(records: SysvRecord[], decode: boolean, given?: Map<number, SysvEnds>, ns?: IpcNamespaceRef): Promise<Decoded[]> {
  return decode && records.length > 0 ? decodeSysv(records, given, ns) : Promise.resolve(records.map(() => undecoded(null)));
}

/** The kernel holds no page of it: all zeros, decoded as raw without an attach (which would allocate one). */
const unpaged = (r: SysvRecord) => r.pagesKnown === true && r.rss === 0 && r.swap === 0;

async function decodeSysv(records: SysvRecord[], given?: Map<number, SysvEnds>, ns?: IpcNamespaceRef): Promise<Decoded[]> {
  const missing = records.filter((r) => !unpaged(r) && !given?.has(r.shmid));
  const read =
    missing.length > 0
      ? await readSysvEnds(
          missing.map((r) => r.shmid),
          HEAD_BYTES,
          TAIL_BYTES,
          ns,
        )
      : [];
  const byId = new Map(given ?? []);
  missing.forEach((r, i) => byId.set(r.shmid, read[i]));
  const ends = records.map((r) => byId.get(r.shmid)!);
  return Promise.all(
    records.map(async (r, i) => {
      if (unpaged(r)) return undecoded(null);
      const e = ends[i];
      // The message without its leading name (the row already says it); a RegExp only for a failure.
      const bare = (m: string) => m.replace(new RegExp(`^sysv:(?:\\d+/)?${r.shmid}: `), '');
      if (e.error !== undefined) return undecoded(`unreadable: ${bare(e.error)}`, errorCodeOr(e, 'UNREADABLE'));
      // The header numpy writes, parsed by the addon: checked here as the directory scan's are.
      if (e.npy) return npyDecoded(e.npy.descr, e.npy.fortran, e.npy.shape, e.npy.dataOffset, e.size);
      if (!e.head || e.size === 0) return undecoded(null);
      try {
        return await decodeFile(`sysv:${r.shmid}`, { size: e.size, head: e.head, tail: e.tail, tailOffset: e.tailOffset }, (o, n) =>
          readSysvRange(r.shmid, o, n, ns),
        );
      } catch (err) {
        return undecoded(`unreadable: ${bare((err as Error).message)}`, errorCodeOr(err, 'UNREADABLE'));
      }
    }),
  );
}

/**
 * The record with what a segment adds. Written out field by field: an object spread builds each of
 * 1,000 records through a slow generic path (30 times this; bench/sysv.mjs).
 */
function sysvFacts(r: SysvRecord): SysvFacts {
  return {
    key: r.key,
    shmid: r.shmid,
    perms: r.perms,
    size: r.size,
    cpid: r.cpid,
    lpid: r.lpid,
    nattch: r.nattch,
    uid: r.uid,
    gid: r.gid,
    cuid: r.cuid,
    cgid: r.cgid,
    atimeMs: r.atimeMs,
    dtimeMs: r.dtimeMs,
    ctimeMs: r.ctimeMs,
    rss: r.rss,
    swap: r.swap,
    keyHex: keyHex(r.key),
    markedForRemoval: (r.perms & SHM_DEST) !== 0,
  };
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
    // Not atime/dtime: our own read-only attach (decoding) sets those, and lpid, to now and to us.
    mtimeMs: r.ctimeMs,
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
    errorCode: codeBeside(d.error, d.errorCode),
    sysv: sysvFacts(r),
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
  /** The interpretations file to apply (tests); false: none; default the shared one (core/interpretations.ts). */
  interpretations?: string | false;
}

/** Every System V segment of this IPC namespace, by shmid. */
export async function listSysv(opts: SysvListOptions = {}): Promise<SysvSegment[]> {
  if (opts.table === undefined && tryNative() !== null) {
    // The table and every segment's ends in one worker pass (the common case: one thread hop);
    // without decoding, the table alone, also one hop (fs.promises' open, reads and close are four).
    const decode = opts.decode !== false;
    const { table, ends } = await scanSysv(decode ? HEAD_BYTES : 0, decode ? TAIL_BYTES : 0);
    const records = parseSysvTable(table).sort((a, b) => a.shmid - b.shmid);
    return segmentsOf(records, opts, decode ? new Map(ends.map((e) => [e.shmid, e])) : undefined);
  }
  const records = await readSysvTable(opts.table);
  return segmentsOf(
    records.sort((a, b) => a.shmid - b.shmid),
    opts,
  );
}

/**
 * The records as segments. The /proc scan for holders runs only when one is attached (the kernel
 * counts attachments), and before the decoding: our own short attach must not show as a holder.
 */
async function segmentsOf(records: SysvRecord[], opts: SysvListOptions, ends?: Map<number, SysvEnds>): Promise<SysvSegment[]> {
  const native = tryNative() !== null;
  // Our own attaches for reading the ends are over (each is detached at once): none shows as a holder.
  const holders = opts.holders !== false && native ? await findSysvHolders(records) : new Map<number, Holder[]>();
  const decoded = await sysvHeaders(records, opts.decode !== false && native, ends);
  const segs = records.map((r, i) => sysvSegment(r, holders.get(r.shmid) ?? [], decoded[i]));
  // Raw ones given a layout (Interpret As…, `interpret sysv:ID`) read as arrays, as files do.
  if (opts.decode !== false) await applySysvInterpretations(segs, opts.interpretations);
  return segs;
}

/** One System V segment by shmid, or null when there is none. */
export async function inspectSysv(shmid: number, opts: SysvListOptions = {}): Promise<SysvSegment | null> {
  const r = (await readSysvTable(opts.table)).find((x) => x.shmid === shmid);
  return r ? (await segmentsOf([r], opts))[0] : null;
}

/** Whether `now` is still the segment that was listed as `listed` (a shmid can name a new segment after a removal). */
export function sameSysvSegment(now: SysvRecord, listed: SysvRecord): boolean {
  return now.shmid === listed.shmid && now.key === listed.key && now.ctimeMs === listed.ctimeMs && now.cpid === listed.cpid;
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
  const seg = await inspectSysv(shmid, { decode: false });
  const other = seg !== null && opts.expected !== undefined && !sameSysvSegment(seg.sysv, opts.expected);
  return removeFoundSysv(`sysv:${shmid}`, other ? null : seg, opts.force);
}

/**
 * IPC_RMID on a segment just looked up under `name` (null: there is none): refused while attached
 * unless `force`. `ns`: the segment is another IPC namespace's (core/kinds/ipcns.ts).
 */
export async function removeFoundSysv(name: string, seg: SysvSegment | null, force?: boolean, ns?: IpcNamespaceRef): Promise<SysvRemoveOutcome> {
  const none = { bytes: 0, pendingBytes: 0 };
  if (!seg) return { name, status: 'missing', error: 'no such System V segment', ...none, holders: [] };
  const attached = seg.sysv.nattch > 0;
  if (attached && !force) {
    return {
      name,
      status: 'held',
      error: `attached ${seg.sysv.nattch} time${seg.sysv.nattch === 1 ? '' : 's'}; pass --force to remove it when they detach`,
      ...none,
      holders: seg.holders,
    };
  }
  try {
    await removeSysv(seg.sysv.shmid, ns);
  } catch (e) {
    if (errorCode(e) === 'EINVAL') return { name, status: 'missing', error: 'no such System V segment', ...none, holders: [] };
    return { name, status: 'failed', error: (e as Error).message.replace(`${name}: `, ''), ...none, holders: seg.holders };
  }
  return { name, status: 'removed', error: null, bytes: attached ? 0 : seg.allocatedBytes, pendingBytes: attached ? seg.allocatedBytes : 0, holders: seg.holders };
}
