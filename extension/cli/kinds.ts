/** Human-readable text for memfd regions, shared anonymous memory and containers' segments (`list --kind`, `inspect`). */
import { dtypeWords } from '../core/dtype';
import { formatBytes, shapeWords } from '../core/format-words';
import type { MemSegment } from '../core/kinds/memfd';
import { displayText } from '../core/names';
import { table } from './common';

/** The first three holders, then how many more (a Chromium region is held by a dozen processes). */
function holdersWords(s: { holders: { pid: number; comm: string; via: string }[] }): string {
  const shown = s.holders
    .slice(0, 3)
    .map((h) => `${displayText(h.comm)}(${h.pid})`)
    .join(',');
  return s.holders.length > 3 ? `${shown},+${s.holders.length - 3} more` : shown;
}

function whatWords(s: MemSegment): string {
  if (s.error) return s.error;
  if (s.dtype !== null) return `${s.format} ${dtypeWords(s.dtype)} ${shapeWords(s.shape)}`;
  return s.format;
}

const KIND_TITLE = { memfd: 'memfd regions', anonymous: 'shared anonymous mappings' } as const;

/** One table per kind asked for: a count line (regions, RAM), then NAME, LABEL, SIZE, RAM, FORMAT, HOLDERS. */
export function memTableText(list: MemSegment[], kind: MemSegment['kind']): string {
  const mine = list.filter((s) => s.kind === kind);
  const ram = mine.reduce((a, s) => a + s.allocatedBytes, 0);
  const head = `${KIND_TITLE[kind][0].toUpperCase()}${KIND_TITLE[kind].slice(1)}: ${mine.length}, ${formatBytes(ram)} in RAM`;
  if (mine.length === 0) return `${head}\n(no ${KIND_TITLE[kind]})`;
  const rows = [['NAME', 'LABEL', 'SIZE', 'RAM', 'FORMAT', 'HOLDERS']];
  for (const s of mine) {
    const ramWords = s.details?.residentUnknown ? '?' : formatBytes(s.allocatedBytes);
    rows.push([s.name, s.label === null ? '-' : displayText(s.label), formatBytes(s.size), ramWords, whatWords(s), holdersWords(s)]);
  }
  return `${head}\n${table(rows, new Set([2, 3]))}`;
}

export function memSegmentText(s: MemSegment): string {
  const rows: string[][] = [];
  const add = (k: string, v: string) => rows.push([k, v]);
  add('name', s.name);
  add('kind', s.kind === 'memfd' ? 'memfd region (memfd_create)' : 'shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS)');
  add('label', s.label === null ? '(none)' : displayText(s.label));
  add('format', s.format);
  if (s.dtype !== null) add('dtype', `${dtypeWords(s.dtype)} (${s.dtype})`);
  if (s.shape !== null) add('shape', `${shapeWords(s.shape)}${s.fortranOrder === null ? '' : s.fortranOrder ? ', Fortran order' : ', C order'}`);
  if (s.dataOffset !== null) add('data offset', String(s.dataOffset));
  add('size', `${formatBytes(s.size)} (${s.size} bytes)`);
  add('in RAM', s.details?.residentUnknown ? 'unknown (it could not be opened)' : formatBytes(s.allocatedBytes));
  if (s.uid >= 0) add('owner', `uid ${s.uid}, mode ${s.mode.toString(8).padStart(3, '0')}`);
  add('dev:ino', `${s.dev}:${s.ino}`);
  add('holders', s.holders.map((h) => `${displayText(h.comm)} (pid ${h.pid}, ${h.via})`).join(', '));
  if (typeof s.details?.readVia === 'string') add('read via', s.details.readVia);
  if (typeof s.details?.unread === 'string') add('not read', s.details.unread);
  if (s.error) add('error', s.error);
  return table(rows);
}
