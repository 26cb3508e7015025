/**
 * One process's mappings on demand (native smaps read on a worker thread), grouped the way a
 * user reads them: heap and anonymous memory, shared-memory segments (with the catalog's
 * segment each one is), other files, libraries and code, stacks, and the kernel's own.
 */
import { native } from '../../native';

export type MappingKind = 'heap' | 'shm' | 'file' | 'library' | 'stack' | 'kernel';

export const MAPPING_KIND_WORDS: Record<MappingKind, string> = {
  heap: 'heap and anonymous',
  shm: 'shared-memory segments',
  file: 'other files',
  library: 'libraries and code',
  stack: 'stacks',
  kernel: 'kernel (vdso, vvar)',
};

/** Bytes of a mapping (or a group of them), from smaps. */
export interface MappingFigures {
  rss: number;
  pss: number;
  /** Pages other processes map too (Shared_Clean + Shared_Dirty). */
  shared: number;
  /** Pages only this process maps (Private_Clean + Private_Dirty). */
  private: number;
  swap: number;
}

export interface Mapping extends MappingFigures {
  start: number;
  end: number;
  perms: string;
  offset: number;
  dev: number;
  ino: number;
  /** The path as smaps shows it (empty for anonymous memory). */
  path: string;
  deleted: boolean;
  kind: MappingKind;
}

export interface MappingGroup extends MappingFigures {
  kind: MappingKind;
  /** Its mappings, most resident first; mappings of one file are merged into one row. */
  mappings: Mapping[];
}

const SHM_PATH = /^(\/dev\/shm\/|\/memfd:|\/SYSV[0-9a-f]{8}|\/run\/shm\/)/;

function kindOf(perms: string, ino: number, path: string): MappingKind {
  if (path === '[stack]' || path.startsWith('[stack:')) return 'stack';
  if (path === '[vdso]' || path === '[vvar]' || path === '[vsyscall]' || path === '[uprobes]' || path.startsWith('[vvar_')) return 'kernel';
  if (SHM_PATH.test(path) || (ino !== 0 && perms[3] === 's' && path.startsWith('/dev/zero'))) return 'shm';
  if (ino === 0 || path === '[heap]' || path.startsWith('[anon')) return 'heap';
  if (perms[2] === 'x' || /\.so(\.[\d.]+)?( \(deleted\))?$/.test(path) || /\.so\b/.test(path)) return 'library';
  return 'file';
}

function addFigures(to: MappingFigures, m: MappingFigures): void {
  to.rss += m.rss;
  to.pss += m.pss;
  to.shared += m.shared;
  to.private += m.private;
  to.swap += m.swap;
}

const ORDER: MappingKind[] = ['heap', 'shm', 'file', 'library', 'stack', 'kernel'];

/** The process's mappings grouped by kind (groups in a fixed order; empty groups left out). */
export async function processMappings(pid: number): Promise<MappingGroup[]> {
  const { nums, perms, paths } = await native().processMappings(pid);
  const groups = new Map<MappingKind, MappingGroup>();
  const merged = new Map<string, Mapping>();
  for (let i = 0; i < perms.length; i++) {
    const v = (k: number) => nums[i * 12 + k];
    let path = paths[i];
    const deleted = path.endsWith(' (deleted)');
    if (deleted) path = path.slice(0, -' (deleted)'.length);
    const kind = kindOf(perms[i], v(4), path);
    const m: Mapping = {
      start: v(0),
      end: v(1),
      perms: perms[i],
      offset: v(2),
      dev: v(3),
      ino: v(4),
      path,
      deleted,
      kind,
      rss: v(5),
      pss: v(6),
      shared: v(7) + v(8),
      private: v(9) + v(10),
      swap: v(11),
    };
    let g = groups.get(kind);
    if (!g) groups.set(kind, (g = { kind, rss: 0, pss: 0, shared: 0, private: 0, swap: 0, mappings: [] }));
    addFigures(g, m);
    // A file mapped in several pieces (a library's text, data, bss) is one row; anonymous ranges stay apart.
    const key = m.ino !== 0 ? `${kind}:${m.dev}:${m.ino}` : path ? `${kind}:${path}` : '';
    const prev = key ? merged.get(key) : undefined;
    if (prev) {
      prev.start = Math.min(prev.start, m.start);
      prev.end = Math.max(prev.end, m.end);
      addFigures(prev, m);
    } else {
      g.mappings.push(m);
      if (key) merged.set(key, m);
    }
  }
  const out = ORDER.map((k) => groups.get(k)).filter((g): g is MappingGroup => g !== undefined);
  for (const g of out) g.mappings.sort((a, b) => b.rss - a.rss || a.start - b.start);
  return out;
}

/** How much of one segment (dev, ino) each of its holders has resident: from each holder's smaps. */
export async function segmentResidency(dev: number, ino: number, pids: number[]): Promise<{ pid: number; rss: number; pss: number; error?: string }[]> {
  return Promise.all(
    pids.map(async (pid) => {
      try {
        const groups = await processMappings(pid);
        const maps = groups.flatMap((g) => g.mappings).filter((m) => m.dev === dev && m.ino === ino);
        return { pid, rss: maps.reduce((s, m) => s + m.rss, 0), pss: maps.reduce((s, m) => s + m.pss, 0) };
      } catch (e) {
        return { pid, rss: 0, pss: 0, error: (e as Error).message };
      }
    }),
  );
}
