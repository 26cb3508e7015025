/**
 * The memory picture's drawing, as functions of what they draw (no state of their own): the
 * treemap's rectangles in the theme's chart colours, the family timeline (shared above, copied
 * below; estimates dashed, exact points solid with dots; a member's exit marked), hit tests for
 * the hover, and the picture as one PNG.
 */
import { gapsIn } from './gaps';
import { formatBytes } from '../contract/bytes';
import { MEMORY_KINDS, type MemoryKind, type PictureRect, type TimelineMember, type TimelinePoint } from '../contract/picture';
import type { Theme } from './plot';
import { linearTicks } from './ticks';

/** The chart colours of the theme: one per kind, and a cycle for the timeline's members. */
export interface PictureColors {
  kinds: Record<MemoryKind, string>;
  lump: string;
  members: string[];
  focus: string;
}

export function readPictureColors(): PictureColors {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  const blue = v('--vscode-charts-blue', '#3794ff');
  const green = v('--vscode-charts-green', '#89d185');
  const purple = v('--vscode-charts-purple', '#b180d7');
  const yellow = v('--vscode-charts-yellow', '#cca700');
  const orange = v('--vscode-charts-orange', '#d18616');
  const red = v('--vscode-charts-red', '#f14c4c');
  return {
    kinds: { private: blue, family: green, shm: purple, file: yellow },
    lump: v('--vscode-disabledForeground', 'rgba(128,128,128,0.8)'),
    members: [blue, orange, green, purple, red, yellow],
    focus: v('--vscode-focusBorder', '#007fd4'),
  };
}

/** Sizes a canvas to its box in device pixels; its context drawing in CSS pixels. */
export function fitCanvas(canvas: HTMLCanvasElement, dpr: number): CanvasRenderingContext2D {
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  return ctx;
}

/** `text` cut with an ellipsis to fit `max` pixels. */
function fitText(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= max) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? `${text.slice(0, lo)}…` : '';
}

function rectColor(r: PictureRect, c: PictureColors): string | null {
  if (r.role === 'kind' || r.role === 'unmapped') return c.kinds[r.kind ?? 'private'];
  if (r.role === 'lump') return c.lump;
  return null;
}

/** The deepest rectangle under (x, y) (children follow their parent in the list). */
export function rectAt(rects: readonly PictureRect[], x: number, y: number): PictureRect | null {
  for (let i = rects.length - 1; i >= 0; i--) {
    const r = rects[i];
    if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h) return r;
  }
  return null;
}

/** The treemap: kinds filled in their colours, processes and families framed and labelled; the watched family outlined. */
export function drawTreemap(
  ctx: CanvasRenderingContext2D,
  rects: readonly PictureRect[],
  theme: Theme,
  colors: PictureColors,
  opts: { watched: number | null; hover: PictureRect | null },
): void {
  ctx.font = theme.font;
  ctx.textBaseline = 'top';
  for (const r of rects) {
    const fill = rectColor(r, colors);
    if (fill) {
      ctx.globalAlpha = r.role === 'unmapped' ? 0.45 : 0.72;
      ctx.fillStyle = fill;
      ctx.fillRect(r.x, r.y, r.w, r.h);
    } else {
      ctx.globalAlpha = r.role === 'family' ? 0.08 : 0.05;
      ctx.fillStyle = theme.fg;
      ctx.fillRect(r.x, r.y, r.w, r.h);
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = theme.background;
    ctx.lineWidth = r.depth === 0 ? 2 : 1;
    ctx.strokeRect(r.x + 0.5, r.y + 0.5, Math.max(0, r.w - 1), Math.max(0, r.h - 1));
    if (r.w >= 36 && r.h >= 14) {
      ctx.fillStyle = fill ? theme.background : theme.fg;
      const text = fitText(ctx, r.role === 'kind' ? `${r.label} ${formatBytes(r.bytes)}` : `${r.label} · ${formatBytes(r.bytes)}`, r.w - 6);
      if (text) ctx.fillText(text, r.x + 3, r.y + 2);
    }
  }
  const outline = (r: PictureRect, color: string, width: number) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.strokeRect(r.x + width / 2, r.y + width / 2, Math.max(0, r.w - width), Math.max(0, r.h - width));
  };
  const watched = opts.watched === null ? undefined : rects.find((r) => r.role === 'family' && r.family === opts.watched);
  if (watched) outline(watched, colors.focus, 3);
  if (opts.hover) outline(opts.hover, theme.fg, 1);
}

