/** Two questions over the segment model every layer asks: is this a part of a container, and where in a nested list is the segment wanted. */
import type { Segment, SegmentFormat } from './types';

/** The formats of a container's parts (a safetensors tensor, an Arrow column): they have no file of their own. */
export type PartFormat = 'tensor' | 'column';

/**
 * True for a part of a container (a tensor or a column): it shares its container's path and
 * memory, so it has no size in RAM, holders, owner or removal of its own.
 */
export function isPart(s: { format: SegmentFormat }): s is { format: PartFormat } {
  return s.format === 'tensor' || s.format === 'column';
}

/**
 * The first segment in `list` or below it (depth first, a parent before its children) that
 * `match` accepts; `parent` is the segment whose children are being searched (null at the top).
 * Only the children of segments `descend` accepts are searched (all, by default).
 */
export function findSegment(
  list: readonly Segment[] | null,
  match: (s: Segment, parent: Segment | null) => boolean,
  descend: (s: Segment) => boolean = () => true,
  parent: Segment | null = null,
): Segment | null {
  for (const s of list ?? []) {
    if (match(s, parent)) return s;
    if (s.children && descend(s)) {
      const c = findSegment(s.children, match, descend, s);
      if (c) return c;
    }
  }
  return null;
}

/**
 * The live segment at `full`, an absolute path: a folder's entries have paths of their own, a
 * file's parts (tensors, columns) share the file's path and are named `FILE/PART`, so
 * `full` = the file's path + `/PART` names one.
 */
export function findLiveByPath(list: readonly Segment[], full: string): Segment | null {
  return findSegment(
    list,
    (s, parent) => !s.deleted && (parent && isPart(s) ? s.name === `${parent.name}/${full.slice(parent.path.length + 1)}` : s.path === full),
    (s) => !s.deleted && full.startsWith(s.path + '/'),
  );
}

/** The segments `take` accepts, in order, looking into the children of those it does not take. */
export function collectSegments(list: readonly Segment[], take: (s: Segment) => boolean): Segment[] {
  return list.flatMap((s) => (take(s) ? [s] : collectSegments(s.children ?? [], take)));
}
