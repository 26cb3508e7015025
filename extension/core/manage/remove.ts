/**
 * unlinkSegments and clearSegments. A removal takes away only the inode that was planned:
 * each entry is removed by the addon's removeEntries (native/src/fsops.cc), which renames it
 * to a private name, checks there that it is the listed inode (dev, ino, type), and only then
 * unlinks it, or puts it back; so a name given to another file meanwhile (rename(tmp, name),
 * RENAME_EXCHANGE) never costs that file. Directories are reached through file descriptors
 * (`/proc/self/fd/N/entry`), so a folder swapped for a symlink is never followed out of its
 * directory. A folder (joblib_memmapping_folder_*) is planned whole (refused whole when part
 * of it could not be listed), emptied of its listed entries, then removed the same way.
 * Entries go in batches on the addon's worker thread; a clear stops between batches when
 * aborted and reports what it removed.
 */
import * as fs from 'fs';
import { DEFAULT_DIR, inspectSegment, listCatalog, resolveName, UsageError } from '../catalog';
import { removeEntries, type RemoveItem, type RemoveOutcome } from '../../native';
import type { Holder, Segment } from '../types';
import type { ClearRequest, ClearResult, PlannedName, UnlinkOutcome, UnlinkRequest } from './api';
import { errnoOf, errnoText } from './util';
import { globRegExp } from '../glob';
import { displayText, entryName, entryPath, fsPath } from '../names';
import { findLiveByPath, isPart } from '../segments';

export { globRegExp };

/** Entries per call of the addon: a clear checks for cancellation between calls. */
export const REMOVE_BATCH = 512;

/** Every holder of a segment; for a folder, of its entries (one per pid). */
export function holdersOf(seg: Segment): Holder[] {
  if (seg.format !== 'directory') return seg.holders;
  const by = new Map<number, Holder>();
  const walk = (s: Segment) => {
    for (const c of s.children ?? []) {
      if (c.format === 'directory') walk(c);
      else for (const h of c.holders) by.set(h.pid, h);
    }
  };
  walk(seg);
  return [...by.values()].sort((a, b) => a.pid - b.pid);
}

export function holdersWords(h: Holder[]): string {
  return h.map((x) => `${displayText(x.comm)} (pid ${x.pid})`).join(', ');
}

/** Why a folder cannot be planned whole (a folder in it was not listed: too deep, unreadable), or null. */
export function unlistedPart(seg: Segment): string | null {
  if (seg.format !== 'directory') return null;
  if (seg.error) return `${seg.name}: ${seg.error}`;
  for (const c of seg.children ?? []) {
    const why = unlistedPart(c);
    if (why) return why;
  }
  return null;
}

function refusal(why: string): string {
  return `not all of it could be listed (${why}); none of it is removed`;
}

/** A directory opened without following a symlink; entries are reached through its fd. */
class DirFd {
  private constructor(
    readonly fh: fs.promises.FileHandle,
    readonly label: string,
  ) {}
  static async open(p: string | Buffer, label: string, expect?: { dev: number; ino: number }, follow = false): Promise<DirFd> {
    const c = fs.constants;
    const fh = await fs.promises.open(p, c.O_RDONLY | c.O_DIRECTORY | (follow ? 0 : c.O_NOFOLLOW));
    if (expect) {
      const st = await fh.stat();
      if (st.dev !== expect.dev || st.ino !== expect.ino) {
        await fh.close();
        const e = new Error('replaced by another folder since it was listed') as NodeJS.ErrnoException;
        e.code = 'ESTALE';
        throw e;
      }
    }
    return new DirFd(fh, label);
  }
  /** The path of an entry (`name` spelled: core/names.ts) through this directory's fd. */
  entry(name: string): string | Buffer {
    return fsPath(`/proc/self/fd/${this.fh.fd}/${name}`);
  }
  /** A subfolder, checked to be the one listed. */
  sub(name: string, expect: { dev: number; ino: number }): Promise<DirFd> {
    return DirFd.open(this.entry(name), this.label ? `${this.label}/${name}` : name, expect);
  }
  close(): Promise<void> {
    return this.fh.close().catch(() => undefined);
  }
}

interface Tally {
  bytes: number;
  pendingBytes: number;
  skipped: { name: string; reason: string }[];
  failed: { name: string; error: string }[];
}

function newTally(): Tally {
  return { bytes: 0, pendingBytes: 0, skipped: [], failed: [] };
}

