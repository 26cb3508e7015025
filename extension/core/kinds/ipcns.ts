/**
 * System V segments of other IPC namespaces (issue #15, item 1): containers usually have their
 * own, invisible in this process's /proc/sysvipc/shm and to `ipcs`. Each namespace is entered by a
 * native thread of its own (setns on /proc/PID/ns/ipc; the addon's scanSysv with `ns`), which reads
 * its table and every segment's ends there; segments are named `sysv:NS/SHMID` (NS the namespace's
 * inode) and carry `namespace` (named from the cgroup of its first process, as containers are).
 * Namespaces that cannot be entered (no CAP_SYS_ADMIN, their only process gone mid-scan) are
 * counted with the reason. Holders: the namespace's processes whose maps show the segment.
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import * as fs from 'fs';
import { openSysvView, scanSysv, tryNative, type IpcNamespaceRef, type MappedView } from '../../native';
import { UsageError } from '../catalog';
import { parseSysvTable, removeFoundSysv, sameSysvSegment, sysvHeaders, sysvSegment, type SysvRecord, type SysvRemoveOutcome, type SysvSegment } from '../sysv';
import type { Decoded, Holder } from '../types';
import { applySysvInterpretations } from '../sysv-interpret';
import { nameFromCgroup, namespacesOf, type ContainerNamespace } from './containers';

export type ForeignSysvSegment = SysvSegment & { namespace: ContainerNamespace };

export interface IpcNamespaceScan {
  segments: ForeignSysvSegment[];
  /** The namespaces listed (with or without segments). */
  namespaces: ContainerNamespace[];
  unreadable: { id: number; pid: number; error: string }[];
}

/** `sysv:NS/SHMID` with NS another namespace than ours: the two numbers; null for any other name. */
export function parseForeignSysvName(name: string, own: number | null): { ns: number; shmid: number } | null {
  const m = /^sysv:(\d+)\/(\d+)$/.exec(name);
  if (!m || Number(m[1]) === own) return null;
  const shmid = Number(m[2]);
  if (!Number.isSafeInteger(shmid) || shmid > 0x7fffffff) throw new UsageError(`'${name}': shmid out of range`);
  return { ns: Number(m[1]), shmid };
}

/** ` 00:01 INODE   /SYSVxxxxxxxx (deleted)` at the end of a maps line: the inode is the shmid. */
const SYSV_MAP = /^\S+ \S+ \S+ \S+ (\d+) +\/SYSV[0-9a-f]{8} \(deleted\)$/gm;

/**
 * The namespace's processes that attach its segments, from their maps, read here in JavaScript:
 * a namespace has few processes, and the native holder scan skips inode 0, which is the shmid of
 * the first segment of every new namespace.
 */
async function holdersIn(pids: number[], records: SysvRecord[]): Promise<Map<number, Holder[]>> {
  const out = new Map<number, Holder[]>();
  if (!records.some((r) => r.nattch > 0)) return out;
  const ids = new Set(records.map((r) => r.shmid));
  await Promise.all(
    pids.slice(0, 1024).map(async (pid) => {
      const [maps, comm] = await Promise.all([
        fs.promises.readFile(`/proc/${pid}/maps`, 'latin1').catch(() => ''),
        fs.promises.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => ''),
      ]);
      if (!maps.includes('/SYSV')) return;
      for (const m of maps.matchAll(SYSV_MAP)) {
        const id = Number(m[1]);
        if (!ids.has(id)) continue;
        let l = out.get(id);
        if (!l) out.set(id, (l = []));
        if (!l.some((h) => h.pid === pid)) l.push({ pid, comm: comm.trim(), via: 'map' });
      }
    }),
  );
  for (const l of out.values()) l.sort((a, b) => a.pid - b.pid);
  return out;
}

async function namespaceInfo(id: number, pid: number, processes: number): Promise<ContainerNamespace> {
  const text = await fs.promises.readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  return { id, ...nameFromCgroup(text, pid), pid, processes };
}

/**
 * Headers decoded before, by namespace, shmid, creation time and size: the Segments view lists
 * every other namespace at each refresh, and attaching thousands of segments there each time is
 * most of its cost (bench/kinds.mjs). Only a recognised header is kept (a producer that writes its
 * header after creating the segment is read again until it has one); an entry goes when its
 * segment is no longer listed.
 */
const decodedBefore = new Map<number, Map<string, Decoded>>();
const DECODE_KEY = (r: SysvRecord) => `${r.shmid}/${r.ctimeMs}/${r.size}`;

async function decodeCached(ns: number, records: SysvRecord[], ref: IpcNamespaceRef): Promise<Decoded[]> {
  const before = decodedBefore.get(ns) ?? new Map<string, Decoded>();
  const missing = records.filter((r) => !before.has(DECODE_KEY(r)));
  const fresh = await sysvHeaders(missing, true, undefined, ref);
  const now = new Map<string, Decoded>();
  const got = new Map(missing.map((r, i) => [DECODE_KEY(r), fresh[i]]));
  const out = records.map((r) => {
    const k = DECODE_KEY(r);
    const d = before.get(k) ?? got.get(k)!;
    if (d.format !== 'raw' && d.error === null) now.set(k, d);
    return d;
  });
  decodedBefore.set(ns, now);
  return out;
}

