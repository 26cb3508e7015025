/**
 * Requests and replies between a webview and its host, one small helper for both sides
 * (modelled on vscode-hexeditor's MessageHandler, with runtime validation of every message,
 * which theirs lacks). Pure: no DOM, no vscode, no Node.
 *
 * - The asking side (the webview: `Requester`) numbers its requests (`id`). A request belongs
 *   to a channel (by default its `type`): a newer request of a channel supersedes the older,
 *   whose late replies are then dropped, and the other side is told (`cancel`) so that it can
 *   stop the work (native passes) still running for it.
 * - The answering side (the host: `Responder`) gives each request an AbortSignal, aborted when
 *   the request is superseded or cancelled, or the responder is done; a reply (`re`: the id it
 *   answers) to an aborted request is not sent.
 * - Each responder has its own number (`from`, stamped on everything it posts). The requester
 *   addresses what it sends to the responder it last heard from (`to`; 0 before any), and a
 *   responder drops what is addressed to another: a webview that now shows another array (a
 *   reused panel: a new responder) cannot have its old requests answered about the new one.
 *   When the requester hears from a new responder, its requests to the old one are dropped.
 */

/** What the helper adds to a message from the asking side. */
export interface Addressed {
  /** The responder it is for (its `from`); 0 before the asker has heard from any. */
  to: number;
}
/** A request: a message the other side replies to. */
export interface Numbered {
  id: number;
}
/** What the helper adds to a message from the answering side. */
export interface Stamped {
  /** The responder that sent it. */
  from?: number;
  /** The request it answers. */
  re?: number;
}

/** The asker's notice that it no longer wants the replies of request `re`. */
export interface CancelMessage {
  type: 'cancel';
  re: number;
}

export const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

type Typed = { type: string };

export interface RequesterOptions<Out extends Typed, In extends Typed> {
  /** Sends a message to the other side. */
  post(msg: (Out | CancelMessage) & Addressed & Partial<Numbered>): void;
  /** Checks a received message; null: malformed, dropped. */
  validate(raw: unknown): (In & Stamped) | null;
  /** The channel of a request (a newer one of a channel supersedes the older); default its type. */
  channelOf?(req: Out): string;
  /** Whether a reply is its request's last one (default: every reply is). */
  isLast?(reply: In): boolean;
}

/** The asking side. */
export class Requester<Out extends Typed, In extends Typed> {
  private nextId = 1;
  private peer = 0;
  /** The live request of each channel. */
  private readonly live = new Map<string, number>();

  constructor(private readonly opts: RequesterOptions<Out, In>) {}

  /** Sends a request (superseding the channel's live one); its id. */
  request(req: Out): number {
    const channel = this.opts.channelOf?.(req) ?? req.type;
    this.cancel(channel);
    const id = this.nextId++;
    this.live.set(channel, id);
    this.opts.post({ ...req, id, to: this.peer });
    return id;
  }

  /** Sends a message that gets no reply. */
  send(msg: Out): void {
    this.opts.post({ ...msg, to: this.peer });
  }

  /** Whether a request of `channel` awaits its (last) reply. */
  pending(channel: string): boolean {
    return this.live.has(channel);
  }

  /** The live request of `channel`, if any. */
  liveId(channel: string): number | undefined {
    return this.live.get(channel);
  }

  /** Gives up the live request of `channel` (the other side is told), or of every channel. */
  cancel(channel?: string): void {
    for (const [ch, id] of [...this.live]) {
      if (channel !== undefined && ch !== channel) continue;
      this.live.delete(ch);
      this.opts.post({ type: 'cancel', re: id, to: this.peer });
    }
  }

  /** Forgets every live request without telling the other side (it failed, or was replaced). */
  forget(): void {
    this.live.clear();
  }

