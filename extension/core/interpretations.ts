/**
 * User-given interpretations of raw segments (dtype, shape, offset, order), shared by
 * the CLI and the extension through ONE JSON file:
 *   $SHM_INSPECTOR_CONFIG_DIR/interpretations.json            (tests, or to relocate it)
 *   else $XDG_CONFIG_HOME/shm-inspector/interpretations.json
 *   else ~/.config/shm-inspector/interpretations.json
 *
 * Which segment an interpretation belongs to: the key is
 *   dev : ino : birth : name
 * - dev + ino say which file it is *now*, but tmpfs hands freed inode numbers to new
 *   files (a fresh /dev/shm often reuses 2-digit inode numbers), so they alone would let
 *   a new segment inherit an old one's interpretation;
 * - birth is the file's creation time in nanoseconds (statx btime, which tmpfs has
 *   reported since Linux 5.x). A new file gets a new birth time even when it reuses both
 *   the name and the inode number. Where the file system has no btime, the change time
 *   (ctime) stands in: it also moves on write()/truncate/chmod/rename, so there an
 *   interpretation can be *forgotten* after such a change, but never *inherited*;
 *   mtime would be worse (any write()) and says nothing more.
 * - name (relative to its directory) makes a renamed or re-linked file a different
 *   segment: the user named what they interpreted. A deleted-but-mapped segment keeps
 *   its identity (same dev, ino, birth and the name it had), so it keeps its interpretation.
 *
 * Writes are atomic (temp file + rename, so a reader never sees half a file) and
 * serialised between processes with a lock file (create-exclusive, stale after 10 s),
 * so the CLI and the extension writing at once lose nothing.
 */
import { nodeCrypto } from './lazy';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseDTypeSpec, parseNumericDType } from './dtype';
import type { Segment } from './types';
import { readSmallRegular } from './fsutil';
import { fsPath } from './names';
import { ShmError, type ErrorCode } from './errors';

/** The interpretations file is small; one beyond this is not ours. */
const MAX_FILE_BYTES = 64 << 20;

export interface Interpretation {
  /** numpy array-interface string as stored (`<f4`, `|u1`, `bfloat16`); any spelling np.dtype() takes is accepted on set. */
  dtype: string;
  shape: number[];
  /** Byte offset of the first element. */
  offset: number;
  order: 'C' | 'F';
}

export interface SegmentIdentity {
  dev: number;
  ino: number;
  /** `b<ns>` (birth time) or `c<ns>` (change time, where the file system has no birth time). */
  birth: string;
  /** Path relative to its directory, as listed (`psm_1a2b`, `folder/x.bin`). */
  name: string;
}

export interface StoredInterpretation extends Interpretation, SegmentIdentity {
  setAtMs: number;
}

export interface InterpretationFile {
  version: 1;
  entries: Record<string, StoredInterpretation>;
}

/** A layout that is malformed or does not fit (FORMAT), or a segment that cannot take one (its code says why). */
export class InterpretationError extends ShmError {
  constructor(message: string, code: ErrorCode = 'FORMAT', options?: ErrorOptions) {
    super(message, code, options);
  }
}

export const INTERPRETATIONS_FILE = 'interpretations.json';
/** Most entries kept; the oldest set go first (segments are short-lived, the file must not grow forever). */
export const MAX_ENTRIES = 1000;
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

/** The directory holding interpretations.json. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SHM_INSPECTOR_CONFIG_DIR) return path.resolve(env.SHM_INSPECTOR_CONFIG_DIR);
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'shm-inspector');
}

export function interpretationsPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), INTERPRETATIONS_FILE);
}

/** The birth token of a stat taken with `{ bigint: true }`. */
export function birthOf(st: fs.BigIntStats): string {
  return st.birthtimeNs > 0n ? `b${st.birthtimeNs}` : `c${st.ctimeNs}`;
}

export function identityKey(id: SegmentIdentity): string {
  return `${id.dev}:${id.ino}:${id.birth}:${id.name}`;
}

/**
 * The identity of the segment `name` in `dir` now (lstat: a symlink is never followed).
 * Throws InterpretationError when it is missing or not a regular file.
 */
export async function identityOf(dir: string, name: string): Promise<SegmentIdentity> {
  const rel = name.replace(/^\/+/, '');
  const full = path.join(dir, rel);
  let st: fs.BigIntStats;
  try {
    st = await fs.promises.lstat(fsPath(full), { bigint: true });
  } catch (e) {
    throw new InterpretationError(`${rel}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such segment' : (e as Error).message}`);
  }
  if (!st.isFile()) throw new InterpretationError(`${rel}: only a regular file can be interpreted`);
  return { dev: Number(st.dev), ino: Number(st.ino), birth: birthOf(st), name: rel };
}

