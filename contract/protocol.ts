/**
 * Messages between the extension host and the viewer webview (the preview panel, Quick Look
 * and the .npy/.safetensors custom editor). Both sides import these types; each side validates
 * what it receives before acting on it (the host in extension/preview/validate.ts, the webview
 * in webview/validate.ts), with the registries below and those of reduce.ts, errors.ts and stats.ts.
 */
import type { ErrorCode } from './errors';
import type { Addressed, Numbered, Stamped } from './requests';
import type { ComplexPart, ReduceMode } from './reduce';
import type { StatsSummary } from './stats';
import { isKeyOf } from './registry';

export type { ComplexPart, ReduceMode, StatsSummary };

/** A window of the displayed 2-D slice: rows [r0, r1), columns [c0, c1). */
export interface Window2D {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/**
 * What went wrong, for the panel's wording and its button: Reopen (changed, vanished), Retry
 * (permission, other), none (unsupported: nothing to retry in an array that cannot be shown).
 */
export const ERROR_KINDS = {
  changed: 'Reopen',
  vanished: 'Reopen',
  permission: 'Retry',
  other: 'Retry',
  unsupported: null,
} as const;
export type ErrorKind = keyof typeof ERROR_KINDS;
export const isErrorKind = isKeyOf(ERROR_KINDS);

export const NOTICE_LEVELS = ['info', 'warning', 'error'] as const;
export type NoticeLevel = (typeof NOTICE_LEVELS)[number];
export function isNoticeLevel(x: unknown): x is NoticeLevel {
  return typeof x === 'string' && (NOTICE_LEVELS as readonly string[]).includes(x);
}

export const PLOT_KINDS = ['heatmap', 'line'] as const;
export type PlotKind = (typeof PLOT_KINDS)[number];
export function isPlotKind(x: unknown): x is PlotKind {
  return typeof x === 'string' && (PLOT_KINDS as readonly string[]).includes(x);
}

/** Which 2-D slice of an N-D array is shown. */
export interface SliceSelection {
  /** The displayed axes (row axis, column axis); null for 0-D and 1-D arrays. */
  axes: [number, number] | null;
  /** A fixed index for every axis (entries of the displayed axes are ignored). */
  index: number[];
  part: ComplexPart;
}

/** One tensor of a container file (safetensors). */
export interface TensorSummary {
  name: string;
  dtype: string | null;
  shape: number[] | null;
  /** Why it cannot be shown, or null. */
  error: string | null;
}

export interface SegmentSummary {
  name: string;
  path: string;
  /** A segment of /dev/shm (or another configured directory), or a file opened in the editor. */
  kind: 'segment' | 'file';
  dtype: string;
  dtypeWords: string;
  shape: number[];
  fortranOrder: boolean;
  complex: boolean;
  /** File size in bytes. */
  size: number;
  /** Rows and columns of the default 2-D slice (last two axes). */
  rows: number;
  cols: number;
  /** For container files: every tensor, and the one shown. */
  tensors?: TensorSummary[];
  tensor?: string;
  /** What limits reading it as an array, said in the panel (an Arrow column's nulls). */
  note?: string;
}

/**
 * A sampled picture of the whole default slice, made while the webview was starting
 * (or, in a reused panel, at once) and sent with `init`: the webview draws it before it
 * asks for anything, which saves the first view's round trip.
 */
export interface FirstPicture extends CellGrid {
  slice: SliceSelection;
  /** True when every element is a cell (a small array): it is already the exact picture. */
  exact: boolean;
}

/** Cell values of a window, as the host reduced them. */
export interface CellGrid {
  window: Window2D;
  width: number;
  height: number;
  /** width*height cell values, row-major; NaN/±Inf kept as such. */
  values: Float32Array | Float64Array;
  min: number | null;
  max: number | null;
  /** Milliseconds the host spent reading. */
  elapsedMs: number;
}

/**
 * From the host. Replies (tile, line, stats, value) answer a request (`re`, contract/requests.ts);
 * a session stamps what it sends with its responder's number (`from`).
 */
export type HostToWebview = HostMessage & Stamped;

export type HostMessage =
  | {
      type: 'init';
      segment: SegmentSummary;
      /** Host clock (ms since the epoch) when the user asked for this view, for first-pixel timing. */
      requestedAt: number;
      first?: FirstPicture;
      /** The next previewed segment will replace this one here unless the user keeps (pins) the panel. */
      reusable?: boolean;
    }
  | ({
      type: 'tile';
      mode: ReduceMode;
      /** False for a quick sampled image that an exact one will replace. */
      final: boolean;
    } & CellGrid)
  | {
      type: 'line';
      window: Window2D;
      width: number;
      /** Per pixel column: the smallest and the largest value of its samples. */
      mins: Float64Array;
      maxs: Float64Array;
      min: number | null;
      max: number | null;
      elapsedMs: number;
    }
  | ({ type: 'stats'; sliceKey: string } & StatsSummary)
  | {
      type: 'value';
      row: number;
      col: number;
      /** The element exactly as stored, written out (float32 in its shortest round-trip form, int64 exact). */
      text: string;
      /** The displayed number (the chosen complex part), NaN/±Inf kept. */
      value: number;
    }
  | {
      /** The elements of a window of the slice, each as stored, written out (the Table toggle's grid). */
      type: 'cells';
      window: Window2D;
      /** Row-major, (r1 - r0) * (c1 - c0) texts, in the form of `value`'s `text` (nan, inf, -inf for non-finite floats). */
      texts: string[];
    }
  | {
      type: 'error';
      message: string;
      kind: ErrorKind;
      /** The failure's stable code (contract/errors.ts), when it has one. */
      code?: ErrorCode;
      /** What the error is about when that is not the array shown (Quick Look: a segment it cannot show). */
      subject?: string;
    }
  /** `sticky`: stays until the array changes (the segment was unlinked: true as long as it is shown). */
  | { type: 'notice'; level: NoticeLevel; message: string; sticky?: boolean };

/**
 * From the webview, addressed to the session it last heard from (`to`, contract/requests.ts);
 * requests (view, stats, hover) carry their number (`id`), and a newer one of a type supersedes the older.
 */
export type WebviewToHost = (WebviewEvent | (WebviewRequest & Numbered)) & Addressed;

/** The webview's messages that the host replies to (each type is its own channel). */
export type WebviewRequest = Extract<WebviewMessage, { type: 'view' | 'stats' | 'hover' | 'cells' }>;
export const WEBVIEW_REQUESTS = ['view', 'stats', 'hover', 'cells'] as const satisfies readonly WebviewRequest['type'][];

/** Most rows and columns of elements one `cells` request may ask for: a tall, wide screen's grid of values. */
export const MAX_GRID_ROWS = 1000;
export const MAX_GRID_COLUMNS = 256;
export type WebviewEvent = Exclude<WebviewMessage, WebviewRequest>;

/** A reply's last part: every reply but a sampled tile that an exact one will follow. */
export function isLastReply(m: HostMessage): boolean {
  return m.type !== 'tile' || m.final;
}

export type WebviewMessage =
  | {
      type: 'ready';
      /** Device pixels the plot may take at most (the figure less its axes): the first picture's size. */
      plotArea: { width: number; height: number } | null;
      /** The page carried its init and the webview has drawn it: no init needs to follow. */
      embedded?: boolean;
    }
  /** A sampled (non-final) tile is on screen: the host may start the exact pass, which takes every core. */
  | { type: 'drawn'; re: number }
  /** The user changed the view (zoom, pan, a control): the panel is no longer reused for other segments. */
  | { type: 'pin' }
  /** Quick Look's Open button: show this array in a preview editor. */
  | { type: 'openPreview' }
  | {
      type: 'view';
      slice: SliceSelection;
      window: Window2D;
      width: number;
      height: number;
      mode: ReduceMode;
      /** 'line': 1-D min/max envelope per pixel column (height must be 1). */
      plot: PlotKind;
      /** A re-read by live mode: no sampled preview first. */
      live: boolean;
    }
  | { type: 'stats'; slice: SliceSelection; quantiles: number[]; fresh: boolean }
  | { type: 'hover'; slice: SliceSelection; row: number; col: number }
  /** The Table toggle's grid: the elements of `window` (at most MAX_GRID_ROWS × MAX_GRID_COLUMNS), exactly as stored. */
  | { type: 'cells'; slice: SliceSelection; window: Window2D }
  | { type: 'exportPng'; dataUrl: string; suggestedName: string }
  | { type: 'saveNpy'; slice: SliceSelection; window: Window2D }
  | { type: 'selectTensor'; name: string }
  | { type: 'retry' }
  | { type: 'timing'; firstPixelsMs: number; exactMs: number | null };
