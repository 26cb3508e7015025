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
import { containerReadPath, inspectContainerSegment, parseContainerName, type ContainerSegment } from './containers';

export { listMemSegments, inspectMemSegment, parseMemName, type MemSegment, type MemKind } from './memfd';
export { listContainers, inspectContainerSegment, parseContainerName, type ContainerSegment, type ContainerGroup, type ContainerScan } from './containers';

/**
 * A memfd or anonymous region as a segment whose `path` is the holder's link that reads it
 * (/proc/PID/fd/N or /proc/PID/map_files/A-B): what the array readers and the preview open, only
 * on its (dev, ino). Null when NAME is not of these forms; a Failure when it is but cannot be read.
 */
export async function heldArraySegment(name: string, dir?: string): Promise<Segment | null> {
  if (parseContainerName(name)) {
    const c = await inspectContainerSegment(name, { dir, holders: false });
    if (!c) throw new OperationError(`${name}: no such segment`);
    return readableContainerCopy(c);
  }
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

/**
 * A container's segment with a `path` that reaches it from here (/proc/PID/root/...): readers
 * open it only as the listed (dev, ino), so a link swapped in on the way is refused, never read.
 */
export function readableContainerCopy(s: ContainerSegment): Segment {
  return { ...s, path: containerReadPath(s) };
}

/** Any NAME of the kinds here (memfd:, anon:, ns:), or null when it is none of them. */
export function isKindName(name: string): boolean {
  return parseMemName(name) !== null || parseContainerName(name) !== null;
}
