/**
 * Live updates: a debounced file-system watch of each directory (and of the
 * folders in it), falling back to polling where watching is impossible.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface WatchOptions {
  /** Quiet time before a refresh (ms). */
  debounceMs: number;
  /** Longest a burst of events may delay a refresh (ms). */
  maxWaitMs: number;
  /** Polling period when a directory cannot be watched (ms). */
  pollMs: number;
}

const DEFAULTS: WatchOptions = { debounceMs: 100, maxWaitMs: 500, pollMs: 1000 };
const MAX_SUBDIR_WATCHES = 64;

export class DirWatcher {
  private watchers = new Map<string, fs.FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private firstEventAt = 0;
  private poll: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Why polling is in use (null when every directory is watched). */
  pollingReason: string | null = null;

  constructor(
    private readonly dirs: string[],
    private readonly onChange: () => void,
    private readonly opts: WatchOptions = DEFAULTS,
  ) {
    const failures: string[] = [];
    for (const d of dirs) {
      const err = this.watch(d);
      if (err) failures.push(`${d}: ${err}`);
    }
    if (failures.length > 0) this.startPolling(failures.join('; '));
  }

  private watch(dir: string): string | null {
    if (this.watchers.has(dir)) return null;
    try {
      const w = fs.watch(dir, { persistent: false }, () => this.fire());
      w.on('error', (e) => {
        w.close();
        this.watchers.delete(dir);
        this.startPolling(`${dir}: ${e.message}`);
      });
      this.watchers.set(dir, w);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Watches the folders now inside the directories (joblib folders), unwatching vanished ones. */
  syncSubdirs(folders: string[]): void {
    const wanted = new Set(folders.slice(0, MAX_SUBDIR_WATCHES));
    for (const [p, w] of this.watchers) {
      if (!this.dirs.includes(p) && !wanted.has(p)) {
        w.close();
        this.watchers.delete(p);
      }
    }
    for (const f of wanted) {
      if (!this.dirs.includes(path.dirname(f))) continue;
      this.watch(f);
    }
  }

  private fire(): void {
    if (this.disposed) return;
    const now = Date.now();
    if (!this.timer) this.firstEventAt = now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.opts.debounceMs, this.firstEventAt + this.opts.maxWaitMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, wait);
  }

  private startPolling(reason: string): void {
    this.pollingReason = reason;
    if (this.poll || this.disposed) return;
    this.poll = setInterval(() => this.onChange(), this.opts.pollMs);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    clearInterval(this.poll);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
