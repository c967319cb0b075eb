// Generated hostile requests against a gateway on a real socket, for every API route outside
// resources: bodies (random JSON, deep nesting, NUL, lone surrogates, huge numbers, wrong types,
// unknown fields), query strings and paths. Nothing may answer 5xx, the gateway keeps serving,
// and a refused request writes nothing. The API takes exactly the allow entries the tunnel reads.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowEntry } from '../../shared/targets.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deep, hostileString, json, leaf, toText } from '../support/hostile-json.js';

// Tunes the runtime (10-15 s on two busy cores); a failure prints its seed to replay it.
const RUNS = 120;

const targetish = fc.oneof(
  fc.constantFrom('db:5432', '[fd00::/8]:22', '10.0.0.0/8:*', '_ssh:22', '10.0.0.0/33:22', 'db/8:22'),
  fc
    .tuple(
      fc.oneof(
        fc.ipV4(),
        fc.ipV6().map((a) => `[${a}]`),
        fc.domain(),
      ),
      fc.integer({ min: 0, max: 70000 }),
    )
    .map(([h, p]) => `${h}:${p}`),
  hostileString,
);
/** Bodies of one route: mostly its shape with hostile content, else that shape broken or random JSON. */
const bodiesOf = (fields: Record<string, fc.Arbitrary<unknown>>) => {
  const shape = fc.record(fields, { requiredKeys: [] });
  const broken = fc
    .tuple(shape, fc.oneof(hostileString, fc.constantFrom(...Object.keys(fields))), fc.oneof(json, deep))
    .map(([body, key, value]) => ({ ...body, [key]: value }));
  return fc.oneof(
    { weight: 5, arbitrary: shape },
    { weight: 3, arbitrary: broken },
    { weight: 1, arbitrary: fc.oneof(json, deep) },
  );
};
const values = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(hostileString, json, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, deep, { minKeys: 1, maxKeys: 2 }) },
);
const clusterFields = {
  name: fc.stringMatching(/^[a-z][a-z0-9-]{5,20}$/),
  values,
  allowed_targets: fc.array(targetish, { maxLength: 3 }),
};
const versionFields = {
  name: hostileString,
  comment: hostileString,
  unusable: fc.oneof(fc.boolean(), leaf),
  params: fc.oneof(
    json,
    fc.constant([{ header: 'h' }, { key: 'size', type: 'number', title: 'Size', optional: true }]),
  ),
  resources: hostileString,
  ssh_configuration: hostileString,
};
const templateFields = {
  name: fc.oneof(hostileString, fc.stringMatching(/^[a-z][a-z0-9 -]{5,20}$/)),
  comment: hostileString,
  immutable: fc.oneof(fc.boolean(), leaf),
};
/** Filled in once the fuzzed template exists: a version id is sometimes the real one. */
const versionRef = fc.oneof(fc.constant('{version}'), fc.uuid().map(String), hostileString);
const routes: Array<[string, string, fc.Arbitrary<unknown>]> = [
  ['POST', '/api/v1/clusters', bodiesOf({ ...clusterFields, cluster_template_version_id: versionRef })],
  [
    'PUT',
    '/api/v1/clusters/:id',
    bodiesOf({
      ...clusterFields,
      name: fc.constant('fuzzed'),
      current_revision: fc.oneof(fc.nat(3), leaf),
      cluster_template_version_id: versionRef,
    }),
  ],
  [
    'POST',
    '/api/v1/cluster_templates',
    bodiesOf({
      ...templateFields,
      cluster_template_versions: fc.array(fc.record(versionFields, { requiredKeys: [] }), { maxLength: 2 }),
    }),
  ],
  [
    'PUT',
    '/api/v1/cluster_templates/:template',
    bodiesOf({
      ...templateFields,
      current_revision: fc.oneof(fc.nat(3), leaf),
      current_cluster_template_version_id: versionRef,
    }),
  ],
  ['POST', '/api/v1/cluster_templates/:template/versions', bodiesOf(versionFields)],
  ['PUT', '/api/v1/cluster_template_versions/:version', bodiesOf(versionFields)],
  ['POST', '/api/v1/clusters/:id/agent_tokens', bodiesOf({ expires_in: fc.oneof(fc.integer(), leaf) })],
  ['POST', '/api/v1/clusters/:id/tasks', bodiesOf({ kind: fc.constant('reconcile') })],
  ['POST', '/api/v1/tokens', bodiesOf({ name: hostileString, role: fc.constantFrom('viewer', 'operator') })],
  ['POST', '/api/v1/tasks/:task/cancel', fc.oneof(json, deep)],
  ['DELETE', '/api/v1/tokens/:id', fc.oneof(json, deep)],
];

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD), or sends raw escapes. */
const encoded = fc.oneof(
  hostileString.map((s) =>
    [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  ),
  fc.constantFrom(
    '%00',
    '%ED%A0%80',
    '%',
    '%zz',
    '%FF%FE',
    '9223372036854775808',
    '1e400',
    'Infinity',
    '-1',
    '0',
  ),
  fc.constantFrom('2024-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '2016-12-31T23:59:60Z', 'true', 'maybe'),
);
const queryKeys = [
  'limit',
  'before_id',
  'auditable_id',
  'auditable_type',
  'from',
  'to',
  'include_archived',
  'without_archived',
  'cluster_id',
  'target',
];
const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...queryKeys), encoded), encoded), { maxLength: 4 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

describe('generated hostile requests', () => {
  let gw: TestGateway;
  let token: string;
  let clusterId: string;
  let taskId: string;
  let templateId: string;
  let versionId: string;
  let counter = 0;

  const counts = async () =>
    (
      await gw.db.sql`select (select count(*) from clusters)::int as clusters,
        (select count(*) from tasks)::int as tasks, (select count(*) from audit_records)::int as audits,
        (select count(*) from api_tokens)::int as tokens,
        (select count(*) from agent_enrollment_tokens)::int as enrollments,
        (select count(*) from cluster_templates)::int as templates,
        (select count(*) from cluster_template_versions)::int as versions`
    )[0];

  /** Sends the request; asserts no 5xx, and nothing written when refused. */
  const send = async (method: string, path: string, body?: string) => {
    const before = await counts();
    const response = await fetch(`${gw.url}${path}`, {
      method,
      headers: {
        'x-auth-token': token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body,
    });
    const text = await response.text();
    const shown = `${method} ${path.slice(0, 200)} ${body?.slice(0, 300) ?? ''} -> ${response.status} ${text.slice(0, 300)}`;
    expect(response.status, shown).toBeLessThan(500);
    // 431 comes from Node's header limit, answered by fastify before any route, in its own shape.
    if (response.status >= 400 && response.status !== 431) {
      expect(JSON.parse(text).error.code, shown).toMatch(/^[A-Z_]+$/);
      expect(await counts(), shown).toEqual(before);
    }
    return response.status;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('admin');
    const cluster = await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'fuzzed' } });
    clusterId = cluster.body.id;
    const task = await gw.request('POST', `/api/v1/clusters/${clusterId}/tasks`, {
      token,
      body: { kind: 'reconcile' },
    });
    taskId = task.body.id;
    const template = await gw.request('POST', '/api/v1/cluster_templates', {
      token,
      body: { name: 'fuzzed', cluster_template_versions: [{ params: [] }] },
    });
    templateId = template.body.id;
    versionId = template.body.current_cluster_template_version_id;
  });
  afterAll(() => gw.close());

  it('answers generated bodies on every route that takes one without a 5xx or a half-write', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          ...routes.map(([method, path, body]) => fc.tuple(fc.constant(method), fc.constant(path), body)),
        ),
        async ([method, path, body]) => {
          const target = path
            .replace(':id', clusterId)
            .replace(':task', taskId)
            .replace(':template', templateId)
            .replace(':version', versionId);
          await send(method, target, toText(body).replaceAll('{version}', versionId));
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });

  it('answers generated query strings and paths on every route without a 5xx', async () => {
    const id = fc.oneof(
      fc.constant('{cluster}'),
      fc.uuid().map(String),
      encoded,
      fc.constantFrom('urn:uuid:{cluster}', '{CLUSTER}', 'x'.repeat(3000), '..', '%2e%2e'),
    );
    const routes = fc.constantFrom(
      'GET /api/v1/clusters',
      'GET /api/v1/clusters/:id',
      'DELETE /api/v1/clusters/:id',
      'DELETE /api/v1/clusters/:id/agent',
      'GET /api/v1/clusters/:id/tunnel',
      'GET /api/v1/clusters/:id/tunnels',
      'GET /api/v1/clusters/:id/telemetry',
      'GET /api/v1/clusters/:id/telemetry/history',
      'GET /api/v1/tasks',
      'GET /api/v1/tasks/:id',
      'POST /api/v1/tasks/:id/cancel',
      'GET /api/v1/tokens',
      'DELETE /api/v1/tokens/:id',
      'GET /api/v1/audit',
      'GET /api/v1/cluster_templates',
      'GET /api/v1/cluster_templates/:id',
      'GET /api/v1/cluster_templates/:id/versions',
      'GET /api/v1/cluster_template_versions/:id',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
    );
    await fc.assert(
      fc.asyncProperty(routes, id, query, async (route, rawId, search) => {
        const [method, path] = route.split(' ') as [string, string];
        const idText = rawId.replace('{cluster}', clusterId).replace('{CLUSTER}', clusterId.toUpperCase());
        // Deleting the shared cluster would make every later path a 404; another id is fine.
        if (method === 'DELETE' && path === '/api/v1/clusters/:id' && idText.toLowerCase() === clusterId)
          return;
        await send(method, path.replace(':id', idText) + search);
      }),
      { numRuns: RUNS * 3 },
    );
    expect((await gw.request('GET', '/healthz')).status).toBe(200);
    expect((await gw.request('GET', `/api/v1/clusters/${clusterId}`, { token })).status).toBe(200);
  });

  it('takes exactly the allowed_targets entries the tunnel parser reads, stored as written', async () => {
    await fc.assert(
      fc.asyncProperty(targetish, async (entry) => {
        const name = `targets-${++counter}`;
        const status = await send('POST', '/api/v1/clusters', toText({ name, allowed_targets: [entry] }));
        expect(status === 201, entry).toBe(parseAllowEntry(entry) !== undefined);
        if (status === 201) {
          const [row] = await gw.db.sql`select allowed_targets from clusters where name = ${name}`;
          expect(row?.allowed_targets).toEqual([entry]);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
