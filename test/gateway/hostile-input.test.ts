// Input reproduced to break the API (500s where a 4xx naming the field belongs): each answers a
// 4xx that names what was wrong, and a refused request writes nothing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RequestOptions, startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawRequest } from '../support/raw-http.js';

const nest = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth);

describe('hostile input', () => {
  let gw: TestGateway;
  let token: string;
  let clusterId: string;

  const counts = async () => {
    const [row] = await gw.db.sql`select (select count(*) from clusters)::int as clusters,
      (select count(*) from tasks)::int as tasks, (select count(*) from audit_records)::int as audits,
      (select count(*) from api_tokens)::int as tokens, (select count(*) from agent_enrollment_tokens)::int as enrollments`;
    return row;
  };

  /** Answered 400 VALIDATION_FAILED with a message matching `names`, and nothing written. */
  const refused = async (method: string, path: string, options: RequestOptions, names: RegExp) => {
    const before = await counts();
    const res = await gw.request(method, path, { token, ...options });
    expect.soft(res.status, `${method} ${path}: ${res.text}`).toBe(400);
    expect.soft(res.body?.error?.code, res.text).toBe('VALIDATION_FAILED');
    expect.soft(res.body?.error?.message, res.text).toMatch(names);
    expect(await counts()).toEqual(before);
  };
  const json = (body: string) => ({ raw: { body, contentType: 'application/json' } });

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('admin');
    const created = await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'target' } });
    clusterId = created.body.id;
  });
  afterAll(() => gw.close());

  it('refuses NUL and lone surrogates anywhere in values, naming the path', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"name":"n1","values":{"a":"x\\u0000y"}}', /body\/values\/a must not contain NUL/],
      ['{"name":"n2","values":{"a":{"b":["ok","\\ud800"]}}}', /body\/values\/a\/b\/1 .*lone surrogate/],
      ['{"name":"n3","values":{"a":"\\udc00x"}}', /body\/values\/a .*lone surrogate/],
      ['{"name":"n4","values":{"k\\u0000":1}}', /body\/values has a key that must not contain NUL/],
      ['{"name":"n5","values":{"a/b~":{"\\ud83d":2}}}', /body\/values\/a~1b~0 has a key .*lone surrogate/],
    ];
    for (const [body, names] of cases) await refused('POST', '/api/v1/clusters', json(body), names);
    await refused(
      'PUT',
      `/api/v1/clusters/${clusterId}`,
      json('{"values":{"a":"\\u0000"}}'),
      /body\/values\/a must not contain NUL/,
    );
    await refused(
      'POST',
      '/api/v1/tokens',
      json('{"name":"x\\ud800","role":"viewer"}'),
      /body\/name .*lone surrogate/,
    );
    // A surrogate pair is a character like any other.
    const pair = await gw.request('POST', '/api/v1/clusters', {
      token,
      ...json('{"name":"pair","values":{"a":"\\ud83d\\ude00"}}'),
    });
    expect(pair.status).toBe(201);
    expect(pair.body.values).toEqual({ a: '😀' });
  });

  it('refuses JSON nested 10,000 deep, and bounds free-form values at 64 levels of body', async () => {
    await refused(
      'POST',
      '/api/v1/clusters',
      json(`{"name":"deep","values":{"a":${nest(10_000)}}}`),
      /body\/values\/a(\/0)+ nests deeper than 64 levels/,
    );
    let objects = '1';
    for (let i = 0; i < 10_000; i++) objects = `{"a":${objects}}`;
    await refused(
      'PUT',
      `/api/v1/clusters/${clusterId}`,
      json(`{"values":${objects}}`),
      /body\/values(\/a)+ nests deeper than 64 levels/,
    );
    await refused('POST', '/api/v1/clusters', json(nest(400_000)), /nests deeper than 64 levels/);
    // The body is level 1 and values level 2: 62 arrays inside values reach level 64.
    const deepest = await gw.request('POST', '/api/v1/clusters', {
      token,
      ...json(`{"name":"deepest","values":{"a":${nest(62)}}}`),
    });
    expect(deepest.status, deepest.text).toBe(201);
    await refused(
      'POST',
      '/api/v1/clusters',
      json(`{"name":"deeper","values":{"a":${nest(63)}}}`),
      /nests deeper than 64 levels/,
    );
  });

  it('refuses numbers JSON.parse turns into Infinity instead of storing null', async () => {
    await refused(
      'POST',
      '/api/v1/clusters',
      json('{"name":"inf","values":{"a":[1,-1e400]}}'),
      /body\/values\/a\/1 is not a finite number/,
    );
    await refused(
      'POST',
      `/api/v1/clusters/${clusterId}/agent_tokens`,
      json('{"expires_in":1e400}'),
      /body\/expires_in/,
    );
  });

  it('refuses integers in query strings beyond what the column and a JSON number hold', async () => {
    for (const id of [
      '9223372036854775808',
      '99999999999999999999',
      '1e30',
      '9007199254740992',
      'Infinity',
    ]) {
      await refused(
        'GET',
        `/api/v1/audit?before_id=${id}`,
        {},
        /querystring\/before_id (must be <= 9007199254740991|is not a finite number)/,
      );
    }
    expect((await gw.request('GET', '/api/v1/audit?before_id=9007199254740991', { token })).status).toBe(200);
    await refused('GET', '/api/v1/audit?limit=1e400', {}, /querystring\/limit is not a finite number/);
  });

  it('refuses NUL in query strings and dates the database driver cannot read', async () => {
    await refused(
      'GET',
      '/api/v1/audit?auditable_id=%00',
      {},
      /querystring\/auditable_id must not contain NUL/,
    );
    await refused('GET', '/api/v1/audit?auditable_type=a%00b', {}, /querystring\/auditable_type/);
    const history = `/api/v1/clusters/${clusterId}/telemetry/history`;
    for (const from of [
      'notadate',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00%2B14:00',
      '2016-12-31T23:59:60Z',
      '2020-02-30T00:00:00Z',
      '10000-01-01T00:00:00Z',
      '%00',
    ]) {
      await refused('GET', `${history}?from=${from}`, {}, /querystring\/from/);
    }
    await refused(
      'GET',
      `${history}?to=9999-12-31T23:59:59-14:00`,
      {},
      /querystring\/to must be an RFC 3339/,
    );
    for (const from of ['2020-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '2020-01-01t00:00:00.123456789z']) {
      const res = await gw.request('GET', `${history}?from=${from}&to=9999-12-31T23:59:59Z`, { token });
      expect(res.status, `${from}: ${res.text}`).toBe(200);
    }
  });

  it('refuses ids PostgreSQL cannot read as uuids, in paths and queries', async () => {
    await refused('GET', `/api/v1/clusters/urn:uuid:${clusterId}`, {}, /params\/id must match format "uuid"/);
    await refused('GET', `/api/v1/tasks?cluster_id=urn:uuid:${clusterId}`, {}, /querystring\/cluster_id/);
    await refused('DELETE', `/api/v1/tokens/urn:uuid:${clusterId}`, {}, /params\/id/);
    await refused('GET', '/api/v1/clusters/%00', {}, /params\/id/);
    // Refused by the router before any route, in the same error shape.
    await refused('GET', `/api/v1/clusters/${'x'.repeat(3000)}/telemetry`, {}, /longer than 100 characters/);
    await refused('GET', '/api/v1/clusters/%E0%A4%A', {}, /not a valid URL/);
    const upper = await gw.request('GET', `/api/v1/clusters/${clusterId.toUpperCase()}`, { token });
    expect(upper.status).toBe(200);
  });

  it('answers every credential it cannot use 401, and a NUL in a header 400', async () => {
    const bad: Array<Record<string, string>> = [
      { 'x-auth-token': 'x'.repeat(9000) },
      { 'x-auth-token': 'cmdr_\u00ff\u00fe' },
      { 'x-auth-token': '   ' },
      { 'x-auth-token': 'a.b.c' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer a b' },
      { authorization: 'Basic YTpi' },
      { authorization: `Bearer ${'y'.repeat(9000)}` },
    ];
    for (const headers of bad) {
      const res = await gw.request('GET', '/api/v1/clusters', { headers });
      expect(res.status, JSON.stringify(headers).slice(0, 60)).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    }
    const nul = await rawRequest(gw.url, [
      'GET /api/v1/clusters HTTP/1.1',
      'Host: localhost',
      `X-Auth-Token: ${token}\u0000`,
    ]);
    expect(nul.status).toBe(400);
    expect((await gw.request('GET', '/healthz')).status).toBe(200);
  });

  it('takes allowed_targets the tunnel can read, IPv6 CIDRs included, and refuses the rest by entry', async () => {
    for (const entry of ['_ssh:22', '10.0.0.0/33:22', 'db/8:22', 'fd00::/8:22', 'db:0', ' db:22']) {
      await refused(
        'POST',
        '/api/v1/clusters',
        { body: { name: 'bad-targets', allowed_targets: ['db:22', entry] } },
        /body\/allowed_targets\/1 must be host:port, host:\*, CIDR:port/,
      );
      await refused(
        'PUT',
        `/api/v1/clusters/${clusterId}`,
        { body: { name: 'hostile', current_revision: 0, allowed_targets: [entry] } },
        /body\/allowed_targets\/0 must be/,
      );
    }
    const allowed = ['[fd00::/8]:22', '[::1]:22', '[fd00::1]:*', '10.0.0.0/8:*', 'db.internal:5432'];
    const created = await gw.request('POST', '/api/v1/clusters', {
      token,
      body: { name: 'v6', allowed_targets: allowed },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.allowed_targets).toEqual(allowed);
    // The tunnel reads what the API stored: an allowed target reaches the (absent) agent, another
    // is refused; neither is a 500.
    const tunnel = async (target: string) =>
      rawRequest(gw.url, [
        `GET /api/v1/clusters/${created.body.id}/tunnel?target=${encodeURIComponent(target)} HTTP/1.1`,
        'Host: localhost',
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        `X-Auth-Token: ${token}`,
      ]);
    expect((await tunnel('[fd12::5]:22')).status).toBe(503);
    expect((await tunnel('[fd12::5]:23')).status).toBe(403);
    expect((await tunnel('10.1.2.3:6443')).status).toBe(503);
  });

  it("answers the README's enrollment-token curl (POST, no body, no content type) 201", async () => {
    const issued = async () =>
      (await gw.db.sql`select count(*)::int as n from audit_records where auditable_type = 'AgentToken'`)[0]
        ?.n;
    const before = await issued();
    const sentAt = Date.now();
    // Byte for byte what `curl -s -X POST <url> -H "X-Auth-Token: $TOKEN"` sends.
    const res = await rawRequest(gw.url, [
      `POST /api/v1/clusters/${clusterId}/agent_tokens HTTP/1.1`,
      `Host: ${new URL(gw.url).host}`,
      'User-Agent: curl/8.5.0',
      'Accept: */*',
      `X-Auth-Token: ${token}`,
    ]);
    const answeredAt = Date.now();
    expect(res.status, res.body).toBe(201);
    const answer = JSON.parse(res.body);
    expect(answer.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // The default lifetime applies: an hour from when the request was served.
    const issuedAt = Date.parse(answer.expires_at) - 3600_000;
    expect(issuedAt).toBeGreaterThanOrEqual(sentAt);
    expect(issuedAt).toBeLessThanOrEqual(answeredAt);
    expect(await issued()).toBe(before + 1);

    // An empty JSON body is no body too; a body with fields still goes through the schema.
    const empty = await rawRequest(gw.url, [
      `POST /api/v1/clusters/${clusterId}/agent_tokens HTTP/1.1`,
      'Host: localhost',
      'Content-Type: application/json',
      'Content-Length: 0',
      `X-Auth-Token: ${token}`,
    ]);
    expect(empty.status, empty.body).toBe(201);
    await refused(
      'POST',
      `/api/v1/clusters/${clusterId}/agent_tokens`,
      { body: { expires_in: 59 } },
      /body\/expires_in must be >= 60/,
    );
    // The OpenAPI document says which bodies may be left out.
    const { paths } = (await gw.request('GET', '/openapi.json')).body;
    expect(paths['/api/v1/clusters/{id}/agent_tokens'].post.requestBody.required).toBe(false);
    expect(paths['/api/v1/clusters'].post.requestBody.required).toBe(true);
    expect(paths['/api/v1/clusters/{id}'].put.requestBody.required).toBe(true);
    // Where a body is required, none is a 400 that says so.
    const none = await rawRequest(gw.url, [
      'POST /api/v1/clusters HTTP/1.1',
      'Host: localhost',
      `X-Auth-Token: ${token}`,
    ]);
    expect(none.status).toBe(400);
    expect(JSON.parse(none.body).error.message).toMatch(/^body must be object/);
  });

  it('takes an empty JSON body on a route that takes no body (curl -X POST -H content-type: json)', async () => {
    const created = await gw.request('POST', `/api/v1/clusters/${clusterId}/tasks`, {
      token,
      body: { kind: 'reconcile' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const cancel = await rawRequest(gw.url, [
      `POST /api/v1/tasks/${created.body.id}/cancel HTTP/1.1`,
      'Host: localhost',
      'Content-Type: application/json',
      'Content-Length: 0',
      `X-Auth-Token: ${token}`,
    ]);
    expect(cancel.status, cancel.body).toBe(200);
    expect(JSON.parse(cancel.body).status).toBe('cancelled');
  });
});
