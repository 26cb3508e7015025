/** Checks every message from the viewer webview before the host acts on it (the session's Responder calls it). */
import {
  isPlotKind,
  MAX_GRID_COLUMNS,
  MAX_GRID_ROWS,
  WEBVIEW_REQUESTS,
  type SliceSelection,
  type WebviewEvent,
  type WebviewMessage,
  type WebviewRequest,
  type WebviewToHost,
  type Window2D,
} from '../../contract/protocol';
import { isId } from '../../contract/requests';
import { isComplexPart, isReduceMode } from '../../contract/reduce';

/** Largest grid a webview may ask for (about one value per device pixel of a big screen). */
export const MAX_CELLS = 4096 * 4096;
/** Largest PNG data URL accepted (a 4K screenshot compresses well below this). */
export const MAX_DATA_URL = 64 * 1024 * 1024;

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

function windowOf(v: unknown): Window2D | null {
  if (!isRec(v) || !isInt(v.r0) || !isInt(v.r1) || !isInt(v.c0) || !isInt(v.c1)) return null;
  if (v.r1 <= v.r0 || v.c1 <= v.c0) return null;
  return { r0: v.r0, r1: v.r1, c0: v.c0, c1: v.c1 };
}

function sliceOf(v: unknown): SliceSelection | null {
  if (!isRec(v)) return null;
  let axes: [number, number] | null = null;
  if (v.axes !== null) {
    if (!Array.isArray(v.axes) || v.axes.length !== 2 || !isInt(v.axes[0]) || !isInt(v.axes[1]) || v.axes[0] > 64 || v.axes[1] > 64) return null;
    axes = [v.axes[0], v.axes[1]];
  }
  if (!Array.isArray(v.index) || v.index.length > 64 || !v.index.every((i) => isInt(i))) return null;
  if (!isComplexPart(v.part)) return null;
  return { axes, index: [...(v.index as number[])], part: v.part };
}

/** The message, typed and copied, or null when it is malformed (a request without its number too). */
export function parseWebviewMessage(m: unknown): WebviewToHost | null {
  if (!isRec(m)) return null;
  const msg = parseMessage(m);
  if (!msg) return null;
  const to = isId(m.to) ? m.to : 0;
  if (!(WEBVIEW_REQUESTS as readonly string[]).includes(msg.type)) return { ...(msg as WebviewEvent), to };
  return isId(m.id) ? { ...(msg as WebviewRequest), id: m.id, to } : null;
}

function parseMessage(m: Record<string, unknown>): WebviewMessage | null {
  switch (m.type) {
    case 'ready': {
      const a = m.plotArea;
      const plotArea = isRec(a) && isInt(a.width, 1) && isInt(a.height, 1) && a.width <= 16384 && a.height <= 16384 ? { width: a.width, height: a.height } : null;
      return { type: 'ready', plotArea, embedded: m.embedded === true };
    }
    case 'retry':
    case 'pin':
    case 'openPreview':
      return { type: m.type };
    case 'drawn':
      return isId(m.re) ? { type: 'drawn', re: m.re } : null;
    case 'view': {
      const window = windowOf(m.window);
      const slice = sliceOf(m.slice);
      if (!window || !slice || !isInt(m.width, 1) || !isInt(m.height, 1)) return null;
      if (m.width * m.height > MAX_CELLS || !isReduceMode(m.mode)) return null;
      if (!isPlotKind(m.plot) || typeof m.live !== 'boolean') return null;
      return {
        type: 'view',
        slice,
        window,
        width: m.width,
        height: m.height,
        mode: m.mode,
        plot: m.plot,
        live: m.live,
      };
    }
    case 'stats': {
      const slice = sliceOf(m.slice);
      if (!slice || typeof m.fresh !== 'boolean') return null;
      if (!Array.isArray(m.quantiles) || m.quantiles.length > 8) return null;
      if (!m.quantiles.every((q) => typeof q === 'number' && q >= 0 && q <= 1)) return null;
      return { type: 'stats', slice, quantiles: [...(m.quantiles as number[])], fresh: m.fresh };
    }
    case 'hover': {
      const slice = sliceOf(m.slice);
      if (!slice || !isInt(m.row) || !isInt(m.col)) return null;
      return { type: 'hover', slice, row: m.row, col: m.col };
    }
    case 'cells': {
      const window = windowOf(m.window);
      const slice = sliceOf(m.slice);
      if (!window || !slice || window.r1 - window.r0 > MAX_GRID_ROWS || window.c1 - window.c0 > MAX_GRID_COLUMNS) return null;
      return { type: 'cells', slice, window };
    }
    case 'exportPng':
      if (typeof m.dataUrl !== 'string' || !m.dataUrl.startsWith('data:image/png;base64,') || m.dataUrl.length > MAX_DATA_URL) return null;
      if (typeof m.suggestedName !== 'string' || m.suggestedName.length > 255) return null;
      return { type: 'exportPng', dataUrl: m.dataUrl, suggestedName: m.suggestedName };
    case 'saveNpy': {
      const window = windowOf(m.window);
      const slice = sliceOf(m.slice);
      return window && slice ? { type: 'saveNpy', window, slice } : null;
    }
    case 'selectTensor':
      return typeof m.name === 'string' && m.name.length < 4096 ? { type: 'selectTensor', name: m.name } : null;
    case 'timing':
      if (typeof m.firstPixelsMs !== 'number' || !(m.exactMs === null || typeof m.exactMs === 'number')) return null;
      return { type: 'timing', firstPixelsMs: m.firstPixelsMs, exactMs: m.exactMs };
    default:
      return null;
  }
}
