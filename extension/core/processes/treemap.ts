/**
 * The memory picture's treemap (issue #14 item 6): the machine's RAM as fork families →
 * processes → kinds (private, shared with family, shared-memory segments, mapped files), sized
 * by PSS, and a squarified layout of it as pure functions. The host lays it out at the
 * webview's size and sends the rectangles; tiny ones are lumped so that the webview never gets
 * more rectangles than it has pixels to show them. No `vscode` here.
 */
import * as fs from 'fs';
import { MEMORY_KINDS, type MemoryKind, type PictureRect } from '../../../contract/picture';
import type { MemoryReport, ProcessMemory } from './types';

/** A node of the memory tree: a family, a process, a kind of a process's memory, or a lump of small ones (a rectangle before its place is known). */
export type MemoryNode = Omit<PictureRect, 'depth' | 'x' | 'y' | 'w' | 'h'> & { children?: MemoryNode[] };

/** What /proc/meminfo says of the machine (bytes). */
export interface MemInfo {
  memTotal: number;
  memAvailable: number;
  /** tmpfs, /dev/shm, System V and shared anonymous memory: resident whether mapped or not. */
  shmem: number;
}

export async function readMemInfo(): Promise<MemInfo> {
  const text = await fs.promises.readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { memTotal: kb('MemTotal'), memAvailable: kb('MemAvailable'), shmem: kb('Shmem') };
}

/**
 * A process's PSS split by kind. Shared-memory segments and mapped files are the kernel's own
 * Pss_Shmem and Pss_File; anonymous memory is split into what only this process has and what
 * it still shares with its fork family. Anonymous pages are shared only across fork, so a
 * process in no family has none shared; in a family, the anonymous pages it shares are those it
 * shares with its parent (`inherited.sharedBytes`) or with a child (the most any child shares),
 * an estimate from the same figures the Processes view shows.
 */
export function processKinds(p: ProcessMemory, sharedAnonRss: number): Record<MemoryKind, number> {
  const shm = Math.max(0, p.shmem.pss);
  const file = Math.max(0, Math.min(p.file.pss, p.pss - shm));
  const anon = Math.max(0, p.pss - shm - file);
  const priv = Math.min(anon, Math.max(0, p.anon.rss - sharedAnonRss));
  return { private: priv, family: anon - priv, shm, file };
}

function kindNodes(p: ProcessMemory, sharedAnonRss: number, family: number | undefined): MemoryNode[] {
  const k = processKinds(p, sharedAnonRss);
  return (Object.keys(MEMORY_KINDS) as MemoryKind[])
    .filter((kind) => k[kind] > 0)
    .map((kind) => ({ id: `proc:${p.pid}/${kind}`, role: 'kind' as const, label: MEMORY_KINDS[kind], bytes: k[kind], kind, pid: p.pid, family }));
}

function processNode(p: ProcessMemory, sharedAnonRss: number): MemoryNode {
  const family = p.family ?? undefined;
  const inh = p.inherited && !p.inherited.error ? p.inherited : undefined;
  return {
    id: `proc:${p.pid}`,
    role: 'process',
    label: `${p.comm} (${p.pid})`,
    bytes: p.pss,
    pid: p.pid,
    family,
    rss: p.rss,
    ...(inh ? { sharedBytes: inh.sharedBytes, copiedBytes: inh.copiedBytes, exact: inh.exact } : {}),
    children: kindNodes(p, sharedAnonRss, family),
  };
}

/**
 * The machine's RAM as a tree: each fork family (its processes, each split by kind) and each
 * process in no family at the top level, largest first; with `mem`, the shared memory that no
 * inspectable process maps (orphaned segments still hold RAM) as one more top-level entry.
 */
