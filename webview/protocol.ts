/**
 * Messages between the extension host and the preview webview. Both sides
 * import these types (the host with `import type`); each side validates what
 * it receives before acting on it.
 */

/** A window of the displayed 2-D slice: rows [r0, r1), columns [c0, c1). */
export interface Window2D {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

export type ReduceModeName = 'strided' | 'mean' | 'min' | 'max';

export interface SegmentSummary {
  name: string;
  path: string;
  dtype: string;
  dtypeWords: string;
  shape: number[];
  fortranOrder: boolean;
  size: number;
  /** Rows and columns of the displayed 2-D slice. */
  rows: number;
  cols: number;
}

export type HostToWebview =
  | { type: 'init'; segment: SegmentSummary }
  | {
      type: 'tile';
      requestId: number;
      window: Window2D;
      width: number;
      height: number;
      mode: ReduceModeName;
      /** width*height cell values, row-major; NaN/±Inf kept as such. */
      values: Float64Array;
      min: number | null;
      max: number | null;
      /** Milliseconds the host spent reading. */
      elapsedMs: number;
    }
  | { type: 'error'; message: string };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'view'; requestId: number; window: Window2D; width: number; height: number };