/** The tooltip's rows for a rectangle: what it is, its PSS and share of the total, RSS, shared and copied. */
export function rectTooltip(r: PictureRect, total: number): [string, string, string?][] {
  const rows: [string, string, string?][] = [['', r.label]];
  const pct = total > 0 ? ` (${((r.bytes / total) * 100).toFixed(1)}% of the picture)` : '';
  if (r.role === 'kind') rows.push(['PSS', `${formatBytes(r.bytes)} ${MEMORY_KINDS[r.kind ?? 'private']}${pct}`]);
  else rows.push(['PSS', `${formatBytes(r.bytes)}${pct}`]);
  if (r.rss !== undefined) rows.push(['RSS', `${formatBytes(r.rss)} (what top shows; shared pages counted in each process)`]);
  if (r.sharedBytes !== undefined && r.copiedBytes !== undefined) {
    const est = r.exact ? '' : '~';
    const what = r.role === 'family' ? 'its forked children' : 'this child';
    rows.push(['shared', `${est}${formatBytes(r.sharedBytes)} still shared with the parent by ${what}`]);
    rows.push(['copied', `${est}${formatBytes(r.copiedBytes)} since fork${r.exact ? ' (counted page by page)' : ' (estimated from smaps)'}`]);
  }
  if (r.role === 'kind' && r.kind === 'family') rows.push(['', 'anonymous memory still shared across fork (estimate)']);
  if (r.role === 'lump') rows.push(['', `${r.count ?? 0} entries too small to draw apart`]);
  if (r.role === 'unmapped') rows.push(['', 'segments and tmpfs files no inspectable process maps: RAM in use all the same']);
  if (r.family !== undefined && r.role !== 'kind') rows.push(['', 'click: watch this family over time']);
  return rows;
}

/** The timeline's series: per member, its estimate and exact points in time order. */
export interface Series {
  member: TimelineMember;
  color: string;
  estimate: TimelinePoint[];
  exact: TimelinePoint[];
}

export function buildSeries(members: readonly TimelineMember[], points: readonly TimelinePoint[], colors: PictureColors): Series[] {
  const kids = members.filter((m) => !m.root).sort((a, b) => a.firstMs - b.firstMs || a.pid - b.pid);
  return kids.map((member, i) => {
    const mine = points.filter((p) => p.pid === member.pid).sort((a, b) => a.t - b.t);
    return { member, color: colors.members[i % colors.members.length], estimate: mine.filter((p) => !p.exact), exact: mine.filter((p) => p.exact) };
  });
}

/** Where the timeline's panels are, in CSS pixels. */
export interface TimelineFrame {
  left: number;
  right: number;
  panels: { key: 'sharedBytes' | 'copiedBytes'; title: string; top: number; bottom: number; max: number }[];
  t0: number;
  t1: number;
}

const AXIS_W = 70;

/** Room on the right of a wide timeline for the members' legend (CSS px). */
export const LEGEND_W = 230;

export function timelineFrame(series: readonly Series[], width: number, height: number, now: number): TimelineFrame {
  const all = series.flatMap((s) => [...s.estimate, ...s.exact]);
  const t1 = Math.max(now, ...all.map((p) => p.t));
  // At least 20 s across; then the whole history, from the first point to now.
  const t0 = Math.min(t1 - 20_000, ...all.map((p) => p.t));
  const gap = 22;
  const bottom = 18;
  const ph = Math.max(10, (height - bottom - gap - 6) / 2);
  const max = (k: 'sharedBytes' | 'copiedBytes') => Math.max(4096, ...all.map((p) => p[k]));
  return {
    left: AXIS_W,
    right: width - (width > 3 * LEGEND_W ? LEGEND_W : 10),
    t0,
    t1,
    panels: [
      { key: 'sharedBytes', title: 'still shared with the parent', top: 6, bottom: 6 + ph, max: max('sharedBytes') * 1.05 },
      { key: 'copiedBytes', title: 'copied since fork', top: 6 + ph + gap, bottom: 6 + 2 * ph + gap, max: max('copiedBytes') * 1.05 },
    ],
  };
}

const xOf = (f: TimelineFrame, t: number) => f.left + ((t - f.t0) / Math.max(1, f.t1 - f.t0)) * (f.right - f.left);
const yOf = (p: TimelineFrame['panels'][number], v: number) => p.bottom - (v / p.max) * (p.bottom - p.top);

