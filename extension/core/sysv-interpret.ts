/**
 * Interpretations (a dtype, shape, offset and order given to raw bytes: core/interpretations.ts)
 * of System V segments (issue #15, item 2: raw ones go through Interpret As… as raw /dev/shm
 * files do), kept in the same file the CLI shares. A segment is not a file: its identity is
 *   dev 0 : ino its shmid : birth `s<ctime ms>p<creator pid>` : name `sysv:SHMID` (`sysv:NS/SHMID`)
 * - the shmid alone would let a new segment inherit an old one's layout (shmids are reused);
 * - the creation time (ctime: shmget, or the last IPC_SET) with the creator's pid tells a new
 *   segment from the old one; the key is left out, since IPC_RMID while attached sets it to 0;
 * - the name carries the IPC namespace, whose shmids are its own.
 * An IPC_SET (chmod by ipcrm/ipcs tools) moves ctime: the layout is then forgotten, never inherited.
 * Likely layouts are proposed from a sample read through a read-only attach (sysv-view.ts).
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import {
  applyInterpretation,
  InterpretationError,
  InterpretationIndex,
  leftoverBytes,
  loadInterpretations,
  misfit,
  removeInterpretation,
  setInterpretation,
  validateInterpretation,
  type Interpretation,
  type SegmentIdentity,
} from './interpretations';
import type { SysvSegment } from './sysv';
import type { Segment } from './types';

/** The identity an interpretation of `s` is stored under. */
export function sysvIdentity(s: SysvSegment): SegmentIdentity {
  return { dev: 0, ino: s.sysv.shmid, birth: `s${s.sysv.ctimeMs}p${s.sysv.cpid}`, name: s.name };
}

/**
 * Gives the raw segments among `segments` the layout stored for them (in place; format stays
 * `raw`, `details.interpretation` says so), as the catalog does for files. `file`: the
 * interpretations file (tests); false: none applied.
 */
export async function applySysvInterpretations(segments: SysvSegment[], file?: string | false): Promise<void> {
  const raw = segments.filter((s) => s.format === 'raw' && s.error === null);
  if (raw.length === 0 || file === false) return;
  const index = new InterpretationIndex(await (file === undefined ? loadInterpretations() : loadInterpretations(file)));
  if (index.size === 0) return;
  for (const s of raw) {
    if (!index.mayHave(0, s.sysv.shmid)) continue;
    const i = index.get(sysvIdentity(s));
    if (i) applyInterpretation(s as unknown as Segment, i);
  }
}

/** Stores a layout for a raw System V segment (it must fit its size); the layout stored and the bytes it leaves after the data. */
export async function interpretSysv(s: SysvSegment, interp: Interpretation, file?: string): Promise<{ interpretation: Interpretation; leftoverBytes: number }> {
  const clean = validateInterpretation(interp);
  if (s.format !== 'raw') throw new InterpretationError(`${s.name} is ${s.format}: its layout is known (only raw segments are interpreted)`);
  const why = misfit(s.size, clean);
  if (why) throw new InterpretationError(`${s.name}: ${why}`);
  await (file === undefined ? setInterpretation(sysvIdentity(s), clean) : setInterpretation(sysvIdentity(s), clean, file));
  return { interpretation: clean, leftoverBytes: leftoverBytes(s.size, clean) };
}

/** Forgets a System V segment's layout; false when it had none. */
export function forgetSysvInterpretation(s: SysvSegment, file?: string): Promise<boolean> {
  return file === undefined ? removeInterpretation(sysvIdentity(s)) : removeInterpretation(sysvIdentity(s), file);
}
