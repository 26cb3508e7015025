/**
 * persistSegment: a segment snapshotted to disk (its own format; a raw segment with an
 * interpretation as .npy; raw otherwise, with FILE.json), with FILE.sha256 computed while
 * copying. Every part is written completely under a `.shmi-*.tmp` name first (fsync'ed),
 * then renamed into place; an existing FILE is replaced only with `force`.
 * Deleted-but-mapped segments are read through a holder's /proc/PID/fd or map_files.
 *
 * restoreSegment: a snapshot loaded back into the segment directory, checked against
 * FILE.sha256 (read as `sha256sum -c` does) and our FILE.json, through a temp name and a
 * rename (or a link when it must not overwrite). Files are opened without blocking and
 * must be regular (no FIFO, device or /proc file).
 */
import { nodeCrypto } from '../lazy';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_DIR, inspectSegment, listCatalog, resolveName } from '../catalog';
import { parseNumericDType } from '../dtype';
import { escapeText, fsPath, fsPathIn, respell } from '../names';
import { isPart } from '../segments';
import type { Segment } from '../types';
import { inspectMemSegment, parseMemName } from '../kinds/memfd';
import { containerReadPath, inspectContainerSegment, parseContainerName } from '../kinds/containers';
import { ExistsError, OperationError, type PersistRequest, type PersistResult, type RestoreRequest, type RestoreResult } from './api';
import {
  arrayBytes,
  bytesWords,
  type ByteSource,
  checkAbort,
  copyRange,
  createExclusive,
  errnoOf,
  errnoText,
  fsyncDir,
  isAbort,
  npyDescr,
  npyHeader,
  openRegular,
  placeNoReplace,
  readSmallRegular,
  removeIfSame,
  requireRoom,
  sweepStaleTemps,
  tempBeside,
  validateName,
  writeAll,
} from './util';
import { errorCode } from '../errors';
import { inspectSysv, ownIpcNamespace, parseSysvName, sameSysvSegment, type SysvSegment } from '../sysv';
import { inspectForeignSysv, openForeignSysvView, parseForeignSysvName, type ForeignSysvSegment } from '../kinds/ipcns';
import { openSysvView } from '../../native';

/** `sysv:ID` or `sysv:NS/ID`: the segment as listed now (decoded), or null when NAME is not a System V name. */
async function findSysv(name: string): Promise<SysvSegment | null | undefined> {
  const own = await ownIpcNamespace();
  const foreign = parseForeignSysvName(name, own);
  if (foreign) return inspectForeignSysv(foreign.ns, foreign.shmid).catch((e: unknown) => Promise.reject(new OperationError((e as Error).message, errorCode(e))));
  const id = parseSysvName(name, own);
  return id === null ? undefined : inspectSysv(id);
}

/**
 * A System V segment attached read-only (a thread inside its namespace for another one's), checked
 * after the attach to still be the segment that was listed (key, creation time, creator): a shmid
 * that names a new segment since is refused, never copied. Reads go through the attach; close detaches.
 */
async function openSysv(seg: SysvSegment): Promise<Source> {
  const foreign = (seg as Partial<ForeignSysvSegment>).namespace ? (seg as ForeignSysvSegment) : null;
  let view: Awaited<ReturnType<typeof openSysvView>>;
  try {
    view = foreign ? await openForeignSysvView(foreign) : await openSysvView(seg.sysv.shmid);
  } catch (e) {
    if (errorCode(e) === 'EINVAL') throw new OperationError(`${seg.name}: no such System V segment (removed meanwhile)`, 'ENOENT');
    throw new OperationError(`${seg.name}: cannot attach it: ${(e as Error).message.replace(`${seg.name}: `, '')}`, errorCode(e));
  }
  const now = foreign
    ? await inspectForeignSysv(foreign.namespace.id, seg.sysv.shmid, { decode: false }).catch(() => null)
    : await inspectSysv(seg.sysv.shmid, { decode: false, holders: false });
  if (!now || !sameSysvSegment(now.sysv, seg.sysv)) {
    view.close();
    throw new OperationError(`${seg.name}: replaced by another segment while it was being read; try again`);
  }
  const fh: ByteSource = {
    async read(buf, offset, length, position) {
      const n = Math.max(0, Math.min(length, view.size - position));
      if (n === 0) return { bytesRead: 0 };
      const got = await view.read(position, n);
      buf.set(got, offset);
      return { bytesRead: got.length };
    },
    close: async () => view.close(),
  };
  return { fh, size: view.size, mode: seg.mode, via: `shmat(${seg.sysv.shmid}, SHM_RDONLY)${foreign ? ` in IPC namespace ${foreign.namespace.id}` : ''}` };
}

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
  fh: ByteSource;
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
    if (code === 'ELOOP') throw new OperationError(`${seg.name}: a symbolic link; not followed`, 'ELOOP');
    if (code === 'ENOENT') throw new OperationError(`${seg.name}: no such segment`, 'ENOENT');
    throw new OperationError(`${seg.name}: cannot read it: ${errnoText(e)}`, errorCode(e));
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
  throw new OperationError(
    `${seg.name}: ${seg.deleted ? 'deleted, and it' : 'it'} cannot be read through ${pids.length > 0 ? `its holders ${pids.join(', ')}` : 'any holder'}${detail}`,
  );
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

