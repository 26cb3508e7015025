/**
 * The memory picture's host side (one per panel): answers the webview's requests for a treemap
 * at its size (a fresh process report, laid out in core/processes/treemap.ts) and for the
 * timeline of one fork family (core/processes/timeline.ts, its replies streamed until the family
 * ends or the webview asks for another), stops sampling while the panel is hidden and when it
 * closes, and saves the exported PNG through the injected IO.
 *
 * No vscode import: the webview and the save dialog are given to it (ViewerPort, ViewerIO, as
 * the matrix viewer's session has them), so that it runs in plain Node under test.
 */
import {
  MAX_PICTURE_SIDE,
  validatePictureWebviewMessage,
  type PictureHostMessage,
  type PictureToHost,
  type TimelineMember,
  type TimelinePoint,
} from '../../contract/picture';
import { Responder } from '../../contract/requests';
import { exactAvailable, memoryReport } from '../core/processes/scan';
import { FamilySampler, type SamplerOptions } from '../core/processes/timeline';
import { layoutTreemap, memoryTree, readMemInfo, type MemInfo } from '../core/processes/treemap';
import type { MemoryReport } from '../core/processes/types';
import type { ViewerIO, ViewerPort } from '../preview/session';

/** A report younger than this answers a new layout (a resize) without scanning again. */
const REPORT_REUSE_MS = 1500;
/** Points kept per timeline (the oldest go first): an hour of estimates for a dozen members. */
const MAX_POINTS = 50_000;

export interface PictureDeps {
  io: ViewerIO;
  /** Whether exact (pagemap) timeline points are wanted (the shmInspector.processes.exact setting). */
  exact(): boolean;
  /** The process report (default: the real one). */
  report?(): Promise<MemoryReport>;
  memInfo?(): Promise<MemInfo>;
  /** The timeline's measuring pass and timing (tests). */
  sampler?: Pick<SamplerOptions, 'measure' | 'intervalMs' | 'exactMinMs'>;
}

interface Watching {
  id: number;
  sampler: FamilySampler;
  members: Map<number, TimelineMember>;
  points: TimelinePoint[];
  label: string;
  /** The first reply (reset) has been sent. */
  sent: boolean;
  exactOn: boolean;
}

export class PictureSession {
  private readonly rpc: Responder<PictureToHost, PictureHostMessage>;
  private readonly disposables: { dispose(): void }[] = [];
  private watching: Watching | null = null;
  private visible = true;
  private ready = false;
  private pendingSelect: number | null = null;
  private lastReport: { at: number; report: MemoryReport; mem: MemInfo } | null = null;
  private disposed = false;
  /** What the last treemap showed (tests, and the hover's source of truth). */
  lastTreemap: Extract<PictureHostMessage, { type: 'treemap' }> | null = null;

  constructor(
    webview: ViewerPort,
    private readonly deps: PictureDeps,
  ) {
    this.rpc = new Responder<PictureToHost, PictureHostMessage>({
      post: (m) => void webview.postMessage(m).then(undefined, () => undefined),
      validate: validatePictureWebviewMessage,
    });
    this.disposables.push(webview.onDidReceiveMessage((m) => void this.onMessage(m)));
  }

  /** The family whose timeline is shown, if any. */
  get watchedRoot(): number | null {
    return this.watching?.sampler.rootPid ?? null;
  }

  /** Shows the timeline of the family `pid` is in (Watch Family Over Time, or a click in the treemap). */
  select(pid: number): void {
    if (!this.ready) {
      this.pendingSelect = pid;
      return;
    }
    this.rpc.post({ type: 'select', root: pid });
  }

  /** The panel was hidden (sampling stops; the lines get a gap) or shown again. */
  setVisible(visible: boolean): void {
    if (this.visible === visible) return;
    this.visible = visible;
    const w = this.watching;
    if (!w) return;
    if (!visible) {
      w.sampler.stop();
      // The lines pause: a member seen running may exit meanwhile, which the next pass tells.
    } else if (w.sampler.stopped) this.startSampler(w, w.sampler.rootPid);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.watching?.sampler.stop();
    this.watching = null;
    this.rpc.abortAll(true);
    for (const d of this.disposables) d.dispose();
  }

  private async onMessage(raw: unknown): Promise<void> {
    const got = this.disposed ? null : this.rpc.receive(raw);
    if (!got) return;
    const { msg, signal } = got;
    try {
      switch (msg.type) {
        case 'ready':
          this.ready = true;
          if (this.pendingSelect !== null) this.select(this.pendingSelect);
          this.pendingSelect = null;
          break;
        case 'treemap':
          await this.treemap(msg.id, msg.width, msg.height, signal!);
          break;
        case 'watch':
          this.watch(msg.id, msg.root, signal!);
          return; // its replies go on: done when the family ends or the request is superseded
        case 'unwatch':
          this.stopWatching();
          break;
        case 'exportPng':
          await this.exportPng(msg.dataUrl, msg.suggestedName);
          break;
      }
    } catch (e) {
      this.rpc.post({ type: 'notice', level: 'error', message: e instanceof Error ? e.message : String(e) });
    }
    if ('id' in msg) this.rpc.done(msg.id);
  }

