/**
 * persistSegment: a segment snapshotted to disk (its own format; a raw segment with an
 * interpretation as .npy; raw otherwise, with FILE.json), atomically (temp file beside the
 * target, fsync, rename, directory fsync), with FILE.sha256 computed while copying.
 * Deleted-but-mapped segments are read through a holder's /proc/PID/fd or map_files.
 *
 * restoreSegment: a snapshot loaded back into the segment directory, checked against
 * FILE.sha256, through a temp name and a rename (or a link when it must not overwrite).
 */
import { nodeCrypto } from '../lazy';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_DIR, inspectSegment, listCatalog, resolveName } from '../catalog';
import { parseNumericDType } from '../dtype';
import { fsPath } from '../names';
import type { Segment } from '../types';
import { OperationError, type PersistRequest, type PersistResult, type RestoreRequest, type RestoreResult } from './api';
import {
  arrayBytes, bytesWords, checkAbort, copyRange, createExclusive, errnoOf, errnoText, fsyncDir, isAbort, npyDescr, npyHeader,
  removeIfSame, requireRoom, tempBeside, validateName, writeAll,
} from './util';

/** The segment to persist: with `pid`, a deleted one that this process holds is preferred. */
async function findSegment(dir: string, rel: string, pid: number | undefined): Promise<Segment | null> {
  if (pid !== undefined) {
    const cat = await listCatalog({ dirs: [dir] });
    const del = cat.segments.find((s) => s.deleted && s.name === rel && s.holders.some((h) => h.pid === pid));
    if (del) return del;
  }
  return inspectSegment(rel, { dirs: [dir] });
}

interface Source {
  fh: fs.promises.FileHandle;
  size: number;
  mode: number;
  via: string;
}

async function openLive(seg: Segment): Promise<Source> {
  const c = fs.constants;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(fsPath(seg.path), c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_NOCTTY);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ELOOP') throw new OperationError(`${seg.name}: a symbolic link; not followed`);
    if (code === 'ENOENT') throw new OperationError(`${seg.name}: no such segment`);
    throw new OperationError(`${seg.name}: cannot read it: ${errnoText(e)}`);
  }
  const st = await fh.stat();
  if (!st.isFile() || st.dev !== seg.dev || st.ino !== seg.ino) {
    await fh.close();
    throw new OperationError(`${seg.name}: replaced while it was being read; try again`);
  }
  return { fh, size: st.size, mode: st.mode & 0o777, via: seg.path };
}

/** Opens a deleted segment through /proc/PID/fd/N or /proc/PID/map_files/A-B of one of its holders. */
async function openDeleted(seg: Segment, pid: number | undefined): Promise<Source> {
  const pids = pid !== undefined ? [pid] : seg.holders.map((h) => h.pid);
  if (pid !== undefined && !seg.holders.some((h) => h.pid === pid)) {
    throw new OperationError(`${seg.name}: process ${pid} does not hold this deleted segment (holders: ${seg.holders.map((h) => h.pid).join(', ') || 'none'})`);
  }
  const why: string[] = [];
  for (const p of pids) {
    for (const kind of ['fd', 'map_files']) {
      const d = `/proc/${p}/${kind}`;
      let names: string[];
      try {
        names = await fs.promises.readdir(d);
      } catch (e) {
        why.push(`${d}: ${errnoText(e)}`);
        continue;
      }
      for (const n of names) {
        const link = `${d}/${n}`;
        try {
          const st = await fs.promises.stat(link);
          if (st.dev !== seg.dev || st.ino !== seg.ino || !st.isFile()) continue;
          const fh = await fs.promises.open(link, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
          const fst = await fh.stat();
          if (fst.dev !== seg.dev || fst.ino !== seg.ino) {
            await fh.close();
            continue;
          }
          return { fh, size: fst.size, mode: fst.mode & 0o777, via: link };
        } catch (e) {
          if (errnoOf(e) !== 'ENOENT') why.push(`${link}: ${errnoText(e)}`);
        }
      }
    }
  }
  const detail = why.length > 0 ? ` (${why.slice(0, 3).join('; ')})` : '';
  throw new OperationError(`${seg.name}: deleted, and it cannot be read through ${pids.length > 0 ? `its holders ${pids.join(', ')}` : 'any holder'}${detail}`);
}

interface Interp {
  dtype: string;
  shape: number[];
  offset: number;
  order: 'C' | 'F';
}

function interpretationOf(seg: Segment): Interp | null {
  const i = seg.details?.interpretation as Interp | undefined;
  if (seg.format !== 'raw' || !i || seg.error !== null || seg.dtype === null) return null;
  return i;
}

/** Writes `text` to `file` atomically (temp + fsync + rename). */
async function writeSmallAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = tempBeside(path.dirname(file));
  const { fh, dev, ino } = await createExclusive(tmp, mode);
  try {
    await writeAll(fh, Buffer.from(text, 'utf8'), 0);
    await fh.sync();
    await fh.close();
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await removeIfSame(tmp, dev, ino);
    throw e;
  }
}

