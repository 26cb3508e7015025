/**
 * One viewer (a preview panel, Quick Look or a custom editor): owns the mapped view of its
 * array, answers the webview's requests (windows at screen resolution, stats, exact values,
 * exports) and turns every failure into a message in the panel. Nothing here throws into
 * VS Code: a vanished or truncated segment is an error shown with a Reopen button.
 *
 * No vscode import: the webview, the save dialog and the file writer are given to it
 * (ViewerPort, ViewerIO; extension/preview/vscode-io.ts has VS Code's), so that its state
 * machine runs in plain Node under test with a fake webview.
 */
import * as fs from 'fs';
import { isErrorCode, type ErrorCode } from '../../contract/errors';
import type { ErrorKind, FirstPicture, HostMessage, HostToWebview, SliceSelection, StatsSummary, WebviewToHost, Window2D } from '../../contract/protocol';
import { Responder } from '../../contract/requests';
import type { PreviewInfo } from '../api';
import { resolveSlice, SliceError, type ResolvedSlice } from '../core/array';
import { formatBytes } from '../../contract/bytes';
import { openView, type MappedView, type ReduceMode } from '../native';
import { sysvRemovedSince } from '../core/sysv-view';
import { gatherWindow, npyHeader, readElement, readElementTexts } from './element';
import type { EmbeddedInit } from './page';
import { NotAnArrayError, type ArraySource, type LoadedSource } from './source';
import { baseStats, sliceQuantile } from './stats';
import { parseWebviewMessage } from './validate';

/** Windows with more elements than this get a quick sampled image before the exact one. */
const PREVIEW_FIRST_ELEMENTS = 4_000_000;
/**
 * After a sampled image, the exact pass (which takes every core) waits until the webview
 * says the sample is on screen, or this long: on a small machine it would otherwise slow
 * the very message and drawing that show the first picture.
 */
const DRAWN_WAIT_MS = 250;

/**
 * Most cells of the first picture (float32: 256 KiB). Measured through code-server on this
 * machine: ~80 KB reach the webview in ~45 ms, ~630 KB in ~100-160 ms.
 */
const FIRST_CELLS = 1 << 16;

/** What the session needs of a webview (vscode.Webview is one). */
export interface ViewerPort {
  postMessage(msg: unknown): PromiseLike<unknown>;
  onDidReceiveMessage(listener: (msg: unknown) => void): { dispose(): void };
}

/** Where the user chose to save: what the notice names it by (its path), and whatever the writer needs. */
export interface SaveTarget {
  readonly label: string;
}

/** Saving: the dialog that asks where, and the writer. */
export interface ViewerIO {
  /** undefined: the user cancelled. `fileName`: the suggested name (in the workspace folder, say). */
  showSaveDialog(opts: { title: string; fileName: string; filters: Record<string, string[]> }): PromiseLike<SaveTarget | undefined>;
  /** Writes the parts, one after another, as the file; never through a symlink or into a FIFO. */
  writeFile(target: SaveTarget, parts: readonly Uint8Array[]): PromiseLike<void>;
}

export interface SessionOptions {
  /** Saving (Export PNG, Save .npy). */
  io: ViewerIO;
  /** Device pixels for the first picture (before the webview says its own size). */
  plotArea?: PlotArea | null;
  /** The webview is already up (a reused panel): no 'ready' will come, init is sent once the array is mapped. */
  running?: boolean;
  /** A preview panel that the next previewed segment may take over (the webview offers Keep open). */
  reusable?: boolean;
}

/** Device pixels a plot may take, as the webview last said. */
export interface PlotArea {
  width: number;
  height: number;
}