export function memoryTree(report: MemoryReport, mem?: MemInfo): MemoryNode[] {
  const byPid = new Map(report.processes.map((p) => [p.pid, p]));
  const children = new Map<number, ProcessMemory[]>();
  for (const p of report.processes) {
    if (p.family === null || p.pid === p.family) continue;
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const sharedAnon = (p: ProcessMemory) => {
    const own = p.inherited && !p.inherited.error ? p.inherited.sharedBytes : 0;
    const kids = (children.get(p.pid) ?? []).map((c) => (c.inherited && !c.inherited.error ? c.inherited.sharedBytes : 0));
    return Math.max(own, ...kids);
  };
  const top: MemoryNode[] = [];
  for (const f of report.families) {
    const members = f.members.map((m) => byPid.get(m)).filter((p): p is ProcessMemory => p !== undefined);
    if (members.length === 0) continue;
    const root = byPid.get(f.root);
    const nodes = members.map((p) => processNode(p, sharedAnon(p))).sort((a, b) => b.bytes - a.bytes);
    top.push({
      id: `family:${f.root}`,
      role: 'family',
      label: `${root?.comm ?? '?'} (${f.root}) + ${members.length - 1} forked`,
      bytes: nodes.reduce((s, n) => s + n.bytes, 0),
      family: f.root,
      rss: f.rssSum,
      sharedBytes: f.sharedBytes,
      copiedBytes: f.copiedBytes,
      exact: f.exact,
      children: nodes,
    });
  }
  for (const p of report.processes) if (p.family === null) top.push(processNode(p, 0));
  if (mem) {
    const mapped = report.processes.reduce((s, p) => s + p.shmem.pss, 0);
    const unmapped = mem.shmem - mapped;
    if (unmapped > 0) top.push({ id: 'unmapped', role: 'unmapped', label: 'shared memory no process maps', bytes: unmapped, kind: 'shm' });
  }
  return top.filter((n) => n.bytes > 0).sort((a, b) => b.bytes - a.bytes || a.id.localeCompare(b.id));
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The worst aspect ratio of a row of areas (their sum, smallest and largest) laid along a side of length `side`. */
function worst(sum: number, min: number, max: number, side: number): number {
  const s2 = side * side;
  const sum2 = sum * sum;
  return Math.max((s2 * max) / sum2, sum2 / (s2 * min));
}

/**
 * Squarified treemap (Bruls, Huizing, van Wijk 2000): boxes for `values` (non-negative, any order)
 * that tile `box`, each with an area proportional to its value, as square as the method makes
 * them. Returned in the order of `values`; a value of 0 gets an empty box.
 */
export function squarify(values: number[], box: Box): Box[] {
  const out: Box[] = values.map(() => ({ x: box.x, y: box.y, w: 0, h: 0 }));
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  if (total <= 0 || box.w <= 0 || box.h <= 0) return out;
  const scale = (box.w * box.h) / total;
  const order = values
    .map((v, i) => ({ i, a: Math.max(0, v) * scale }))
    .filter((e) => e.a > 0)
    .sort((a, b) => b.a - a.a);
  let { x, y, w, h } = box;
  let k = 0;
  while (k < order.length) {
    const side = Math.min(w, h);
    // Areas come largest first: a row's largest is its first, its smallest its last.
    const max = order[k].a;
    let sum = max;
    let j = k + 1;
    while (j < order.length && worst(sum + order[j].a, order[j].a, max, side) <= worst(sum, order[j - 1].a, max, side)) sum += order[j++].a;
    // The last row takes what is left exactly (no gap from rounding).
    const last = j >= order.length;
    if (w >= h) {
      // A column along the left side.
      const cw = last ? w : Math.min(w, sum / h);
      let yy = y;
      for (let m = k; m < j; m++) {
        const hh = m === j - 1 ? y + h - yy : order[m].a / cw;
        out[order[m].i] = { x, y: yy, w: cw, h: hh };
        yy += hh;
      }
      x += cw;
      w -= cw;
    } else {
      // A row along the top.
      const rh = last ? h : Math.min(h, sum / w);
      let xx = x;
      for (let m = k; m < j; m++) {
        const ww = m === j - 1 ? x + w - xx : order[m].a / rh;
        out[order[m].i] = { x: xx, y, w: ww, h: rh };
        xx += ww;
      }
      y += rh;
      h -= rh;
    }
    k = j;
  }
  return out;
}

export interface TreemapOptions {
  /** Entries whose rectangle would be smaller than this (CSS px²) are lumped into one "N other" rectangle. */
  minArea?: number;
  /** Room for a label strip at the top of a rectangle with children (px). */
  header?: number;
  /** Inset of children inside their parent (px). */
  pad?: number;
}

function lumpLabel(parent: MemoryNode | null, n: number): string {
  if (!parent) return `${n} other processes`;
  if (parent.role === 'family') return `${n} other members`;
  return `${n} smaller kinds`;
}

/** A node's rectangle: its fields (but its children) and its place; copied field by field (no spread: thousands a layout). */
function toRect(n: MemoryNode, depth: number, b: Box): PictureRect {
  const r: PictureRect = { id: n.id, role: n.role, depth, x: b.x, y: b.y, w: b.w, h: b.h, label: n.label, bytes: n.bytes };
  if (n.kind !== undefined) r.kind = n.kind;
  if (n.family !== undefined) r.family = n.family;
  if (n.pid !== undefined) r.pid = n.pid;
  if (n.count !== undefined) r.count = n.count;
  if (n.rss !== undefined) r.rss = n.rss;
  if (n.sharedBytes !== undefined) r.sharedBytes = n.sharedBytes;
  if (n.copiedBytes !== undefined) r.copiedBytes = n.copiedBytes;
  if (n.exact !== undefined) r.exact = n.exact;
  return r;
}

/**
 * Lays the tree out in `box`: each level squarified inside its parent (below the parent's label
 * strip), depth first. Entries that would be smaller than `minArea` are lumped into one rectangle
 * per parent, so a machine of thousands of processes gives at most about one rectangle per
 * `minArea` pixels; a parent too small to show its children shows none.
 */
export function layoutTreemap(nodes: MemoryNode[], box: Box, opts: TreemapOptions = {}): PictureRect[] {
  const minArea = opts.minArea ?? 16;
  const header = opts.header ?? 16;
  const pad = opts.pad ?? 2;
  const rects: PictureRect[] = [];
  const level = (items: MemoryNode[], b: Box, depth: number, parent: MemoryNode | null) => {
    const total = items.reduce((s, n) => s + Math.max(0, n.bytes), 0);
    if (total <= 0 || b.w <= 0 || b.h <= 0) return;
    const perByte = (b.w * b.h) / total;
    const sorted = [...items].filter((n) => n.bytes > 0).sort((a, c) => c.bytes - a.bytes);
    let keep = sorted.length;
    while (keep > 0 && sorted[keep - 1].bytes * perByte < minArea) keep--;
    let shown = sorted.slice(0, keep);
    const small = sorted.slice(keep);
    if (small.length === 1) shown.push(small[0]);
    else if (small.length > 1) {
      const pid = parent?.pid;
      shown.push({
        id: `lump:${parent?.id ?? 'top'}`,
        role: 'lump',
        label: lumpLabel(parent, small.length),
        bytes: small.reduce((s, n) => s + n.bytes, 0),
        count: small.length,
        ...(parent?.family !== undefined ? { family: parent.family } : {}),
        ...(pid !== undefined ? { pid } : {}),
      });
    }
    // A lump that is still below minArea and alone at its level says nothing: it stays (it is the level).
    if (shown.length === 0) shown = sorted.slice(0, 1);
    const boxes = squarify(
      shown.map((n) => n.bytes),
      b,
    );
    shown.forEach((n, i) => {
      const r = boxes[i];
      rects.push(toRect(n, depth, r));
      const children = n.children;
      if (!children || children.length === 0) return;
      const labelled = r.h >= header * 2.5 && r.w >= 48;
      const inner: Box = labelled
        ? { x: r.x + pad, y: r.y + header, w: r.w - 2 * pad, h: r.h - header - pad }
        : { x: r.x + pad, y: r.y + pad, w: r.w - 2 * pad, h: r.h - 2 * pad };
      if (inner.w * inner.h >= minArea * 2) level(children, inner, depth + 1, n);
    });
  };
  level(nodes, box, 0, null);
  return rects;
}
