/** The elements of the Segments tree. */
import type { Holder, Segment } from '../core/types';
import type { SysvSegment } from '../core/sysv';
import type { ForeignSysvSegment } from '../core/kinds/ipcns';
import type { ContainerNamespace } from '../core/kinds/containers';
import type { ProducerGroup } from '../core/arrange';
import { displayText } from '../core/names';
import { isPart } from '../core/segments';

export type Node =
  | { kind: 'segment'; id: string; segment: Segment }
  | { kind: 'group'; id: string; group: ProducerGroup }
  | { kind: 'deletedGroup'; id: string; segments: Segment[] }
  | { kind: 'holder'; id: string; holder: Holder; segment: Segment }
  | { kind: 'message'; id: string; text: string; detail?: string }
  | { kind: 'bucket'; id: string; first: string; last: string; segments: Segment[] }
  | { kind: 'sysvGroup'; id: string; segments: SysvSegment[]; foreign: ForeignSysvSegment[]; unreadable: number }
  | { kind: 'sysvSegment'; id: string; segment: SysvSegment }
  /** The System V segments of one other IPC namespace (a container's), under the System V group. */
  | { kind: 'sysvNsGroup'; id: string; namespace: ContainerNamespace; segments: ForeignSysvSegment[] }
  /** A group of the other kinds (sidebar/kinds.ts): memfd and anonymous, Containers, one container. */
  | { kind: 'kindGroup'; id: string; label: string; description: string; tooltip: string; icon: string; children: Node[] };

/** Above this many siblings, the tree shows them in ranges of BUCKET_SIZE (10,000 rows would stall the view). */
export const BUCKET_SIZE = 500;

/**
 * A segment's tree label: the last part of its name, display-escaped (core/names.ts). Names come
 * spelled from the catalog already; the escaping holds for any segment a caller builds. A name
 * longer than LABEL_WHOLE characters is cut in its middle to `max` characters (cutLabel), so that
 * the row's description (size · dtype · shape) is not pushed out of the row; the whole name is in
 * the tooltip and the row's accessible name (tree.ts).
 */
export function segmentLabel(s: Segment, max = LABEL_CUT): string {
  const whole = displayText(baseName(s.name));
  return unitsOf(whole).length > LABEL_WHOLE ? cutLabel(whole, max) : whole;
}

/**
 * Names up to this many characters are shown whole (every name the tools and tests make, such as
 * `shmi_e2e_first_outlier_1234567_2_abcdef01.npy`, fits); longer ones are cut to LABEL_CUT.
 * Measured in the workbench (test/e2e/longnames.test.ts) at the default sidebar width of 300 px:
 * the label box of a top-level row is 255 px wide, a label character takes about 7.5 px, the
 * description `76.3 MiB · float64 · 1000×10000` 191 px (so no useful label leaves all of it in
 * view), its `76.3 MiB · float64` 103 px, and the ellipsis that cuts it about 13 px. A 16-character
 * label (about 120 px) keeps size and dtype in view.
 */
export const LABEL_WHOLE = 48;
/** A cut label's length: 6 characters of the start, the ellipsis, 9 of the end (`joblib…ker-7.npy`). */
export const LABEL_CUT = 16;
/** When colliding siblings give up some of their (shared) start for more of their end, they keep at least this much of it. */
export const LABEL_MIN_HEAD = 4;

function baseName(name: string): string {
  return name.includes('/') ? name.slice(name.lastIndexOf('/') + 1) : name;
}

/** The characters of displayed text, an escape (`\xHH`, `\\`) counting as one, so that a cut never splits one. */
function unitsOf(text: string): string[] {
  return text.match(/\\x[0-9a-fA-F]{2}|\\\\|[\s\S]/gu) ?? [];
}

/** How many characters of the end a cut label of `max` characters keeps: about 60 % of them. */
function endShare(max: number): number {
  return Math.ceil((max - 1) * 0.6);
}

/**
 * `text` (already display-escaped) in at most `max` characters: its start, `…`, and its end, the end
 * getting the larger share (names differ at the end: counters, workers, suffixes). `end` overrides
 * how many characters of the end are kept. Text of `max` characters or fewer comes back unchanged.
 */