/** A part of a snapshot written completely under a temporary name, waiting for its final one. */
interface Staged {
  tmp: string;
  final: string;
  dev: number;
  ino: number;
}

/** Writes `text` completely under a temp name in `dir` (fsync'ed, closed), to become `final`. */
async function stageText(dir: string, final: string, text: string, mode: number): Promise<Staged> {
  const tmp = tempBeside(dir);
  const { fh, dev, ino } = await createExclusive(tmp, mode);
  try {
    await writeAll(fh, Buffer.from(text, 'utf8'), 0);
    await fh.sync();
    await fh.close();
    return { tmp, final, dev, ino };
  } catch (e) {
    await fh.close().catch(() => undefined);
    await removeIfSame(tmp, dev, ino);
    throw e;
  }
}

/** Checksums and sidecars are small; anything bigger is not one. */
const SMALL_FILE_MAX = 16 << 20;

/** A file name as sha256sum writes it: `\` and newlines escaped, the line then starting with `\`. */
export function checksumLine(sha256: string, name: string): string {
  if (!/[\\\n\r]/.test(name)) return `${sha256}  ${name}\n`;
  const esc = name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `\\${sha256}  ${esc}\n`;
}

/**
 * The hashes that a checksum file gives for `file`, read as `sha256sum -c` reads it: every
 * line `HASH  NAME`, `HASH *NAME` or `SHA256 (NAME) = HASH` (a leading `\` unescapes NAME)
 * whose NAME, relative to the checksum file's folder, is `file`. Other lines are skipped.
 */
export function checksumsFor(text: string, file: string): { hashes: string[]; wellFormed: number } {
  const hashes: string[] = [];
  let wellFormed = 0;
  const dir = path.dirname(file);
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const escaped = line.startsWith('\\');
    const body = escaped ? line.slice(1) : line;
    const gnu = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(body);
    const bsd = gnu ? null : /^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/.exec(body);
    if (!gnu && !bsd) continue;
    wellFormed++;
    const [hash, nameText] = gnu ? [gnu[1], gnu[2]] : [bsd![2], bsd![1]];
    const name = escaped ? nameText.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch)) : nameText;
    if (name === path.basename(file) || path.resolve(dir, name) === file) hashes.push(hash.toLowerCase());
  }
  return { hashes, wellFormed };
}

/** Names a final path cannot have (checked before anything is written): too long, a folder. */
async function finalNameProblem(p: string): Promise<{ exists: boolean }> {
  try {
    const st = await fs.promises.lstat(p);
    if (st.isDirectory()) throw new OperationError(`${p}: is a directory; give a file name`);
    return { exists: true };
  } catch (e) {
    if (e instanceof OperationError) throw e;
    const code = errnoOf(e);
    if (code === 'ENOENT') return { exists: false };
    if (code === 'ENAMETOOLONG') {
      throw new OperationError(`${path.basename(p)}: a file name of ${Buffer.byteLength(path.basename(p))} bytes; at most 255 (FILE.sha256 needs 7 more than FILE)`);
    }
    throw new OperationError(`${p}: ${errnoText(e)}`, errorCode(e));
  }
}

