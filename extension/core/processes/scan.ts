/**
 * The process memory report: every inspectable process's memory (native scan of
 * smaps_rollup, status, stat, cmdline), fork families, and each forked child's pages
 * still shared with or copied from its parent (native pagemap or smaps pass,
 * cancellable, with progress). No `vscode` here: the CLI, the view and the tests call it.
 */
import * as fs from 'fs';
import { native } from '../../native';
import type { Family, Inherited, MemoryReport, ProcessMemory } from './types';
import { ShmError } from '../errors';

/** The order of the numbers per process in the native scan (native/src/procs.cc `Field`). */
const F = {
  pid: 0,
  ppid: 1,
  startTicks: 2,
  uid: 3,
  startBrk: 4,
  startStack: 5,
  exeDev: 6,
  exeIno: 7,
  rss: 8,
  pss: 9,
  pssAnon: 10,
  pssFile: 11,
  pssShmem: 12,
  sharedClean: 13,
  sharedDirty: 14,
  privateClean: 15,
  privateDirty: 16,
  swap: 17,
  swapPss: 18,
  anonymous: 19,
  rssAnon: 20,
  rssFile: 21,
  rssShmem: 22,
  threads: 23,
} as const;

/** What decides whether a child was forked (and did not exec): kept beside each process, not reported. */
interface Identity {
  exeDev: number;
  exeIno: number;
  startBrk: number;
  startStack: number;
}

export interface ProcessScan {
  processes: ProcessMemory[];
  identity: Map<number, Identity>;
  uninspectable: number;
  zombies: number;
}

let bootTimeMs: number | undefined;
async function bootTime(): Promise<number> {
  if (bootTimeMs === undefined) {
    const text = await fs.promises.readFile('/proc/stat', 'utf8').catch(() => '');
    const m = /^btime (\d+)$/m.exec(text);
    bootTimeMs = m ? Number(m[1]) * 1000 : 0;
  }
  return bootTimeMs;
}

/** Every inspectable process's memory (no families yet). */
export async function scanProcesses(): Promise<ProcessScan> {
  const [cols, boot] = await Promise.all([native().scanProcesses(), bootTime()]);
  const { nums, fields } = cols;
  const processes: ProcessMemory[] = [];
  const identity = new Map<number, Identity>();
  for (let i = 0; i < cols.comms.length; i++) {
    const v = (k: number) => nums[i * fields + k];
    const pid = v(F.pid);
    const cmd = cols.cmdlines[i];
    processes.push({
      pid,
      ppid: v(F.ppid),
      comm: cols.comms[i],
      cmdline: cmd === '' ? [] : cmd.split('\0'),
      uid: v(F.uid),
      startTimeMs: Math.round(boot + (v(F.startTicks) / cols.clockTicks) * 1000),
      threads: v(F.threads),
      rss: v(F.rss),
      pss: v(F.pss),
      uss: v(F.privateClean) + v(F.privateDirty),
      swap: v(F.swap),
      sharedClean: v(F.sharedClean),
      sharedDirty: v(F.sharedDirty),
      privateClean: v(F.privateClean),
      privateDirty: v(F.privateDirty),
      anon: { rss: v(F.rssAnon), pss: v(F.pssAnon) },
      file: { rss: v(F.rssFile), pss: v(F.pssFile) },
      shmem: { rss: v(F.rssShmem), pss: v(F.pssShmem) },
      family: null,
    });
    identity.set(pid, { exeDev: v(F.exeDev), exeIno: v(F.exeIno), startBrk: v(F.startBrk), startStack: v(F.startStack) });
  }
  return { processes, identity, uninspectable: cols.uninspectable, zombies: cols.zombies };
}

/**
 * Whether `child` is a forked child of `parent`: the same executable, and the same heap start
 * and stack start (an exec, or a spawn, gets new ones from ASLR). Unknown (0) never matches.
 */
function forkedFrom(child: Identity | undefined, parent: Identity | undefined): boolean {
  if (!child || !parent || child.exeIno === 0 || child.startBrk === 0) return false;
  return child.exeDev === parent.exeDev && child.exeIno === parent.exeIno && child.startBrk === parent.startBrk && child.startStack === parent.startStack;
}

/**
 * Fork families: each root (the top-most ancestor that is not itself a forked child) with all its
 * forked descendants; a process without forked children is in none. Sets each member's `family`.
 * Figures of `inherited` are summed when present (see `measureInherited`).
 */
