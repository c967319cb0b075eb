// Generated hostile requests against the registries, inventory, change request and global routes,
// on a real socket: bodies (random JSON, deep nesting, NUL, lone surrogates, huge numbers, wrong
// types, unknown fields), query strings and paths. Nothing may answer 5xx, a refusal is in the
// API's error shape, and a refused request writes nothing.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestChange } from '../../shared/change-requests.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deep, hostileString, json, leaf, toText } from '../support/hostile-json.js';

// Tunes the runtime (a few seconds on two busy cores); a failure prints its seed to replay it.
const RUNS = 80;

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

const base64Auth = fc.oneof(
  hostileString,
  fc.tuple(hostileString, hostileString).map(([u, p]) => Buffer.from(`${u}:${p}`).toString('base64')),
);
const paramItem = fc.oneof(
  fc.record({ header: hostileString }),
  fc.record(
    {
      key: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), hostileString),
      type: fc.oneof(fc.constantFrom('string', 'number', 'boolean'), leaf),
      title: hostileString,
      default: json,
      optional: fc.oneof(fc.boolean(), leaf),
      unique: fc.boolean(),
      enum: fc.array(leaf, { maxLength: 3 }),
      pattern: fc.oneof(hostileString, fc.constantFrom('(a+)+', '^[0-9]+$', '[')),
      min: leaf,
      maxLength: leaf,
      catalog: fc.oneof(hostileString, fc.constant('hosts')),
      minItems: leaf,
      maxItems: leaf,
    },
    { requiredKeys: [] },
  ),
);
const schema = fc.oneof(
  fc.array(paramItem, { maxLength: 4 }),
  fc.constant([{ key: 'n', type: 'number', title: 'N', unique: true, optional: true }]),
);
const values = fc.oneof(
  fc.dictionary(fc.oneof(hostileString, fc.constantFrom('n', 'hostname')), json, { maxKeys: 4 }),
  fc.dictionary(hostileString, deep, { minKeys: 1, maxKeys: 2 }),
);
const idRef = fc.oneof(fc.constant('{existing}'), fc.uuid().map(String), hostileString);
const revision = fc.oneof(fc.nat(3), leaf);

type Route = [method: string, path: string, body: fc.Arbitrary<unknown>, global?: boolean];
const routes: Route[] = [
  [
    'POST',
    '/api/v1/registries',
    bodiesOf({
      name: hostileString,
      images_repo: hostileString,
      scheme: leaf,
      dev_branch: leaf,
      auth: base64Auth,
    }),
  ],
  [
    'PUT',
    '/api/v1/registries/:registry',
    bodiesOf({
      name: hostileString,
      images_repo: hostileString,
      auth: base64Auth,
      current_revision: revision,
    }),
  ],
  ['POST', '/api/v1/catalogs', bodiesOf({ slug: hostileString, name: hostileString, schema })],
  [
    'PUT',
    '/api/v1/catalogs/:catalog',
    bodiesOf({ name: hostileString, schema, current_revision: revision, slug: leaf }),
  ],
  ['POST', '/api/v1/records', bodiesOf({ catalog_id: idRef, values })],
  ['PUT', '/api/v1/records/:record', bodiesOf({ values, current_revision: revision, catalog_id: idRef })],
  ['POST', '/api/v1/cluster_change_requests/:request/approve', fc.oneof(json, deep)],
  ['POST', '/api/v1/workspaces', bodiesOf({ name: hostileString, slug: hostileString }), true],
  ['PUT', '/api/v1/workspaces/:workspace', bodiesOf({ name: hostileString, slug: hostileString }), true],
  [
    'POST',
    '/api/v1/workspace_role_bindings',
    bodiesOf({ workspace_id: idRef, role: leaf, subject_kind: leaf, subject_name: hostileString }),
    true,
  ],
  [
    'PUT',
    '/api/v1/workspace_role_bindings/:binding',
    bodiesOf({ role: leaf, subject_name: hostileString, current_revision: revision, workspace_id: idRef }),
    true,
  ],
];

