/** `list` and `inspect`: the catalog commands. */
import * as fs from 'fs';
import { inspectSegment, listCatalog, resolveName, UsageError } from '../core/catalog';
import { dtypeWords } from '../core/dtype';
import { formatBytes, shapeWords } from '../core/format-words';
import type { Catalog, Segment } from '../core/types';
import { displayText } from '../core/names';
import { isPart } from '../core/segments';
import { inspectSysv, listSysv, ownIpcNamespace, parseSysvName, type SysvSegment } from '../core/sysv';
import { Failure, table, type Command, type CommandContext } from './common';
import { sysvSegmentText, sysvTableText } from './sysv';
import { inspectMemSegment, listMemSegments, parseMemName, type MemKind, type MemSegment } from '../core/kinds/memfd';
import { memSegmentText, memTableText } from './kinds';
import { inspectContainerSegment, listContainers, parseContainerName, type ContainerScan } from '../core/kinds/containers';
import { inspectForeignSysv, listForeignSysv, parseForeignSysvName, type IpcNamespaceScan } from '../core/kinds/ipcns';

function flatten(segs: Segment[], depth = 0): { s: Segment; depth: number }[] {
  const out: { s: Segment; depth: number }[] = [];
  for (const s of segs) {
    out.push({ s, depth });
    if (s.children) out.push(...flatten(s.children, depth + 1));
  }
  return out;
}

function holdersText(s: Segment): string {
  if (isPart(s)) return '';
  if (s.holders.length > 0) return s.holders.map((h) => `${displayText(h.comm)}(${h.pid})`).join(',');
  if (s.format === 'symlink') return '';
  return s.orphan === true ? 'orphan' : s.orphan === null ? '?' : '';
}

function noteText(s: Segment): string {
  const notes: string[] = [];
  if (s.deleted) notes.push('deleted, still held');
  if (s.symlinkTarget !== null) notes.push(`-> ${s.symlinkTarget}`);
  const interp = s.details?.interpretation as { leftoverBytes?: number } | undefined;
  if (interp) notes.push(`interpreted${interp.leftoverBytes ? `, ${interp.leftoverBytes} bytes left over` : ''}`);
  if (s.error) notes.push(s.error);
  return notes.join('; ');
}

function segmentRows(segs: Segment[]): string[][] {
  const rows = [['NAME', 'SIZE', 'RAM', 'FORMAT', 'DTYPE', 'SHAPE', 'HOLDERS', 'NOTE']];
  for (const { s, depth } of flatten(segs)) {
    const part = isPart(s);
    const name = '  '.repeat(depth) + (depth > 0 ? s.name.slice(s.name.lastIndexOf('/') + 1) : s.name);
    rows.push([
      name,
      formatBytes(s.size),
      part ? '' : formatBytes(s.allocatedBytes),
      s.format,
      dtypeWords(s.dtype),
      shapeWords(s.shape),
      holdersText(s),
      noteText(s),
    ]);
  }
  return rows;
}

function catalogText(cat: Catalog): string {
  const lines: string[] = [];
  for (const d of cat.directories) {
    lines.push(`${d.path}: ${formatBytes(d.used)} used of ${formatBytes(d.size)}, ${formatBytes(d.free)} free`);
  }
  if (cat.shmem !== null) lines.push(`shared memory in RAM (Shmem): ${formatBytes(cat.shmem)}`);
  if (cat.invisibleProcesses > 0) {
    lines.push(`${cat.invisibleProcesses} process${cat.invisibleProcesses === 1 ? '' : 'es'} could not be inspected; '?' marks segments that may be held by one`);
  }
  lines.push('');
  lines.push(cat.segments.length === 0 ? '(no segments)' : table(segmentRows(cat.segments), new Set([1, 2])));
  return lines.join('\n');
}

function segmentText(s: Segment): string {
  const rows: string[][] = [];
  const add = (k: string, v: string) => rows.push([k, v]);
  add('name', s.name);
  add('path', s.path + (s.deleted ? ' (deleted, still held)' : ''));
  add('format', s.format + (s.producer ? ` (made by ${s.producer})` : ''));
  if (s.dtype !== null) add('dtype', `${dtypeWords(s.dtype)} (${s.dtype})`);
  if (s.shape !== null) add('shape', `${shapeWords(s.shape)}${s.fortranOrder === null ? '' : s.fortranOrder ? ', Fortran order' : ', C order'}`);
  if (s.dataOffset !== null) add('data offset', String(s.dataOffset));
  const interp = s.details?.interpretation as { leftoverBytes?: number } | undefined;
  if (interp) add('interpreted', `yes (user-given dtype/shape)${interp.leftoverBytes ? `; ${interp.leftoverBytes} bytes after the data left unread` : ''}`);
  add('size', `${formatBytes(s.size)} (${s.size} bytes)`);
  if (!isPart(s)) add('in RAM', formatBytes(s.allocatedBytes));
  if (s.mtimeMs > 0) add('modified', new Date(s.mtimeMs).toISOString());
  if (s.uid >= 0) add('owner', `uid ${s.uid}, mode ${s.mode.toString(8).padStart(4, '0')}`);
  add('dev:ino', `${s.dev}:${s.ino}`);
  if (s.symlinkTarget !== null) add('link to', `${s.symlinkTarget} (not followed)`);
  if (s.format !== 'symlink' && !isPart(s)) {
    add(
      'holders',
      s.holders.length > 0
        ? s.holders.map((h) => `${displayText(h.comm)} (pid ${h.pid}, ${h.via})`).join(', ')
        : s.orphan === null
          ? 'none visible (some processes could not be inspected)'
          : 'none (orphan)',
    );
  }
  if (s.error) add('error', s.error);
  let text = table(rows);
  if (s.children && s.children.length > 0) text += '\n\n' + table(segmentRows(s.children), new Set([1, 2]));
  return text;
}