/** One namespace's segments, read on a thread that entered it; its first process that still exists is the way in. */
async function scanNamespace(id: number, pids: number[], out: IpcNamespaceScan, decode: boolean): Promise<void> {
  let lastError = 'its processes exited';
  for (const pid of pids.slice(0, 4)) {
    const ref: IpcNamespaceRef = { path: `/proc/${pid}/ns/ipc`, ino: id };
    let table: string;
    try {
      // The table only (no attach); headers are read below for the segments not decoded before.
      ({ table } = await scanSysv(0, 0, ref));
    } catch (e) {
      lastError = (e as Error).message;
      // Exited (ESTALE, ENOENT): its next process reaches the same namespace. Refused: say so.
      if (/needs CAP_SYS_ADMIN/.test(lastError)) break;
      continue;
    }
    const records = parseSysvTable(table).sort((a, b) => a.shmid - b.shmid);
    const namespace = await namespaceInfo(id, pid, pids.length);
    out.namespaces.push(namespace);
    const [holders, decoded] = await Promise.all([holdersIn(pids, records), decode ? decodeCached(id, records, ref) : sysvHeaders(records, false)]);
    for (const [i, r] of records.entries()) {
      const s = sysvSegment(r, holders.get(r.shmid) ?? [], decoded[i]) as ForeignSysvSegment;
      s.name = `sysv:${id}/${r.shmid}`;
      s.namespace = namespace;
      out.segments.push(s);
    }
    return;
  }
  out.unreadable.push({ id, pid: pids[0], error: lastError });
}

/** The System V segments of every IPC namespace but ours (or only `only`), each read inside its namespace. */
export async function listForeignSysv(opts: { only?: number; decode?: boolean } = {}): Promise<IpcNamespaceScan> {
  const out: IpcNamespaceScan = { segments: [], namespaces: [], unreadable: [] };
  if (tryNative() === null) return out;
  const { own, byNs } = await namespacesOf('ipc');
  const jobs = [...byNs].filter(([ns]) => ns !== own && (opts.only === undefined || ns === opts.only));
  // Headers decoded before in namespaces that are gone: forgotten.
  for (const ns of decodedBefore.keys()) if (!byNs.has(ns)) decodedBefore.delete(ns);
  await Promise.all(jobs.map(([ns, pids]) => scanNamespace(ns, pids, out, opts.decode !== false)));
  // Raw ones given a layout (Interpret As…, `interpret sysv:NS/ID`) read as arrays, as files do.
  if (opts.decode !== false) await applySysvInterpretations(out.segments);
  out.segments.sort((a, b) => a.namespace.id - b.namespace.id || a.sysv.shmid - b.sysv.shmid);
  out.namespaces.sort((a, b) => a.id - b.id);
  out.unreadable.sort((a, b) => a.id - b.id);
  return out;
}

/** One segment of another namespace, or null; a namespace that cannot be entered is an Error saying why. */
export async function inspectForeignSysv(ns: number, shmid: number, opts: { decode?: boolean } = {}): Promise<ForeignSysvSegment | null> {
  const scan = await listForeignSysv({ only: ns, decode: opts.decode });
  if (scan.unreadable.length > 0) throw new Error(`sysv:${ns}/${shmid}: ${scan.unreadable[0].error}`);
  return scan.segments.find((s) => s.sysv.shmid === shmid) ?? null;
}

/** The way into a listed segment's namespace (its process, and the namespace it must still be in). */
export function namespaceRef(s: ForeignSysvSegment): IpcNamespaceRef {
  return { path: `/proc/${s.namespace.pid}/ns/ipc`, ino: s.namespace.id };
}

/** Attaches a segment of another namespace read-only (the attach is made by a thread inside it). */
export function openForeignSysvView(s: ForeignSysvSegment): Promise<MappedView> {
  return openSysvView(s.sysv.shmid, namespaceRef(s));
}

/**
 * IPC_RMID in another namespace, with the rules of removeSysvSegment (attached: `held` unless
 * force; `expected`, a listed segment: its key, creation time and creator must still match, or the
 * shmid names another segment now and nothing is removed).
 */
export async function removeForeignSysv(ns: number, shmid: number, opts: { force?: boolean; expected?: SysvRecord } = {}): Promise<SysvRemoveOutcome> {
  const name = `sysv:${ns}/${shmid}`;
  let s: ForeignSysvSegment | null;
  try {
    s = await inspectForeignSysv(ns, shmid, { decode: false });
  } catch (e) {
    return { name, status: 'failed', error: (e as Error).message.replace(`${name}: `, ''), bytes: 0, pendingBytes: 0, holders: [] };
  }
  const same = s !== null && (!opts.expected || sameSysvSegment(s.sysv, opts.expected));
  return removeFoundSysv(name, same ? s : null, opts.force, s ? namespaceRef(s) : undefined);
}