/** What became of a planned segment; `gone` names what of it no longer exists (itself when removed whole). */
type Fate = { r: 'removed' | 'gone' | 'kept' | 'stopped'; gone: string[] };

const VANISHED = 'vanished before it could be removed';

function kindOf(seg: Segment): RemoveItem['kind'] {
  if (seg.format === 'directory') return 'dir';
  if (seg.format === 'symlink') return 'symlink';
  return seg.errorCode === 'NOTFILE' ? 'other' : 'file';
}

function baseName(seg: Segment): string {
  return seg.name.slice(seg.name.lastIndexOf('/') + 1);
}

/**
 * The entry's name in its directory as the file system has it: the last part of `nameBytes`
 * when the listing gave the bytes (a name that is not plain UTF-8), else of the name.
 */
function entryBytes(seg: Segment): string | Uint8Array {
  const hex = (seg as Segment & { nameBytes?: string }).nameBytes;
  if (!hex) return baseName(seg);
  const b = Buffer.from(hex, 'hex');
  return b.subarray(b.lastIndexOf(0x2f) + 1);
}

/** The addon's removeEntries in directory `d`, for planned segments; a call that fails is every item's outcome. */
async function removeIn(d: DirFd, segs: Segment[]): Promise<RemoveOutcome[]> {
  const items: RemoveItem[] = segs.map((s) => ({ name: entryBytes(s), dev: s.dev, ino: s.ino, kind: kindOf(s) }));
  try {
    return await removeEntries(d.fh.fd, items);
  } catch (e) {
    return items.map(() => ({ code: errnoOf(e) ?? 'EIO', message: e instanceof Error ? e.message : String(e), blocks: 0, nlink: 0 }));
  }
}

/** Records the addon's outcome for one planned segment. */
function settle(seg: Segment, o: RemoveOutcome, t: Tally): Fate {
  const name = seg.name;
  const folder = seg.format === 'directory';
  switch (o.code) {
    case 'OK': {
      const ram = !folder && seg.format !== 'symlink' && o.nlink <= 1 ? o.blocks * 512 : 0;
      if (seg.holders.length > 0) t.pendingBytes += ram;
      else t.bytes += ram;
      return { r: 'removed', gone: [name] };
    }
    case 'ENOENT':
      t.skipped.push({ name, reason: VANISHED });
      return { r: 'gone', gone: [] };
    case 'CHANGED':
      t.skipped.push({ name, reason: folder ? 'replaced since it was listed; left alone' : 'replaced by a different file since it was listed; left alone' });
      return { r: 'kept', gone: [] };
    case 'ENOTEMPTY':
      t.failed.push({ name, error: 'entries that were not listed appeared in it; the folder is left in place' });
      return { r: 'kept', gone: [] };
    case 'DISPLACED':
      t.failed.push({
        name,
        error: `replaced by a different file while it was being removed; that file was kept, under the name ${o.displacedAs} (its own name had been taken meanwhile)`,
      });
      return { r: 'kept', gone: [] };
    default:
      t.failed.push({ name, error: `${o.code}: ${o.message ?? o.code}` });
      return { r: 'kept', gone: [] };
  }
}

/**
 * Removes `segs`, entries of the directory `d` as listed: each folder's listed contents first,
 * then the folder; the others in batches. Stops between batches once `signal` is aborted
 * (the rest are 'stopped'). Returns each segment's fate, in order.
 */
async function removeAll(d: DirFd, segs: Segment[], t: Tally, signal?: AbortSignal): Promise<Fate[]> {
  const fates: Fate[] = new Array(segs.length);
  const batch: number[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const outcomes = await removeIn(
      d,
      batch.map((i) => segs[i]),
    );
    batch.forEach((i, k) => (fates[i] = settle(segs[i], outcomes[k], t)));
    batch.length = 0;
  };
  for (let i = 0; i < segs.length; i++) {
    if (signal?.aborted) {
      fates[i] = { r: 'stopped', gone: [] };
      continue;
    }
    if (segs[i].format === 'directory') {
      await flush();
      fates[i] = await removeFolder(d, segs[i], t, signal);
    } else {
      batch.push(i);
      if (batch.length >= REMOVE_BATCH) await flush();
    }
  }
  await flush();
  return fates;
}

