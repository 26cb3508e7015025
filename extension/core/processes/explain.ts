/**
 * Plain words for a fork family's figures: how much its children still share with their
 * parents, how much they copied, and, when they copied much of it, what that usually means and
 * what to do, with the family's own numbers. Says only what the figures show.
 */
import { formatBytes } from '../format-words';
import type { Family, ProcessMemory } from './types';

export type Verdict = 'shared' | 'copying' | 'copied' | 'unknown';

export interface Explanation {
  verdict: Verdict;
  /** copiedBytes / (sharedBytes + copiedBytes) over the children, or null when nothing inherited was seen. */
  copiedShare: number | null;
  /** One line: `4 workers copied 610 MiB of 800 MiB inherited (76%)`. */
  summary: string;
  /** Paragraphs of plain text (the view's hover renders them as Markdown). */
  paragraphs: string[];
  /** Whether the family runs Python (its advice then names Python's remedies). */
  python: boolean;
}

/** Above this share of inherited memory copied (and at least COPIED_FLOOR bytes), the family is flagged. */
export const COPIED_WARN = 0.5;
/** From this share on, the explanation says the family is losing sharing. */
export const COPIED_NOTE = 0.2;
const COPIED_FLOOR = 32 * 1024 * 1024;

function isPython(p: ProcessMemory | undefined): boolean {
  if (!p) return false;
  const exe = p.cmdline[0] ?? '';
  return /^python/i.test(p.comm) || /(^|\/)python[\d.]*$/.test(exe) || /(^|\/)(gunicorn|celery|uwsgi|jupyter|ipython)/.test(exe);
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function explainFamily(f: Family, byPid: Map<number, ProcessMemory>): Explanation {
  const root = byPid.get(f.root);
  const kids = f.members.length - 1;
  const python = isPython(root);
  const workers = `${kids} forked ${kids === 1 ? 'child' : 'children'}`;
  const inherited = f.sharedBytes + f.copiedBytes;
  const how = f.exact ? 'counted page by page' : 'estimated from smaps';
  const ram = `The family uses ${formatBytes(f.trueBytes)} of RAM (the sum of its members' PSS, each shared page divided among those that map it); top and ps add up to ${formatBytes(f.rssSum)} because they count every shared page once per process.`;
  if (inherited === 0) {
    return {
      verdict: 'unknown',
      copiedShare: null,
      summary: `${workers}; nothing inherited is resident in both parent and child`,
      paragraphs: [
        ram,
        'No page of private memory is resident in both a child and its parent, so there is nothing to compare (the parent may have freed what it had before forking).',
      ],
      python,
    };
  }
  const share = f.copiedBytes / inherited;
  const summary = `${workers} copied ${formatBytes(f.copiedBytes)} of ${formatBytes(inherited)} inherited (${pct(share)}), ${formatBytes(f.sharedBytes)} still shared`;
  const paragraphs = [
    `Since fork, the ${workers} of ${root?.comm ?? 'the root'} (PID ${f.root}) still share ${formatBytes(f.sharedBytes)} with their parents and have copied ${formatBytes(f.copiedBytes)} (${pct(share)} of what both sides still hold; ${how}). A page is copied when the child or the parent writes to it after fork.`,
    ram,
  ];
  const worst = f.members
    .map((m) => byPid.get(m))
    .filter((p): p is ProcessMemory => p?.inherited !== undefined)
    .sort((a, b) => b.inherited!.copiedBytes - a.inherited!.copiedBytes)[0];
  if (worst && kids > 1 && worst.inherited!.copiedBytes > 0) {
    paragraphs.push(`The child that copied most is PID ${worst.pid}: ${formatBytes(worst.inherited!.copiedBytes)}.`);
  }
  // One child that copied much of what it inherited counts, even when its siblings copied little.
  const worstInh = worst ? worst.inherited!.sharedBytes + worst.inherited!.copiedBytes : 0;
  const worstShare = worst && worstInh > 0 && worst.inherited!.copiedBytes >= COPIED_FLOOR ? worst.inherited!.copiedBytes / worstInh : 0;
  if (worst && kids > 1 && worstShare >= COPIED_NOTE && share < COPIED_NOTE) {
    paragraphs.push(`That child alone copied ${pct(worstShare)} of what it inherited, while its siblings kept theirs shared.`);
  }
  const level = Math.max(f.copiedBytes >= COPIED_FLOOR ? share : 0, worstShare);
  if (level < COPIED_NOTE) {
    paragraphs.push('Copy-on-write is working: the children read what they inherited without copying much of it.');
    return { verdict: 'shared', copiedShare: share, summary, paragraphs, python };
  }
  paragraphs.push(
    `Had those pages stayed shared, the family would use about ${formatBytes(Math.max(0, f.trueBytes - f.copiedBytes))} instead of ${formatBytes(f.trueBytes)}.`,
  );
  if (python) {
    paragraphs.push(
      'In Python this usually means the children read Python objects (dicts, lists, pandas DataFrames of objects, strings): even reading an object changes its reference count, which writes to the page it lives on, so the kernel copies that page for the child. The data buffers of numpy arrays and Arrow tables are not written by reading them, and stay shared.',
      "What keeps data shared: put it in shared memory before forking: a numpy array in `multiprocessing.shared_memory.SharedMemory`, an `.npy` file in /dev/shm opened with `np.load(path, mmap_mode='r')`, or an Arrow IPC file opened with `pyarrow.memory_map`; keep large collections of Python objects out of the parent, or turn them into arrays. Call `gc.freeze()` just before forking so that the garbage collector's own passes do not write to every object it tracks.",
    );
  } else {
    paragraphs.push(
      'The children (or the parent) write to memory they shared after fork, and each page written is copied. Data that must stay shared belongs in a shared mapping (shm_open or a MAP_SHARED file) rather than in private memory inherited by fork.',
    );
  }
  return { verdict: level >= COPIED_WARN ? 'copied' : 'copying', copiedShare: share, summary, paragraphs, python };
}
