/** contract/requests.ts: the request/response helper both sides of a webview use, in plain Node. */
import * as assert from 'assert';
import { Requester, Responder, type Addressed, type Stamped } from '../../contract/requests';

type Ask = { type: 'sum'; a: number; b: number } | { type: 'echo'; text: string } | { type: 'hello' };
type Answer = { type: 'sum'; value: number; last: boolean } | { type: 'echo'; text: string } | { type: 'note'; text: string };
type Incoming = Ask & Addressed & { id?: number };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** A webview-like asker and a host-like responder joined by queues (delivered on `flush`), as postMessage would. */
function link() {
  const toHost: unknown[] = [];
  const toPage: unknown[] = [];
  const pageGot: (Answer & Stamped)[] = [];
  const requester = new Requester<Ask, Answer>({
    post: (m) => toHost.push(structuredClone(m)),
    validate: (raw) => (isObj(raw) && (raw.type === 'sum' || raw.type === 'echo' || raw.type === 'note') ? (raw as unknown as Answer & Stamped) : null),
    isLast: (r) => r.type !== 'sum' || r.last,
  });
  const makeResponder = () =>
    new Responder<Incoming, Answer>({
      post: (m) => toPage.push(structuredClone(m)),
      validate: (raw) =>
        isObj(raw) && (raw.type === 'sum' || raw.type === 'echo' || raw.type === 'hello') && typeof raw.to === 'number' ? (raw as unknown as Incoming) : null,
    });
  return {
    toHost,
    toPage,
    pageGot,
    requester,
    makeResponder,
    /** Delivers what the page sent to `host` (all of it), and what hosts sent to the page. */
    flushToHost(host: (raw: unknown) => void) {
      for (const m of toHost.splice(0)) host(m);
    },
    flushToPage() {
      for (const m of toPage.splice(0)) {
        const got = requester.receive(m);
        if (got) pageGot.push(got);
      }
    },
  };
}