/** The timeline: two panels (shared, copied) of bytes against time, one colour per member. */
export function drawTimeline(ctx: CanvasRenderingContext2D, series: readonly Series[], f: TimelineFrame, theme: Theme, hover: TimelinePoint | null): void {
  ctx.font = theme.font;
  for (const p of f.panels) {
    ctx.strokeStyle = theme.grid;
    ctx.fillStyle = theme.muted;
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    // Ticks at round numbers of the unit the axis is in (KiB, MiB, GiB), not of bytes.
    const unit = 1024 ** Math.max(0, Math.min(5, Math.floor(Math.log(Math.max(1, p.max)) / Math.log(1024))));
    const ticks = linearTicks(0, p.max / unit, Math.max(2, Math.round((p.bottom - p.top) / 30))).map((v) => v * unit);
    for (const v of ticks) {
      const y = Math.round(yOf(p, v)) + 0.5;
      ctx.globalAlpha = 0.5;
      ctx.beginPath();
      ctx.moveTo(f.left, y);
      ctx.lineTo(f.right, y);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillText(formatBytes(v), f.left - 6, y);
    }
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillStyle = theme.fg;
    ctx.fillText(p.title, f.left + 6, p.top + 2);
    for (const s of series) {
      ctx.strokeStyle = ctx.fillStyle = s.color;
      // The estimate: a thin dashed line.
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1.25;
      polyline(
        ctx,
        s.estimate.map((q) => [xOf(f, q.t), yOf(p, q[p.key])]),
        gapsIn(s.estimate.map((q) => q.t)),
      );
      ctx.setLineDash([]);
      // Exact points: a solid line with dots.
      ctx.lineWidth = 2;
      polyline(
        ctx,
        s.exact.map((q) => [xOf(f, q.t), yOf(p, q[p.key])]),
        gapsIn(s.exact.map((q) => q.t)),
      );
      for (const q of s.exact) {
        ctx.beginPath();
        ctx.arc(xOf(f, q.t), yOf(p, q[p.key]), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
      // An exited member: its line ends with a cross.
      const last = [...s.estimate, ...s.exact].sort((a, b) => a.t - b.t).at(-1);
      if (s.member.endMs !== null && last) {
        const x = xOf(f, last.t);
        const y = yOf(p, last[p.key]);
        ctx.lineWidth = 1.5;
        polyline(ctx, [
          [x - 4, y - 4],
          [x + 4, y + 4],
        ]);
        polyline(ctx, [
          [x - 4, y + 4],
          [x + 4, y - 4],
        ]);
      }
    }
    if (hover) {
      ctx.strokeStyle = theme.fg;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(xOf(f, hover.t), yOf(p, hover[p.key]), 5, 0, Math.PI * 2);
      ctx.stroke();
    }
  }
  // The time axis: seconds before now.
  const last = f.panels[f.panels.length - 1];
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const span = (f.t1 - f.t0) / 1000;
  for (const s of linearTicks(-span, 0, Math.max(2, Math.round((f.right - f.left) / 90)))) {
    const x = xOf(f, f.t1 + s * 1000);
    ctx.fillText(s === 0 ? 'now' : `${Math.round(s)} s`, x, last.bottom + 4);
  }
  ctx.textAlign = 'left';
}

function polyline(ctx: CanvasRenderingContext2D, pts: [number, number][], breaks: ReadonlySet<number> = new Set()): void {
  if (pts.length === 0) return;
  ctx.beginPath();
  ctx.moveTo(pts[0][0], pts[0][1]);
  for (let i = 1; i < pts.length; i++) {
    if (breaks.has(i)) ctx.moveTo(pts[i][0], pts[i][1]);
    else ctx.lineTo(pts[i][0], pts[i][1]);
  }
  if (pts.length === 1) ctx.lineTo(pts[0][0] + 0.5, pts[0][1]);
  ctx.stroke();
}

/** The point nearest (x, y) within 24 px, in either panel. */
export function pointAt(series: readonly Series[], f: TimelineFrame, x: number, y: number): { point: TimelinePoint; series: Series } | null {
  let best: { point: TimelinePoint; series: Series; d: number } | null = null;
  for (const p of f.panels) {
    if (y < p.top - 12 || y > p.bottom + 12) continue;
    for (const s of series) {
      for (const q of [...s.estimate, ...s.exact]) {
        const d = Math.hypot(xOf(f, q.t) - x, yOf(p, q[p.key]) - y);
        if (d < 24 && (!best || d < best.d || (d === best.d && q.exact))) best = { point: q, series: s, d };
      }
    }
  }
  return best && { point: best.point, series: best.series };
}

export function pointTooltip(q: TimelinePoint, s: Series, now: number): [string, string, string?][] {
  const ago = Math.max(0, Math.round((now - q.t) / 1000));
  return [
    ['', `${s.member.comm} (${s.member.pid})${s.member.endMs !== null ? ' · exited' : ''}`],
    ['when', `${new Date(q.t).toLocaleTimeString()} (${ago} s ago)`],
    ['shared', formatBytes(q.sharedBytes)],
    ['copied', formatBytes(q.copiedBytes)],
    ['', q.exact ? 'exact: counted page by page (pagemap)' : 'estimate from smaps'],
  ];
}
