/** Human words for sizes, shapes and segments (tree descriptions, CLI tables). */
import { dtypeWords } from './dtype';
import type { Segment } from './types';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

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

/** True when the segment is an array the heatmap can draw. */
export function isPreviewable(s: Segment): boolean {
  return (
    s.error === null &&
    s.dtype !== null &&
    s.shape !== null &&
    s.dataOffset !== null &&
    s.fortranOrder !== null &&
    /^([<>|]?[biufc]\d+|bfloat16)$/.test(s.dtype)
  );
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