/** Other IPC namespaces' System V tables, one per namespace with segments, and those that could not be entered. */
function foreignSysvText(f: IpcNamespaceScan): string[] {
  const parts: string[] = [];
  if (f.unreadable.length > 0) {
    parts.push(
      `${f.unreadable.length} IPC namespace${f.unreadable.length === 1 ? '' : 's'} could not be entered: ${f.unreadable.map((u) => `${u.id} (pid ${u.pid}: ${displayText(u.error)})`).join('; ')}`,
    );
  }
  for (const ns of f.namespaces) {
    const segs = f.segments.filter((s) => s.namespace.id === ns.id);
    if (segs.length === 0) continue;
    parts.push(`IPC namespace ${ns.id}, ${displayText(ns.name)} (pid ${ns.pid}):\n` + sysvTableText(segs).replace(/^System V segments/, 'System V segments there'));
  }
  return parts;
}

/** Each container's /dev/shm: a line with its name, namespace and usage, then its segments as `list` shows them. */
function containersText(c: ContainerScan): string {
  const lines: string[] = [`Containers: ${c.groups.length} with their own /dev/shm, ${formatBytes(c.groups.reduce((a, g) => a + g.used, 0))} used`];
  if (c.unreadable.length > 0) {
    lines.push(
      `${c.unreadable.length} mount namespace${c.unreadable.length === 1 ? '' : 's'} could not be read: ${c.unreadable.map((u) => `${u.id} (pid ${u.pid}: ${displayText(u.error)})`).join('; ')}`,
    );
  }
  for (const g of c.groups) {
    const ns = g.namespace;
    lines.push('');
    lines.push(
      `${displayText(ns.name)} (mount namespace ${ns.id}, pid ${ns.pid}${g.sharedWith.length > 0 ? `, shared with ${g.sharedWith.join(', ')}` : ''}): ${g.path} ${formatBytes(g.used)} used of ${formatBytes(g.size)}, ${formatBytes(g.free)} free`,
    );
    lines.push(g.segments.length === 0 ? '(no segments)' : table(segmentRows(g.segments as unknown as Segment[]), new Set([1, 2])));
  }
  return lines.join('\n');
}