/** Empties a listed folder of its listed entries, then removes it (if it still is the folder listed and holds nothing else). */
async function removeFolder(parent: DirFd, seg: Segment, t: Tally, signal?: AbortSignal): Promise<Fate> {
  const why = unlistedPart(seg);
  if (why) {
    t.failed.push({ name: seg.name, error: refusal(why) });
    return { r: 'kept', gone: [] };
  }
  let d: DirFd;
  try {
    d = await parent.sub(baseName(seg), seg);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') {
      t.skipped.push({ name: seg.name, reason: VANISHED });
      return { r: 'gone', gone: [] };
    }
    if (code === 'ESTALE' || code === 'ELOOP' || code === 'ENOTDIR') t.skipped.push({ name: seg.name, reason: 'replaced since it was listed; left alone' });
    else t.failed.push({ name: seg.name, error: errnoText(e) });
    return { r: 'kept', gone: [] };
  }
  let inner: Fate[];
  try {
    inner = await removeAll(d, seg.children ?? [], t, signal);
  } finally {
    await d.close();
  }
  const gone = inner.flatMap((f) => f.gone);
  if (inner.some((f) => f.r === 'stopped')) return { r: 'stopped', gone };
  const kept = inner.filter((f) => f.r === 'kept').length;
  if (kept > 0) {
    t.failed.push({ name: seg.name, error: `${kept} of its entries could not be removed; the folder is left in place` });
    return { r: 'kept', gone };
  }
  const [o] = await removeIn(parent, [seg]);
  const f = settle(seg, o, t);
  return f.r === 'removed' ? f : { r: f.r, gone };
}

/** Opens the directory holding `rel` (inside `dir`), folder by folder, never following a symlink. */
async function openParent(dir: string, rel: string, cat: Segment[] | null): Promise<DirFd> {
  const parts = entryPath(rel).split('/');
  let d = await DirFd.open(dir, '', undefined, true);
  let list = cat;
  for (let i = 0; i < parts.length - 1; i++) {
    const name = entryName(parts.slice(0, i + 1).join('/'));
    const listed = list?.find((s) => s.name === name && !s.deleted) ?? null;
    try {
      const st = listed ?? (await fs.promises.lstat(d.entry(parts[i])));
      const next = await d.sub(parts[i], { dev: st.dev, ino: st.ino });
      await d.close();
      d = next;
      list = listed?.children ?? null;
    } catch (e) {
      await d.close();
      throw e;
    }
  }
  return d;
}

const nameOf = (n: string | PlannedName): string => (typeof n === 'string' ? n : n.name);

/** True when a planned name now lists a different inode than the one planned. */
function replacedSincePlanned(n: string | PlannedName, seg: Segment): boolean {
  return typeof n !== 'string' && (n.dev !== seg.dev || n.ino !== seg.ino);
}

const REPLACED_SINCE_PLANNED = 'replaced by a different file since it was listed; left alone';

/**
 * The listed segment, restricted to what was planned: a folder planned with its entries keeps
 * only those (same name and inode, recursively), so an entry that appeared since is not removed
 * (and keeps the folder in place).
 */
function asPlanned(n: string | PlannedName, seg: Segment): Segment {
  if (typeof n === 'string' || !n.children || seg.format !== 'directory') return seg;
  const planned = new Map(n.children.map((c) => [c.name, c]));
  const children: Segment[] = [];
  for (const c of seg.children ?? []) {
    const p = planned.get(c.name);
    if (p && p.dev === c.dev && p.ino === c.ino) children.push(asPlanned(p, c));
  }
  return { ...seg, children };
}

