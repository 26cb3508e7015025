/** Human words for sizes, shapes and segments (tree descriptions, CLI tables). */
import { arrayLayoutOf } from './array';
import { arrowValuesDtype } from './formats/arrow';
import { dtypeWords } from './dtype';
import { displayText } from './names';
import { isPart } from './segments';
import type { Segment } from './types';
import { formatBytes } from '../../contract/bytes';

export { formatBytes };

export function shapeWords(shape: number[] | null): string {
  if (shape === null) return '';
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/** `1.0 GiB · float32 · 16384×16384` */
export function segmentDescription(s: Segment): string {
  const parts = [formatBytes(s.size)];
  if (s.dtype) parts.push(dtypeWords(s.dtype));
  if (s.shape) parts.push(shapeWords(s.shape));
  return parts.join(' · ');
}

/** `Float64` (an Arrow type) as is; `float32 \`<f4\`` for a numpy dtype. */
function dtypeCell(s: Segment): string {
  const d = s.dtype!;
  if (s.format === 'column') {
    const values = arrowValuesDtype(d);
    return values ? `${d} (Arrow; read as ${dtypeWords(values)} \`${values}\`)` : `${d} (Arrow)`;
  }
  const words = dtypeWords(d);
  return words === d ? `\`${d}\`` : `${words} \`${d}\``;
}

function holderCell(s: Segment, own: { panels: string[]; pid: number }): string {
  if (s.holders.length > 0) {
    return s.holders
      .map((h) =>
        h.pid === own.pid
          ? own.panels.length > 0
            ? `this window's preview ${own.panels.map((t) => `“${t}”`).join(', ')} (pid ${h.pid}, ${h.via})`
            : `this window's SHM Inspector (pid ${h.pid}, ${h.via})`
          : `${displayText(h.comm)} (pid ${h.pid}, ${h.via})`,
      )
      .join(', ');
  }
  return s.orphan === true ? 'none: orphan' : s.orphan === null ? 'none visible (some processes could not be inspected)' : 'none';
}

/**
 * What the tree's tooltip tables say of a segment, as (key, value) rows: formats' own facts (an
 * Arrow table's rows and columns, a column's nulls), no row that does not apply (no memory order
 * for a 1-D array). `owner` is written by the caller (a user name needs a look-up); `ownPanels`
 * titles this window's panels that map it, `ownPid` this window's process.
 */
export function segmentFacts(s: Segment, opts: { owner?: string | null; ownPanels?: string[]; ownPid?: number } = {}): [string, string][] {
  const rows: [string, string][] = [];
  const part = isPart(s);
  const d = s.details ?? {};
  rows.push(['format', s.format + (s.producer ? ` · made by ${s.producer}` : '')]);
  if (s.format === 'arrow') {
    const cols = s.children?.length ?? 0;
    rows.push(['table', `${typeof d.rows === 'number' ? `${d.rows} rows` : 'rows unknown'} × ${cols} column${cols === 1 ? '' : 's'}`]);
    if (typeof d.batches === 'number') rows.push(['batches', `${d.batches} record batch${d.batches === 1 ? '' : 'es'}${d.ipc ? ` · IPC ${String(d.ipc)}` : ''}`]);
  }
  if (s.dtype) rows.push(['dtype', dtypeCell(s)]);
  if (s.shape) rows.push(['shape', s.format === 'column' ? `${s.shape[0]} rows` : shapeWords(s.shape)]);
  if (s.shape && s.shape.length >= 2 && s.fortranOrder !== null) rows.push(['order', s.fortranOrder ? 'Fortran (column-major)' : 'C (row-major)']);
  if (s.dataOffset !== null) rows.push(['data offset', `${s.dataOffset} bytes`]);
  if (typeof d.nullCount === 'number') rows.push(['nulls', `${d.nullCount}`]);
  const interp = d.interpretation as { leftoverBytes?: number } | undefined;
  if (interp) rows.push(['layout', `given with Interpret As…${interp.leftoverBytes ? ` · ${interp.leftoverBytes} bytes after the data unread` : ''}`]);
  if (!part) rows.push(['size', `${formatBytes(s.size)} logical · ${formatBytes(s.allocatedBytes)} in RAM`]);
  else rows.push(['size', `${formatBytes(s.size)}${typeof d.indices === 'string' ? ` of ${d.indices} dictionary indices (the dictionary is stored apart)` : ''}`]);
  if (opts.owner) rows.push(['owner', opts.owner]);
  if (!s.deleted) rows.push(['modified', `${ageWords(s.mtimeMs)} ago · ${new Date(s.mtimeMs).toLocaleString()}`]);
  if (s.symlinkTarget !== null) rows.push(['link to', `\`${displayText(s.symlinkTarget)}\` (not followed)`]);
  if (!part) rows.push(['held by', holderCell(s, { panels: opts.ownPanels ?? [], pid: opts.ownPid ?? -1 })]);
  return rows;
}

/** For a tensor or column that has a dtype but cannot be drawn (not numeric, spread over batches), or draws with a caveat (nulls): why. */
export function arrayLimit(s: Segment): string | null {
  if (!isPart(s) || s.error) return null;
  const r = arrayLayoutOf(s);
  if ('reason' in r) return `Cannot be previewed: ${r.reason}`;
  return typeof s.details?.note === 'string' ? s.details.note : null;
}

/** True when the segment (or tensor, or Arrow column) is an array the heatmap can draw. */
export function isPreviewable(s: Segment): boolean {
  return 'layout' in arrayLayoutOf(s);
}

/** `rw-r--r--` from permission bits. */
export function modeString(mode: number): string {
  const bits = 'rwxrwxrwx';
  let s = '';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  return s;
}

/** `45 s`, `12 min`, `3 h`, `2 days` since `ms`. */
export function ageWords(ms: number, now = Date.now()): string {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}