export const CATALOG_COMMANDS: Command[] = [
  {
    name: 'list',
    synopsis: 'list [--dir D] [--json] [--kind posix|sysv|memfd|anonymous|all|K1,K2]',
    summary: 'every segment, decoded, with the processes that hold it; --kind adds System V segments, memfd regions, shared anonymous memory (all: every kind)',
    options: { kind: { type: 'string' } },
    positionals: [0, 0],
    async run(ctx) {
      const kinds = parseKinds(ctx);
      const sysvP = kinds.has('sysv') ? listSysv() : null;
      sysvP?.catch(() => undefined);
      // Other IPC namespaces' System V segments (containers'), each read inside its namespace.
      const foreignP = kinds.has('sysv') ? listForeignSysv() : null;
      foreignP?.catch(() => undefined);
      const memKinds = (['memfd', 'anonymous'] as MemKind[]).filter((k) => kinds.has(k));
      const memP = memKinds.length > 0 ? listMemSegments({ kinds: memKinds }) : null;
      memP?.catch(() => undefined);
      const contP = kinds.has('container') ? listContainers() : null;
      contP?.catch(() => undefined);
      const cat: Catalog = kinds.has('posix')
        ? await listCatalog({ dirs: [ctx.dir] })
        : { directories: [], shmem: await readShmemBytes(), invisibleProcesses: 0, segments: [] };
      const sysv: SysvSegment[] = sysvP ? await sysvP : [];
      const mem: MemSegment[] = memP ? await memP : [];
      const cont: ContainerScan | null = contP ? await contP : null;
      const foreign: IpcNamespaceScan | null = foreignP ? await foreignP : null;
      const more = [...sysv, ...(foreign?.segments ?? []), ...mem, ...(cont?.groups.flatMap((g) => g.segments) ?? [])];
      const doc: Record<string, unknown> = more.length > 0 ? { ...cat, segments: [...cat.segments, ...more] } : { ...cat };
      if (foreign) doc.ipcNamespacesUnreadable = foreign.unreadable;
      if (cont) {
        // Each container's tmpfs (its segments are in `segments`), and the namespaces that could not be read.
        doc.containers = cont.groups.map(({ segments, ...g }) => ({ ...g, segments: segments.length }));
        doc.containersUnreadable = cont.unreadable;
      }
      if (ctx.json) ctx.printJson(doc);
      else {
        const parts: string[] = [];
        if (kinds.has('posix')) parts.push(catalogText(cat));
        else if (cat.shmem !== null) parts.push(`shared memory in RAM (Shmem): ${formatBytes(cat.shmem)}`);
        if (kinds.has('sysv')) parts.push(sysvTableText(sysv));
        if (foreign) parts.push(...foreignSysvText(foreign));
        for (const k of memKinds) parts.push(memTableText(mem, k));
        if (cont) parts.push(containersText(cont));
        ctx.print(parts.join('\n\n'));
      }
      return 0;
    },
  },
  {
    name: 'inspect',
    synopsis: 'inspect NAME [--dir D] [--json]',
    summary: 'one segment (a live one before a deleted one of the same name); sysv:SHMID, memfd:INO, anon:INO for the other kinds',
    positionals: [1, 1],
    async run(ctx) {
      const foreign = parseForeignSysvName(ctx.positionals[0], await ownIpcNamespace());
      if (foreign) {
        const s = await inspectForeignSysv(foreign.ns, foreign.shmid).catch((e: Error) => Promise.reject(new Failure(e.message)));
        if (!s) throw new Failure(`${ctx.positionals[0]}: no such System V segment`);
        if (ctx.json) ctx.printJson(s);
        else ctx.print(sysvSegmentText(s) + `\nnamespace  IPC namespace ${s.namespace.id}: ${displayText(s.namespace.name)} (pid ${s.namespace.pid})`);
        return 0;
      }
      if (parseContainerName(ctx.positionals[0])) {
        const s = await inspectContainerSegment(ctx.positionals[0]);
        if (!s) throw new Failure(`${ctx.positionals[0]}: no such segment`);
        if (ctx.json) ctx.printJson(s);
        else ctx.print(segmentText({ ...s, path: `${String(s.details?.pathInNamespace)} in ${s.namespace.name} (mount namespace ${s.namespace.id})` }));
        return 0;
      }
      if (parseMemName(ctx.positionals[0])) {
        const s = await inspectMemSegment(ctx.positionals[0]);
        if (!s) throw new Failure(`${ctx.positionals[0]}: no such region (no visible process holds it)`);
        if (ctx.json) ctx.printJson(s);
        else ctx.print(memSegmentText(s));
        return 0;
      }
      const shmid = parseSysvName(ctx.positionals[0], await ownIpcNamespace());
      if (shmid !== null) {
        const s = await inspectSysv(shmid);
        if (!s) throw new Failure(`sysv:${shmid}: no such System V segment`, 'ENOENT');
        if (ctx.json) ctx.printJson(s);
        else ctx.print(sysvSegmentText(s));
        return 0;
      }
      const { rel } = resolveName(ctx.dir, ctx.positionals[0]);
      const seg = await inspectSegment(rel, { dirs: [ctx.dir] });
      if (!seg) throw new Failure(`${rel}: no such segment`, 'ENOENT');
      if (ctx.json) ctx.printJson(seg);
      else ctx.print(segmentText(seg));
      return 0;
    },
  },
];

/** The kinds `--kind` selects (docs/cli.md): posix by default; `all` is every kind listed so far. */
const KNOWN_KINDS = ['posix', 'sysv', 'memfd', 'anonymous', 'container'];
const LISTED_KINDS = new Set(['posix', 'sysv', 'memfd', 'anonymous', 'container']);

function parseKinds(ctx: CommandContext): Set<string> {
  const v = ctx.values.kind;
  if (v === undefined) return new Set(['posix']);
  const parts = String(v)
    .split(',')
    .map((k) => k.trim());
  const out = new Set<string>();
  for (const k of parts) {
    if (k === 'all') LISTED_KINDS.forEach((x) => out.add(x));
    else if (LISTED_KINDS.has(k)) out.add(k);
    else if (KNOWN_KINDS.includes(k)) throw new UsageError(`--kind ${k}: not listed yet (${[...LISTED_KINDS].join(', ')}, all)`);
    else throw new UsageError(`--kind: unknown kind '${k}' (${[...LISTED_KINDS].join(', ')}, all, or a comma list)`);
  }
  return out;
}

async function readShmemBytes(): Promise<number | null> {
  try {
    const m = /^Shmem:\s+(\d+) kB/m.exec(await fs.promises.readFile('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