const encoded = fc.oneof(
  hostileString.map((s) =>
    [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  ),
  fc.constantFrom('%00', '%ED%A0%80', '%', '%zz', 'true', 'maybe', '{existing}', '-1'),
);
const queryKeys = ['without_archived', 'catalog_id', 'cluster_id', 'workspace_id', 'status'];
const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...queryKeys), encoded), encoded), { maxLength: 3 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

describe('generated hostile requests: registries, inventory, change requests, global side', () => {
  let gw: TestGateway;
  let token: string;
  let globalToken: string;
  const ids: Record<string, string> = {};

  const counts = async () =>
    (
      await gw.db.sql`select (select count(*) from registries)::int as registries,
        (select count(*) from catalogs)::int as catalogs, (select count(*) from records)::int as records,
        (select count(*) from workspaces)::int as workspaces,
        (select count(*) from workspace_role_bindings)::int as bindings,
        (select count(*) from cluster_change_requests where status = 'approved')::int as approved,
        (select count(*) from audit_records)::int as audits`
    )[0];

  /** Sends the request; asserts no 5xx, the error shape, and nothing written when refused. */
  const send = async (method: string, path: string, body: string | undefined, global = false) => {
    const before = await counts();
    const response = await fetch(`${gw.url}${path}`, {
      method,
      headers: {
        'x-auth-token': global ? globalToken : token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body,
    });
    const text = await response.text();
    const shown = `${method} ${path.slice(0, 200)} ${body?.slice(0, 300) ?? ''} -> ${response.status} ${text.slice(0, 300)}`;
    expect(response.status, shown).toBeLessThan(500);
    if (response.status >= 400 && response.status !== 431) {
      expect(JSON.parse(text).error.code, shown).toMatch(/^[A-Z_]+$/);
      expect(await counts(), shown).toEqual(before);
    }
    return response.status;
  };

  const fill = (text: string, existing: string) =>
    text
      .replace(':registry', ids.registry as string)
      .replace(':catalog', ids.catalog as string)
      .replace(':record', ids.record as string)
      .replace(':request', ids.request as string)
      .replace(':workspace', ids.workspace as string)
      .replace(':binding', ids.binding as string)
      .replaceAll('{existing}', existing);

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('admin', 'alpha');
    globalToken = await gw.globalToken('global_admin');
    const post = async (path: string, body: object, global = false) =>
      (await gw.request('POST', path, { token: global ? globalToken : token, body })).body.id as string;
    ids.registry = await post('/api/v1/registries', { name: 'fuzzed', images_repo: 'r.example.com/x' });
    ids.catalog = await post('/api/v1/catalogs', {
      slug: 'hosts',
      name: 'fuzzed',
      schema: [{ key: 'n', type: 'number', title: 'N', unique: true, optional: true }],
    });
    ids.record = await post('/api/v1/records', { catalog_id: ids.catalog, values: { n: 1 } });
    ids.workspace = (await gw.db.sql`select id from workspaces where slug = 'alpha'`)[0]?.id;
    ids.binding = await post(
      '/api/v1/workspace_role_bindings',
      { workspace_id: ids.workspace, role: 'viewer', subject_kind: 'user', subject_name: 'ada' },
      true,
    );
    const [cluster] = await gw.db.sql`insert into clusters (workspace_id, name, status, ssh_host)
      values (${ids.workspace as string}, 'fuzzed', 'deleted', 'h') returning id`;
    ids.request = (await gw.db.sql.begin((tx) => requestChange(tx, cluster?.id, 'x'))).request.id;
  });
  afterAll(() => gw.close());

  it('answers generated bodies on every route that takes one without a 5xx or a half-write', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          ...routes.map(([method, path, body, global]) =>
            fc.tuple(fc.constant([method, path, global] as const), body),
          ),
        ),
        async ([[method, path, global], body]) => {
          const existing = path.includes('binding') ? (ids.workspace as string) : (ids.catalog as string);
          await send(method, fill(path, existing), fill(toText(body), existing), global);
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });

  it('answers generated query strings and paths without a 5xx', async () => {
    const id = fc.oneof(
      fc.constant('{existing}'),
      fc.uuid().map(String),
      encoded,
      fc.constantFrom('x'.repeat(3000), '..'),
    );
    const paths = fc.constantFrom(
      'GET /api/v1/registries',
      'GET /api/v1/registries/:id',
      'DELETE /api/v1/registries/:id',
      'GET /api/v1/catalogs',
      'GET /api/v1/catalogs/:id',
      'GET /api/v1/records',
      'GET /api/v1/records/:id',
      'DELETE /api/v1/records/:id',
      'GET /api/v1/cluster_change_requests',
      'GET /api/v1/cluster_change_requests/:id',
      'POST /api/v1/cluster_change_requests/:id/approve',
      'GET /api/v1/workspaces',
      'GET /api/v1/workspaces/:id',
      'GET /api/v1/global_roles',
      'GET /api/v1/workspace_role_bindings',
      'GET /api/v1/workspace_role_bindings/:id',
      'DELETE /api/v1/workspace_role_bindings/:id',
    );
    await fc.assert(
      fc.asyncProperty(paths, id, query, async (route, rawId, search) => {
        const [method, path] = route.split(' ') as [string, string];
        const global = /workspace|global_roles/.test(path);
        // Archiving the shared objects would turn later writes into 409s; other ids are fine.
        if (method === 'DELETE' && rawId === '{existing}') return;
        const existing = path.includes('record') ? (ids.record as string) : (ids.catalog as string);
        await send(method, fill(path.replace(':id', rawId) + search, existing), undefined, global);
      }),
      { numRuns: RUNS * 3 },
    );
    expect((await gw.request('GET', '/healthz')).status).toBe(200);
  });
});