/** Checks and normalises an interpretation (dtype to its array-interface string); throws InterpretationError. */
export function validateInterpretation(x: unknown): Interpretation {
  if (typeof x !== 'object' || x === null) throw new InterpretationError('an interpretation is an object {dtype, shape, offset, order}');
  const o = x as Record<string, unknown>;
  if (typeof o.dtype !== 'string') throw new InterpretationError('dtype must be a string');
  const dt = parseDTypeSpec(o.dtype) ?? parseNumericDType(o.dtype);
  if (!dt) throw new InterpretationError(`unsupported dtype '${o.dtype}'`);
  if (!Array.isArray(o.shape) || o.shape.length > 32) throw new InterpretationError('shape must be an array of at most 32 integers');
  for (const d of o.shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new InterpretationError(`bad dimension ${String(d)} in shape`);
  }
  const offset = o.offset ?? 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new InterpretationError('offset must be a non-negative integer');
  }
  const order = o.order ?? 'C';
  if (order !== 'C' && order !== 'F') throw new InterpretationError("order must be 'C' or 'F'");
  return { dtype: dt.str, shape: [...(o.shape as number[])], offset, order };
}

/** Bytes an interpretation needs from the start of the file (BigInt: absurd shapes cannot overflow). */
export function interpretationExtent(i: Interpretation): bigint {
  const dt = parseNumericDType(i.dtype);
  let n = 1n;
  for (const d of i.shape) n *= BigInt(d);
  return BigInt(i.offset) + n * BigInt(dt ? dt.itemsize : 1);
}

/** Bytes of a segment of `size` that the layout leaves after its data (0 when it reads to the end; negative when it does not fit). */
export function leftoverBytes(size: number, i: Interpretation): number {
  return Number(BigInt(size) - interpretationExtent(i));
}

/** Why an interpretation does not fit a segment of `size` bytes, or null when it fits. */
export function misfit(size: number, i: Interpretation): string | null {
  const need = interpretationExtent(i);
  if (need <= BigInt(size)) return null;
  return `${i.dtype} ${JSON.stringify(i.shape)} from offset ${i.offset} needs ${need} bytes, the segment has ${size}`;
}

/**
 * Gives a raw segment the array layout of an interpretation (format stays `raw`);
 * when the interpretation does not fit the segment, only `error` says so.
 * `details.interpretation` carries it, with `leftoverBytes` (bytes after the data left unread).
 */
export function applyInterpretation(seg: Segment, interp: Interpretation): void {
  const need = interpretationExtent(interp);
  seg.details = { ...(seg.details ?? {}), interpretation: { ...interp, leftoverBytes: Math.max(0, leftoverBytes(seg.size, interp)) } };
  if (need > BigInt(seg.size)) {
    seg.error =
      `interpretation does not fit: ${interp.dtype} ${JSON.stringify(interp.shape)} from offset ${interp.offset} ` +
      `needs ${need} bytes, the segment has ${seg.size}`;
    seg.errorCode = 'RANGE';
    return;
  }
  seg.dtype = interp.dtype;
  seg.shape = [...interp.shape];
  seg.fortranOrder = interp.order === 'F';
  seg.dataOffset = interp.offset;
}

/** The stored interpretation a catalogued raw segment was given (applyInterpretation), or null. */
export function storedInterpretation(seg: Segment): Interpretation | null {
  const i = seg.details?.interpretation as Interpretation | undefined;
  return i ? { dtype: i.dtype, shape: [...i.shape], offset: i.offset, order: i.order } : null;
}

function emptyFile(): InterpretationFile {
  return { version: 1, entries: {} };
}

function parseFile(text: string): InterpretationFile | null {
  try {
    const j = JSON.parse(text) as unknown;
    if (typeof j !== 'object' || j === null) return null;
    const entries = (j as { entries?: unknown }).entries;
    if ((j as { version?: unknown }).version !== 1 || typeof entries !== 'object' || entries === null) return null;
    const out = emptyFile();
    for (const [k, v] of Object.entries(entries as Record<string, unknown>)) {
      try {
        const e = v as Record<string, unknown>;
        const interp = validateInterpretation(e);
        if (typeof e.dev !== 'number' || typeof e.ino !== 'number' || typeof e.birth !== 'string' || typeof e.name !== 'string') continue;
        const id: SegmentIdentity = { dev: e.dev, ino: e.ino, birth: e.birth, name: e.name };
        if (identityKey(id) !== k) continue;
        out.entries[k] = { ...interp, ...id, setAtMs: typeof e.setAtMs === 'number' ? e.setAtMs : 0 };
      } catch {
        // one bad entry does not spoil the others
      }
    }
    return out;
  } catch {
    return null;
  }
}

/** The whole file (empty when it does not exist or cannot be read or parsed). */
export async function loadInterpretations(file = interpretationsPath()): Promise<InterpretationFile> {
  try {
    // Never a blocking open: a FIFO planted there must not hang every listing.
    const text = await readSmallRegular(file, MAX_FILE_BYTES);
    return (text === null ? null : parseFile(text)) ?? emptyFile();
  } catch {
    return emptyFile();
  }
}