/** `a`, `a and b`, `a, b and c`. */
function wordList(words: string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/**
 * Whether a FILE.json was written by shm-inspector (then it describes FILE, and goes or is
 * replaced with it). `strict` (restore): a FILE.json that cannot be read (a FIFO, a device,
 * unreadable, too large) is an error, as for FILE.sha256, never skipped; else it is not ours.
 */
async function ourSidecar(file: string, strict = false): Promise<{ sha256: string | null } | null> {
  const text = await readSmallRegular(file, SMALL_FILE_MAX).catch((e: unknown) => {
    if (strict) throw e instanceof OperationError ? new OperationError(`${e.message}; not restored`, e.code) : e;
    return null;
  });
  if (text === null || !/"writer": "shm-inspector"/.test(text)) return null;
  try {
    const j = JSON.parse(text) as { writer?: unknown; sha256?: unknown };
    if (j.writer !== 'shm-inspector') return null;
    return { sha256: typeof j.sha256 === 'string' ? j.sha256.toLowerCase() : null };
  } catch {
    return { sha256: null };
  }
}

/**
 * Snapshots a segment to a file (see PersistRequest). Every part (FILE, FILE.sha256, FILE.json)
 * is written completely under a temporary name first; any error or a cancel removes them and
 * leaves the old snapshot untouched. Only then are they renamed into place: FILE.json, then
 * FILE.sha256, then FILE, so that a kill between two renames leaves parts that do not match
 * each other, which restore refuses.
 */
export async function persistSegment(req: PersistRequest): Promise<PersistResult> {
  const dir = req.dir ?? DEFAULT_DIR;
  // memfd:INO and anon:INO have no name in D: they are read through a holder, as a deleted segment is.
  const held = parseMemName(req.name) !== null;
  // ns:NS/NAME: a file of another mount namespace, opened through /proc/PID/root as the listed inode only.
  const inNs = !held && parseContainerName(req.name) !== null;
  // sysv:ID, sysv:NS/ID: attached read-only; the snapshot is a file like any other (restore makes a POSIX segment of it).
  const sysv = held || inNs ? undefined : await findSysv(req.name);
  const rel = held || inNs || sysv !== undefined ? req.name : resolveName(dir, req.name).rel;
  if (!req.to) throw new OperationError('a target file is needed');
  const to = path.resolve(req.to);
  const toDir = path.dirname(to);
  if (sysv === null) throw new OperationError(`${rel}: no such System V segment`, 'ENOENT');
  const seg = sysv
    ? ({ ...sysv, path: sysv.name } as unknown as Segment)
    : held
      ? ((await inspectMemSegment(req.name)) as unknown as Segment | null)
      : inNs
        ? await inspectContainerSegment(req.name, { dir }).then((c) => (c ? { ...c, path: containerReadPath(c) } : null))
        : await findSegment(dir, rel, req.pid);
  if (!seg) throw new OperationError(`${rel}: no such segment`, 'ENOENT');
  if (seg.format === 'directory') throw new OperationError(`${rel}: a folder; persist its entries one by one`);
  if (seg.format === 'symlink') throw new OperationError(`${rel}: a symbolic link (to ${seg.symlinkTarget}); not followed`);
  if (isPart(seg)) throw new OperationError(`${rel}: part of a container; persist the container`);
  const tst = await fs.promises.lstat(to).catch(() => null);
  if (tst && !sysv && !seg.deleted && tst.dev === seg.dev && tst.ino === seg.ino) throw new OperationError(`${to}: is the segment itself`);
  const checksumFile = `${to}.sha256`;
  const sidecarFile = `${to}.json`;
  const taken: string[] = [];
  for (const p of [to, checksumFile]) if ((await finalNameProblem(p)).exists) taken.push(p);
  const sidecarExists = (await finalNameProblem(sidecarFile)).exists;
  const oldSidecar = sidecarExists ? await ourSidecar(sidecarFile) : null;
  checkAbort(req.signal);

  const src = sysv ? await openSysv(sysv) : seg.deleted || held ? await openDeleted(seg, req.pid) : await openLive(seg);
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
  const raw = format === 'raw';
  if (raw ? sidecarExists : oldSidecar) taken.push(sidecarFile);
  if (taken.length > 0 && !req.force) {
    await src.fh.close();
    const words = taken.length === 1 ? `${taken[0]} already exists` : `${taken.join(', ')} already exist`;
    throw new ExistsError(`${words}; pass --force to replace ${taken.length === 1 ? 'it' : 'them'}`, taken);
  }
  const total = header.length + length;
  const staged: Staged[] = [];
  let placed = 0;
  try {
    await sweepStaleTemps(toDir);
    await requireRoom(toDir, total, path.basename(to));
    const tmp = tempBeside(toDir);
    let made: Awaited<ReturnType<typeof createExclusive>>;
    try {
      made = await createExclusive(tmp, src.mode || 0o600);
    } catch (e) {
      throw new OperationError(`${toDir}: cannot write there: ${errnoText(e)}`, errorCode(e));
    }
    staged.push({ tmp, final: to, dev: made.dev, ino: made.ino });
    const hash = nodeCrypto().createHash('sha256');
    try {
      if (header.length > 0) {
        hash.update(header);
        await writeAll(made.fh, header, 0);
      }
      await copyRange(src.fh, srcOffset, length, made.fh, header.length, { signal: req.signal, onProgress: req.onProgress, hash, base: 0, total: length });
      await made.fh.sync();
    } finally {
      await made.fh.close().catch(() => undefined);
    }
    const sha256 = hash.digest('hex');
    staged.unshift(await stageText(toDir, checksumFile, checksumLine(sha256, path.basename(to)), 0o644));
    let sidecar: string | null = null;
    if (raw) {
      sidecar = sidecarFile;
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
      staged.unshift(await stageText(toDir, sidecarFile, JSON.stringify(known, null, 2) + '\n', 0o644));
    }
    checkAbort(req.signal);
    // Everything is written: from here on, only renames, then the removal of our stale FILE.json:
    // one from an earlier raw snapshot under this name would now describe the wrong bytes. It goes
    // after the renames, so a failure before them leaves every old file as it was (and a kill
    // between leaves a FILE.json whose sha256 does not match FILE, which restore refuses).
    // Without force, each part takes a name that must still be free (link, EEXIST when taken):
    // a file that appeared there after the check above is never replaced.
    for (const s of staged) {
      if (req.force) await fs.promises.rename(s.tmp, s.final);
      else if (!(await placeNoReplace(s.tmp, s.final))) {
        throw new ExistsError(`${s.final} appeared while the snapshot was written; not replaced (pass --force to replace it)`, [s.final]);
      }
      placed++;
    }
    if (!raw && oldSidecar) await fs.promises.unlink(sidecarFile).catch((e) => (errnoOf(e) === 'ENOENT' ? undefined : Promise.reject(e)));
    await fsyncDir(toDir);
    const fromKind = (seg as { kind?: string }).kind;
    return { file: to, sha256, bytes: total, format, sidecar, checksumFile, ...(fromKind ? { fromKind } : {}) };
  } catch (e) {
    for (const s of staged.slice(placed)) await removeIfSame(s.tmp, s.dev, s.ino);
    if (placed > 0 && !req.force) {
      // Without force the names placed so far were free: taking them back restores how it was.
      for (const s of staged.slice(0, placed)) await removeIfSame(s.final, s.dev, s.ino);
      if (e instanceof ExistsError) throw new ExistsError(`${e.message}; nothing was left behind`, e.existing);
      if (e instanceof OperationError) throw new OperationError(`${e.message}; nothing was left behind`, e.code);
      throw new OperationError(`${rel}: persist failed: ${errnoText(e)}; nothing was left behind`, errorCode(e));
    }
    if (placed > 0) {
      const done = staged
        .slice(0, placed)
        .map((s) => path.basename(s.final))
        .join(' and ');
      throw new OperationError(
        `${rel}: persist failed after ${done} had been replaced (${errnoText(e)}): the files at ${to} no longer belong together, and restore refuses them; persist again`,
      );
    }
    if (isAbort(e)) throw e;
    // True in every path that gets here: no rename happened, every temp is removed, and each
    // old file (whichever existed) is as it was.
    const old = taken.map((p) => path.basename(p));
    const kept = old.length > 0 ? `; ${wordList(old)} ${old.length === 1 ? 'is' : 'are'} untouched` : '; nothing was left behind';
    if (errnoOf(e) === 'ENOSPC') throw new OperationError(`${toDir} ran out of room while writing ${path.basename(to)} (${bytesWords(total)})${kept}`, 'ENOSPC');
    if (e instanceof OperationError) throw e;
    throw new OperationError(`${rel}: persist failed: ${errnoText(e)}${kept}`, errorCode(e));
  } finally {
    await src.fh.close().catch(() => undefined);
  }
}

/** What `restore` makes of a snapshot of another kind: a POSIX segment, never the kind it came from. */
export function restoresAsWords(kind: string): string {
  const what =
    kind === 'sysv' ? 'a System V segment' : kind === 'memfd' ? 'a memfd region' : kind === 'anonymous' ? 'shared anonymous memory' : "a container's segment";
  return `restore loads it back as a POSIX segment (a file of the segment directory), not as ${what}`;
}

/** The checksum that FILE.sha256 gives for FILE, or null when there is no FILE.sha256. */
async function expectedChecksum(file: string): Promise<string[] | null> {
  const sumFile = `${file}.sha256`;
  const text = await readSmallRegular(sumFile, SMALL_FILE_MAX);
  if (text === null) return null;
  const { hashes, wellFormed } = checksumsFor(text, file);
  if (wellFormed === 0) throw new OperationError(`${sumFile} is not in sha256sum's format`);
  if (hashes.length === 0) throw new OperationError(`${sumFile} has no line for ${path.basename(file)} (it checks other files); not restored`);
  return hashes;
}

/**
 * Loads a snapshot back into the segment directory (see RestoreRequest). Every file is opened
 * without blocking and must be regular (openRegular). FILE must match every line of FILE.sha256
 * for its name, and the sha256 in a FILE.json that shm-inspector wrote: parts of two different
 * snapshots (a persist killed between its renames) are refused. The copy goes to a `.shmi-*.tmp`
 * name that is removed on every path, then takes the segment's name (never replacing one
 * unless `force`).
 */
export async function restoreSegment(req: RestoreRequest): Promise<RestoreResult> {
  const dir = req.dir ?? DEFAULT_DIR;
  const file = path.resolve(req.file);
  // The name is a spelling (core/names.ts); FILE's base name is a literal name, spelled here.
  const name = req.name !== undefined ? respell(req.name) : escapeText(path.basename(file));
  const bad = validateName(name);
  if (bad) throw new OperationError(bad);
  const full = fsPathIn(dir, name);
  const shownPath = path.join(dir, name);
  const { fh: src, st } = await openRegular(file, { follow: true });
  let made: Awaited<ReturnType<typeof createExclusive>> | undefined;
  let tmp = '';
  try {
    const expected = await expectedChecksum(file);
    const sidecar = await ourSidecar(`${file}.json`, true);
    const existing = await fs.promises.lstat(full).catch(() => null);
    if (existing?.isDirectory()) throw new OperationError(`${name}: a folder of that name exists in ${dir}; not replaced`, 'EISDIR');
    if (existing && !req.force) throw new ExistsError(`${name}: already exists in ${dir}; pass --force to replace it`, [shownPath]);
    await sweepStaleTemps(dir);
    await requireRoom(dir, st.size, name);
    checkAbort(req.signal);
    tmp = tempBeside(dir);
    try {
      made = await createExclusive(tmp, st.mode & 0o777 || 0o600);
    } catch (e) {
      throw new OperationError(`${dir}: cannot write there: ${errnoText(e)}`, errorCode(e));
    }
    const hash = nodeCrypto().createHash('sha256');
    await copyRange(src, 0, st.size, made.fh, 0, { signal: req.signal, onProgress: req.onProgress, hash });
    await made.fh.close();
    // More bytes than its size said: a file that grows while read (or lies about its size) is no snapshot.
    if ((await src.read(Buffer.alloc(1), 0, 1, st.size)).bytesRead > 0) throw new OperationError(`${file}: it grew while it was read; not restored`);
    const got = hash.digest('hex');
    const wrong = expected?.find((h) => h !== got);
    if (wrong !== undefined) {
      throw new OperationError(`${file}: checksum mismatch (${path.basename(file)}.sha256 says ${wrong}, the file has ${got}); not restored`);
    }
    if (sidecar?.sha256 && sidecar.sha256 !== got) {
      throw new OperationError(
        `${file}: ${path.basename(file)}.json describes other bytes (sha256 ${sidecar.sha256}, the file has ${got}): they are not from the same snapshot; not restored`,
      );
    }
    checkAbort(req.signal);
    // Replace only what was checked: the entry the name held then (`existing`, which the caller's
    // force was about), never a file that took the name since; a name that was free must still be.
    const now = existing ? await fs.promises.lstat(full).catch(() => null) : null;
    if (req.force && existing && now && !(now.dev === existing.dev && now.ino === existing.ino)) {
      throw new OperationError(
        `${name}: another file took its place in ${dir} while the snapshot was restored; not replaced (restore again to replace what is there now)`,
        'CHANGED',
      );
    }
    if (req.force && existing && now) {
      await fs.promises.rename(tmp, full);
    } else if (!(await placeNoReplace(tmp, full))) {
      // A segment of that name appeared meanwhile: not overwritten.
      throw new ExistsError(`${name}: already exists in ${dir}; pass --force to replace it`, [shownPath]);
    }
    made = undefined;
    return { name, path: shownPath, bytes: st.size, verified: expected !== null };
  } catch (e) {
    if (made) {
      await made.fh.close().catch(() => undefined);
      await removeIfSame(tmp, made.dev, made.ino);
    }
    if (isAbort(e) || e instanceof OperationError) throw e;
    if (errnoOf(e) === 'ENOSPC') throw new OperationError(`${dir} ran out of room while restoring ${name}; nothing was left behind`, 'ENOSPC');
    throw new OperationError(`${name}: restore failed: ${errnoText(e)}; nothing was left behind`, errorCode(e));
  } finally {
    await src.close().catch(() => undefined);
  }
}