/** The failure's stable code (contract/errors.ts): the addon's, an errno's, or null for an error without one. */
export function failureCode(e: unknown): ErrorCode | null {
  const code = (e as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : null;
}

/** A clear sentence, a kind (the panel's button) and the code for any failure; decided by the code, never by the message text. */
export function describeFailure(e: unknown, name: string): { kind: ErrorKind; code: ErrorCode | undefined; message: string } {
  const text = e instanceof Error ? e.message : String(e);
  const code = failureCode(e) ?? undefined;
  if (e instanceof NotAnArrayError || e instanceof SliceError) return { kind: 'unsupported', code: code ?? 'NOT_ARRAY', message: text };
  switch (code) {
    case 'NOTFILE':
    case 'NOT_ARRAY':
    case 'FORMAT':
      return { kind: 'unsupported', code, message: text };
    case 'SHRANK':
    case 'FAULT':
    case 'CHANGED':
    case 'RANGE':
      return { kind: 'changed', code, message: `${name} changed while open: ${text}. Reopen it to read what it holds now.` };
    case 'ENOENT':
      return { kind: 'vanished', code, message: text.startsWith(name) ? text : `${name} no longer exists: ${text}` };
    case 'EACCES':
    case 'EPERM':
      return { kind: 'permission', code, message: `Permission denied reading ${name}: ${text}` };
  }
  return { kind: 'other', code, message: `Could not read ${name}: ${text}` };
}

function sliceKey(s: SliceSelection, tensor: string | null): string {
  const fixed = s.index.map((v, k) => (s.axes && (k === s.axes[0] || k === s.axes[1]) ? '*' : v));
  return `${tensor ?? ''}|${s.axes?.join(',') ?? '-'}|${fixed.join(',')}|${s.part}`;
}

/**
 * The cells' type for the webview: float32 when the values fit it with no more precision than the
 * data has (the pass still sums in doubles; the cells are rounded once, natively). Not a complex64's
 * magnitude: that of two floats near FLT_MAX is beyond float32's range.
 */
function cellType(slice: { dtype: string; part?: string }): 'f32' | 'f64' {
  if (slice.dtype === 'c8') return (slice.part ?? 'magnitude') === 'magnitude' ? 'f64' : 'f32';
  return ['b1', 'i1', 'u1', 'i2', 'u2', 'f2', 'bf16', 'f4'].includes(slice.dtype) ? 'f32' : 'f64';
}

export class ViewerSession {
  private view: MappedView | null = null;
  private loaded: LoadedSource | null = null;
  private tensor: string | null = null;
  private disposed = false;
  /** Stats passes run one request at a time: this settles when the last one is done. */
  private statsTail: Promise<void> = Promise.resolve();
  /** Numbers the requests, matches replies to them, cancels the superseded (contract/requests.ts). */
  private readonly rpc: Responder<WebviewToHost, HostMessage>;
  private readonly statsCache = new Map<string, { base: StatsSummary; q: Map<number, number> }>();
  private readonly disposables: { dispose(): void }[] = [];
  private readonly io: ViewerIO;
  lastTile: PreviewInfo['lastTile'] = null;
  error: string | null = null;
  timing: { firstPixelsMs: number; exactMs: number | null } | null = null;
  /** The plot size the webview reported (kept by the panel for the next session in it). */
  plotArea: PlotArea | null;
  /** Set once the user changes the view; the panel then keeps this array. */
  pinned = false;
  /** A preview panel that the next previewed segment may take over (the webview offers Keep open). */
  private readonly reusable: boolean;
  /** The array being found and mapped while the webview starts (the first 'ready' awaits it). */
  private preparing: Promise<void> | null;
  /** The first picture sent with init, so that the view it answers skips its own sampled pass. */
  private firstSent: { key: string; window: Window2D } | null = null;
  private readonly drawnWaiters = new Map<number, () => void>();
  /** The page was given this session's init (see embeddableInit); the first 'ready' then needs none. */
  private embedded = false;
  /** Live mode has said once that the segment was unlinked, or replaced. */
  private unlinkNoted = false;
  private replacedNoted = false;

  /**
   * Starts finding and mapping the array at once, in parallel with the webview's start-up.
   * `running`: the webview is already up (a reused panel), so no 'ready' will come:
   * init (with a first picture at `plotArea`) is sent as soon as the array is mapped.
   */
  constructor(
    webview: ViewerPort,
    readonly source: ArraySource,
    private readonly requestedAt: number,
    initialTensor: string | null,
    opts: SessionOptions,
  ) {
    this.io = opts.io;
    this.tensor = initialTensor;
    this.plotArea = opts.plotArea ?? null;
    this.reusable = opts.reusable ?? false;
    // A reused panel's webview may still send requests for the last array: they are addressed to
    // that session's responder, and this one drops them.
    this.rpc = new Responder<WebviewToHost, HostMessage>({
      post: (m) => void webview.postMessage(m).then(undefined, () => undefined),
      validate: parseWebviewMessage,
      // A panel handed to this session before its page started: the page says 'ready' to the session whose
      // init it carried (and what this one posted before the page listened was lost), so this one answers.
      anyAddress: (m) => m.type === 'ready',
    });
    this.disposables.push(webview.onDidReceiveMessage((m) => void this.onMessage(m)));
    this.preparing = this.load(false);
    this.preparing.catch(() => undefined); // reported when awaited
    if (opts.running) void this.begin().catch((e) => this.fail(e));
  }

  get name(): string {
    return this.loaded?.summary.name ?? this.source.name;
  }

  /** The file this session maps now (device, inode, the path it was opened by), or null. */
  get mapped(): { dev: number; ino: number; path: string } | null {
    return this.view ? { dev: this.view.dev, ino: this.view.ino, path: this.view.path } : null;
  }

  /** True once the panel has said that its segment was unlinked. */
  get unlinked(): boolean {
    return this.unlinkNoted;
  }

  /**
   * The mapped segment was unlinked (seen by live mode, or by the tree's scan): the panel says so
   * for as long as it shows it, since its mapping alone now keeps that memory in use.
   */
  markUnlinked(): void {
    if (this.unlinkNoted || this.disposed) return;
    this.unlinkNoted = true;
    const size = this.loaded ? ` (${formatBytes(this.loaded.summary.size)})` : '';
    this.post({
      type: 'notice',
      level: 'warning',
      sticky: true,
      message: this.loaded?.sysv
        ? `${this.name} was removed (IPC_RMID): no process can attach it any more, and this panel's attachment keeps its memory${size} in use (with any other process still attached). Close the panel to free it.`
        : `${this.name} was unlinked: no one can open it by name any more, and this panel's mapping is what keeps its memory${size} in use. Close the panel to free it.`,
    });
  }

  private post(msg: HostMessage): void {
    if (!this.disposed) this.rpc.post(msg);
  }

  private fail(e: unknown): void {
    const { kind, code, message } = describeFailure(e, this.name);
    this.error = message;
    this.post({ type: 'error', kind, code, message });
  }

  private notice(level: 'info' | 'warning' | 'error', message: string): void {
    this.post({ type: 'notice', level, message });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const got = this.disposed ? null : this.rpc.receive(raw);
    if (!got) return;
    const { msg, signal } = got;
    try {
      switch (msg.type) {
        case 'ready':
          if (msg.plotArea) this.plotArea = msg.plotArea;
          // The page carried this session's init and the webview drew it: nothing to send.
          if (msg.embedded && this.embedded) {
            this.embedded = false;
            break;
          }
          await this.begin();
          break;
        case 'drawn':
          this.drawnWaiters.get(msg.re)?.();
          break;
        case 'pin':
          this.pinned = true;
          break;
        case 'retry':
          await this.start(true);
          break;
        case 'selectTensor':
          this.tensor = msg.name;
          await this.start(false);
          break;
        case 'view':
          await this.render(msg, signal!);
          break;
        case 'stats':
          await this.stats(msg, signal!);
          break;
        case 'hover':
          await this.hover(msg, signal!);
          break;
        case 'cells':
          await this.cells(msg, signal!);
          break;
        case 'exportPng':
          await this.exportPng(msg.dataUrl, msg.suggestedName);
          break;
        case 'saveNpy':
          await this.saveNpy(msg.slice, msg.window);
          break;
        case 'timing':
          this.timing = { firstPixelsMs: msg.firstPixelsMs, exactMs: msg.exactMs };
          console.log(
            `[shm-inspector] ${this.name}: first pixels ${msg.firstPixelsMs.toFixed(0)} ms after the request; exact image ${msg.exactMs?.toFixed(0) ?? '—'} ms`,
          );
          break;
      }
    } catch (e) {
      this.fail(e);
    } finally {
      if ('id' in msg) this.rpc.done(msg.id);
    }
  }

  /** Sends init, with a first picture, once the array is mapped (prepared in the constructor, or now). */
  private async begin(): Promise<void> {
    const preparing = this.preparing;
    if (preparing) {
      try {
        await preparing;
      } finally {
        if (this.preparing === preparing) this.preparing = null;
      }
    } else if (!(this.loaded && this.view && !this.error)) {
      await this.load(false);
    }
    await this.sendInit();
  }

  private async sendInit(): Promise<void> {
    if (!this.loaded) return;
    // A failure here is not the panel's error: the view request that follows meets it again and says so.
    const first = await this.firstPicture().catch(() => undefined);
    if (this.disposed || !this.loaded) return;
    this.post({ type: 'init', segment: this.loaded.summary, requestedAt: this.requestedAt, first, reusable: this.reusable && !this.pinned });
  }

  /**
   * The init message for a new panel's page to carry (viewerHtml), first picture included, so
   * that the webview draws it as soon as its script runs, without the round trip of 'ready'.
   * Null when there is nothing to draw yet (the array failed to load: the usual flow says why)
   * or the picture does not fit float32 (the page carries float32 values).
   */
  async embeddableInit(): Promise<EmbeddedInit | null> {
    const preparing = this.preparing;
    if (!preparing) return null;
    try {
      await preparing;
    } catch {
      return null;
    }
    const first = await this.firstPicture().catch(() => undefined);
    if (this.disposed || !this.loaded || !first) return null;
    const F32 = 3.4028234663852886e38;
    if ((first.min !== null && Math.abs(first.min) > F32) || (first.max !== null && Math.abs(first.max) > F32)) return null;
    const f32 = first.values instanceof Float32Array ? first.values : Float32Array.from(first.values);
    const values = Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength).toString('base64');
    const msg: HostToWebview = {
      type: 'init',
      from: this.rpc.self,
      segment: this.loaded.summary,
      requestedAt: this.requestedAt,
      first: { ...first, values: new Float32Array(0) },
      reusable: this.reusable && !this.pinned,
    };
    this.embedded = true;
    if (this.preparing === preparing) this.preparing = null;
    return { json: JSON.stringify(msg, (k, v) => (k === 'values' ? undefined : v)), values };
  }

  /** A sampled picture of the whole default slice at the plot's size (heatmaps only). */
  private async firstPicture(): Promise<FirstPicture | undefined> {
    const view = this.view;
    const area = this.plotArea;
    if (!view || !this.loaded || !area) return undefined;
    const nd = this.loaded.layout.shape.length;
    if (nd < 2) return undefined;
    const sel: SliceSelection = { axes: [nd - 2, nd - 1], index: new Array<number>(nd).fill(0), part: 'magnitude' };
    const slice = this.slice(sel);
    const win: Window2D = { r0: 0, r1: slice.rows, c0: 0, c1: slice.cols };
    // At most half the plot's resolution each way, and at most FIRST_CELLS cells: what takes the
    // time to the first picture is carrying the values to the webview; the exact picture at full
    // resolution follows at once.
    const k = Math.max(2, Math.sqrt((area.width * area.height) / FIRST_CELLS));
    const width = Math.min(Math.ceil(area.width / k), slice.cols);
    const height = Math.min(Math.ceil(area.height / k), slice.rows);
    const t0 = performance.now();
    const r = await view.reduce({
      ...slice,
      r0: 0,
      r1: slice.rows,
      c0: 0,
      c1: slice.cols,
      gridWidth: width,
      gridHeight: height,
      mode: 'strided',
      output: cellType(slice),
    });
    const exact = r.width === slice.cols && r.height === slice.rows;
    this.firstSent = { key: sliceKey(sel, this.tensor), window: win };
    this.lastTile = { mode: 'strided', width: r.width, height: r.height, min: r.min, max: r.max };
    return { slice: sel, window: win, width: r.width, height: r.height, values: r.values, min: r.min, max: r.max, elapsedMs: performance.now() - t0, exact };
  }

  /**
   * Finds the array (again) and maps it; `reopen` drops the old mapping first. Throws what fails.
   * The view maps the file whose header was decoded or none: when the name was renamed over in
   * between (CHANGED), the array is found once more.
   */
  private async load(reopen: boolean): Promise<void> {
    // What was asked about the array shown so far is not answered any more.
    this.rpc.abortAll();
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.source.load(this.tensor);
      resolveSlice(loaded.layout); // refuses non-numeric dtypes with a clear message
      const v0 = this.view;
      const same = !reopen && v0 !== null && this.loaded?.path === loaded.path && v0.dev === loaded.identity.dev && v0.ino === loaded.identity.ino;
      if (!same) {
        this.view?.close();
        this.view = null;
        let v: MappedView;
        try {
          v = loaded.open ? await loaded.open() : await openView(loaded.file ?? loaded.path, loaded.identity);
        } catch (e) {
          if (failureCode(e) === 'CHANGED' && attempt === 0) continue;
          throw e;
        }
        if (this.disposed) {
          v.close();
          return;
        }
        this.view = v;
      }
      this.loaded = loaded;
      this.tensor = loaded.summary.tensor ?? null;
      this.statsCache.clear();
      this.firstSent = null;
      this.error = null;
      this.unlinkNoted = this.replacedNoted = false;
      return;
    }
  }

  private async start(reopen: boolean): Promise<void> {
    this.preparing = null;
    try {
      await this.load(reopen);
      await this.sendInit();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Resolves when the webview says the sampled tile of request `id` is drawn, after `ms`, or when the request is superseded. */
  private whenDrawn(id: number, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.drawnWaiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.drawnWaiters.set(id, done);
    });
  }

  private slice(sel: SliceSelection): ResolvedSlice {
    if (!this.loaded) throw new Error('not loaded');
    const shape = this.loaded.layout.shape;
    if (sel.axes && (sel.axes[0] >= shape.length || sel.axes[1] >= shape.length)) throw new SliceError('axes out of range');
    return resolveSlice(this.loaded.layout, { axes: sel.axes ?? undefined, index: sel.index, part: sel.part });
  }

  /**
   * Live mode re-reads the mapped file; this says when its name no longer names it: unlinked
   * (the mapping still shows the memory, a notice says so once) or replaced by a new segment
   * of the same name (an error with Reopen, which maps the new one). False when replaced.
   */
  private async stillTheSegment(view: MappedView): Promise<boolean> {
    if (view.path.startsWith('/proc/')) return true; // a deleted segment read through its holder
    if (this.loaded?.sysv) {
      // A System V segment cannot be replaced while attached: only removed (then this attachment keeps it).
      if (await sysvRemovedSince(this.loaded.sysv)) this.markUnlinked();
      return true;
    }
    const st = await fs.promises
      .lstat(this.loaded?.file ?? view.path, { bigint: true })
      .catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : undefined));
    if (st === undefined) return true; // cannot tell (permissions): keep reading what is mapped
    if (st === null) {
      this.markUnlinked();
      return true;
    }
    if (Number(st.dev) === view.dev && Number(st.ino) === view.ino) return true;
    if (this.replacedNoted) return false;
    this.replacedNoted = true;
    this.error = `${this.name} was replaced by another segment of the same name`;
    this.post({
      type: 'error',
      kind: 'changed',
      code: 'CHANGED',
      message: `${this.name} was replaced by a new segment of the same name while live mode watched it. Reopen it to see the new one.`,
    });
    return false;
  }

  private async render(msg: Extract<WebviewToHost, { type: 'view' }>, signal: AbortSignal): Promise<void> {
    const view = this.view;
    if (!view || !this.loaded) return;
    if (msg.live) {
      if (!(await this.stillTheSegment(view))) return;
      // A producer may have written into holes that read as zeros until now (or punched new ones).
      await view.refresh();
    }
    if (signal.aborted) return;
    // Superseded by a newer view (or cancelled): the reductions still running for it stop early.
    signal.addEventListener('abort', () => view.cancelPending(), { once: true });
    const slice = this.slice(msg.slice);
    const win: Window2D = {
      r0: Math.min(msg.window.r0, slice.rows - 1),
      r1: Math.min(msg.window.r1, slice.rows),
      c0: Math.min(msg.window.c0, slice.cols - 1),
      c1: Math.min(msg.window.c1, slice.cols),
    };
    if (win.r1 <= win.r0 || win.c1 <= win.c0) return;
    const n = win.r1 - win.r0;
    const m = win.c1 - win.c0;
    const base = { ...slice, r0: win.r0, r1: win.r1, c0: win.c0, c1: win.c1 };
    try {
      if (msg.plot === 'line') {
        const width = Math.min(msg.width, m);
        const t0 = performance.now();
        const exact = width >= m;
        // One sample a pixel column when that is every element, or when sampling was asked for.
        const sampled = exact || msg.mode === 'strided';
        const lo = await view.reduce({ ...base, gridWidth: width, gridHeight: 1, mode: sampled ? 'strided' : 'min' });
        if (signal.aborted) return;
        const hi = sampled ? lo : await view.reduce({ ...base, gridWidth: width, gridHeight: 1, mode: 'max' });
        if (signal.aborted) return;
        this.lastTile = { mode: sampled && !exact ? 'strided' : 'min/max', width: lo.width, height: 1, min: lo.min, max: hi.max };
        this.error = null;
        this.rpc.reply(msg.id, {
          type: 'line',
          window: win,
          width: lo.width,
          mins: lo.values,
          maxs: hi.values,
          min: lo.min,
          max: hi.max,
          elapsedMs: performance.now() - t0,
        });
        return;
      }
      const cells = Math.min(msg.width, m) * Math.min(msg.height, n);
      const phases: ReduceMode[] = [];
      // The first picture (sent with init) is this window's quick sample already: straight to the exact pass.
      const f = this.firstSent;
      const firstCovers =
        f !== null &&
        f.key === sliceKey(msg.slice, this.tensor) &&
        f.window.r0 === win.r0 &&
        f.window.r1 === win.r1 &&
        f.window.c0 === win.c0 &&
        f.window.c1 === win.c1;
      this.firstSent = null;
      if (!msg.live && !firstCovers && msg.mode !== 'strided' && n * m > cells && n * m > PREVIEW_FIRST_ELEMENTS) phases.push('strided');
      phases.push(msg.mode);
      for (let i = 0; i < phases.length; i++) {
        const mode = phases[i];
        const t0 = performance.now();
        const r = await view.reduce({ ...base, gridWidth: msg.width, gridHeight: msg.height, mode, output: cellType(slice) });
        if (signal.aborted) return;
        const final = i === phases.length - 1;
        this.lastTile = { mode, width: r.width, height: r.height, min: r.min, max: r.max };
        this.error = null;
        this.rpc.reply(msg.id, {
          type: 'tile',
          window: win,
          width: r.width,
          height: r.height,
          mode,
          values: r.values,
          min: r.min,
          max: r.max,
          elapsedMs: performance.now() - t0,
          final,
        });
        if (!final) await this.whenDrawn(msg.id, DRAWN_WAIT_MS, signal);
        if (signal.aborted) return;
      }
    } catch (e) {
      const code = failureCode(e);
      if (code === 'CANCELLED' || code === 'CLOSED') return;
      if (signal.aborted && code !== 'SHRANK') return;
      this.fail(e);
    }
  }

  /**
   * Stats passes read the whole slice: one request at a time, and a request superseded while it
   * waits, or between its passes, stops there (what it found so far stays cached for the next).
   */
  private stats(msg: Extract<WebviewToHost, { type: 'stats' }>, signal: AbortSignal): Promise<void> {
    const run = this.statsTail.then(() => this.statsPass(msg, signal));
    this.statsTail = run.catch(() => undefined);
    return run;
  }

  private async statsPass(msg: Extract<WebviewToHost, { type: 'stats' }>, signal: AbortSignal): Promise<void> {
    const view = this.view;
    if (signal.aborted || this.disposed || !view) return;
    try {
      const key = sliceKey(msg.slice, this.tensor);
      const slice = this.slice(msg.slice);
      let entry = msg.fresh ? undefined : this.statsCache.get(key);
      if (msg.fresh) await view.refresh();
      if (!entry) {
        const base = await baseStats(view, slice, undefined, signal);
        entry = { base, q: new Map() };
        this.statsCache.set(key, entry);
      }
      for (const q of msg.quantiles) {
        if (!entry.q.has(q)) entry.q.set(q, await sliceQuantile(view, slice, entry.base, q, signal));
      }
      const e = entry;
      const s: StatsSummary = { ...e.base, quantiles: msg.quantiles.map((q) => ({ q, value: e.q.get(q)! })).filter((x) => Number.isFinite(x.value)) };
      this.rpc.reply(msg.id, { type: 'stats', sliceKey: key, ...s });
    } catch (e) {
      if (failureCode(e) === 'CANCELLED' && signal.aborted) return;
      throw e;
    }
  }

  private async hover(msg: Extract<WebviewToHost, { type: 'hover' }>, signal: AbortSignal): Promise<void> {
    if (!this.view) return;
    const slice = this.slice(msg.slice);
    if (msg.row >= slice.rows || msg.col >= slice.cols) return;
    const v = await readElement(this.view, slice, msg.row, msg.col);
    if (!signal.aborted) this.rpc.reply(msg.id, { type: 'value', row: msg.row, col: msg.col, text: v.text, value: v.value });
  }

  /** The Table toggle's grid: the elements of a window of the slice (clipped to it), as stored. */
  private async cells(msg: Extract<WebviewToHost, { type: 'cells' }>, signal: AbortSignal): Promise<void> {
    if (!this.view) return;
    const slice = this.slice(msg.slice);
    const w: Window2D = { r0: msg.window.r0, r1: Math.min(msg.window.r1, slice.rows), c0: msg.window.c0, c1: Math.min(msg.window.c1, slice.cols) };
    if (w.r1 <= w.r0 || w.c1 <= w.c0) return;
    const texts = await readElementTexts(this.view, slice, w);
    if (!signal.aborted) this.rpc.reply(msg.id, { type: 'cells', window: w, texts });
  }

  /** Asks where to save and writes `parts` there; the panel says what became of it. */
  private async saveAs(
    dialog: { title: string; fileName: string; filters: Record<string, string[]> },
    parts: () => Uint8Array[],
    saved: (label: string) => string,
  ): Promise<void> {
    const target = await this.io.showSaveDialog(dialog);
    if (!target || this.disposed) return;
    try {
      await this.io.writeFile(target, parts());
    } catch (e) {
      this.notice('error', `Not saved: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.notice('info', saved(target.label));
  }

  private async exportPng(dataUrl: string, suggested: string): Promise<void> {
    const name = suggested.replace(/[^\w.-]+/g, '_') || 'view.png';
    await this.saveAs(
      { title: 'Export the view as PNG', fileName: name.endsWith('.png') ? name : `${name}.png`, filters: { 'PNG image': ['png'] } },
      () => [Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64')],
      (label) => `Saved ${label}`,
    );
  }

  private async saveNpy(sel: SliceSelection, win: Window2D): Promise<void> {
    if (!this.view || !this.loaded) return;
    const slice = this.slice(sel);
    const w: Window2D = { r0: win.r0, r1: Math.min(win.r1, slice.rows), c0: win.c0, c1: Math.min(win.c1, slice.cols) };
    if (w.r1 <= w.r0 || w.c1 <= w.c0) return;
    let gathered;
    try {
      gathered = await gatherWindow(this.view, slice, w);
    } catch (e) {
      if (failureCode(e) === 'SHRANK') throw e;
      this.notice('error', `Not saved: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const g = gathered;
    const base = this.name.replace(/\.npy$/, '').replace(/[^\w.-]+/g, '_');
    await this.saveAs(
      { title: 'Save the visible window as .npy', fileName: `${base}_r${w.r0}-${w.r1}_c${w.c0}-${w.c1}.npy`, filters: { 'NumPy array': ['npy'] } },
      () => [npyHeader(g.descr, g.shape), g.data],
      (label) => `Saved rows ${w.r0}:${w.r1}, columns ${w.c0}:${w.c1} (${g.shape.join('×')} ${g.descr}) to ${label}${g.note ? `; ${g.note}` : ''}`,
    );
  }

  dispose(): void {
    this.disposed = true;
    this.rpc.abortAll(true);
    for (const done of [...this.drawnWaiters.values()]) done();
    this.view?.close();
    this.view = null;
    for (const d of this.disposables) d.dispose();
  }
}
