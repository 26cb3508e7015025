/**
 * unlinkSegments and clearSegments. Everything is removed through a directory file
 * descriptor (`/proc/self/fd/N/entry`), so a folder swapped for a symlink meanwhile is
 * never followed out of the directory; each entry is re-checked (lstat: same dev and ino as
 * listed) right before its unlink, and each inode is removed at most once. Folders
 * (joblib_memmapping_folder_*) are emptied entry by entry, as listed, then rmdir'ed.
 */
import * as fs from 'fs';
import { DEFAULT_DIR, inspectSegment, listCatalog, resolveName, UsageError } from '../catalog';
import type { Holder, Segment } from '../types';
import type { ClearRequest, ClearResult, UnlinkOutcome, UnlinkRequest } from './api';
import { checkAbort, errnoOf, errnoText } from './util';
import { globRegExp } from '../glob';
import { entryName, entryPath, fsPath } from '../names';

export { globRegExp };

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
  return h.map((x) => `${x.comm} (pid ${x.pid})`).join(', ');
}

/** A directory opened without following a symlink; entries are reached through its fd. */
class DirFd {
  private constructor(readonly fh: fs.promises.FileHandle, readonly label: string) {}
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
  removed: Set<string>;
  bytes: number;
  pendingBytes: number;
  skipped: { name: string; reason: string }[];
  failed: { name: string; error: string }[];
}

function newTally(): Tally {
  return { removed: new Set(), bytes: 0, pendingBytes: 0, skipped: [], failed: [] };
}

type Removal = 'removed' | 'gone' | 'kept';

/** Removes one listed non-folder entry through its directory, re-checking dev/ino first. */
async function removeEntry(d: DirFd, seg: Segment, t: Tally): Promise<Removal> {
  const base = seg.name.slice(seg.name.lastIndexOf('/') + 1);
  const p = d.entry(base);
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(p);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') {
      t.skipped.push({ name: seg.name, reason: 'vanished before it could be removed' });
      return 'gone';
    }
    t.failed.push({ name: seg.name, error: errnoText(e) });
    return 'kept';
  }
  const key = `${st.dev}:${st.ino}`;
  if (st.dev !== seg.dev || st.ino !== seg.ino || st.isDirectory()) {
    t.skipped.push({ name: seg.name, reason: 'replaced by a different file since it was listed; left alone' });
    return 'kept';
  }
  if (t.removed.has(key)) {
    t.skipped.push({ name: seg.name, reason: 'already removed' });
    return 'gone';
  }
  try {
    await fs.promises.unlink(p);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') {
      t.skipped.push({ name: seg.name, reason: 'vanished before it could be removed' });
      return 'gone';
    }
    t.failed.push({ name: seg.name, error: errnoText(e) });
    return 'kept';
  }
  t.removed.add(key);
  const ram = st.isFile() && st.nlink <= 1 ? st.blocks * 512 : 0;
  if (seg.holders.length > 0) t.pendingBytes += ram;
  else t.bytes += ram;
  return 'removed';
}

/** Empties a listed folder entry by entry (as listed), then removes it. */
async function removeFolder(parent: DirFd, seg: Segment, t: Tally, signal?: AbortSignal): Promise<Removal> {
  const base = seg.name.slice(seg.name.lastIndexOf('/') + 1);
  let d: DirFd;
  try {
    d = await parent.sub(base, seg);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') {
      t.skipped.push({ name: seg.name, reason: 'vanished before it could be removed' });
      return 'gone';
    }
    if (code === 'ESTALE' || code === 'ELOOP' || code === 'ENOTDIR') t.skipped.push({ name: seg.name, reason: 'replaced since it was listed; left alone' });
    else t.failed.push({ name: seg.name, error: errnoText(e) });
    return 'kept';
  }
  let kept = 0;
  try {
    for (const c of seg.children ?? []) {
      checkAbort(signal);
      const r = c.format === 'directory' ? await removeFolder(d, c, t, signal) : await removeEntry(d, c, t);
      if (r === 'kept') kept++;
    }
  } finally {
    await d.close();
  }
  if (kept > 0) {
    t.failed.push({ name: seg.name, error: `${kept} of its entries could not be removed; the folder is left in place` });
    return 'kept';
  }
  try {
    const st = await fs.promises.lstat(parent.entry(base));
    if (st.dev !== seg.dev || st.ino !== seg.ino) {
      t.skipped.push({ name: seg.name, reason: 'replaced since it was listed; left alone' });
      return 'kept';
    }
    await fs.promises.rmdir(parent.entry(base));
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') {
      t.skipped.push({ name: seg.name, reason: 'vanished before it could be removed' });
      return 'gone';
    }
    if (code === 'ENOTEMPTY' || code === 'EEXIST') t.failed.push({ name: seg.name, error: 'entries that were not listed appeared in it; the folder is left in place' });
    else t.failed.push({ name: seg.name, error: errnoText(e) });
    return 'kept';
  }
  return 'removed';
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

function findLive(list: Segment[], full: string): Segment | null {
  for (const s of list) {
    if (s.deleted) continue;
    if (s.path === full) return s;
    if (s.format === 'directory' && s.children && full.startsWith(s.path + '/')) {
      const c = findLive(s.children, full);
      if (c) return c;
    }
  }
  return null;
}

