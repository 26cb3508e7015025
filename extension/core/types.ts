/**
 * The segment model shared by the catalog, the CLI (`--json` output) and the UI.
 * Field names follow docs/cli.md ("Segment object") exactly.
 */
import type { ErrorCode } from '../../contract/errors';

export type SegmentFormat =
  'npy' | 'sharedarray' | 'safetensors' | 'arrow' | 'joblib' | 'shareablelist' | 'pickle' | 'semaphore' | 'directory' | 'symlink' | 'raw' | 'tensor' | 'column';

export type Producer = 'python-shared-memory' | 'python-heap' | 'torch' | 'joblib' | 'semaphore' | 'plasma' | null;

export interface Holder {
  pid: number;
  comm: string;
  via: 'map' | 'fd' | 'map+fd';
}

export interface Segment {
  /**
   * The name as docs/cli.md spells it (extension/core/names.ts): printable UTF-8 as is, a byte that
   * is not UTF-8 or not printable `\xHH`, a backslash `\\`; `./` before an entry named like another kind.
   */
  name: string;
  /** The name's bytes in hex, only when `name` is not the plain name (it holds an escape). */
  nameBytes?: string;
  /** Absolute path, spelled like `name` (fsPath in core/names.ts gives what to open). */
  path: string;
  dev: number;
  ino: number;
  size: number;
  allocatedBytes: number;
  mtimeMs: number;
  uid: number;
  mode: number;
  format: SegmentFormat;
  producer: Producer;
  dtype: string | null;
  shape: number[] | null;
  fortranOrder: boolean | null;
  dataOffset: number | null;
  children: Segment[] | null;
  holders: Holder[];
  orphan: boolean | null;
  deleted: boolean;
  /** A symlink's target, spelled like a name (core/names.ts); never followed. */
  symlinkTarget: string | null;
  /** The target's bytes in hex, beside symlinkTarget exactly when its spelling is not the target itself (as nameBytes). */
  symlinkTargetBytes?: string;
  error: string | null;
  /**
   * Beside `error`, its stable code (contract/errors.ts), null exactly when `error` is: EACCES or
   * EPERM (not readable by this user), ENOENT (vanished), FORMAT (a header that is malformed or
   * not as the name says), NOTFILE (a FIFO, socket or device), ENOMEM (too large to attach)...
   * Decisions (icons, what can be read) use it, never the text.
   */
  errorCode: ErrorCode | null;
  /** Extra facts a format knows (safetensors `__metadata__`, Arrow row count...). Not in the contract; optional. */
  details?: Record<string, unknown>;
}

/** What a format decoder learns from the bytes of one file. */
export interface Decoded {
  format: SegmentFormat;
  dtype: string | null;
  shape: number[] | null;
  fortranOrder: boolean | null;
  dataOffset: number | null;
  children?: DecodedChild[];
  error: string | null;
  /** The code of `error` when it is not FORMAT (a read that failed: EACCES, ENOENT, SHRANK...). */
  errorCode?: ErrorCode;
  details?: Record<string, unknown>;
}

/** A part of a container (safetensors tensor, Arrow column). */
export interface DecodedChild {
  name: string;
  format: 'tensor' | 'column';
  dtype: string | null;
  shape: number[] | null;
  fortranOrder: boolean | null;
  dataOffset: number | null;
  /** Bytes the child's data occupies, when known. */
  size: number;
  error: string | null;
  /** As Decoded's. */
  errorCode?: ErrorCode;
  /** Extra facts (an Arrow column's nulls, batches...); `note` says what limits reading it as one array. */
  details?: Record<string, unknown>;
}

/** The bytes a decoder gets: the start of the file, and its end when the file is larger. */
export interface FileBytes {
  /** File size from fstat. */
  size: number;
  /** The first bytes of the file (at most HEAD_BYTES). */
  head: Uint8Array;
  /** The last bytes of the file (at most TAIL_BYTES), when the file is longer than head. */
  tail?: Uint8Array;
  /** Offset of tail[0] in the file. */
  tailOffset?: number;
}

export const HEAD_BYTES = 1024;
export const TAIL_BYTES = 1024;

export interface DirectoryUsage {
  path: string;
  size: number;
  used: number;
  free: number;
}

export interface Catalog {
  directories: DirectoryUsage[];
  shmem: number | null;
  invisibleProcesses: number;
  segments: Segment[];
}

/** Reads `length` bytes at `offset` of the file being decoded (fewer at its end). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;
