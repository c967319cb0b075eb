// The gateway remembers callers and clusters' tunnel rules; a change made anywhere else (another
// replica, or by hand in SQL) must still reach it at once through the invalidation triggers.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashToken } from '../../shared/tokens.js';
import { openTunnel, TunnelClientError } from '../../shared/tunnel-client.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Waits until `check` gives what `expected` says. The cached entries live 60 s: far longer
 * than this waits, so only the invalidation can make the change show.
 */
function eventually<T>(check: () => Promise<T>, expected: (value: T) => void): Promise<void> {
  return vi.waitFor(async () => expected(await check()), { timeout: 15_000, interval: 20 });
}

async function tunnelRefusal(gw: TestGateway, token: string, clusterId: string, target: string) {
  try {
    (await openTunnel({ api: gw.url, token, clusterId, target })).destroy();
    return 'opened';
  } catch (error) {
    return error instanceof TunnelClientError ? error.code : String(error);
  }
}

describe('cached callers and clusters', () => {
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.token('admin');
  });
  afterAll(() => gw.close());

  it('forgets a token revoked or demoted outside this process', async () => {
    const operator = await gw.token('operator', 'alpha');
    const demoted = await gw.token('admin', 'alpha');
    expect((await gw.request('GET', '/api/v1/clusters', { token: operator })).status).toBe(200);
    expect((await gw.request('GET', '/api/v1/tokens', { token: demoted })).status).toBe(200);

    await gw.db.sql`update api_tokens set revoked_at = now() where token_hash = ${hashToken(operator)}`;
    await gw.db.sql`update api_tokens set role = 'viewer' where token_hash = ${hashToken(demoted)}`;
    await eventually(
      () => gw.request('GET', '/api/v1/clusters', { token: operator }),
      (res) => expect(res.status).toBe(401),
    );
    await eventually(
      () => gw.request('GET', '/api/v1/tokens', { token: demoted }),
      (res) => expect(res.status).toBe(403),
    );
    // The first admin token was left alone.
    expect((await gw.request('GET', '/api/v1/tokens', { token: admin })).status).toBe(200);
  });

  it("applies a cluster's new allowed_targets to the next tunnel", async () => {
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: admin,
      body: { name: 'cached', allowed_targets: ['10.0.0.1:22'] },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    // Allowed, and no agent is connected: the gateway got as far as the dial.
    expect(await tunnelRefusal(gw, admin, id, '10.0.0.1:22')).toBe('agent_offline');
    expect(await tunnelRefusal(gw, admin, id, '10.0.0.2:22')).toBe('target_not_allowed');

    await gw.db.sql`update clusters set allowed_targets = '{10.0.0.2:22}' where id = ${id}`;
    await eventually(
      () => tunnelRefusal(gw, admin, id, '10.0.0.1:22'),
      (code) => expect(code).toBe('target_not_allowed'),
    );
    expect(await tunnelRefusal(gw, admin, id, '10.0.0.2:22')).toBe('agent_offline');

    // Through the API the change applies to the very next request, without waiting.
    const updated = await gw.request('PUT', `/api/v1/clusters/${id}`, {
      token: admin,
      body: { name: created.body.name, current_revision: 0, allowed_targets: ['10.0.0.3:22'] },
    });
    expect(updated.status).toBe(200);
    expect(await tunnelRefusal(gw, admin, id, '10.0.0.2:22')).toBe('target_not_allowed');
  });
});