  /**
   * A message from the other side, checked: null when it is malformed or a reply to a request
   * that is no longer live (superseded, cancelled, or made to a responder since replaced).
   * A message from a new responder makes it the one addressed, and forgets the requests made to the last.
   */
  receive(raw: unknown): (In & Stamped) | null {
    const msg = this.opts.validate(raw);
    if (!msg) return null;
    if (msg.from !== undefined && msg.from !== this.peer) {
      // Requests made before it had heard from anyone (to: 0) went to whoever listens: they stay.
      if (this.peer !== 0) this.live.clear();
      this.peer = msg.from;
    }
    if (msg.re === undefined) return msg;
    for (const [ch, id] of this.live) {
      if (id !== msg.re) continue;
      if (this.opts.isLast?.(msg) ?? true) this.live.delete(ch);
      return msg;
    }
    return null;
  }
}

/** What a responder receives: addressed messages, numbered when they are requests. */
type Incoming = Typed & Addressed & Partial<Numbered>;

export interface ResponderOptions<In extends Incoming, Out extends Typed> {
  /** Sends a message to the asking side. */
  post(msg: Out & Stamped): void;
  /** Checks a received message; null: malformed, dropped. */
  validate(raw: unknown): In | null;
  /** The channel of a request (a newer one of a channel supersedes the older); default its type. */
  channelOf?(req: In): string;
  /**
   * Messages taken whatever responder they are addressed to: a page that (re)started says 'ready' to
   * the responder whose init it carried, which may have been replaced since by this one.
   */
  anyAddress?(msg: In): boolean;
}

/** A request received, with the signal that says when its replies are no longer wanted. */
export interface Received<In> {
  msg: In;
  /** Set for requests (messages with an id). */
  signal: AbortSignal | null;
}

/** The answering side. */
export class Responder<In extends Incoming, Out extends Typed> {
  private static nextSelf = 1;
  /** This responder's number: the asker addresses its messages to it. */
  readonly self = Responder.nextSelf++;
  private readonly running = new Map<number, { channel: string; ctl: AbortController }>();
  private closed = false;

  constructor(private readonly opts: ResponderOptions<In, Out>) {}

  /**
   * A message from the asking side, checked: null when it is malformed, a `cancel` (handled
   * here), or addressed to another responder. A request supersedes the running one of its channel.
   */
  receive(raw: unknown): Received<In> | null {
    if (this.closed) return null;
    const r = raw as Partial<CancelMessage & Addressed> | null;
    if (r && typeof r === 'object' && r.type === 'cancel') {
      if (isId(r.re) && r.to === this.self) this.abort(r.re);
      return null;
    }
    const msg = this.opts.validate(raw);
    if (!msg || (msg.to !== 0 && msg.to !== this.self && !this.opts.anyAddress?.(msg))) return null;
    if (msg.id === undefined) return { msg, signal: null };
    const channel = this.opts.channelOf?.(msg) ?? msg.type;
    for (const [id, r] of this.running) if (r.channel === channel) this.abort(id);
    const ctl = new AbortController();
    this.running.set(msg.id, { channel, ctl });
    return { msg, signal: ctl.signal };
  }

  /** Posts a reply to request `id` unless it was superseded or cancelled (then false). */
  reply(id: number, body: Out): boolean {
    const r = this.running.get(id);
    if (!r || r.ctl.signal.aborted) return false;
    this.post({ ...body, re: id });
    return true;
  }

  /** The request is answered (its last reply sent, or none will be). */
  done(id: number): void {
    this.running.delete(id);
  }

  /** Posts a message that answers no request. */
  post(body: Out & Stamped): void {
    if (!this.closed) this.opts.post({ ...body, from: this.self });
  }

  /** Aborts request `id`. */
  abort(id: number): void {
    const r = this.running.get(id);
    if (!r) return;
    this.running.delete(id);
    r.ctl.abort();
  }

  /** Aborts every running request (the array was reloaded); `close`: and sends nothing more. */
  abortAll(close = false): void {
    for (const id of [...this.running.keys()]) this.abort(id);
    if (close) this.closed = true;
  }
}