export function cutLabel(text: string, max: number, end?: number): string {
  const u = unitsOf(text);
  if (u.length <= max) return text;
  const tail = Math.min(end ?? endShare(max), max - 2);
  const head = max - 1 - tail;
  return u.slice(0, head).join('') + '…' + u.slice(u.length - tail).join('');
}

/**
 * The labels of sibling segments (one row each), by segment id: segmentLabel, except that siblings
 * whose cut labels collide keep more of their end, first in place of their start (which they share)
 * down to LABEL_MIN_HEAD characters of it, then by a longer cut, until all differ (at worst they are
 * shown whole): two long names that share their start and end stay distinguishable.
 */
export function segmentLabels(segs: Segment[], max = LABEL_CUT): Map<string, string> {
  const wholes = segs.map((s) => displayText(baseName(s.name)));
  const labels = segs.map((s) => segmentLabel(s, max));
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => byLabel.set(l, [...(byLabel.get(l) ?? []), i]));
  const tail0 = endShare(max);
  const head0 = max - 1 - tail0;
  for (const idx of byLabel.values()) {
    if (idx.length < 2 || idx.every((i) => labels[i] === wholes[i])) continue;
    for (let extra = 1; ; extra++) {
      const tail = tail0 + extra;
      const head = Math.max(Math.min(LABEL_MIN_HEAD, head0), head0 - extra);
      const tries = idx.map((i) => (unitsOf(wholes[i]).length > LABEL_WHOLE ? cutLabel(wholes[i], head + 1 + tail, tail) : wholes[i]));
      if (new Set(tries).size === tries.length || idx.every((i, k) => tries[k] === wholes[i])) {
        idx.forEach((i, k) => (labels[i] = tries[k]));
        break;
      }
    }
  }
  const out = new Map<string, string>();
  segs.forEach((s, i) => out.set(segmentId(s), labels[i]));
  return out;
}

/** A holder's tree label: its process name (which the process sets itself: any bytes), display-escaped. */
export function holderLabel(h: Holder): string {
  return displayText(h.comm);
}

/**
 * Stable across refreshes, so expansion and selection survive them. A deleted file is known by its
 * inode, which its parts (an Arrow file's columns, a safetensors file's tensors) share: they add their name.
 */
export function segmentId(s: Segment): string {
  return s.deleted ? `deleted:${s.dev}:${s.ino}${isPart(s) ? `/${s.name}` : ''}` : `segment:${s.path}#${s.name}`;
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

/** A System V segment's row id: its shmid and creation time (a shmid reused by a new segment is a new row). */
export function sysvNodeId(s: SysvSegment): string {
  const ns = (s as Partial<ForeignSysvSegment>).namespace;
  return `sysv:${ns ? `${ns.id}/` : ''}${s.sysv.shmid}:${s.sysv.ctimeMs}`;
}

/**
 * The System V group's children: this namespace's segments, then one group per other IPC namespace
 * that has segments (a container's, named from its cgroup as the CLI names it), in namespace order.
 */
export function sysvChildren(own: SysvSegment[], foreign: ForeignSysvSegment[]): Node[] {
  const out: Node[] = own.map((s) => ({ kind: 'sysvSegment', id: sysvNodeId(s), segment: s }));
  const byNs = new Map<number, ForeignSysvSegment[]>();
  for (const s of foreign) {
    let l = byNs.get(s.namespace.id);
    if (!l) byNs.set(s.namespace.id, (l = []));
    l.push(s);
  }
  for (const [id, segs] of [...byNs].sort((a, b) => a[0] - b[0])) {
    out.push({ kind: 'sysvNsGroup', id: `group:sysv/${id}`, namespace: segs[0].namespace, segments: [...segs].sort((a, b) => a.sysv.shmid - b.sysv.shmid) });
  }
  return out;
}

/** The segment a row opens: a file's row, or a System V one (no path: the viewer attaches it); none for other rows. */
export function rowSegment(node: Node | undefined): Segment | undefined {
  if (node?.kind === 'segment') return node.segment;
  if (node?.kind === 'sysvSegment') return node.segment as unknown as Segment;
  return undefined;
}
