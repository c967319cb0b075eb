import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('API tokens', () => {
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.token('admin');
  });
  afterAll(() => gw.close());

  it('shows a new token once and stores only its hash', async () => {
    const created = await gw.request('POST', '/api/v1/tokens', {
      token: admin,
      body: { name: 'deploy bot', role: 'operator' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'deploy bot',
      role: 'operator',
      last_used_at: null,
      revoked_at: null,
    });
    const token = created.body.token as string;
    expect(token).toMatch(/^cmdr_[A-Za-z0-9_-]{43}$/);

    const list = await gw.request('GET', '/api/v1/tokens', { token: admin });
    expect(list.text).not.toContain(token);
    expect(list.body.find((t: { id: string }) => t.id === created.body.id)).not.toHaveProperty('token');

    const rows = await gw.db.sql`select * from api_tokens where id = ${created.body.id}`;
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]?.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
  });

  it('gives the new token exactly its role', async () => {
    const viewer = (
      await gw.request('POST', '/api/v1/tokens', { token: admin, body: { name: 'v', role: 'viewer' } })
    ).body.token;
    expect((await gw.request('GET', '/api/v1/clusters', { token: viewer })).status).toBe(200);
    expect(
      (await gw.request('POST', '/api/v1/clusters', { token: viewer, body: { name: 'x' } })).status,
    ).toBe(403);
    expect(
      (await gw.request('POST', '/api/v1/tokens', { token: admin, body: { name: 'r', role: 'root' } }))
        .status,
    ).toBe(400);
  });

  it('revokes idempotently and refuses tokens of other workspaces', async () => {
    const created = await gw.request('POST', '/api/v1/tokens', {
      token: admin,
      body: { name: 'short-lived', role: 'viewer' },
    });
    const first = await gw.request('DELETE', `/api/v1/tokens/${created.body.id}`, { token: admin });
    const second = await gw.request('DELETE', `/api/v1/tokens/${created.body.id}`, { token: admin });
    expect(second.body.revoked_at).toBe(first.body.revoked_at);
    const otherAdmin = await gw.token('admin', 'elsewhere');
    expect(
      (await gw.request('DELETE', `/api/v1/tokens/${created.body.id}`, { token: otherAdmin })).status,
    ).toBe(404);
  });
});

describe('readiness', () => {
  it('turns 503 while draining', async () => {
    const gw = await startTestGateway();
    try {
      expect((await gw.request('GET', '/readyz')).status).toBe(200);
      gw.draining.value = true;
      const res = await gw.request('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('NOT_READY');
      expect((await gw.request('GET', '/healthz')).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('is not ready before the migrations ran', async () => {
    const gw = await startTestGateway();
    try {
      await gw.db.sql`delete from schema_migrations`;
      const res = await gw.request('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.error.message).toMatch(/migrations/);
    } finally {
      await gw.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents every API route with its schemas', async () => {
    const gw = await startTestGateway();
    try {
      const doc = await gw.request('GET', '/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toMatch(/^3\./);
      for (const path of [
        '/api/v1/clusters',
        '/api/v1/clusters/{id}',
        '/api/v1/tokens',
        '/api/v1/tasks',
        '/api/v1/audit',
      ]) {
        expect(doc.body.paths).toHaveProperty([path]);
      }
      expect(doc.body.paths['/api/v1/clusters'].post.requestBody).toBeDefined();
      expect(doc.body.paths['/api/v1/clusters'].post.responses['201']).toBeDefined();
      const page = await fetch(`${gw.url}/docs`, { redirect: 'follow' });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/swagger/i);
    } finally {
      await gw.close();
    }
  });
});
