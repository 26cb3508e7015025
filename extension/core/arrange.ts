/**
 * How the sidebar arranges the catalog: filter (text or glob), hide semaphores,
 * sort (name, size, age), group by producer, and deleted segments apart.
 * Pure functions, no `vscode`: the tree and the unit tests share them.
 */
import { compileGlob, GlobError, globProblem, type Glob } from './glob';
import type { Producer, Segment } from './types';

export type SortKey = 'name' | 'size' | 'age';

export interface ArrangeOptions {
  sortBy: SortKey;
  groupByProducer: boolean;
  showSemaphores: boolean;
  /** Text (case-insensitive substring) or glob (`*`, `?`, `[...]`); empty: everything. */
  filter: string;
}

export interface ProducerGroup {
  key: string;
  label: string;
  segments: Segment[];
  /** RAM the group's segments use. */
  allocatedBytes: number;
}

export interface Arranged {
  /** Live segments, sorted (empty when grouped). */
  segments: Segment[];
  /** Producer groups, in a fixed order, only the non-empty ones (empty when not grouped). */
  groups: ProducerGroup[];
  /** Deleted-but-still-mapped segments, sorted. */
  deleted: Segment[];
  /** Live segments hidden by the filter or the semaphore switch. */
  hidden: number;
}

const GROUPS: { key: string; label: string; producers: Producer[] }[] = [
  { key: 'python-shared-memory', label: 'Python SharedMemory', producers: ['python-shared-memory'] },
  { key: 'python-heap', label: 'Python multiprocessing heap', producers: ['python-heap'] },
  { key: 'torch', label: 'torch', producers: ['torch'] },
  { key: 'joblib', label: 'joblib', producers: ['joblib'] },
  { key: 'plasma', label: 'Plasma', producers: ['plasma'] },
  { key: 'semaphore', label: 'Semaphores', producers: ['semaphore'] },
  { key: 'other', label: 'Other', producers: [null] },
];

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Why a filter cannot be applied (a malformed glob class), or null. */
export function filterProblem(filter: string): string | null {
  const f = filter.trim();
  return f !== '' && isGlob(f) ? globProblem(f) : null;
}

/** A case-insensitive matcher for a text or glob filter. */
export function nameMatcher(filter: string): (name: string) => boolean {
  const f = filter.trim();
  if (f === '') return () => true;
  if (!isGlob(f)) {
    const needle = f.toLowerCase();
    return (name) => name.toLowerCase().includes(needle);
  }
  // The same glob as `clear --glob` (case-insensitive here: it only narrows what is shown).
  let g: Glob;
  try {
    g = compileGlob(f, { ignoreCase: true });
  } catch (e) {
    // The filter command refuses a malformed glob (globProblem); one stored before is read as text.
    if (!(e instanceof GlobError)) throw e;
    const needle = f.toLowerCase();
    return (name) => name.toLowerCase().includes(needle);
  }
  return (name) => g.test(name) || g.test(name.slice(name.lastIndexOf('/') + 1));
}

function matchesDeep(s: Segment, m: (n: string) => boolean): boolean {
  return m(s.name) || (s.children ?? []).some((c) => matchesDeep(c, m));
}

export function compareSegments(sortBy: SortKey): (a: Segment, b: Segment) => number {
  const byName = (a: Segment, b: Segment) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (sortBy === 'size') return (a, b) => b.allocatedBytes - a.allocatedBytes || b.size - a.size || byName(a, b);
  // Oldest first: leaks are old.
  if (sortBy === 'age') return (a, b) => a.mtimeMs - b.mtimeMs || byName(a, b);
  return byName;
}

export function arrange(all: Segment[], opts: ArrangeOptions): Arranged {
  const m = nameMatcher(opts.filter);
  const cmp = compareSegments(opts.sortBy);
  const live: Segment[] = [];
  const deleted: Segment[] = [];
  let hidden = 0;
  for (const s of all) {
    if (s.deleted) {
      if (matchesDeep(s, m)) deleted.push(s);
      continue;
    }
    if ((!opts.showSemaphores && s.format === 'semaphore') || !matchesDeep(s, m)) {
      hidden++;
      continue;
    }
    live.push(s);
  }
  live.sort(cmp);
  deleted.sort(cmp);
  if (!opts.groupByProducer) return { segments: live, groups: [], deleted, hidden };
  const groups: ProducerGroup[] = [];
  for (const g of GROUPS) {
    const segs = live.filter((s) => g.producers.includes(s.producer));
    if (segs.length > 0) groups.push({ key: g.key, label: g.label, segments: segs, allocatedBytes: sum(segs) });
  }
  return { segments: [], groups, deleted, hidden };
}

function sum(segs: Segment[]): number {
  return segs.reduce((t, s) => t + s.allocatedBytes, 0);
}

/** RAM held by a list of segments. */
export function allocatedOf(segs: Segment[]): number {
  return sum(segs);
}
