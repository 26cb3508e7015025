/**
 * Messages between the extension host and the memory picture webview (issue #14 item 6): a
 * treemap of the machine's RAM (families → processes → kinds, sized by PSS), laid out by the host
 * for the webview's size, and the timeline of one fork family (shared vs copied per member).
 * Both sides import these types; each side checks what it receives with the validators here,
 * derived from the `as const` registries. Requests and replies go through contract/requests.ts.
 */
import type { Addressed, Numbered, Stamped } from './requests';
import { isId } from './requests';
import { isNoticeLevel, type NoticeLevel } from './protocol';

/** The kinds of memory a process's PSS is split into, with their words (legend, hover). */
export const MEMORY_KINDS = {
  private: 'private',
  family: 'shared with family',
  shm: 'shared-memory segments',
  file: 'mapped files',
} as const;
export type MemoryKind = keyof typeof MEMORY_KINDS;
export function isMemoryKind(x: unknown): x is MemoryKind {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(MEMORY_KINDS, x);
}

/** What a treemap rectangle stands for. */
export const RECT_ROLES = ['family', 'process', 'kind', 'lump', 'unmapped'] as const;
export type RectRole = (typeof RECT_ROLES)[number];
export function isRectRole(x: unknown): x is RectRole {
  return typeof x === 'string' && (RECT_ROLES as readonly string[]).includes(x);
}

/** One rectangle of the treemap, in CSS pixels of the treemap's box. */
export interface PictureRect {
  /** Stable over refreshes (`family:123`, `proc:456`, `proc:456/shm`, `lump:family:123`). */
  id: string;
  role: RectRole;
  depth: number;
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
  /** PSS bytes it stands for. */
  bytes: number;
  /** A kind's rectangle: which kind. */
  kind?: MemoryKind;
  /** The fork family it belongs to (a family's root), for a click that picks it for the timeline. */
  family?: number;
  pid?: number;
  /** A lumped rectangle: how many entries it stands for. */
  count?: number;
  /** A process's or family's figures for the hover. */
  rss?: number;
  sharedBytes?: number;
  copiedBytes?: number;
  exact?: boolean;
}

/** One timeline point: a member's shared and copied bytes at `t`, exact (pagemap) or the smaps estimate. */
export interface TimelinePoint {
  t: number;
  pid: number;
  sharedBytes: number;
  copiedBytes: number;
  exact: boolean;
}

/** A member of the watched family: its line starts when it is first seen and ends when it exits. */
export interface TimelineMember {
  pid: number;
  comm: string;
  /** The root has no line of its own (it is what the others are compared with). */
  root: boolean;
  firstMs: number;
  /** When it was last seen, once it has exited; null while it runs. */
  endMs: number | null;
}

export type PictureHostMessage =
  | {
      type: 'treemap';
      width: number;
      height: number;
      rects: PictureRect[];
      /** PSS of every inspectable process, plus shared memory no process maps. */
      totalBytes: number;
      /** The machine's RAM (MemTotal) and what is in use (MemTotal - MemAvailable). */
      memTotal: number;
      memUsed: number;
      processes: number;
      uninspectable: number;
      exactAvailable: boolean;
      scannedAtMs: number;
    }
  | {
      type: 'timeline';
      root: number;
      label: string;
      /** True: what came before is replaced (a new family, or the first reply). */
      reset: boolean;
      /** The family ended (its root exited, or it has no forked child left): the last reply. */
      done: boolean;
      members: TimelineMember[];
      points: TimelinePoint[];
      /** Whether exact points are being made (root with CAP_SYS_ADMIN, and the setting allows it). */
      exactOn: boolean;
    }
  /** Show the timeline of the family this process is in (the host's Watch Family Over Time): the webview asks for it. */
  | { type: 'select'; root: number }
  | { type: 'notice'; level: NoticeLevel; message: string };

export type PictureToWebview = PictureHostMessage & Stamped;

/** The webview's requests: a layout at its size, and the timeline of a family (replies stream until superseded). */
export type PictureRequest = { type: 'treemap'; width: number; height: number } | { type: 'watch'; root: number };
export const PICTURE_REQUESTS = ['treemap', 'watch'] as const satisfies readonly PictureRequest['type'][];

/** The webview's messages that get no reply: it is up; stop the timeline; save this PNG. */
export type PictureEvent = { type: 'ready' } | { type: 'unwatch' } | { type: 'exportPng'; dataUrl: string; suggestedName: string };

