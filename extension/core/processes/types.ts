/**
 * The shapes of the process memory report (docs/cli.md, `ps`): per-process memory, fork
 * families and what each forked child still shares with its parent or has copied. The
 * report carries everything a picture of the machine's RAM would need (per-kind PSS).
 */

/** Resident and proportional bytes of one kind of memory. */
export interface MemoryPart {
  rss: number;
  pss: number;
}

/** What a forked child still shares with its parent, and what either side's writes have copied since fork. */
export interface Inherited {
  /** The parent compared with (the child's parent: a grandchild is compared with its own parent). */
  parent: number;
  sharedBytes: number;
  copiedBytes: number;
  /** True when counted from pagemap frame numbers; false for the smaps estimate. */
  exact: boolean;
  /** The common private anonymous ranges with their figures, largest copied first (at most 16). */
  ranges?: InheritedRange[];
  /** Why it could not be measured (a process exited meanwhile); the figures are then 0. */
  error?: string;
}

export interface InheritedRange {
  start: number;
  end: number;
  sharedBytes: number;
  copiedBytes: number;
}

export interface ProcessMemory {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string[];
  uid: number;
  /** When it started, ms since the epoch. */
  startTimeMs: number;
  threads: number;
  rss: number;
  pss: number;
  /** Unique set size: private clean + private dirty. */
  uss: number;
  swap: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  anon: MemoryPart;
  file: MemoryPart;
  shmem: MemoryPart;
  /** The root of its fork family, or null when it is in none. */
  family: number | null;
  /** For a forked child: shared with and copied from its parent. */
  inherited?: Inherited;
}

export interface Family {
  root: number;
  /** The root first, then its forked descendants depth first. */
  members: number[];
  rssSum: number;
  /** Sum of the members' PSS: the RAM the family really uses. */
  trueBytes: number;
  /** Sums over the forked children. */
  sharedBytes: number;
  copiedBytes: number;
  /** True when every child's figures are exact. */
  exact: boolean;
}

export interface MemoryReport {
  processes: ProcessMemory[];
  families: Family[];
  /** Processes whose memory may not be read (counted, never guessed). */
  uninspectable: number;
  /** Zombies (no memory left; not listed). */
  zombies: number;
  /** Whether this process can read frame numbers (exact copied-since-fork). */
  exactAvailable: boolean;
  scannedAtMs: number;
}
