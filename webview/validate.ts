/** Checks every message from the host before the webview acts on it. DOM-free. */
import { isErrorCode } from '../contract/errors';
import { isId } from '../contract/requests';
import {
  isErrorKind,
  isNoticeLevel,
  MAX_GRID_COLUMNS,
  MAX_GRID_ROWS,
  type HostToWebview,
  type SegmentSummary,
  type TensorSummary,
  type Window2D,
} from '../contract/protocol';
import { isComplexPart, isReduceMode } from '../contract/reduce';
import { STATS_COUNT_FIELDS, STATS_VALUE_FIELDS } from '../contract/stats';

type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isNum = (v: unknown): v is number => typeof v === 'number';
const isFiniteOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));
const isStr = (v: unknown): v is string => typeof v === 'string';
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.length <= 64 && v.every((d) => isInt(d));

function isWindow(v: unknown): v is Window2D {
  return isRec(v) && isInt(v.r0) && isInt(v.r1) && isInt(v.c0) && isInt(v.c1) && v.r1 > v.r0 && v.c1 > v.c0;
}

function isTensor(v: unknown): v is TensorSummary {
  return isRec(v) && isStr(v.name) && (v.dtype === null || isStr(v.dtype)) && (v.shape === null || isShape(v.shape)) && (v.error === null || isStr(v.error));
}

function isSegment(v: unknown): v is SegmentSummary {
  if (!isRec(v)) return false;
  if (!isStr(v.name) || !isStr(v.path) || (v.kind !== 'segment' && v.kind !== 'file')) return false;
  if (!isStr(v.dtype) || !isStr(v.dtypeWords) || !isShape(v.shape) || typeof v.fortranOrder !== 'boolean') return false;
  if (typeof v.complex !== 'boolean' || !isInt(v.size) || !isInt(v.rows) || !isInt(v.cols)) return false;
  if (v.tensors !== undefined && !(Array.isArray(v.tensors) && v.tensors.every(isTensor))) return false;
  if (v.note !== undefined && !isStr(v.note)) return false;
  if (v.tensor !== undefined && !isStr(v.tensor)) return false;
  return true;
}

function isFirstPicture(f: unknown): boolean {
  if (!isRec(f) || !isRec(f.slice) || !isWindow(f.window) || !isInt(f.width, 1) || !isInt(f.height, 1)) return false;
  const { values } = f;
  if (!(values instanceof Float64Array || values instanceof Float32Array) || values.length !== f.width * f.height) return false;
  const sl = f.slice;
  if (!(sl.axes === null || (Array.isArray(sl.axes) && sl.axes.length === 2 && sl.axes.every((a) => isInt(a))))) return false;
  if (!Array.isArray(sl.index) || !sl.index.every((i) => isInt(i)) || !isComplexPart(sl.part)) return false;
  return isFiniteOrNull(f.min) && isFiniteOrNull(f.max) && isNum(f.elapsedMs) && typeof f.exact === 'boolean';
}

/** The message, typed, or null when it is not one the host sends (the container's Requester calls it). */
export function validateHostMessage(m: unknown): HostToWebview | null {
  if (!isRec(m)) return null;
  // What contract/requests.ts adds: the sending session's number, the request a reply answers.
  if ((m.from !== undefined && !isId(m.from)) || (m.re !== undefined && !isId(m.re))) return null;
  // Replies answer a request; the rest answer none.
  if ((m.type === 'tile' || m.type === 'line' || m.type === 'stats' || m.type === 'value' || m.type === 'cells') !== (m.re !== undefined)) return null;
  switch (m.type) {
    case 'init':
      if (!isSegment(m.segment) || !isNum(m.requestedAt)) return null;
      if (m.first !== undefined && !isFirstPicture(m.first)) return null;
      if (m.reusable !== undefined && typeof m.reusable !== 'boolean') return null;
      return m as unknown as HostToWebview;
    case 'tile': {
      const { width: w, height: h, values } = m;
      if (!isWindow(m.window) || !isInt(w, 1) || !isInt(h, 1)) return null;
      if (!(values instanceof Float64Array || values instanceof Float32Array) || values.length !== w * h) return null;
      if (!isFiniteOrNull(m.min) || !isFiniteOrNull(m.max) || !isNum(m.elapsedMs) || typeof m.final !== 'boolean') return null;
      if (!isReduceMode(m.mode)) return null;
      return m as unknown as HostToWebview;
    }
    case 'line': {
      if (!isWindow(m.window) || !isInt(m.width, 1)) return null;
      if (!(m.mins instanceof Float64Array) || !(m.maxs instanceof Float64Array)) return null;
      if (m.mins.length !== m.width || m.maxs.length !== m.width || !isFiniteOrNull(m.min) || !isFiniteOrNull(m.max)) return null;
      return isNum(m.elapsedMs) ? (m as unknown as HostToWebview) : null;
    }
    case 'stats': {
      if (!isStr(m.sliceKey)) return null;
      for (const k of STATS_COUNT_FIELDS) if (!isInt(m[k])) return null;
      for (const k of [...STATS_VALUE_FIELDS, 'minPositive']) if (!isFiniteOrNull(m[k])) return null;
      if (!(m.histogram instanceof Float64Array) || !isNum(m.histMin) || !isNum(m.histMax)) return null;
      if (!Array.isArray(m.quantiles) || !m.quantiles.every((q) => isRec(q) && isNum(q.q) && isNum(q.value))) return null;
      return m as unknown as HostToWebview;
    }
    case 'value':
      return isInt(m.row) && isInt(m.col) && isStr(m.text) && isNum(m.value) ? (m as unknown as HostToWebview) : null;
    case 'cells': {
      if (!isWindow(m.window) || !Array.isArray(m.texts)) return null;
      const w = m.window;
      if (w.r1 - w.r0 > MAX_GRID_ROWS || w.c1 - w.c0 > MAX_GRID_COLUMNS || m.texts.length !== (w.r1 - w.r0) * (w.c1 - w.c0)) return null;
      return m.texts.every(isStr) ? (m as unknown as HostToWebview) : null;
    }
    case 'error':
      return isStr(m.message) && isErrorKind(m.kind) && (m.code === undefined || isErrorCode(m.code)) && (m.subject === undefined || isStr(m.subject))
        ? (m as unknown as HostToWebview)
        : null;
    case 'notice':
      return isStr(m.message) && isNoticeLevel(m.level) && (m.sticky === undefined || typeof m.sticky === 'boolean') ? (m as unknown as HostToWebview) : null;
    default:
      return null;
  }
}