/** Unlinks segments by name (see UnlinkRequest); one outcome per name, in order. */
export async function unlinkSegments(req: UnlinkRequest): Promise<UnlinkOutcome[]> {
  const dir = req.dir ?? DEFAULT_DIR;
  const targets = req.names.map((n) => ({ given: n, ...resolveName(dir, nameOf(n)) }));
  const cat = targets.length > 1 ? (await listCatalog({ dirs: [dir] })).segments : null;
  const out: UnlinkOutcome[] = [];
  for (const tgt of targets) {
    const outcome = (status: UnlinkOutcome['status'], error: string | null, holders: Holder[] = [], bytes = 0, pendingBytes = 0): UnlinkOutcome => ({
      name: tgt.rel,
      status,
      error,
      bytes,
      pendingBytes,
      holders,
    });
    let seg = cat ? findLiveByPath(cat, tgt.full) : await inspectSegment(tgt.rel, { dirs: [dir] });
    if (!seg || seg.deleted) {
      out.push(outcome('missing', seg?.deleted ? `already unlinked; still held by ${holdersWords(seg.holders)}` : 'no such segment', seg?.holders ?? []));
      continue;
    }
    if (isPart(seg)) {
      out.push(outcome('failed', 'part of a container file; unlink the container'));
      continue;
    }
    if (replacedSincePlanned(tgt.given, seg)) {
      out.push(outcome('failed', REPLACED_SINCE_PLANNED));
      continue;
    }
    seg = asPlanned(tgt.given, seg);
    const unlisted = unlistedPart(seg);
    if (unlisted) {
      out.push(outcome('failed', refusal(unlisted)));
      continue;
    }
    const holders = holdersOf(seg);
    if (holders.length > 0 && !req.force) {
      out.push(outcome('held', `held by ${holdersWords(holders)}; pass --force to unlink it anyway (its RAM stays in use until they let go)`, holders));
      continue;
    }
    const t = newTally();
    let parent: DirFd;
    try {
      parent = await openParent(dir, tgt.rel, cat);
    } catch (e) {
      out.push(outcome(errnoOf(e) === 'ENOENT' ? 'missing' : 'failed', errnoOf(e) === 'ENOENT' ? 'no such segment' : errnoText(e), holders));
      continue;
    }
    let f: Fate;
    try {
      [f] = await removeAll(parent, [seg], t);
    } finally {
      await parent.close();
    }
    if (f.r === 'removed') {
      const note = t.pendingBytes > 0 ? `its RAM is not freed until ${holdersWords(holders)} let go` : null;
      out.push(outcome('removed', note, holders, t.bytes, t.pendingBytes));
    } else {
      const why = [...t.failed.map((x) => `${x.name}: ${x.error}`), ...t.skipped.map((s) => `${s.name}: ${s.reason}`)];
      const vanished = f.r === 'gone';
      out.push(outcome(vanished ? 'missing' : 'failed', vanished ? 'no such segment' : why.join('; '), holders, t.bytes, t.pendingBytes));
    }
  }
  return out;
}

function newestMtime(s: Segment): number {
  let m = s.mtimeMs;
  if (s.format === 'directory') for (const c of s.children ?? []) m = Math.max(m, newestMtime(c));
  return m;
}

/** What a clear would remove, with what it leaves out and why (see planClear). */
export interface ClearPlan {
  /** The dry run's document (docs/cli.md). */
  result: ClearResult;
  /** The planned segments as listed (their names, identities and, for folders, the entries planned). */
  segments: Segment[];
}

function interrupted(t: Tally): ClearResult {
  return { interrupted: true, removed: [], skipped: t.skipped, failed: t.failed, bytes: t.bytes, pendingBytes: t.pendingBytes };
}

async function plan(req: ClearRequest): Promise<{ segments: Segment[]; t: Tally; cat: Segment[] } | null> {
  const dir = req.dir ?? DEFAULT_DIR;
  const hasSelector = req.glob !== undefined || req.orphans === true || req.olderThanMs !== undefined || (req.names !== undefined && req.names.length > 0);
  if (!hasSelector) throw new UsageError('clear needs at least one selector (--glob, --orphans, --older-than)');
  if (req.olderThanMs !== undefined && !(req.olderThanMs >= 0)) throw new UsageError('older-than must be a non-negative duration');
  const re = req.glob !== undefined ? globRegExp(req.glob) : null;
  const wanted = req.names ? new Map(req.names.map((n) => [resolveName(dir, nameOf(n)).full, n])) : null;
  if (req.signal?.aborted) return null;
  const cat = await listCatalog({ dirs: [dir] });
  if (req.signal?.aborted) return null;
  const now = Date.now();
  const t = newTally();
  const segments: Segment[] = [];
  let candidates = cat.segments.filter((s) => !s.deleted);
  if (wanted) {
    const found: Segment[] = [];
    for (const [full, given] of wanted) {
      const s = findLiveByPath(cat.segments, full);
      const rel = resolveName(dir, nameOf(given)).rel;
      if (s && replacedSincePlanned(given, s)) t.skipped.push({ name: rel, reason: REPLACED_SINCE_PLANNED });
      else if (s) found.push(asPlanned(given, s));
      else {
        const del = cat.segments.find((x) => x.deleted && x.path === full);
        t.skipped.push({ name: rel, reason: del ? `deleted but still mapped by ${holdersWords(del.holders)}; never cleared` : 'no such segment' });
      }
    }
    // A name inside a folder that is itself cleared goes with the folder.
    const folders = new Set(found.filter((s) => s.format === 'directory').map((s) => s.path + '/'));
    const seen = new Set<string>();
    const inFolder = (p: string) => {
      for (let k = p.indexOf('/', 1); k > 0; k = p.indexOf('/', k + 1)) if (folders.has(p.slice(0, k + 1))) return true;
      return false;
    };
    candidates = found.filter((s) => !seen.has(s.name) && seen.add(s.name) && !inFolder(s.path));
  }
  for (const s of candidates) {
    if (re && !re.test(entryPath(s.name))) continue;
    if (req.olderThanMs !== undefined && !(newestMtime(s) < now - req.olderThanMs)) continue;
    if (isPart(s)) {
      t.skipped.push({ name: s.name, reason: 'part of a container file; not removed on its own' });
      continue;
    }
    const holders = holdersOf(s);
    if (req.orphans && s.format !== 'symlink') {
      if (holders.length > 0 || s.orphan === false) continue;
      if (s.orphan === null && !req.includeInUse) {
        t.skipped.push({ name: s.name, reason: 'cannot tell whether it is an orphan: some processes could not be inspected (include-in-use takes it anyway)' });
        continue;
      }
    }
    if (holders.length > 0 && !req.includeInUse) {
      t.skipped.push({ name: s.name, reason: `in use by ${holdersWords(holders)}` });
      continue;
    }
    const unlisted = unlistedPart(s);
    if (unlisted) {
      t.failed.push({ name: s.name, error: refusal(unlisted) });
      continue;
    }
    segments.push(s);
  }
  return { segments, t, cat: cat.segments };
}

