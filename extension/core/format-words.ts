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
