/**
 * The API that `activate()` returns (reach it with
 * `vscode.extensions.getExtension('shm-inspector.shm-inspector').exports`).
 * Tests and other extensions use it instead of the extension's internals.
 */
import type { Segment } from './core/types';

export interface PreviewInfo {
  /** Segment name as listed. */
  name: string;
  /** The last image drawn: reduction mode, grid size and finite value range. */
  lastTile: { mode: string; width: number; height: number; min: number | null; max: number | null } | null;
  /** The last error shown in the panel, if any. */
  error: string | null;
}

export interface ShmInspectorApi {
  readonly apiVersion: 1;
  /** The segments as the tree shows them now. */
  segments(): Segment[];
  /** Re-lists the directories and returns the new segments. */
  refresh(): Promise<Segment[]>;
  /** The open preview panels. */
  previews(): PreviewInfo[];
  /** Null when the native addon loaded; otherwise why not (every path tried). */
  nativeError(): string | null;
  /** What the Segments view shows now: top-level names in order (after filter, sort, grouping). */
  shown(): { state: string; names: string[]; groups: string[]; deleted: string[]; hidden: number };
  /** The status bar item's text and whether it is in the warning colour. */
  statusBar(): { text: string; warning: boolean };
}
