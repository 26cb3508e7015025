/**
 * The timeline of one fork family while it runs (issue #14 item 6): every second, each forked
 * member's shared and copied bytes estimated from smaps; and, when this process may read frame
 * numbers (and the caller allows it), exact counts from pagemap, one pass after another as fast
 * as they complete (at most one a second). Every point says whether it is exact. A member that
 * exits (or execs) ends its line; members forked later start one. Cancellable: `stop()` aborts
 * the passes under way. No `vscode` here.
 */
import type { TimelineMember, TimelinePoint } from '../../../contract/picture';
import { Cancelled, memoryReport, type ReportOptions } from './scan';
import type { MemoryReport } from './types';

export interface TimelineUpdate {
  /** Every member seen so far (the root first), with when its line started and ended. */
  members: TimelineMember[];
  /** The points of this pass. */
  points: TimelinePoint[];
  /** The family ended (its root exited): no more updates. */
  done: boolean;
}

export interface SamplerOptions {
  /** The family's root (any member is taken to its root on the first pass). */
  root: number;
  /** Exact pagemap passes besides the estimates (the caller checks the privilege and the setting). */
  exact: boolean;
  /** Between estimate passes (ms); default 1000. */
  intervalMs?: number;
  /** Shortest time between the starts of two exact passes (ms); default 1000. */
  exactMinMs?: number;
  onUpdate(u: TimelineUpdate): void;
  /** A pass failed for another reason than the family ending (told once per kind of pass in a row). */
  onError?(e: unknown): void;
  /** The measuring pass (default: the real report of the family). */
  measure?(opts: ReportOptions): Promise<MemoryReport>;
  now?(): number;
}

export class FamilySampler {
  private readonly ctl = new AbortController();
  private readonly members = new Map<number, TimelineMember>();
  private root: number;
  private done = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly measure: (opts: ReportOptions) => Promise<MemoryReport>;
  private readonly now: () => number;
  private lastErrorKind: string | null = null;
  /** When the pass that last said who is in the family began. */
  private membersAt = -Infinity;
  /** Passes under way (the tests wait for them after stop). */
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly opts: SamplerOptions) {
    this.root = opts.root;
    this.measure = opts.measure ?? memoryReport;
    this.now = opts.now ?? Date.now;
  }

  /** The family's root (after the first pass: the root of the family the given PID is in). */
  get rootPid(): number {
    return this.root;
  }

  get stopped(): boolean {
    return this.ctl.signal.aborted || this.done;
  }

  start(): void {
    this.loop(false, this.opts.intervalMs ?? 1000);
    if (this.opts.exact) this.loop(true, this.opts.exactMinMs ?? 1000);
  }

  /** Stops sampling and aborts the passes under way. */
  stop(): void {
    this.ctl.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Settles when the passes under way have ended (after stop). */
  async idle(): Promise<void> {
    await Promise.all([...this.running]);
  }

  private loop(exact: boolean, everyMs: number): void {
    const tick = () => {
      if (this.stopped) return;
      const started = this.now();
      const pass = this.pass(exact).finally(() => {
        this.running.delete(pass);
        if (this.stopped) return;
        const t = setTimeout(
          () => {
            this.timers.delete(t);
            tick();
          },
          Math.max(0, everyMs - (this.now() - started)),
        );
        this.timers.add(t);
      });
      this.running.add(pass);
    };
    tick();
  }

  private async pass(exact: boolean): Promise<void> {
    // Points are stamped when their pass began: an exact pass that takes a while may end after a later estimate.
    const t = this.now();
    let report: MemoryReport;
    try {
      report = await this.measure({ family: this.root, exact, signal: this.ctl.signal });
    } catch (e) {
      if (e instanceof Cancelled || this.ctl.signal.aborted) return;
      const kind = exact ? 'exact' : 'estimate';
      if (this.lastErrorKind !== kind) this.opts.onError?.(e);
      this.lastErrorKind = kind;
      return;
    }
    if (this.stopped) return;
    this.lastErrorKind = null;
    this.record(report, exact, t);
  }

  private record(report: MemoryReport, exact: boolean, t: number): void {
    const byPid = new Map(report.processes.map((p) => [p.pid, p]));
    const self = byPid.get(this.root);
    if (!self && t < this.membersAt) return;
    if (!self) {
      // The root exited: every line ends, and so does the timeline.
      for (const m of this.members.values()) if (m.endMs === null) m.endMs = t;
      this.done = true;
      this.stop();
      this.opts.onUpdate({ members: [...this.members.values()], points: [], done: true });
      return;
    }
    // A PID given for a child: follow its family's root from now on.
    if (self.family !== null && self.family !== this.root && this.members.size === 0) {
      this.root = self.family;
      return this.record(report, exact, t);
    }
    const family = report.families.find((f) => f.root === this.root);
    const pids = family ? family.members : [this.root];
    const points: TimelinePoint[] = [];
    // A pass that began before the one that last said who is in the family (a slow exact pass)
    // adds its points to the lines of that time but changes no line's start or end.
    const stale = t < this.membersAt;
    if (!stale) this.membersAt = t;
    for (const pid of pids) {
      const p = byPid.get(pid);
      if (!p) continue;
      const m = this.members.get(pid);
      if (stale) {
        if (!m || m.firstMs > t || (m.endMs !== null && m.endMs < t)) continue;
      } else if (!m || m.endMs !== null) this.members.set(pid, { pid, comm: p.comm, root: pid === this.root, firstMs: t, endMs: null });
      const inh = p.inherited;
      // An exact pass may still give estimates (a pair it could not read): each point says which it is.
      if (pid !== this.root && inh && !inh.error) points.push({ t, pid, sharedBytes: inh.sharedBytes, copiedBytes: inh.copiedBytes, exact: exact && inh.exact });
    }
    const seen = new Set(pids.filter((pid) => byPid.has(pid)));
    if (!stale) for (const m of this.members.values()) if (m.endMs === null && !seen.has(m.pid)) m.endMs = t;
    this.opts.onUpdate({ members: [...this.members.values()], points, done: false });
  }
}
