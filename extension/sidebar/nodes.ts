/** The elements of the Segments tree. */
import type { Holder, Segment } from '../core/types';
import type { ProducerGroup } from '../core/arrange';

export type Node =
  | { kind: 'segment'; id: string; segment: Segment }
  | { kind: 'group'; id: string; group: ProducerGroup }
  | { kind: 'deletedGroup'; id: string; segments: Segment[] }
  | { kind: 'holder'; id: string; holder: Holder; segment: Segment }
  | { kind: 'message'; id: string; text: string; detail?: string };

/** Stable across refreshes, so expansion and selection survive them. */
export function segmentId(s: Segment): string {
  return s.deleted ? `deleted:${s.dev}:${s.ino}` : `segment:${s.path}#${s.name}`;
}

export function segmentNode(s: Segment): Node {
  return { kind: 'segment', id: segmentId(s), segment: s };
}
