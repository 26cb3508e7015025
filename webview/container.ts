/**
 * A viewer's container: it owns the request life cycle between the webview and its host, so that
 * the viewer only says what to ask and what to do with the answer. It holds the Requester
 * (contract/requests.ts: numbered requests, replies matched, the superseded cancelled and the host
 * told), checks every message from the host (the viewer's validator) before it is dispatched,
 * reads the init a page may carry, and keeps the timers that space requests out (a debounced
 * request while the user zooms, a repeating one for live mode). Generic over the messages: the
 * heatmap viewer uses it, and the table viewer can.
 */
import { Requester, type Stamped } from '../contract/requests';

/** What the container needs of the webview API (acquireVsCodeApi()). */
export interface PostApi {
  postMessage(msg: unknown): void;
}

export interface ContainerOptions<In extends { type: string }> {
  /** Checks a message from the host: null when malformed (it is dropped). */
  validate(raw: unknown): (In & Stamped) | null;
  /** Whether a reply is its request's last (a sampled tile is not). */
  isLast?(reply: In): boolean;
  /** A checked message that is not a stale reply. */
  onMessage(msg: In & Stamped): void;
}

export class Container<Out extends { type: string }, In extends { type: string }> {
  private readonly requests: Requester<Out, In>;
  private readonly debounced = new Map<string, { timer: number | undefined; since: number }>();
  private readonly repeating = new Map<string, number>();

  constructor(
    api: PostApi,
    private readonly opts: ContainerOptions<In>,
  ) {
    this.requests = new Requester<Out, In>({ post: (m) => api.postMessage(m), validate: opts.validate, isLast: opts.isLast });
  }

  /** Takes the host's messages posted to `win`. */
  listen(win: Pick<Window, 'addEventListener'>): void {
    win.addEventListener('message', (ev) => this.deliver((ev as MessageEvent).data));
  }

  /** A message from the host (posted, or carried by the page): checked, stale replies dropped, then dispatched. */
  deliver(raw: unknown): void {
    const msg = this.requests.receive(raw);
    if (msg) this.opts.onMessage(msg);
  }

  /** Asks the host (a newer request of a type supersedes the older); its id. */
  request(msg: Out): number {
    this.cancelTimer(msg.type);
    return this.requests.request(msg);
  }

  /** Tells the host something that gets no reply. */
  send(msg: Out): void {
    this.requests.send(msg);
  }

  /** Whether a request of `type` awaits its last reply. */
  pending(type: string): boolean {
    return this.requests.pending(type);
  }

  /** Gives up every request (the host failed, or it will answer none of them). */
  forget(): void {
    this.requests.forget();
    for (const key of [...this.debounced.keys()]) this.cancelTimer(key);
  }

  /**
   * Runs `fn` (that sends a request of type `key`) after `quietMs` without another call, and at
   * least every `maxWaitMs` while calls keep coming (a zoom that goes on still gets pictures).
   */
  debounce(key: string, fn: () => void, quietMs: number, maxWaitMs: number): void {
    const now = performance.now();
    const d = this.debounced.get(key) ?? { timer: undefined, since: now };
    window.clearTimeout(d.timer);
    this.debounced.set(key, d);
    if (now - d.since >= maxWaitMs) {
      this.cancelTimer(key);
      fn();
    } else d.timer = window.setTimeout(() => (this.cancelTimer(key), fn()), quietMs);
  }

  /** Drops a debounced call not yet made (a request of its type is made now). */
  cancelTimer(key: string): void {
    const d = this.debounced.get(key);
    if (!d) return;
    window.clearTimeout(d.timer);
    this.debounced.delete(key);
  }

  /** Runs `fn` every `ms` (0: never) until set again. */
  every(key: string, ms: number, fn: () => void): void {
    window.clearInterval(this.repeating.get(key));
    this.repeating.delete(key);
    if (ms > 0) this.repeating.set(key, window.setInterval(fn, ms));
  }
}

/**
 * The init a new panel's page may carry (viewerHtml): JSON in one script element, the first
 * picture's float32 values in base64 in another. Null when there is none or it cannot be read
 * (the host then sends init after 'ready'). It still goes through the validator when delivered.
 */
export function embeddedInit(doc: Document): unknown {
  const json = doc.getElementById('init-json')?.textContent;
  if (!json) return null;
  try {
    const msg = JSON.parse(json) as Record<string, unknown>;
    const b64 = doc.getElementById('init-values')?.textContent ?? '';
    const first = msg.first as Record<string, unknown> | undefined;
    if (first && b64) {
      const bin = atob(b64.trim());
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      first.values = new Float32Array(bytes.buffer, 0, bytes.length >> 2);
    }
    return msg;
  } catch {
    return null;
  }
}
