/**
 * The management operations' contract, shared by the CLI (cli/manage.ts), the
 * VS Code commands and the tests. Implementations live beside this file
 * (create.ts, persist.ts, remove.ts, attach.ts); index.ts re-exports them.
 * No `vscode` import here or there.
 */
import type { Segment } from '../types';
import { ShmError, type ErrorCode } from '../errors';

/** Progress of a long operation: bytes done of total. */
export type ProgressFn = (done: number, total: number) => void;

export interface LongRunning {
  /** Aborting stops the operation; it then leaves nothing behind and rejects with an AbortError. */
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

export type Fill = 'zeros' | 'random' | 'arange';

export interface CreateRequest extends LongRunning {
  /** Directory (default /dev/shm). */
  dir?: string;
  /** No `/`, no `..`, no NUL, at most 255 bytes. */
  name: string;
  /** What np.dtype() takes for numeric types, plus bfloat16. Optional with `from` (then taken from the file). */
  dtype?: string;
  shape?: number[];
  /** Default zeros. Ignored with `from`. */
  fill?: Fill;
  /** An .npy file on disk whose array is copied in. */
  from?: string;
  /** Default npy (self-describing: np.load(path, mmap_mode='r+') opens it); raw = the bytes only. */
  format?: 'npy' | 'raw';
  /** Permission bits (default 0o600, as Python's SharedMemory). */
  mode?: number;
}

export interface CreateResult {
  name: string;
  path: string;
  /** Logical size of the new segment. */
  size: number;
  dtype: string;
  shape: number[];
  format: 'npy' | 'raw';
  /** Byte offset of the first element (0 for raw). */
  dataOffset: number;
  /** Fortran (column-major) order: only when copied from such an .npy. */
  fortranOrder?: boolean;
  /** The NPY header's descr (bfloat16, which numpy lacks, is written as `|V2`); null for raw. */
  npyDescr?: string | null;
}

export interface PersistRequest extends LongRunning {
  dir?: string;
  /** Segment name (relative to dir); a deleted-but-mapped one is read through a holder. */
  name: string;
  /** Target file; FILE.sha256 (sha256sum format) is written beside it, and FILE.json for raw without interpretation. */
  to: string;
  /** Read a deleted segment through this holder's /proc/PID/fd (or map_files). */
  pid?: number;
  /** Replace an existing FILE (and its FILE.sha256, FILE.json); without it, an ExistsError. */
  force?: boolean;
}

export interface PersistResult {
  file: string;
  sha256: string;
  bytes: number;
  /** Format written: the segment's own, npy for a raw segment with an interpretation, raw otherwise. */
  format: string;
  /** The JSON sidecar, when one was written. */
  sidecar: string | null;
  /** The FILE.sha256 written beside it. */
  checksumFile?: string;
  /**
   * (Issue #15) The kind the snapshot came from when it is not a file of the segment directory
   * (`sysv`, `memfd`, `anonymous`, `container`); `restore` loads every snapshot back as a POSIX
   * segment, a file of the directory. Absent for posix segments.
   */
  fromKind?: string;
}

export interface RestoreRequest extends LongRunning {
  dir?: string;
  file: string;
  /** Default: the file's base name. */
  name?: string;
  /** Replace an existing segment of that name. */
  force?: boolean;
}

export interface RestoreResult {
  name: string;
  path: string;
  bytes: number;
  /** True when FILE.sha256 was present and matched; false when there was none to check. */
  verified: boolean;
}

/**
 * A name as it was listed (a Segment is one): removal goes ahead only while the name still
 * holds this inode; a name given as a plain string means whatever it holds when listed again.
 */
export interface PlannedName {
  name: string;
  dev: number;
  ino: number;
  /** For a folder, the entries planned with it (a Segment's children): only those go; without it, what it holds when listed again. */
  children?: PlannedName[] | null;
}

export interface UnlinkRequest {
  dir?: string;
  names: (string | PlannedName)[];
  /** Unlink even when a process holds the segment (its RAM stays in use until they let go). */
  force?: boolean;
}

export interface UnlinkOutcome {
  name: string;
  /** 'removed', or why not. */
  status: 'removed' | 'held' | 'missing' | 'failed';
  error: string | null;
  /** RAM freed now (0 when holders keep it alive). */
  bytes: number;
  /** RAM that holders keep alive after the unlink. */
  pendingBytes: number;
  holders: Segment['holders'];
}

export interface ClearRequest {
  dir?: string;
  glob?: string;
  orphans?: boolean;
  /** Milliseconds; older = mtime before now - olderThan. */
  olderThanMs?: number;
  /** Explicit names (the tree's selection); combined with the other selectors by AND. */
  names?: (string | PlannedName)[];
  /** Also remove segments that processes hold (and, with `orphans`, those whose holders cannot all be inspected). */
  includeInUse?: boolean;
  /** Plan only (also the default without `yes` in the CLI). */
  dryRun?: boolean;
  /** Aborting stops the removal between batches: the result then says `interrupted` and what was removed. */
  signal?: AbortSignal;
}

/** The contract's clear document (docs/cli.md). */
export interface ClearResult {
  dryRun?: true;
  /** A dry run's plan: what would be removed (only in a dry run). */
  planned?: string[];
  /** Set when the run was stopped (cancelled, SIGINT) before it was done; `removed` is what went before that. */
  interrupted?: true;
  /** What is gone: planned names removed whole; of a folder that was not removed whole, the entries that were. Empty in a dry run. */
  removed: string[];
  skipped: { name: string; reason: string }[];
  failed: { name: string; error: string }[];
  bytes: number;
  pendingBytes: number;
}

export type AttachLanguage = 'python';

export interface AttachSnippet {
  /** What the snippet uses: numpy, SharedMemory, SharedArray, safetensors, pyarrow, joblib. */
  kind: string;
  code: string;
  /** Modules the snippet imports that are not in the standard library. */
  requires: string[];
  /** Other ways to open the same data (e.g. numpy only, when the primary needs SharedArray or safetensors). */
  alternatives?: AttachSnippet[];
}

/**
 * Errors the operations throw on purpose: the message is the one-line reason for the user; the
 * code says what kind of failure it is (FAILED when nothing more specific fits).
 */
export class OperationError extends ShmError {
  constructor(message: string, code: ErrorCode = 'FAILED', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/** The target is taken and `force` was not given (code EXISTS): `existing` lists the paths that would be replaced. */
export class ExistsError extends OperationError {
  constructor(
    message: string,
    readonly existing: string[],
  ) {
    super(message, 'EXISTS');
  }
}

/**
 * Runs `run(false)`; when its target exists (an ExistsError, code EXISTS), asks `confirm` and runs
 * `run(true)` if it agrees (undefined if not). Any other error goes to the caller as it is, also
 * one that speaks of something existing (a folder of that name: EISDIR).
 */
export async function replacingIfConfirmed<T>(run: (force: boolean) => PromiseLike<T>, confirm: (e: ExistsError) => Promise<boolean>): Promise<T | undefined> {
  try {
    return await run(false);
  } catch (e) {
    if (!(e instanceof ExistsError) || e.code !== 'EXISTS') throw e;
    return (await confirm(e)) ? run(true) : undefined;
  }
}

/** `90s`, `15m`, `2h`, `7d` → milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