/** A dry run of clearSegments that also returns the planned segments (to remove exactly those later: pass them as `names`). */
export async function planClear(req: ClearRequest): Promise<ClearPlan> {
  const p = await plan(req);
  if (!p) return { result: { dryRun: true, planned: [], ...interrupted(newTally()) }, segments: [] };
  const held = (s: Segment) => holdersOf(s).length > 0;
  const result: ClearResult = {
    dryRun: true,
    planned: p.segments.map((s) => s.name),
    removed: [],
    skipped: p.t.skipped,
    failed: p.t.failed,
    bytes: p.segments.filter((s) => !held(s)).reduce((a, s) => a + s.allocatedBytes, 0),
    pendingBytes: p.segments.filter(held).reduce((a, s) => a + s.allocatedBytes, 0),
  };
  return { result, segments: p.segments };
}

/**
 * Removes segments by selectors (see ClearRequest); a dry run only plans. Aborting `signal`
 * stops it between batches: the result then has `interrupted` and lists what was removed.
 */
export async function clearSegments(req: ClearRequest): Promise<ClearResult> {
  if (req.dryRun) return (await planClear(req)).result;
  const p = await plan(req);
  if (!p) return interrupted(newTally());
  const { segments, t, cat } = p;
  const dir = req.dir ?? DEFAULT_DIR;
  const byParent = new Map<string, number[]>();
  segments.forEach((s, i) => {
    const parentRel = s.name.includes('/') ? s.name.slice(0, s.name.lastIndexOf('/')) : '';
    const list = byParent.get(parentRel);
    if (list) list.push(i);
    else byParent.set(parentRel, [i]);
  });
  const fates: Fate[] = segments.map(() => ({ r: 'stopped', gone: [] }));
  for (const idx of byParent.values()) {
    if (req.signal?.aborted) break;
    const first = segments[idx[0]];
    let parent: DirFd;
    try {
      parent = await openParent(dir, first.name, cat);
    } catch (e) {
      for (const i of idx) {
        t.failed.push({ name: segments[i].name, error: errnoOf(e) === 'ESTALE' ? 'its folder was replaced since it was listed' : errnoText(e) });
        fates[i] = { r: 'kept', gone: [] };
      }
      continue;
    }
    try {
      const got = await removeAll(
        parent,
        idx.map((i) => segments[i]),
        t,
        req.signal,
      );
      idx.forEach((i, k) => (fates[i] = got[k]));
    } finally {
      await parent.close();
    }
  }
  const removed = fates.flatMap((f) => f.gone);
  const result: ClearResult = { removed, skipped: t.skipped, failed: t.failed, bytes: t.bytes, pendingBytes: t.pendingBytes };
  return fates.some((f) => f.r === 'stopped') ? { interrupted: true, ...result } : result;
}
