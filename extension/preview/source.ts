/**
 * Where the viewer's array comes from: a segment of the catalog (re-inspected
 * on Reopen, since it may have been recreated or truncated), a System V segment
 * (attached read-only, core/sysv-view.ts) or a file on disk opened in the custom
 * editor (decoded with the catalog's format decoders).
 */
import * as fs from 'fs';
import * as path from 'path';
import { arrayLayoutOf, type ArrayFacts, type ArrayLayout } from '../core/array';
import { dtypeWords, parseNumericDType } from '../core/dtype';
import { decodeFile } from '../core/formats';
import { fsPath } from '../core/names';
import { HEAD_BYTES, TAIL_BYTES, type Decoded, type Segment } from '../core/types';
import { errnoOf, openRegular } from '../core/fsutil';
import type { FileIdentity, MappedView } from '../native';
import { openSysvSegmentView, sysvOf } from '../core/sysv-view';
import type { SysvSegment } from '../core/sysv';
import type { SegmentSummary, TensorSummary } from '../../contract/protocol';

export interface LoadedSource {
  summary: SegmentSummary;
  layout: ArrayLayout;
  /** The file to map (a segment's spelled path: core/names.ts). */
  path: string;
  /** What to open when `path` is a spelled name that is not itself the bytes (fsPath of it). */
  file?: string | Buffer;
  /** The file the layout was decoded from: the view maps that one or none (openView's `expect`). */
  identity: FileIdentity;
  /** A System V segment: attached by this (read-only, checked to be the listed one) instead of mapping `path`. */
  open?: () => Promise<MappedView>;
  /** The System V segment attached (for the notice once it is removed while shown). */
  sysv?: SysvSegment;
}

export interface ArraySource {
  readonly kind: 'segment' | 'file';
  /** Name for titles and messages. */
  readonly name: string;
  readonly path: string;
  /** Finds the array now (tensor: for containers, which one). Throws an Error saying why it cannot be shown. */
  load(tensor: string | null): Promise<LoadedSource>;
}

import { NotAnArrayError } from '../core/errors';
export { NotAnArrayError };

function summary(
  kind: 'segment' | 'file',
  name: string,
  file: string,
  size: number,
  layout: ArrayLayout,
  extra: { tensors?: TensorSummary[]; tensor?: string; note?: string } = {},
): SegmentSummary {
  const numeric = parseNumericDType(layout.dtype);
  const shape = layout.shape;
  return {
    name,
    path: file,
    kind,
    dtype: layout.dtype,
    dtypeWords: dtypeWords(layout.dtype),
    shape,
    fortranOrder: layout.fortranOrder,
    complex: numeric?.complex ?? false,
    size,
    rows: shape.length >= 2 ? shape[shape.length - 2] : 1,
    cols: shape.length >= 1 ? shape[shape.length - 1] : 1,
    ...extra,
  };
}

function layoutOf(what: string, d: ArrayFacts): ArrayLayout {
  const r = arrayLayoutOf(d);
  if ('reason' in r) throw new NotAnArrayError(`${what}: ${r.reason}`);
  return r.layout;
}

/** A catalog segment; `reinspect` looks it up again by name (Reopen, window reload). */
export class SegmentSource implements ArraySource {
  readonly kind = 'segment';
  private current: Segment | null;

  constructor(
    segment: Segment | null,
    readonly name: string,
    readonly path: string,
    private readonly reinspect: (name: string) => Promise<Segment | null>,
  ) {
    this.current = segment;
  }