/** Unlinks segments by name (see UnlinkRequest); one outcome per name, in order. */
export async function unlinkSegments(req: UnlinkRequest): Promise<UnlinkOutcome[]> {
  const dir = req.dir ?? DEFAULT_DIR;
  const targets = req.names.map((n) => ({ given: n, ...resolveName(dir, n) }));
  const cat = targets.length > 1 ? (await listCatalog({ dirs: [dir] })).segments : null;
  const out: UnlinkOutcome[] = [];
  for (const tgt of targets) {
    const outcome = (status: UnlinkOutcome['status'], error: string | null, holders: Holder[] = [], bytes = 0, pendingBytes = 0): UnlinkOutcome =>
      ({ name: tgt.rel, status, error, bytes, pendingBytes, holders });
    const seg = cat ? findLive(cat, tgt.full) : await inspectSegment(tgt.rel, { dirs: [dir] });
    if (!seg || seg.deleted) {
      out.push(outcome('missing', seg?.deleted ? `already unlinked; still held by ${holdersWords(seg.holders)}` : 'no such segment', seg?.holders ?? []));
      continue;
    }
    if (seg.format === 'tensor' || seg.format === 'column') {
      out.push(outcome('failed', 'part of a container file; unlink the container'));
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
    let r: Removal;
    try {
      r = seg.format === 'directory' ? await removeFolder(parent, seg, t) : await removeEntry(parent, seg, t);
    } finally {
      await parent.close();
    }
    if (r === 'removed') {
      const note = t.pendingBytes > 0 ? `its RAM is not freed until ${holdersWords(holders)} let go` : null;
      out.push(outcome('removed', note, holders, t.bytes, t.pendingBytes));
    } else {
      const why = [...t.failed.map((f) => `${f.name}: ${f.error}`), ...t.skipped.map((s) => `${s.name}: ${s.reason}`)];
      const vanished = r === 'gone';
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

/** Removes segments by selectors (see ClearRequest); a dry run only plans. */
export async function clearSegments(req: ClearRequest): Promise<ClearResult> {
  const dir = req.dir ?? DEFAULT_DIR;
  const hasSelector = req.glob !== undefined || req.orphans === true || req.olderThanMs !== undefined || (req.names !== undefined && req.names.length > 0);
  if (!hasSelector) throw new UsageError('clear needs at least one selector (--glob, --orphans, --older-than)');
  if (req.olderThanMs !== undefined && !(req.olderThanMs >= 0)) throw new UsageError('older-than must be a non-negative duration');
  const re = req.glob !== undefined ? globRegExp(req.glob) : null;
  const wanted = req.names ? new Map(req.names.map((n) => [resolveName(dir, n).full, n])) : null;
  checkAbort(req.signal);
  const cat = await listCatalog({ dirs: [dir] });
  const now = Date.now();
  const t = newTally();
  const plan: Segment[] = [];
  let candidates = cat.segments.filter((s) => !s.deleted);
  if (wanted) {
    const found: Segment[] = [];
    for (const [full, given] of wanted) {
      const s = findLive(cat.segments, full);
      if (s) found.push(s);
      else {
        const del = cat.segments.find((x) => x.deleted && x.path === full);
        t.skipped.push({ name: resolveName(dir, given).rel, reason: del ? `deleted but still mapped by ${holdersWords(del.holders)}; never cleared` : 'no such segment' });
      }
    }
    candidates = found;
  }
  for (const s of candidates) {
    if (re && !re.test(s.name)) continue;
    if (req.olderThanMs !== undefined && !(newestMtime(s) < now - req.olderThanMs)) continue;
    if (s.format === 'tensor' || s.format === 'column') {
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
    plan.push(s);
  }
  if (req.dryRun) {
    const alloc = (s: Segment) => s.allocatedBytes;
    const held = (s: Segment) => holdersOf(s).length > 0;
    return {
      dryRun: true,
      removed: plan.map((s) => s.name),
      skipped: t.skipped,
      failed: [],
      bytes: plan.filter((s) => !held(s)).reduce((a, s) => a + alloc(s), 0),
      pendingBytes: plan.filter(held).reduce((a, s) => a + alloc(s), 0),
    };
  }
  const removed: string[] = [];
  const parents = new Map<string, DirFd>();
  try {
    for (const s of plan) {
      checkAbort(req.signal);
      const parentRel = s.name.includes('/') ? s.name.slice(0, s.name.lastIndexOf('/')) : '';
      let parent = parents.get(parentRel);
      if (!parent) {
        try {
          parent = await openParent(dir, s.name, cat.segments);
        } catch (e) {
          t.failed.push({ name: s.name, error: errnoOf(e) === 'ESTALE' ? 'its folder was replaced since it was listed' : errnoText(e) });
          continue;
        }
        parents.set(parentRel, parent);
      }
      const r = s.format === 'directory' ? await removeFolder(parent, s, t, req.signal) : await removeEntry(parent, s, t);
      if (r === 'removed') removed.push(s.name);
    }
  } finally {
    for (const p of parents.values()) await p.close();
  }
  return { removed, skipped: t.skipped, failed: t.failed, bytes: t.bytes, pendingBytes: t.pendingBytes };
}
