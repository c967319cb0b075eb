import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSshKeyPair } from '../../shared/ssh-key.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('request validation', () => {
  let gw: TestGateway;
  let token: string;

  const counts = async () => {
    const [row] = await gw.db.sql`select (select count(*) from clusters)::int as clusters,
      (select count(*) from tasks)::int as tasks, (select count(*) from audit_records)::int as audits`;
    return row;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('admin');
  });
  afterAll(() => gw.close());

  const rejected = async (body: unknown, status: number, code: string, mentions: RegExp) => {
    const before = await counts();
    const res = await gw.request('POST', '/api/v1/clusters', { token, body });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toMatch(mentions);
    expect(await counts()).toEqual(before);
  };

  it('rejects unknown fields by name', async () => {
    await rejected({ name: 'a', colour: 'red' }, 400, 'VALIDATION_FAILED', /unknown field "colour"/);
    await rejected(
      { name: 'a', ssh: { host: 'h', user: 'u', private_key: 'k', agent: true } },
      400,
      'VALIDATION_FAILED',
      /body\/ssh unknown field "agent"/,
    );
  });

  it('rejects wrong types without coercing them', async () => {
    await rejected({ name: 123 }, 400, 'VALIDATION_FAILED', /body\/name must be string/);
    await rejected({ name: 'a', values: [1, 2] }, 400, 'VALIDATION_FAILED', /body\/values must be object/);
    await rejected(
      { name: 'a', allowed_targets: 'db:5432' },
      400,
      'VALIDATION_FAILED',
      /body\/allowed_targets must be array/,
    );
    await rejected(
      { name: 'a', ssh: { host: 'h', user: 'u', port: '22', private_key: 'k' } },
      400,
      'VALIDATION_FAILED',
      /body\/ssh\/port must be integer/,
    );
  });

  it('rejects names too long, empty or odd, and missing required fields', async () => {
    await rejected(
      { name: 'a'.repeat(256) },
      400,
      'VALIDATION_FAILED',
      /body\/name must NOT have more than 255/,
    );
    await rejected({ name: '' }, 400, 'VALIDATION_FAILED', /body\/name/);
    await rejected({ name: 'bad\nname' }, 400, 'VALIDATION_FAILED', /body\/name must match pattern/);
    await rejected({ values: {} }, 400, 'VALIDATION_FAILED', /must have required property 'name'/);
  });

  it('rejects bad targets, bad ports and unusable private keys', async () => {
    await rejected(
      { name: 'a', allowed_targets: ['nohost'] },
      400,
      'VALIDATION_FAILED',
      /allowed_targets\/0/,
    );
    await rejected(
      { name: 'a', allowed_targets: ['db:22', 'db:70000'] },
      400,
      'VALIDATION_FAILED',
      /body\/allowed_targets\/1 must be host:port/,
    );
    await rejected(
      { name: 'a', ssh: { host: 'h', user: 'u', private_key: 'not a key' } },
      400,
      'VALIDATION_FAILED',
      /private_key is not a usable private key/,
    );
  });

  it('answers malformed JSON, wrong content types and oversize bodies with clear errors', async () => {
    const before = await counts();
    const malformed = await gw.request('POST', '/api/v1/clusters', {
      token,
      raw: { body: '{"name": "a",', contentType: 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_JSON');
    const text = await gw.request('POST', '/api/v1/clusters', {
      token,
      raw: { body: 'name=a', contentType: 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const huge = await gw.request('POST', '/api/v1/clusters', {
      token,
      raw: {
        body: JSON.stringify({ name: 'big', values: { blob: 'x'.repeat(2 * 1024 * 1024) } }),
        contentType: 'application/json',
      },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await counts()).toEqual(before);
  });

  it('validates ids, queries and updates too', async () => {
    const notUuid = await gw.request('GET', '/api/v1/clusters/not-a-uuid', { token });
    expect(notUuid.status).toBe(400);
    expect(notUuid.body.error.message).toMatch(/params\/id must match format "uuid"/);
    const query = await gw.request('GET', '/api/v1/audit?limit=100000', { token });
    expect(query.status).toBe(400);
    expect(query.body.error.message).toMatch(/querystring\/limit must be <= 1000/);
    const created = await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'valid' } });
    const before = await counts();
    const empty = await gw.request('PUT', `/api/v1/clusters/${created.body.id}`, { token, body: {} });
    expect(empty.status).toBe(400);
    const wrong = await gw.request('PUT', `/api/v1/clusters/${created.body.id}`, {
      token,
      body: { name: 'x', current_revision: 0, status: 'in_sync' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toMatch(/unknown field "status"/);
    expect(await counts()).toEqual(before);
    const unknownRoute = await gw.request('GET', '/api/v1/nothing-here', { token });
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body.error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('accepts a well-formed cluster with ssh settings', async () => {
    const key = generateSshKeyPair();
    const res = await gw.request('POST', '/api/v1/clusters', {
      token,
      body: {
        name: 'with-ssh',
        ssh: { host: '10.0.0.5', user: 'ubuntu', private_key: key.private },
        allowed_targets: ['10.0.0.5:22', 'kubernetes.default:*', '10.0.0.0/24:6443'],
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.ssh).toEqual({ host: '10.0.0.5', port: 22, user: 'ubuntu', host_key_fingerprint: null });
    expect(res.text).not.toContain('PRIVATE KEY');
  });
});