export type PictureMessage = PictureRequest | PictureEvent;
export type PictureToHost = (PictureEvent | (PictureRequest & Numbered)) & Addressed;

/** The timeline's replies go on until the family ends; every other reply is its request's last. */
export function isLastPictureReply(m: PictureHostMessage): boolean {
  return m.type !== 'timeline' || m.done;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => isNum(v) && v >= 0;
const isPid = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const opt = (v: unknown, f: (x: unknown) => boolean) => v === undefined || f(v);

function isRect(v: unknown): v is PictureRect {
  if (!isRec(v) || !isStr(v.id) || !isRectRole(v.role) || !isCount(v.depth) || !isStr(v.label) || !isCount(v.bytes)) return false;
  if (!isNum(v.x) || !isNum(v.y) || !isCount(v.w) || !isCount(v.h)) return false;
  if (!opt(v.kind, isMemoryKind) || !opt(v.family, isPid) || !opt(v.pid, isPid) || !opt(v.count, isCount)) return false;
  return opt(v.rss, isCount) && opt(v.sharedBytes, isCount) && opt(v.copiedBytes, isCount) && opt(v.exact, isBool);
}

/** A timeline point as the host sends it (also what the webview saves and reads back after a reload). */
export function isTimelinePoint(v: unknown): v is TimelinePoint {
  return isRec(v) && isNum(v.t) && isPid(v.pid) && isCount(v.sharedBytes) && isCount(v.copiedBytes) && isBool(v.exact);
}

/** A watched family's member as the host sends it. */
export function isTimelineMember(v: unknown): v is TimelineMember {
  return isRec(v) && isPid(v.pid) && isStr(v.comm) && isBool(v.root) && isNum(v.firstMs) && (v.endMs === null || isNum(v.endMs));
}

/** A message from the host, typed, or null when it is not one the host sends (the webview checks every one). */
export function validatePictureHostMessage(m: unknown): PictureToWebview | null {
  if (!isRec(m)) return null;
  if ((m.from !== undefined && !isId(m.from)) || (m.re !== undefined && !isId(m.re))) return null;
  if ((m.type === 'treemap' || m.type === 'timeline') !== (m.re !== undefined)) return null;
  switch (m.type) {
    case 'treemap':
      if (!isCount(m.width) || !isCount(m.height) || !Array.isArray(m.rects) || !m.rects.every(isRect)) return null;
      if (!isCount(m.totalBytes) || !isCount(m.memTotal) || !isCount(m.memUsed) || !isCount(m.processes) || !isCount(m.uninspectable)) return null;
      return isBool(m.exactAvailable) && isNum(m.scannedAtMs) ? (m as unknown as PictureToWebview) : null;
    case 'timeline':
      if (!isPid(m.root) || !isStr(m.label) || !isBool(m.reset) || !isBool(m.done) || !isBool(m.exactOn)) return null;
      if (!Array.isArray(m.members) || !m.members.every(isTimelineMember) || !Array.isArray(m.points) || !m.points.every(isTimelinePoint)) return null;
      return m as unknown as PictureToWebview;
    case 'select':
      return isPid(m.root) ? (m as unknown as PictureToWebview) : null;
    case 'notice':
      return isNoticeLevel(m.level) && isStr(m.message) ? (m as unknown as PictureToWebview) : null;
  }
  return null;
}

/** Largest treemap the host lays out (CSS pixels a side). */
export const MAX_PICTURE_SIDE = 8192;

/** A message from the webview, typed, or null when malformed (the host checks every one). */
export function validatePictureWebviewMessage(m: unknown): PictureToHost | null {
  if (!isRec(m) || !isId(m.to) || (m.id !== undefined && !isId(m.id))) return null;
  const isRequest = (PICTURE_REQUESTS as readonly unknown[]).includes(m.type);
  if (isRequest !== (m.id !== undefined)) return null;
  switch (m.type) {
    case 'ready':
    case 'unwatch':
      return m as unknown as PictureToHost;
    case 'treemap': {
      const side = (v: unknown) => isNum(v) && v >= 1 && v <= MAX_PICTURE_SIDE;
      return side(m.width) && side(m.height) ? (m as unknown as PictureToHost) : null;
    }
    case 'watch':
      return isPid(m.root) ? (m as unknown as PictureToHost) : null;
    case 'exportPng':
      return isStr(m.dataUrl) && m.dataUrl.startsWith('data:image/png;base64,') && isStr(m.suggestedName) ? (m as unknown as PictureToHost) : null;
  }
  return null;
}