export function findFamilies(scan: ProcessScan): Family[] {
  const byPid = new Map(scan.processes.map((p) => [p.pid, p]));
  const forked = (p: ProcessMemory) => byPid.has(p.ppid) && forkedFrom(scan.identity.get(p.pid), scan.identity.get(p.ppid));
  const children = new Map<number, ProcessMemory[]>();
  for (const p of scan.processes) {
    if (!forked(p)) continue;
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const families: Family[] = [];
  for (const p of scan.processes) {
    if (forked(p) || !children.has(p.pid)) continue;
    const members: number[] = [];
    const walk = (q: ProcessMemory) => {
      members.push(q.pid);
      q.family = p.pid;
      for (const c of (children.get(q.pid) ?? []).sort((a, b) => a.pid - b.pid)) walk(c);
    };
    walk(p);
    families.push({ root: p.pid, members, rssSum: 0, trueBytes: 0, sharedBytes: 0, copiedBytes: 0, exact: false });
  }
  sumFamilies(families, byPid);
  return families;
}

/** (Re)computes each family's sums from its members (after `measureInherited`). */
export function sumFamilies(families: Family[], byPid: Map<number, ProcessMemory>): void {
  for (const f of families) {
    const ms = f.members.map((m) => byPid.get(m)).filter((m): m is ProcessMemory => m !== undefined);
    const kids = ms.filter((m) => m.pid !== f.root);
    f.rssSum = ms.reduce((s, m) => s + m.rss, 0);
    f.trueBytes = ms.reduce((s, m) => s + m.pss, 0);
    f.sharedBytes = kids.reduce((s, m) => s + (m.inherited?.sharedBytes ?? 0), 0);
    f.copiedBytes = kids.reduce((s, m) => s + (m.inherited?.copiedBytes ?? 0), 0);
    f.exact = kids.length > 0 && kids.every((m) => m.inherited?.exact === true);
  }
}

export interface MeasureOptions {
  /** Count from pagemap frame numbers where this process may (CAP_SYS_ADMIN); otherwise the smaps estimate. */
  exact: boolean;
  signal?: AbortSignal;
  /** Bytes of address range compared so far, of the total. */
  onProgress?: (done: number, total: number) => void;
}

/** A cancelled pass rejects with this. */
export class Cancelled extends ShmError {
  constructor() {
    super('cancelled', 'CANCELLED');
  }
}

/**
 * For each forked child: pages still shared with its parent and pages copied since fork, over
 * their common private anonymous ranges (native, on a worker thread, pagemap streamed in chunks).
 * Sets `inherited` on each child; returns the children measured.
 */
export async function measureInherited(processes: ProcessMemory[], families: Family[], opts: MeasureOptions): Promise<void> {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const kids = families.flatMap((f) => f.members.filter((m) => m !== f.root)).map((m) => byPid.get(m)!);
  if (kids.length === 0) return;
  const pairs = kids.flatMap((k) => [k.pid, k.ppid]);
  const control = new Float64Array(3);
  if (opts.signal?.aborted) throw new Cancelled();
  const onAbort = () => (control[0] = 1);
  opts.signal?.addEventListener('abort', onAbort);
  const timer = opts.onProgress ? setInterval(() => opts.onProgress!(control[1], control[2]), 100) : undefined;
  let cols;
  try {
    cols = await native().compareInherited(pairs, opts.exact, control);
  } catch (e) {
    if (control[0] === 1) throw new Cancelled();
    throw e;
  } finally {
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  opts.onProgress?.(control[2], control[2]);
  kids.forEach((k, i) => {
    const n = cols.nums;
    const inh: Inherited = { parent: k.ppid, sharedBytes: n[i * 6], copiedBytes: n[i * 6 + 1], exact: n[i * 6 + 2] === 1 };
    const err = cols.errors[i];
    if (err !== null) inh.error = err;
    const r = cols.ranges[i];
    const ranges = [];
    for (let j = 0; j + 3 < r.length; j += 4) ranges.push({ start: r[j], end: r[j + 1], sharedBytes: r[j + 2], copiedBytes: r[j + 3] });
    ranges.sort((a, b) => b.copiedBytes - a.copiedBytes || b.sharedBytes - a.sharedBytes);
    inh.ranges = ranges.filter((g) => g.copiedBytes + g.sharedBytes > 0).slice(0, 16);
    k.inherited = inh;
  });
  sumFamilies(families, byPid);
}

let exactChecked: boolean | undefined;
/** Whether this process can read other processes' frame numbers (CAP_SYS_ADMIN): exact counts. */
export function exactAvailable(): boolean {
  if (exactChecked === undefined) {
    try {
      const status = fs.readFileSync('/proc/self/status', 'utf8');
      const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
      exactChecked = m !== null && (BigInt(`0x${m[1]}`) & (1n << 21n)) !== 0n; // CAP_SYS_ADMIN = 21
    } catch {
      exactChecked = false;
    }
  }
  return exactChecked;
}

export interface ReportOptions extends Partial<MeasureOptions> {
  /** Only the fork family of this process (any member), or the process alone when it is in none. */
  family?: number;
}

/** The whole report: processes, families and (for forked children) what they share and copied. */
export async function memoryReport(opts: ReportOptions = {}): Promise<MemoryReport> {
  const scan = await scanProcesses();
  let families = findFamilies(scan);
  let processes = scan.processes;
  if (opts.family !== undefined) {
    const self = processes.find((p) => p.pid === opts.family);
    if (!self) {
      processes = [];
      families = [];
    } else {
      families = families.filter((f) => f.root === self.family);
      const keep = new Set(families.length > 0 ? families[0].members : [self.pid]);
      processes = processes.filter((p) => keep.has(p.pid));
    }
  }
  await measureInherited(processes, families, { exact: opts.exact ?? false, signal: opts.signal, onProgress: opts.onProgress });
  // A child that exited between the scan and the comparison is dropped, as the scan drops those that exit during it.
  const gone = new Set(processes.filter((p) => p.inherited?.error !== undefined && !fs.existsSync(`/proc/${p.pid}`)).map((p) => p.pid));
  if (gone.size > 0) {
    processes = processes.filter((p) => !gone.has(p.pid));
    for (const f of families) f.members = f.members.filter((m) => !gone.has(m));
    families = families.filter((f) => f.members.length > 1);
    for (const p of processes) if (p.family !== null && !families.some((f) => f.root === p.family)) p.family = null;
    sumFamilies(families, new Map(processes.map((p) => [p.pid, p])));
  }
  processes.sort((a, b) => b.pss - a.pss || a.pid - b.pid);
  families.sort((a, b) => b.trueBytes - a.trueBytes || a.root - b.root);
  return {
    processes,
    families,
    uninspectable: scan.uninspectable,
    zombies: scan.zombies,
    exactAvailable: exactAvailable(),
    scannedAtMs: Date.now(),
  };
}