  async load(): Promise<LoadedSource> {
    let s = this.current;
    this.current = null; // the next load (a Reopen) looks again
    if (!s) {
      s = await this.reinspect(this.name);
      if (!s)
        throw Object.assign(
          new Error(`${this.name} no longer exists (${this.name.startsWith('sysv:') ? 'the System V segment was removed' : 'it was unlinked or renamed'})`),
          { code: 'ENOENT' },
        );
    }
    const layout = layoutOf(s.name, s);
    const note = typeof s.details?.note === 'string' ? s.details.note : undefined;
    const seg = sysvOf(s);
    if (seg) {
      // No file: `path` is its name, the view its attachment (dev 0, inode the shmid).
      return {
        summary: summary('segment', seg.name, seg.name, seg.size, layout, note ? { note } : {}),
        layout,
        path: seg.name,
        identity: { dev: 0, ino: seg.sysv.shmid },
        open: () => openSysvSegmentView(seg),
        sysv: seg,
      };
    }
    return {
      summary: summary('segment', s.name, s.path, s.size, layout, note ? { note } : {}),
      layout,
      path: s.path,
      file: fsPath(s.path),
      identity: { dev: s.dev, ino: s.ino },
    };
  }
}

async function readRange(fh: fs.promises.FileHandle, offset: number, length: number, size: number): Promise<Uint8Array> {
  const n = Math.max(0, Math.min(length, size - offset));
  const buf = Buffer.alloc(n);
  const { bytesRead } = n > 0 ? await fh.read(buf, 0, n, offset) : { bytesRead: 0 };
  return buf.subarray(0, bytesRead);
}

/** Decodes a file's header with the catalog's decoders (reads only the header, never the data). */
export async function decodeOnDisk(file: string): Promise<{ decoded: Decoded; size: number; identity: FileIdentity }> {
  // Never blocks (a FIFO), follows the editor's path, refuses what is not a regular file.
  const { fh, st } = await openRegular(file, { follow: true }).catch((e: unknown) => {
    throw errnoOf(e) === undefined && e instanceof Error ? new NotAnArrayError(e.message) : e;
  });
  try {
    const size = st.size;
    const head = await readRange(fh, 0, HEAD_BYTES, size);
    const bytes: { size: number; head: Uint8Array; tail?: Uint8Array; tailOffset?: number } = { size, head };
    if (size > head.length) {
      const off = Math.max(0, size - TAIL_BYTES);
      bytes.tail = await readRange(fh, off, TAIL_BYTES, size);
      bytes.tailOffset = off;
    }
    const decoded = await decodeFile(path.basename(file), bytes, (o, l) => readRange(fh, o, l, size));
    return { decoded, size, identity: { dev: st.dev, ino: st.ino } };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** An .npy or .safetensors file opened in the editor. */
export class FileSource implements ArraySource {
  readonly kind = 'file';
  readonly name: string;

  constructor(readonly path: string) {
    this.name = path.split('/').pop() ?? path;
  }

  async load(tensor: string | null): Promise<LoadedSource> {
    const { decoded, size, identity } = await decodeOnDisk(this.path);
    if (decoded.children && decoded.children.length > 0) {
      const tensors: TensorSummary[] = decoded.children.map((c) => ({
        name: c.name,
        dtype: c.dtype,
        shape: c.shape,
        error: c.error ?? (c.dtype && parseNumericDType(c.dtype) ? null : `dtype ${c.dtype ?? '?'} is not numeric`),
      }));
      const pick =
        decoded.children.find((c) => c.name === tensor) ??
        decoded.children.find((c) => c.error === null && c.dtype !== null && parseNumericDType(c.dtype) !== null && (c.shape?.length ?? 0) >= 2) ??
        decoded.children.find((c) => c.error === null && c.dtype !== null && parseNumericDType(c.dtype) !== null) ??
        decoded.children[0];
      const layout = layoutOf(`tensor '${pick.name}'`, pick);
      return { summary: summary('file', this.name, this.path, size, layout, { tensors, tensor: pick.name }), layout, path: this.path, identity };
    }
    if (decoded.format === 'raw' && !decoded.error) {
      throw new NotAnArrayError(`${this.name} is neither an NPY nor a safetensors file (no header the viewer knows)`);
    }
    const layout = layoutOf(this.name, decoded);
    return { summary: summary('file', this.name, this.path, size, layout), layout, path: this.path, identity };
  }
}