/** Snapshots a segment to a file (see PersistRequest). */
export async function persistSegment(req: PersistRequest): Promise<PersistResult> {
  const dir = req.dir ?? DEFAULT_DIR;
  const { rel } = resolveName(dir, req.name);
  if (!req.to) throw new OperationError('a target file is needed');
  const to = path.resolve(req.to);
  const toDir = path.dirname(to);
  const seg = await findSegment(dir, rel, req.pid);
  if (!seg) throw new OperationError(`${rel}: no such segment`);
  if (seg.format === 'directory') throw new OperationError(`${rel}: a folder; persist its entries one by one`);
  if (seg.format === 'symlink') throw new OperationError(`${rel}: a symbolic link (to ${seg.symlinkTarget}); not followed`);
  if (seg.format === 'tensor' || seg.format === 'column') throw new OperationError(`${rel}: part of a container; persist the container`);
  const tst = await fs.promises.lstat(to).catch(() => null);
  if (tst?.isDirectory()) throw new OperationError(`${to}: is a directory; give a file name`);
  if (tst && !seg.deleted && tst.dev === seg.dev && tst.ino === seg.ino) throw new OperationError(`${to}: is the segment itself`);
  checkAbort(req.signal);

  const src = seg.deleted ? await openDeleted(seg, req.pid) : await openLive(seg);
  const interp = interpretationOf(seg);
  let header: Buffer = Buffer.alloc(0);
  let srcOffset = 0;
  let length = src.size;
  let format: string = seg.format;
  if (interp) {
    const dt = parseNumericDType(interp.dtype);
    if (!dt) {
      await src.fh.close();
      throw new OperationError(`${rel}: interpretation dtype ${interp.dtype} is not numeric`);
    }
    header = npyHeader(npyDescr(dt), interp.order === 'F', interp.shape);
    srcOffset = interp.offset;
    length = arrayBytes(interp.shape, dt.itemsize);
    if (srcOffset + length > src.size) {
      await src.fh.close();
      throw new OperationError(`${rel}: the interpretation needs ${srcOffset + length} bytes, the segment has ${src.size}`);
    }
    format = 'npy';
  }
  const total = header.length + length;
  let tmp = '';
  let made: Awaited<ReturnType<typeof createExclusive>> | undefined;
  try {
    await requireRoom(toDir, total, path.basename(to));
    tmp = tempBeside(toDir);
    try {
      made = await createExclusive(tmp, src.mode || 0o600);
    } catch (e) {
      throw new OperationError(`${toDir}: cannot write there: ${errnoText(e)}`);
    }
    const hash = nodeCrypto().createHash('sha256');
    if (header.length > 0) {
      hash.update(header);
      await writeAll(made.fh, header, 0);
    }
    await copyRange(src.fh, srcOffset, length, made.fh, header.length, { signal: req.signal, onProgress: req.onProgress, hash, base: 0, total: length });
    await made.fh.sync();
    await made.fh.close();
    checkAbort(req.signal);
    const sha256 = hash.digest('hex');
    await fs.promises.rename(tmp, to);
    made = undefined;
    const checksumFile = `${to}.sha256`;
    await writeSmallAtomic(checksumFile, `${sha256}  ${path.basename(to)}\n`, 0o644);
    let sidecar: string | null = null;
    if (format === 'raw') {
      sidecar = `${to}.json`;
      const known = {
        writer: 'shm-inspector',
        note: 'raw bytes of a shared-memory segment; no dtype or shape was known',
        name: seg.name,
        path: seg.path,
        size: src.size,
        sha256,
        savedAtMs: Date.now(),
        mtimeMs: seg.mtimeMs,
        uid: seg.uid,
        mode: seg.mode,
        producer: seg.producer,
        deleted: seg.deleted,
        readVia: src.via,
        holders: seg.holders,
        dev: seg.dev,
        ino: seg.ino,
        error: seg.error,
        details: seg.details ?? null,
      };
      await writeSmallAtomic(sidecar, JSON.stringify(known, null, 2) + '\n', 0o644);
    } else {
      // A FILE.json from an earlier raw snapshot under this name would now describe the wrong bytes.
      const old = await fs.promises.readFile(`${to}.json`, 'utf8').catch(() => null);
      if (old !== null && /"writer": "shm-inspector"/.test(old)) await fs.promises.unlink(`${to}.json`).catch(() => undefined);
    }
    await fsyncDir(toDir);
    return { file: to, sha256, bytes: total, format, sidecar, checksumFile };
  } catch (e) {
    if (made) {
      await made.fh.close().catch(() => undefined);
      await removeIfSame(tmp, made.dev, made.ino);
    }
    if (isAbort(e) || e instanceof OperationError) throw e;
    if (errnoOf(e) === 'ENOSPC') throw new OperationError(`${toDir} ran out of room while writing ${path.basename(to)} (${bytesWords(total)}); nothing was left behind`);
    throw new OperationError(`${rel}: persist failed: ${errnoText(e)}`);
  } finally {
    await src.fh.close().catch(() => undefined);
  }
}

