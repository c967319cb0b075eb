// The live events stream (GET /api/v1/events): authenticated by header, scoped to the token's
// workspace, fed by the database's notifications (so a change made by anyone, on any replica,
// arrives), and ended when the token is revoked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface Stream {
  events: Record<string, unknown>[];
  /** Resolves with the first event that `match` accepts, among those seen and to come. */
  next(match: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  ended: Promise<void>;
  close(): void;
}

async function openStream(url: string, token: string): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/v1/events`, {
    headers: { 'x-auth-token': token },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Record<string, unknown>[] = [];
  const waiters: {
    match: (e: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
  }[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream())
    .getReader();
  const ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!block.startsWith('data: ')) continue;
          const event = JSON.parse(block.slice(6)) as Record<string, unknown>;
          events.push(event);
          for (const waiter of [...waiters]) {
            if (waiter.match(event)) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve(event);
            }
          }
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    ended,
    next: (match) => {
      const seen = events.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () => controller.abort(),
  };
}

describe('live events', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw?.close());

  it('refuses a request without a token, and a global token', async () => {
    expect((await gw.request('GET', '/api/v1/events')).status).toBe(401);
    const global = await gw.globalToken('global_admin');
    expect((await gw.request('GET', '/api/v1/events', { token: global })).status).toBe(403);
    // The token goes in the header only: a query string is refused, whatever it holds.
    const token = await gw.token('viewer', 'events-q');
    const withQuery = await gw.request('GET', `/api/v1/events?token=${token}`, { token });
    expect(withQuery.status).toBe(400);
    expect(withQuery.body.error.message).toContain('unknown field "token"');
  });

  it("tells a workspace's streams of its changes, and no other workspace's", async () => {
    const mine = await gw.token('operator', 'events-a');
    const theirs = await gw.token('operator', 'events-b');
    const stream = await openStream(gw.url, mine);
    const other = await openStream(gw.url, theirs);
    try {
      const created = await gw.request('POST', '/api/v1/clusters', {
        token: theirs,
        body: { name: 'theirs' },
      });
      expect(created.status).toBe(201);
      const own = await gw.request('POST', '/api/v1/clusters', { token: mine, body: { name: 'mine' } });
      expect(own.status).toBe(201);
      // A change made straight in the database (another replica, the manager) arrives too.
      await gw.db.sql`update clusters set agent_status = 'connected' where id = ${own.body.id}`;
      await stream.next((e) => e.type === 'cluster' && e.id === own.body.id);
      await other.next((e) => e.type === 'cluster' && e.id === created.body.id);
      // Each stream is written in order: once the other stream saw a later change of its own
      // cluster, it would have seen ours before it, had it been sent.
      await gw.db.sql`update clusters set agent_status = 'connected' where id = ${created.body.id}`;
      await other.next(() => other.events.filter((e) => e.id === created.body.id).length >= 2);
      expect(other.events.filter((e) => e.id === own.body.id)).toEqual([]);
      expect(stream.events.filter((e) => e.id === created.body.id)).toEqual([]);

      const task = await gw.request('POST', `/api/v1/clusters/${own.body.id}/tasks`, {
        token: mine,
        body: { kind: 'reconcile' },
      });
      expect(task.status).toBe(201);
      await gw.db.sql`update tasks set log = log || 'line 1' where id = ${task.body.id}`;
      const event = await stream.next((e) => e.type === 'task' && e.id === task.body.id);
      expect(event.cluster_id).toBe(own.body.id);
    } finally {
      stream.close();
      other.close();
    }
  });

  it('ends the stream of a token that is revoked', async () => {
    const admin = await gw.token('admin', 'events-c');
    const created = await gw.request('POST', '/api/v1/tokens', {
      token: admin,
      body: { name: 'browser', role: 'viewer' },
    });
    const stream = await openStream(gw.url, created.body.token);
    const revoked = await gw.request('DELETE', `/api/v1/tokens/${created.body.id}`, { token: admin });
    expect(revoked.status).toBe(200);
    await stream.ended;
    expect((await gw.request('GET', '/api/v1/events', { token: created.body.token })).status).toBe(401);
  });
});
