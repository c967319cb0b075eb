// GET /clusters/:id/tunnels/history: the tunnels opened into a cluster, from the audit rows the
// gateway writes when each ends (a real tunnel through a raw agent here), refused ones
// included; a viewer reads them, another workspace's caller sees no such cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MuxStream } from '../../shared/mux/stream.js';
import { openTunnel, type TunnelClientError } from '../../shared/tunnel-client.js';
import { encodeMessage, readFirstMessage } from '../../shared/wire/messages.js';
import { eventually } from '../e2e/agent-stack.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectRawAgent, type RawAgent } from '../support/raw-agent.js';
import { roundTrip } from '../support/tcp.js';

/** Accepts every dial and echoes the stream's bytes back. */
async function echoTunnel(stream: MuxStream): Promise<void> {
  stream.on('error', () => {});
  const { rest } = await readFirstMessage(stream);
  stream.write(encodeMessage({ ok: true }));
  if (rest.length > 0) stream.write(rest);
  stream.pipe(stream);
}

describe('tunnel history of a cluster', () => {
  let gw: TestGateway;
  let operator: string;
  let viewer: string;
  let stranger: string;
  let clusterId: string;
  let agent: RawAgent;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator', 'alpha');
    viewer = await gw.token('viewer', 'alpha');
    stranger = await gw.token('admin', 'beta');
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: 'tunnelled', allowed_targets: ['db.internal:5432'] },
    });
    expect(created.status, created.text).toBe(201);
    clusterId = created.body.id;
    const issued = await gw.request('POST', `/api/v1/clusters/${clusterId}/agent_tokens`, {
      token: operator,
      body: {},
    });
    agent = await connectRawAgent(gw.url, clusterId, {
      enrollmentToken: issued.body.token,
      onTunnel: (stream) => void echoTunnel(stream).catch(() => stream.destroy()),
    });
  });

  afterAll(async () => {
    agent?.close();
    await gw?.close();
  });

  const history = (token: string, query = '') =>
    gw.request('GET', `/api/v1/clusters/${clusterId}/tunnels/history${query}`, { token });

  it('is empty before any tunnel', async () => {
    const res = await history(viewer);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([]);
  });

  it('lists a closed tunnel with who, target, times, end and bytes, and a refused one', async () => {
    const tunnel = await openTunnel({ api: gw.url, token: operator, clusterId, target: 'db.internal:5432' });
    expect(await roundTrip(tunnel, 'hello')).toBe('hello');
    tunnel.destroy();
    const refused = await openTunnel({ api: gw.url, token: operator, clusterId, target: '10.0.0.1:22' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((refused as TunnelClientError).code).toBe('target_not_allowed');
    const rows = await eventually(
      'two tunnels in the history',
      async () => {
        const res = await history(viewer);
        expect(res.status, res.text).toBe(200);
        return res.body.length === 2 ? res.body : undefined;
      },
      10_000,
      50,
    );
    const done = rows.find((row: { target: string }) => row.target === 'db.internal:5432');
    expect(done).toMatchObject({
      user_type: 'AuthToken',
      target: 'db.internal:5432',
      bytes_to_target: 5,
      bytes_from_target: 5,
    });
    expect(done.user_name).toEqual(expect.any(String));
    expect(Date.parse(done.opened_at)).toBeLessThanOrEqual(Date.parse(done.closed_at));
    expect(done.end).not.toBe('target_not_allowed');
    expect(rows.find((row: { target: string }) => row.target === '10.0.0.1:22')).toMatchObject({
      end: 'target_not_allowed',
      bytes_to_target: 0,
    });
    // Newest first, and pages backwards.
    expect(rows[0].id).toBeGreaterThan(rows[1].id);
    const older = await history(viewer, `?before_id=${rows[0].id}&limit=5`);
    expect(older.body.map((row: { id: number }) => row.id)).toEqual([rows[1].id]);
  });

  it('keeps workspaces apart and checks its input', async () => {
    expect((await history(stranger)).status).toBe(404);
    expect((await gw.request('GET', `/api/v1/clusters/${clusterId}/tunnels/history`, {})).status).toBe(401);
    const bad = await history(viewer, '?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/limit/);
    expect((await gw.request('GET', '/api/v1/clusters/nope/tunnels/history', { token: viewer })).status).toBe(
      400,
    );
    const openapi = await gw.request('GET', '/openapi.json', {});
    expect(openapi.body.paths['/api/v1/clusters/{id}/tunnels/history'].get).toBeDefined();
  });
});
