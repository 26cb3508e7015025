/** The elements of the Segments tree. */
import type { Holder, Segment } from '../core/types';
import type { SysvSegment } from '../core/sysv';
import type { ProducerGroup } from '../core/arrange';
import { displayText } from '../core/names';

export type Node =
  | { kind: 'segment'; id: string; segment: Segment }
  | { kind: 'group'; id: string; group: ProducerGroup }
  | { kind: 'deletedGroup'; id: string; segments: Segment[] }
  | { kind: 'holder'; id: string; holder: Holder; segment: Segment }
  | { kind: 'message'; id: string; text: string; detail?: string }
  | { kind: 'bucket'; id: string; first: string; last: string; segments: Segment[] }
  | { kind: 'sysvGroup'; id: string; segments: SysvSegment[] }
  | { kind: 'sysvSegment'; id: string; segment: SysvSegment };

/** Above this many siblings, the tree shows them in ranges of BUCKET_SIZE (10,000 rows would stall the view). */
export const BUCKET_SIZE = 500;

/**
 * A segment's tree label: the last part of its name, display-escaped (core/names.ts). Names come
 * spelled from the catalog already; the escaping holds for any segment a caller builds.
 */
export function segmentLabel(s: Segment): string {
  return displayText(s.name.includes('/') ? s.name.slice(s.name.lastIndexOf('/') + 1) : s.name);
}

/** A holder's tree label: its process name (which the process sets itself: any bytes), display-escaped. */
export function holderLabel(h: Holder): string {
  return displayText(h.comm);
}

/** Stable across refreshes, so expansion and selection survive them. */
export function segmentId(s: Segment): string {
  return s.deleted ? `deleted:${s.dev}:${s.ino}` : `segment:${s.path}#${s.name}`;
}

export function segmentNode(s: Segment): Node {
  return { kind: 'segment', id: segmentId(s), segment: s };
}

/** The segments as nodes, in ranges of BUCKET_SIZE when there are more than that. */
export function segmentNodes(segs: Segment[], parentId: string): Node[] {
  if (segs.length <= BUCKET_SIZE) return segs.map(segmentNode);
  const out: Node[] = [];
  for (let i = 0; i < segs.length; i += BUCKET_SIZE) {
    const part = segs.slice(i, i + BUCKET_SIZE);
    out.push({
      kind: 'bucket',
      id: `${parentId}/bucket:${i / BUCKET_SIZE}`,
      first: part[0].name,
      last: part[part.length - 1].name,
      segments: part,
    });
  }
  return out;
}