  private async treemap(id: number, width: number, height: number, signal: AbortSignal): Promise<void> {
    // Nothing is read while the panel is hidden (its page may still ask on its timer).
    if (!this.visible) return;
    let last = this.lastReport;
    if (!last || Date.now() - last.at > REPORT_REUSE_MS) {
      const [report, mem] = await Promise.all([(this.deps.report ?? (() => memoryReport()))(), (this.deps.memInfo ?? readMemInfo)()]);
      last = this.lastReport = { at: Date.now(), report, mem };
    }
    if (signal.aborted) return;
    const { report, mem } = last;
    const w = Math.min(MAX_PICTURE_SIDE, width);
    const h = Math.min(MAX_PICTURE_SIDE, height);
    const nodes = memoryTree(report, mem);
    const msg: Extract<PictureHostMessage, { type: 'treemap' }> = {
      type: 'treemap',
      width: w,
      height: h,
      rects: layoutTreemap(nodes, { x: 0, y: 0, w, h }),
      totalBytes: nodes.reduce((s, n) => s + n.bytes, 0),
      memTotal: mem.memTotal,
      memUsed: Math.max(0, mem.memTotal - mem.memAvailable),
      processes: report.processes.length,
      uninspectable: report.uninspectable,
      exactAvailable: report.exactAvailable,
      scannedAtMs: report.scannedAtMs,
    };
    if (this.rpc.reply(id, msg)) this.lastTreemap = msg;
  }

  private watch(id: number, root: number, signal: AbortSignal): void {
    this.stopWatching();
    const exactOn = this.deps.exact() && exactAvailable();
    const w: Watching = { id, sampler: null as unknown as FamilySampler, members: new Map(), points: [], label: `PID ${root}`, sent: false, exactOn };
    this.watching = w;
    signal.addEventListener('abort', () => {
      if (this.watching === w) this.stopWatching();
      else w.sampler.stop();
    });
    this.startSampler(w, root);
  }

  private startSampler(w: Watching, root: number): void {
    w.sampler = new FamilySampler({
      root,
      exact: w.exactOn,
      ...this.deps.sampler,
      onUpdate: (u) => {
        if (this.watching !== w) return;
        // A sampler started again (the panel shown again) knows only what it saw: the lines before stay.
        const now = Date.now();
        const current = new Set(u.members.map((m) => m.pid));
        for (const m of w.members.values()) if (!current.has(m.pid) || u.done) m.endMs ??= now;
        for (const m of u.members) {
          const old = w.members.get(m.pid);
          w.members.set(m.pid, old && old.endMs === null ? { ...m, firstMs: old.firstMs } : m);
        }
        const members = [...w.members.values()];
        const rootMember = members.find((m) => m.root);
        w.label = rootMember ? `${rootMember.comm} (${rootMember.pid})` : w.label;
        w.points.push(...u.points);
        if (w.points.length > MAX_POINTS) w.points.splice(0, w.points.length - MAX_POINTS);
        const reset = !w.sent;
        w.sent = true;
        this.rpc.reply(w.id, {
          type: 'timeline',
          root: w.sampler.rootPid,
          label: w.label,
          reset,
          done: u.done,
          members,
          points: reset ? w.points : u.points,
          exactOn: w.exactOn,
        });
        if (u.done) {
          this.rpc.done(w.id);
          this.watching = null;
        }
      },
      onError: (e) =>
        this.rpc.post({ type: 'notice', level: 'warning', message: `The timeline could not be measured: ${e instanceof Error ? e.message : String(e)}` }),
    });
    if (this.visible) w.sampler.start();
    else w.sampler.stop();
  }

  private stopWatching(): void {
    const w = this.watching;
    if (!w) return;
    this.watching = null;
    w.sampler.stop();
    this.rpc.abort(w.id);
  }

  /** The sampler now running (tests wait for its passes). */
  get sampler(): FamilySampler | null {
    return this.watching?.sampler ?? null;
  }

  private async exportPng(dataUrl: string, suggested: string): Promise<void> {
    const name = suggested.replace(/[^\w.-]+/g, '_') || 'memory-picture.png';
    const fileName = name.endsWith('.png') ? name : `${name}.png`;
    const target = await this.deps.io.showSaveDialog({ title: 'Export the memory picture as PNG', fileName, filters: { 'PNG image': ['png'] } });
    if (!target) return;
    const png = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
    try {
      await this.deps.io.writeFile(target, [png]);
      this.rpc.post({ type: 'notice', level: 'info', message: `Saved ${target.label}` });
    } catch (e) {
      this.rpc.post({ type: 'notice', level: 'error', message: `Not saved: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
}
