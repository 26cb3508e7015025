/**
 * Every kind of shared memory that is not a file of the listed directory (issue #15): memfd
 * regions and shared anonymous memory (memfd.ts), other mount namespaces' /dev/shm
 * (containers.ts). Names follow docs/cli.md ("Names of what is not a plain file").
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import { OperationError } from '../manage/api';
import type { Segment } from '../types';
import { inspectMemSegment, parseMemName, type MemSegment } from './memfd';

export { listMemSegments, inspectMemSegment, parseMemName, type MemSegment, type MemKind } from './memfd';

/**
 * A memfd or anonymous region as a segment whose `path` is the holder's link that reads it
 * (/proc/PID/fd/N or /proc/PID/map_files/A-B): what the array readers and the preview open, only
 * on its (dev, ino). Null when NAME is not of these forms; a Failure when it is but cannot be read.
 */
export async function heldArraySegment(name: string): Promise<Segment | null> {
  if (!parseMemName(name)) return null;
  const s = await inspectMemSegment(name);
  if (!s) throw new OperationError(`${name}: no such region (no visible process holds it)`);
  return readableCopy(s);
}

/** The region with its reading link as `path`, or a Failure saying why it cannot be read. */
export function readableCopy(s: MemSegment): Segment {
  const via = s.details?.readVia;
  if (typeof via !== 'string') throw new OperationError(`${s.name}: ${String(s.details?.unread ?? 'it cannot be read')}`);
  return { ...s, path: via };
}
