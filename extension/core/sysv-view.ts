/**
 * The viewer's way into a System V segment (issue #15, item 2): a read-only attach
 * (`shmat(SHM_RDONLY)`, the addon's openSysvView; inside another IPC namespace for
 * `sysv:NS/SHMID`), checked to be the segment that was listed (a shmid can name a new segment
 * after a removal), detached when the view is closed. What can go wrong is said as a person reads
 * it, with a stable code: a segment removed meanwhile is ENOENT (as for a vanished file), one this
 * user may not attach is EACCES (its mode, owner and our uid), and one that now names another
 * segment is CHANGED. Also: looking a System V name up again (Reopen, a window reload) and whether
 * a segment the viewer attaches was removed since (IPC_RMID: its attachment alone keeps it); likely
 * layouts of a raw one from a sample of its bytes (Interpret As…).
 *
 * No `vscode` import: the viewer session, Quick Look and the tests all call this.
 */
import { openSysvView, type MappedView } from '../native';
import { errorCode, ShmError } from './errors';
import { modeString } from './format-words';
import { proposeLayouts, sampleSegment, type ByteSample, type LayoutProposal } from './layouts';
import { inspectForeignSysv, namespaceRef, parseForeignSysvName, type ForeignSysvSegment } from './kinds/ipcns';
import { inspectSysv, ownIpcNamespace, parseSysvName, readSysvTable, sameSysvSegment, SHM_DEST, type SysvRecord, type SysvSegment } from './sysv';

/** Whether a segment is a System V one (own namespace or another). */
export function isSysvSegment(s: unknown): boolean {
  return typeof s === 'object' && s !== null && (s as { kind?: unknown }).kind === 'sysv' && typeof (s as { sysv?: unknown }).sysv === 'object';
}

/** The segment as a System V one, or null when it is another kind. */
export function sysvOf(s: unknown): SysvSegment | null {
  return isSysvSegment(s) ? (s as SysvSegment) : null;
}

const foreignOf = (s: SysvSegment): ForeignSysvSegment | null => ((s as Partial<ForeignSysvSegment>).namespace ? (s as ForeignSysvSegment) : null);

/** The segment named `sysv:SHMID` or `sysv:NS/SHMID` now (decoded, no holders), or null when there is none. */
export async function lookupSysv(name: string): Promise<SysvSegment | null> {
  const own = await ownIpcNamespace();
  const foreign = parseForeignSysvName(name, own);
  if (foreign) return inspectForeignSysv(foreign.ns, foreign.shmid);
  const shmid = parseSysvName(name, own);
  return shmid === null ? null : inspectSysv(shmid, { holders: false });
}

/** The kernel's record of a listed segment now (null: it is gone); another namespace's is read inside it. */
async function recordNow(s: SysvSegment): Promise<SysvRecord | null> {
  const f = foreignOf(s);
  if (f) return (await inspectForeignSysv(f.namespace.id, s.sysv.shmid, { decode: false }))?.sysv ?? null;
  return (await readSysvTable()).find((r) => r.shmid === s.sysv.shmid) ?? null;
}

/** The listed segment still, also once removed while attached (IPC_RMID sets its key to IPC_PRIVATE). */
function stillListed(now: SysvRecord, listed: SysvRecord): boolean {
  if (sameSysvSegment(now, listed)) return true;
  return now.shmid === listed.shmid && now.ctimeMs === listed.ctimeMs && now.cpid === listed.cpid && now.key === 0 && (now.perms & SHM_DEST) !== 0;
}

/** Why an attach was refused, with the segment's owner and mode and who we are. */
function refusal(s: SysvSegment, e: unknown): Error {
  const code = errorCode(e);
  if (code === 'EINVAL') return new ShmError(`${s.name} no longer exists: it was removed (IPC_RMID) and its last process detached it`, 'ENOENT', { cause: e });
  if (code === 'EACCES' || code === 'EPERM') {
    const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
    return new ShmError(
      `shmat refused: its mode ${modeString(s.mode)} (0${s.mode.toString(8)}) belongs to uid ${s.sysv.uid}, gid ${s.sysv.gid}, and does not let this user (uid ${uid}) read it`,
      'EACCES',
      { cause: e },
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Attaches the listed segment `s` read-only as a view (the caller closes it: shmdt). Refuses,
 * with the view closed again, a shmid that names another segment since it was listed (CHANGED).
 */
export async function openSysvSegmentView(s: SysvSegment): Promise<MappedView> {
  const f = foreignOf(s);
  let view: MappedView;
  try {
    view = f ? await openSysvView(s.sysv.shmid, namespaceRef(f)) : await openSysvView(s.sysv.shmid);
  } catch (e) {
    throw refusal(s, e);
  }
  // The attach holds it now: the record read after it is the segment attached.
  const now = await recordNow(s).catch(() => undefined);
  if (now === null || (now !== undefined && !stillListed(now, s.sysv)) || view.size !== s.size) {
    view.close();
    throw new ShmError(`${s.name} now names another System V segment than the one listed (the listed one was removed)`, 'CHANGED');
  }
  return view;
}

/**
 * Whether the segment a view attaches was removed (IPC_RMID) since: its record then carries
 * SHM_DEST, and it stays in RAM while attached. Null when that cannot be told (its namespace
 * cannot be entered any more).
 */
export async function sysvRemovedSince(s: SysvSegment): Promise<boolean | null> {
  const now = await recordNow(s).catch(() => undefined);
  if (now === undefined) return null;
  // While we attach it, it cannot be gone; a removed one's key is IPC_PRIVATE (0) from then on.
  return now === null || (now.perms & SHM_DEST) !== 0 || (s.sysv.key !== 0 && now.key !== s.sysv.key);
}

/**
 * Likely layouts of a System V segment: from its size and a bounded sample of its bytes read
 * through a read-only attach (detached at once); from its size alone when it cannot be attached.
 */
export async function proposeForSysv(s: SysvSegment, max = 12): Promise<LayoutProposal[]> {
  let sample: ByteSample | null = null;
  if (s.size > 0) {
    const view = await openSysvSegmentView(s).catch(() => null);
    if (view) {
      try {
        sample = await sampleSegment(view, Math.min(s.size, view.size));
      } catch {
        sample = null;
      } finally {
        view.close();
      }
    }
  }
  return proposeLayouts(s.size, { sample, max });
}