/** The checksum in FILE.sha256 (sha256sum's format), or null when there is no such file. */
async function expectedChecksum(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(`${file}.sha256`, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw new OperationError(`${file}.sha256: ${errnoText(e)}`);
  }
  const m = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/m.exec(text);
  if (!m) throw new OperationError(`${file}.sha256 is not in sha256sum's format`);
  return m[1].toLowerCase();
}

/** Loads a snapshot back into the segment directory (see RestoreRequest). */
export async function restoreSegment(req: RestoreRequest): Promise<RestoreResult> {
  const dir = req.dir ?? DEFAULT_DIR;
  const file = path.resolve(req.file);
  const name = req.name ?? path.basename(file);
  const bad = validateName(name);
  if (bad) throw new OperationError(bad);
  const full = path.join(dir, name);
  let src: fs.promises.FileHandle;
  try {
    src = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (e) {
    throw new OperationError(`${file}: ${errnoOf(e) === 'ENOENT' ? 'no such file' : errnoText(e)}`);
  }
  let made: Awaited<ReturnType<typeof createExclusive>> | undefined;
  let tmp = '';
  try {
    const st = await src.stat();
    if (!st.isFile()) throw new OperationError(`${file}: not a regular file`);
    const expected = await expectedChecksum(file);
    const existing = await fs.promises.lstat(full).catch(() => null);
    if (existing?.isDirectory()) throw new OperationError(`${name}: a folder of that name exists in ${dir}; not replaced`);
    if (existing && !req.force) throw new OperationError(`${name}: already exists in ${dir}; pass --force to replace it`);
    await requireRoom(dir, st.size, name);
    checkAbort(req.signal);
    tmp = tempBeside(dir);
    try {
      made = await createExclusive(tmp, st.mode & 0o777 || 0o600);
    } catch (e) {
      throw new OperationError(`${dir}: cannot write there: ${errnoText(e)}`);
    }
    const hash = nodeCrypto().createHash('sha256');
    await copyRange(src, 0, st.size, made.fh, 0, { signal: req.signal, onProgress: req.onProgress, hash });
    await made.fh.close();
    const got = hash.digest('hex');
    if (expected !== null && got !== expected) {
      throw new OperationError(`${file}: checksum mismatch (${path.basename(file)}.sha256 says ${expected}, the file has ${got}); not restored`);
    }
    checkAbort(req.signal);
    if (req.force) {
      await fs.promises.rename(tmp, full);
    } else {
      // link() never replaces: a segment that appeared meanwhile is not overwritten.
      try {
        await fs.promises.link(tmp, full);
      } catch (e) {
        if (errnoOf(e) === 'EEXIST') throw new OperationError(`${name}: already exists in ${dir}; pass --force to replace it`);
        throw e;
      }
      await fs.promises.unlink(tmp).catch(() => undefined);
    }
    made = undefined;
    return { name, path: full, bytes: st.size, verified: expected !== null };
  } catch (e) {
    if (made) {
      await made.fh.close().catch(() => undefined);
      await removeIfSame(tmp, made.dev, made.ino);
    }
    if (isAbort(e) || e instanceof OperationError) throw e;
    if (errnoOf(e) === 'ENOSPC') throw new OperationError(`${dir} ran out of room while restoring ${name}; nothing was left behind`);
    throw new OperationError(`${name}: restore failed: ${errnoText(e)}`);
  } finally {
    await src.close().catch(() => undefined);
  }
}