describe('contract: requests and replies', () => {
  it('numbers requests and matches replies to them; a reply to no live request is dropped', () => {
    const l = link();
    const host = l.makeResponder();
    host.post({ type: 'note', text: 'hi' });
    l.flushToPage();
    const id = l.requester.request({ type: 'echo', text: 'x' });
    const seen: { id?: number; signal: AbortSignal | null }[] = [];
    l.flushToHost((raw) => {
      const r = host.receive(raw);
      if (r) seen.push({ id: r.msg.id, signal: r.signal });
    });
    assert.strictEqual(seen.length, 1);
    assert.strictEqual(seen[0].id, id);
    assert.ok(seen[0].signal && !seen[0].signal.aborted);
    assert.ok(l.requester.pending('echo'));
    assert.ok(host.reply(id, { type: 'echo', text: 'x' }));
    l.toPage.push({ type: 'echo', text: 'forged', re: 999, from: host.self });
    l.flushToPage();
    assert.deepStrictEqual(
      l.pageGot.map((m) => [m.type, m.re]),
      [
        ['note', undefined],
        ['echo', id],
      ],
    );
    assert.ok(!l.requester.pending('echo'));
  });

  it('a newer request of a channel supersedes the older: the host is told (its signal aborts), late replies are dropped', () => {
    const l = link();
    const host = l.makeResponder();
    host.post({ type: 'note', text: 'hi' });
    l.flushToPage();
    const signals = new Map<number, AbortSignal>();
    const deliver = (raw: unknown) => {
      const r = host.receive(raw);
      if (r?.signal && r.msg.id !== undefined) signals.set(r.msg.id, r.signal);
    };
    const first = l.requester.request({ type: 'sum', a: 1, b: 2 });
    l.flushToHost(deliver);
    const other = l.requester.request({ type: 'echo', text: 'e' });
    const second = l.requester.request({ type: 'sum', a: 3, b: 4 });
    assert.deepStrictEqual(
      l.toHost.map((m) => (m as { type: string }).type),
      ['echo', 'cancel', 'sum'],
    );
    l.flushToHost(deliver);
    assert.ok(signals.get(first)!.aborted, 'the superseded request is aborted on the host');
    assert.ok(!signals.get(second)!.aborted && !signals.get(other)!.aborted, 'other channels and the newer request run on');
    assert.strictEqual(host.reply(first, { type: 'sum', value: 3, last: true }), false, 'no reply to a superseded request');
    // A reply already on its way when the page superseded the request: dropped there.
    l.toPage.push({ type: 'sum', value: 3, last: true, re: first, from: host.self });
    assert.ok(host.reply(second, { type: 'sum', value: 7, last: true }));
    l.flushToPage();
    assert.deepStrictEqual(
      l.pageGot.filter((m) => m.type === 'sum').map((m) => m.re),
      [second],
    );
  });

  it('keeps a request live through its partial replies until the last one', () => {
    const l = link();
    const host = l.makeResponder();
    const id = l.requester.request({ type: 'sum', a: 1, b: 1 });
    l.flushToHost((raw) => host.receive(raw));
    host.reply(id, { type: 'sum', value: 2, last: false });
    l.flushToPage();
    assert.ok(l.requester.pending('sum'));
    host.reply(id, { type: 'sum', value: 2, last: true });
    host.done(id);
    assert.strictEqual(host.reply(id, { type: 'sum', value: 2, last: true }), false, 'nothing after done');
    l.flushToPage();
    assert.ok(!l.requester.pending('sum'));
    assert.strictEqual(l.pageGot.length, 2);
  });

  it('cancel without a successor reaches the host; forget() tells it nothing', () => {
    const l = link();
    const host = l.makeResponder();
    host.post({ type: 'note', text: 'hi' });
    l.flushToPage();
    const signals: AbortSignal[] = [];
    l.requester.request({ type: 'echo', text: 'a' });
    l.requester.cancel('echo');
    l.flushToHost((raw) => {
      const r = host.receive(raw);
      if (r?.signal) signals.push(r.signal);
    });
    assert.strictEqual(signals.length, 1);
    assert.ok(signals[0].aborted);
    l.requester.request({ type: 'echo', text: 'b' });
    l.requester.forget();
    assert.ok(!l.requester.pending('echo'));
    assert.strictEqual(l.toHost.filter((m) => (m as { type: string }).type === 'cancel').length, 0);
  });

  it('addresses the responder last heard from: a replaced one gets nothing, the new one not the old requests', () => {
    const l = link();
    const a = l.makeResponder();
    a.post({ type: 'note', text: 'from a' });
    l.flushToPage();
    const old = l.requester.request({ type: 'echo', text: 'for a' });
    // The panel now shows another array: a new responder, before the page has heard from it.
    a.abortAll(true);
    const b = l.makeResponder();
    assert.notStrictEqual(a.self, b.self);
    const atB: unknown[] = [];
    l.flushToHost((raw) => {
      const r = b.receive(raw);
      if (r) atB.push(r.msg);
    });
    assert.deepStrictEqual(atB, [], 'a request made to the old responder is not answered by the new one');
    a.post({ type: 'note', text: 'too late' });
    assert.strictEqual(l.toPage.length, 0, 'a closed responder sends nothing');
    b.post({ type: 'note', text: 'from b' });
    l.flushToPage();
    assert.ok(!l.requester.pending('echo'), 'the request to the old responder is forgotten');
    const id = l.requester.request({ type: 'echo', text: 'for b' });
    assert.ok(id > old);
    const later: unknown[] = [];
    const push = (m: unknown) => later.push(m);
    l.flushToHost((raw) => {
      const r = b.receive(raw);
      if (r) push(r.msg);
    });
    assert.deepStrictEqual(later, [{ type: 'echo', text: 'for b', id, to: b.self }]);
    // A page that has heard from no one yet (it just started) reaches whoever listens.
    const fresh = link();
    fresh.requester.send({ type: 'hello' });
    fresh.flushToHost((raw) => push(b.receive(raw)?.msg));
    assert.deepStrictEqual(later.at(-1), { type: 'hello', to: 0 });
  });

  it('drops malformed messages on both sides', () => {
    const l = link();
    const host = l.makeResponder();
    for (const raw of [null, 'sum', { type: 'nope', to: 0 }, { type: 'sum', a: 1 }, { type: 'cancel', re: 'x', to: host.self }])
      assert.strictEqual(host.receive(raw), null);
    for (const raw of [undefined, 42, { type: 'bogus', re: 1 }]) assert.strictEqual(l.requester.receive(raw), null);
  });
});