/** Looks interpretations up by identity; `candidates` tells cheaply which (dev, ino) may have one. */
export class InterpretationIndex {
  private readonly byInode = new Map<string, StoredInterpretation[]>();
  constructor(readonly file: InterpretationFile) {
    for (const e of Object.values(file.entries)) {
      const k = `${e.dev}:${e.ino}`;
      const l = this.byInode.get(k);
      if (l) l.push(e);
      else this.byInode.set(k, [e]);
    }
  }
  get size(): number {
    return Object.keys(this.file.entries).length;
  }
  /** True when some entry has this (dev, ino): only then is the birth time worth a stat. */
  mayHave(dev: number, ino: number): boolean {
    return this.byInode.has(`${dev}:${ino}`);
  }
  get(id: SegmentIdentity): Interpretation | null {
    const e = this.file.entries[identityKey(id)];
    return e ? { dtype: e.dtype, shape: [...e.shape], offset: e.offset, order: e.order } : null;
  }
}

export async function getInterpretation(id: SegmentIdentity, file = interpretationsPath()): Promise<Interpretation | null> {
  return new InterpretationIndex(await loadInterpretations(file)).get(id);
}

/** Sets (or replaces) the interpretation of a segment; returns it normalised. */
export async function setInterpretation(id: SegmentIdentity, interp: Interpretation, file = interpretationsPath()): Promise<Interpretation> {
  const clean = validateInterpretation(interp);
  await update(file, (f) => {
    f.entries[identityKey(id)] = { ...clean, dev: id.dev, ino: id.ino, birth: id.birth, name: id.name, setAtMs: Date.now() };
    const all = Object.entries(f.entries);
    if (all.length > MAX_ENTRIES) {
      all.sort((a, b) => b[1].setAtMs - a[1].setAtMs);
      f.entries = Object.fromEntries(all.slice(0, MAX_ENTRIES));
    }
    return true;
  });
  return clean;
}

/**
 * Interprets the raw segment `name` of `dir` (a regular file now; the layout must fit its size);
 * returns the stored interpretation and the bytes it leaves after the data.
 */
export async function interpretSegment(
  dir: string,
  name: string,
  interp: Interpretation,
  file = interpretationsPath(),
): Promise<{ interpretation: Interpretation; leftoverBytes: number }> {
  const clean = validateInterpretation(interp);
  const id = await identityOf(dir, name);
  const st = await fs.promises.lstat(fsPath(path.join(dir, id.name)));
  const why = misfit(st.size, clean);
  if (why) throw new InterpretationError(`${id.name}: ${why}`);
  await setInterpretation(id, clean, file);
  return { interpretation: clean, leftoverBytes: leftoverBytes(st.size, clean) };
}

/** Removes a segment's interpretation; false when it had none. */
export async function removeInterpretation(id: SegmentIdentity, file = interpretationsPath()): Promise<boolean> {
  let had = false;
  const absent = new InterpretationIndex(await loadInterpretations(file)).get(id) === null;
  if (absent) return false; // nothing to write (and no lock, no directory made)
  await update(file, (f) => {
    const k = identityKey(id);
    had = k in f.entries;
    delete f.entries[k];
    return had;
  });
  return had;
}

/** Read-modify-write under the lock; `change` returns false when nothing needs writing. */
async function update(file: string, change: (f: InterpretationFile) => boolean): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const release = await lock(file + '.lock');
  try {
    const text = await readSmallRegular(file, MAX_FILE_BYTES);
    let current = text === null ? emptyFile() : parseFile(text);
    if (current === null) {
      // Unparseable: keep it for the user rather than overwrite it silently.
      await fs.promises.rename(file, `${file}.corrupt-${Date.now()}`).catch(() => undefined);
      current = emptyFile();
    }
    if (!change(current)) return;
    await writeAtomic(file, JSON.stringify(current, null, 2) + '\n');
  } finally {
    await release();
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`;
  const fh = await fs.promises.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

async function lock(lockPath: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  const token = `${process.pid} ${nodeCrypto().randomBytes(6).toString('hex')}\n`;
  for (;;) {
    try {
      await fs.promises.writeFile(lockPath, token, { flag: 'wx' });
      return async () => {
        // Remove it only if it is still ours (a stale-lock breaker may have replaced it).
        const now = await fs.promises.readFile(lockPath, 'utf8').catch(() => null);
        if (now === token) await fs.promises.rm(lockPath, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = await fs.promises.stat(lockPath).catch(() => null);
    if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) {
      await fs.promises.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new InterpretationError(`${lockPath} is held by another process; remove it if none is running`);
    await new Promise((r) => setTimeout(r, 15 + Math.random() * 20));
  }
}
