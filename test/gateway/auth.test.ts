import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('auth matrix', () => {
  let gw: TestGateway;
  let admin: string;
  let operator: string;
  let viewer: string;
  let otherAdmin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.token('admin');
    operator = await gw.token('operator');
    viewer = await gw.token('viewer');
    otherAdmin = await gw.token('admin', 'beta');
  });
  afterAll(() => gw.close());

  it('answers 401 with the error shape without a token or with an unknown one', async () => {
    for (const token of [undefined, 'cmdr_unknown', 'x'.repeat(10_000)]) {
      const res = await gw.request('GET', '/api/v1/clusters', { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(typeof res.body.error.message).toBe('string');
    }
  });

  it('accepts X-Auth-Token and Authorization: Bearer, and records the last use', async () => {
    expect((await gw.request('GET', '/api/v1/clusters', { token: viewer })).status).toBe(200);
    const bearer = await gw.request('GET', '/api/v1/clusters', {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(bearer.status).toBe(200);
    // The gateway records the use after answering, so the row is written shortly after.
    await vi.waitFor(
      async () => {
        const [row] = await gw.db.sql`select last_used_at from api_tokens where name = 'viewer-alpha'`;
        expect(row?.last_used_at).toBeInstanceOf(Date);
      },
      { timeout: 5_000, interval: 20 },
    );
  });

  it('refuses a revoked token with 401', async () => {
    const created = await gw.request('POST', '/api/v1/tokens', {
      token: admin,
      body: { name: 'temp', role: 'operator' },
    });
    expect(created.status).toBe(201);
    expect((await gw.request('GET', '/api/v1/clusters', { token: created.body.token })).status).toBe(200);
    const revoked = await gw.request('DELETE', `/api/v1/tokens/${created.body.id}`, { token: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const res = await gw.request('GET', '/api/v1/clusters', { token: created.body.token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });

  it('lets a viewer read but not write (403), and writes nothing', async () => {
    const res = await gw.request('POST', '/api/v1/clusters', { token: viewer, body: { name: 'nope' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    const [count] = await gw.db.sql`select count(*)::int as n from clusters`;
    expect(count?.n).toBe(0);
    expect((await gw.request('GET', '/api/v1/audit', { token: viewer })).status).toBe(200);
  });

  it('lets an operator change clusters but not manage tokens', async () => {
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: 'op-made' },
    });
    expect(created.status).toBe(201);
    for (const [method, path, body] of [
      ['GET', '/api/v1/tokens', undefined],
      ['POST', '/api/v1/tokens', { name: 'x', role: 'admin' }],
    ] as const) {
      const res = await gw.request(method, path, { token: operator, body });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
  });

  it("hides another workspace's cluster exactly like a missing one (404)", async () => {
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: admin,
      body: { name: 'alpha-only' },
    });
    const id = created.body.id as string;
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { name: 'theirs', current_revision: 0, values: { x: 1 } }],
      ['DELETE', undefined],
    ] as const) {
      const foreign = await gw.request(method, `/api/v1/clusters/${id}`, { token: otherAdmin, body });
      const absent = await gw.request(method, `/api/v1/clusters/${missing}`, { token: otherAdmin, body });
      expect(foreign.status).toBe(404);
      expect(absent.status).toBe(404);
      expect(foreign.body.error.code).toBe(absent.body.error.code);
      expect(foreign.body.error.message.replace(id, '<id>')).toBe(
        absent.body.error.message.replace(missing, '<id>'),
      );
    }
    const list = await gw.request('GET', '/api/v1/clusters', { token: otherAdmin });
    expect(list.body).toEqual([]);
    const audit = await gw.request('GET', `/api/v1/audit?auditable_id=${id}`, { token: otherAdmin });
    expect(audit.body).toEqual([]);
    const tokens = await gw.request('GET', '/api/v1/tokens', { token: otherAdmin });
    expect(tokens.body.map((t: { name: string }) => t.name)).toEqual(['admin-beta']);
    // the cluster is untouched
    const mine = await gw.request('GET', `/api/v1/clusters/${id}`, { token: admin });
    expect(mine.body.status).toBe('new');
  });

  it('keeps health open and everything else closed', async () => {
    expect((await gw.request('GET', '/healthz')).status).toBe(200);
    expect((await gw.request('GET', '/readyz')).status).toBe(200);
    expect((await gw.request('GET', '/metrics')).status).toBe(401);
    const metrics = await gw.request('GET', '/metrics', { token: viewer });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('commander_http_requests_total');
    expect(metrics.text).toMatch(/commander_db_pool_connections\{state="active"\} [1-9]/);
  });
});
