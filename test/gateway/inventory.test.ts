// Inventory: catalogs (slug, record schema in the parameter format) and records (values checked
// against it, unique fields, revisions, archive), workspace isolation, and binding records to
// clusters in the database: of clusters racing for one record exactly one gets it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommanderError } from '../../shared/errors.js';
import type { ParamField } from '../../shared/params/schema.js';
import { RECORD_ID_KEY } from '../../shared/params/values.js';
import { bindRecords, releaseRecords } from '../../shared/records.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

const HOST_SCHEMA = [
  { header: 'Host' },
  { key: 'hostname', type: 'string', title: 'Hostname', unique: true, identifier: true },
  { key: 'ip', type: 'string', title: 'IP', pattern: '^[0-9.]+$' },
  { key: 'port', type: 'number', title: 'SSH port', default: 22, min: 1, max: 65535 },
  { key: 'password', type: 'string', title: 'Password', format: 'password', optional: true },
  { key: 'zone', type: 'string', title: 'Zone', enum: ['a', 'b'], immutable: true, optional: true },
];

describe('catalogs and records', () => {
  let gw: TestGateway;
  let operator: string;
  let viewer: string;
  let stranger: string;
  let catalogId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator', 'alpha');
    viewer = await gw.token('viewer', 'alpha');
    stranger = await gw.token('admin', 'beta');
  });
  afterAll(() => gw.close());

  const post = (path: string, body: object, token = operator) => gw.request('POST', path, { token, body });
  const put = (path: string, body: object, token = operator) => gw.request('PUT', path, { token, body });
  const record = (values: object, catalog = catalogId) =>
    post('/api/v1/records', { catalog_id: catalog, values });

  it('creates a catalog whose schema is in the parameter format', async () => {
    const created = await post('/api/v1/catalogs', {
      slug: 'hosts',
      name: 'Static hosts',
      schema: HOST_SCHEMA,
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      slug: 'hosts',
      name: 'Static hosts',
      schema: HOST_SCHEMA,
      current_revision: 0,
      archived_at: null,
      archive_number: null,
    });
    catalogId = created.body.id;
    const read = await gw.request('GET', `/api/v1/catalogs/${catalogId}`, { token: viewer });
    expect(read.body).toEqual(created.body);
    expect(gw.audit.at(-1)).toMatchObject({
      auditable_type: 'Catalog',
      action: 'create',
      user_type: 'AuthToken',
    });
    // Another workspace may use the same slug.
    expect(
      (await post('/api/v1/catalogs', { slug: 'hosts', name: 'Theirs', schema: [] }, stranger)).status,
    ).toBe(201);
  });

  it('refuses bad catalogs with a 400 naming the field', async () => {
    const taken = await post('/api/v1/catalogs', { slug: 'hosts', name: 'Again', schema: [] });
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toContain('body/slug');
    // Names are free text, unique among the workspace's live catalogs.
    const named = await post('/api/v1/catalogs', { slug: 'other-hosts', name: 'Static hosts', schema: [] });
    expect(named.status).toBe(409);
    expect(named.body.error).toMatchObject({
      code: 'NAME_TAKEN',
      message: expect.stringContaining('body/name'),
    });
    const cases: Array<[object, string]> = [
      [{ slug: 'Hosts', name: 'x', schema: [] }, 'body/slug'],
      [{ slug: 'x', name: '', schema: [] }, 'body/name'],
      [{ slug: 'x', name: 'x' }, 'schema'],
      [{ slug: 'x', name: 'x', schema: [{ key: 'a' }] }, 'body/schema/0'],
      [
        {
          slug: 'x',
          name: 'x',
          schema: [
            { key: 'a', type: 'string', title: 'A' },
            { key: 'a', type: 'string', title: 'A again' },
          ],
        },
        'body/schema/1/key',
      ],
      [
        { slug: 'x', name: 'x', schema: [{ key: 'slot', title: 'Slot', catalog: 'hosts' }] },
        'body/schema/0/catalog',
      ],
      [
        { slug: 'x', name: 'x', schema: [{ key: 'p', type: 'string', title: 'P', pattern: '(a+)+' }] },
        'body/schema/0/pattern',
      ],
      [{ slug: 'x', name: 'x', schema: [], extra: 1 }, 'extra'],
      [
        { slug: 'x', name: 'x', schema: [{ key: RECORD_ID_KEY, type: 'string', title: 'Smuggled id' }] },
        'body/schema/0/key',
      ],
    ];
    for (const [body, field] of cases) {
      const res = await post('/api/v1/catalogs', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toContain(field);
    }
  });

  it('checks record values against the schema, naming each bad key (422)', async () => {
    const created = await record({ hostname: 'node-1', ip: '10.0.0.1', password: 'hunter2' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      catalog_id: catalogId,
      cluster_id: null,
      values: { hostname: 'node-1', ip: '10.0.0.1', port: 22, password: 'hunter2' },
      schema_matches: true,
      current_revision: 0,
      archived_at: null,
    });
    // The password field is masked in the audit trail like any secret.
    const audit = gw.audit.find((r) => r.auditable_id === created.body.id);
    expect(audit).toMatchObject({
      auditable_type: 'Record',
      action: 'create',
      audited_changes: { catalog_id: catalogId, values: { hostname: 'node-1', password: '[FILTERED]' } },
    });
    expect(gw.auditLines.join('\n')).not.toContain('hunter2');

    const bad = await record({ ip: 'ten', port: '22', colour: 'red', zone: 'c' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('INVALID_VALUES');
    const paths = bad.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(
      [
        'body/values/colour',
        'body/values/hostname',
        'body/values/ip',
        'body/values/port',
        'body/values/zone',
      ].sort(),
    );
    expect(bad.body.error.message).toContain('body/values/hostname is required');

    // The key a template sees the record's id under cannot be smuggled in as a value.
    const smuggled = await record({ hostname: 'node-9', ip: '10.0.0.9', [RECORD_ID_KEY]: NO_SUCH_ID });
    expect(smuggled.status).toBe(422);
    expect(smuggled.body.error.details).toEqual([
      { path: `body/values/${RECORD_ID_KEY}`, message: expect.stringContaining('reserved') },
    ]);
    const smuggledByPut = await put(`/api/v1/records/${created.body.id}`, {
      values: { hostname: 'node-1', ip: '10.0.0.1', [RECORD_ID_KEY]: NO_SUCH_ID },
    });
    expect(smuggledByPut.status).toBe(422);
    expect(smuggledByPut.body.error.message).toContain(`body/values/${RECORD_ID_KEY}`);

    for (const [body, field] of [
      [{ catalog_id: NO_SUCH_ID, values: {} }, 'body/catalog_id'],
      [{ catalog_id: catalogId }, 'values'],
      [{ catalog_id: 'nope', values: {} }, 'body/catalog_id'],
    ] as const) {
      const res = await post('/api/v1/records', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toContain(field);
    }
    expect((await gw.db.sql`select count(*)::int as n from records`)[0]?.n, 'nothing half-written').toBe(1);
  });

  it('keeps unique fields unique among the live records of the catalog', async () => {
    const first = await record({ hostname: 'node-2', ip: '10.0.0.2' });
    expect(first.status).toBe(201);
    const clash = await record({ hostname: 'node-2', ip: '10.0.0.3' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.message).toContain('body/values/hostname');
    expect(clash.body.error.message).toContain(first.body.id);
    // Concurrent creates of one value: exactly one is stored.
    const racing = await Promise.all(
      [1, 2, 3, 4].map(() => record({ hostname: 'node-race', ip: '10.0.0.9' })),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    // Archiving frees the value.
    const archived = await gw.request('DELETE', `/api/v1/records/${first.body.id}`, { token: operator });
    expect(archived.status).toBe(200);
    expect(archived.body.archive_number).not.toBeNull();
    expect((await record({ hostname: 'node-2', ip: '10.0.0.4' })).status).toBe(201);
  });

  it('replaces values under the revision lock and holds immutable values', async () => {
    const created = await record({ hostname: 'node-3', ip: '10.0.0.5', zone: 'a' });
    const id = created.body.id;
    const changed = await put(`/api/v1/records/${id}`, {
      values: { hostname: 'node-3', ip: '10.0.0.6', zone: 'a' },
      current_revision: 0,
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ current_revision: 1, values: { ip: '10.0.0.6', port: 22 } });
    const stale = await put(`/api/v1/records/${id}`, {
      values: { hostname: 'node-3', ip: '10.0.0.7', zone: 'a' },
      current_revision: 0,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('REVISION_CONFLICT');
    const immutable = await put(`/api/v1/records/${id}`, {
      values: { hostname: 'node-3', ip: '10.0.0.6', zone: 'b' },
    });
    expect(immutable.status).toBe(422);
    expect(immutable.body.error.message).toContain('body/values/zone');
    const moved = await put(`/api/v1/records/${id}`, { values: {}, catalog_id: NO_SUCH_ID });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toContain('body/catalog_id');
    const update = gw.audit.filter((r) => r.auditable_id === id && r.action === 'update');
    expect(update).toHaveLength(1);
    expect(update[0]?.audited_changes).toMatchObject({ values: [{ ip: '10.0.0.5' }, { ip: '10.0.0.6' }] });
  });

  it('reports schema_matches once the catalog schema changes, and guards unique and slug', async () => {
    const catalog = await post('/api/v1/catalogs', {
      slug: 'slots',
      name: 'Slots',
      schema: [{ key: 'n', type: 'number', title: 'N' }],
    });
    const id = catalog.body.id;
    const a = await record({ n: 1 }, id);
    await record({ n: 1 }, id);
    const unique = await put(`/api/v1/catalogs/${id}`, {
      schema: [{ key: 'n', type: 'number', title: 'N', unique: true }],
    });
    expect(unique.status).toBe(409);
    expect(unique.body.error.message).toContain('"n"');
    const grown = await put(`/api/v1/catalogs/${id}`, {
      name: 'Slots v2',
      schema: [
        { key: 'n', type: 'number', title: 'N' },
        { key: 'rack', type: 'string', title: 'Rack' },
      ],
      current_revision: 0,
    });
    expect(grown.status, grown.text).toBe(200);
    expect(grown.body).toMatchObject({ name: 'Slots v2', current_revision: 1 });
    const read = await gw.request('GET', `/api/v1/records/${a.body.id}`, { token: viewer });
    expect(read.body).toMatchObject({ values: { n: 1 }, schema_matches: false });
    const listed = await gw.request('GET', `/api/v1/records?catalog_id=${id}`, { token: viewer });
    expect(listed.body).toHaveLength(2);
    expect(listed.body.every((r: { schema_matches: boolean }) => r.schema_matches === false)).toBe(true);
    expect((await put(`/api/v1/catalogs/${id}`, { slug: 'renamed' })).body.error.message).toContain(
      'body/slug',
    );
    expect((await put(`/api/v1/catalogs/${id}`, { name: 'x', current_revision: 0 })).status).toBe(409);
    const renamed = await put(`/api/v1/catalogs/${id}`, { name: 'Static hosts' });
    expect(renamed.status).toBe(409);
    expect(renamed.body.error.message).toContain('body/name');

    // A catalog with live records cannot be archived; once they are, it can.
    const refused = await gw.request('DELETE', `/api/v1/catalogs/${id}`, { token: operator });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('2 live records');
    for (const r of listed.body) await gw.request('DELETE', `/api/v1/records/${r.id}`, { token: operator });
    const archived = await gw.request('DELETE', `/api/v1/catalogs/${id}`, { token: operator });
    expect(archived.status).toBe(200);
    expect(archived.body.archive_number).toBe('1');
    const live = await gw.request('GET', '/api/v1/catalogs?without_archived=true', { token: viewer });
    expect(live.body.map((c: { slug: string }) => c.slug)).toEqual(['hosts']);
    expect(
      (await gw.request('GET', `/api/v1/records?catalog_id=${id}&without_archived=true`, { token: viewer }))
        .body,
    ).toEqual([]);
    expect((await record({ n: 2 }, id)).body.error.message).toContain('archived');
    // The archived catalog frees its slug and its name.
    expect((await post('/api/v1/catalogs', { slug: 'slots', name: 'Slots v2', schema: [] })).status).toBe(
      201,
    );
  });

  it("answers another workspace's catalogs and records 404, and keeps viewers from writing", async () => {
    const mine = await record({ hostname: 'node-9', ip: '10.0.0.9' });
    for (const [method, path, body] of [
      ['GET', `/api/v1/records/${mine.body.id}`, undefined],
      ['PUT', `/api/v1/records/${mine.body.id}`, { values: {} }],
      ['DELETE', `/api/v1/records/${mine.body.id}`, undefined],
      ['GET', `/api/v1/catalogs/${catalogId}`, undefined],
      ['PUT', `/api/v1/catalogs/${catalogId}`, { name: 'x' }],
      ['DELETE', `/api/v1/catalogs/${catalogId}`, undefined],
    ] as const) {
      const res = await gw.request(method, path, { token: stranger, body });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await gw.request('GET', '/api/v1/records', { token: stranger })).body).toEqual([]);
    const theirs = await post('/api/v1/records', { catalog_id: catalogId, values: {} }, stranger);
    expect(theirs.status).toBe(400);
    expect(theirs.body.error.message).toContain('body/catalog_id');
    expect(
      (await record({ hostname: 'v', ip: '1' }, catalogId).then(() => post('/api/v1/records', {}, viewer)))
        .status,
    ).toBe(403);
  });

  describe('binding records to clusters', () => {
    let workspaceId: string;
    const field: ParamField = { key: 'slot', title: 'Slot', catalog: 'hosts' };
    const listField: ParamField = {
      key: 'workers',
      title: 'Workers',
      catalog: 'hosts',
      minItems: 0,
      maxItems: 5,
    };

    const cluster = async (name: string) =>
      (
        await gw.db
          .sql`insert into clusters (workspace_id, name) values (${workspaceId}, ${name}) returning id`
      )[0]?.id as string;
    const freshRecord = async (hostname: string) =>
      (await record({ hostname, ip: '10.1.0.1' })).body.id as string;
    const bind = (
      clusterId: string,
      references: { key: string; recordIds: string[] }[],
      fields = [field, listField],
    ) => gw.db.sql.begin((tx) => bindRecords(tx, { workspaceId, clusterId, fields, references }));

    beforeAll(async () => {
      workspaceId = (await gw.db.sql`select id from workspaces where slug = 'alpha'`)[0]?.id;
    });

    it('gives the template the record values plus its id, and binds it to one cluster', async () => {
      const id = await freshRecord('bind-1');
      const other = await freshRecord('bind-2');
      const c1 = await cluster('c1');
      const bound = await bind(c1, [
        { key: 'slot', recordIds: [id] },
        { key: 'workers', recordIds: [other] },
      ]);
      expect(bound.values).toEqual({
        slot: { hostname: 'bind-1', ip: '10.1.0.1', port: 22, [RECORD_ID_KEY]: id },
        workers: [{ hostname: 'bind-2', ip: '10.1.0.1', port: 22, [RECORD_ID_KEY]: other }],
      });
      expect(bound.bound.sort()).toEqual([id, other].sort());
      const read = await gw.request('GET', `/api/v1/records/${id}`, { token: viewer });
      expect(read.body.cluster_id).toBe(c1);
      expect(
        (await gw.request('GET', `/api/v1/records?cluster_id=${c1}`, { token: viewer })).body,
      ).toHaveLength(2);

      // A bound record cannot be archived.
      const refused = await gw.request('DELETE', `/api/v1/records/${id}`, { token: operator });
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain(c1);

      // Binding again is idempotent; naming fewer frees the rest.
      const again = await bind(c1, [{ key: 'slot', recordIds: [id] }]);
      expect(again.bound).toEqual([]);
      expect(again.released).toEqual([other]);

      // Another cluster cannot take it.
      const c2 = await cluster('c2');
      await expect(bind(c2, [{ key: 'slot', recordIds: [id] }])).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining('body/values/slot'),
      });
      // Deleting the first cluster frees it.
      expect(await gw.db.sql.begin((tx) => releaseRecords(tx, c1))).toEqual([id]);
      expect((await bind(c2, [{ key: 'slot', recordIds: [id] }])).bound).toEqual([id]);
    });

    it('refuses a missing, archived, foreign or doubly named record with 422 naming the key', async () => {
      const c = await cluster('c-refusals');
      const archived = await freshRecord('gone');
      await gw.request('DELETE', `/api/v1/records/${archived}`, { token: operator });
      const theirCatalog = (await gw.request('GET', '/api/v1/catalogs', { token: stranger })).body[0].id;
      const theirs = (await post('/api/v1/records', { catalog_id: theirCatalog, values: {} }, stranger)).body
        .id;
      const twice = await freshRecord('twice');
      const slots = await post('/api/v1/catalogs', {
        slug: 'other-slots',
        name: 'Other',
        schema: [{ key: 'n', type: 'number', title: 'N', optional: true }],
      });
      const wrongCatalog = (await record({}, slots.body.id)).body.id;
      for (const [references, text] of [
        [[{ key: 'slot', recordIds: [NO_SUCH_ID] }], 'does not exist'],
        [[{ key: 'slot', recordIds: [archived] }], 'does not exist'],
        [[{ key: 'slot', recordIds: [theirs] }], 'does not exist'],
        [[{ key: 'slot', recordIds: [wrongCatalog] }], 'catalog "other-slots"'],
        [
          [
            { key: 'slot', recordIds: [twice] },
            { key: 'workers', recordIds: [twice] },
          ],
          'slot names too',
        ],
      ] as const) {
        const error = await bind(c, references as never).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CommanderError);
        expect(error).toMatchObject({ code: 'INVALID_VALUES', status: 422 });
        expect((error as Error).message).toContain('body/values/');
        expect((error as Error).message).toContain(text);
      }
      expect((await gw.db.sql`select count(*)::int as n from records where cluster_id = ${c}`)[0]?.n).toBe(0);
    });

    it('lets exactly one of many clusters racing for one record get it', async () => {
      for (let round = 0; round < 5; round++) {
        const id = await freshRecord(`race-${round}`);
        const clusters = await Promise.all([1, 2, 3, 4].map((n) => cluster(`race-${round}-${n}`)));
        const results = await Promise.allSettled(
          clusters.map((c) => bind(c, [{ key: 'slot', recordIds: [id] }], [field])),
        );
        const winners = results.filter((r) => r.status === 'fulfilled');
        expect(winners).toHaveLength(1);
        for (const loser of results.filter((r) => r.status === 'rejected')) {
          expect((loser as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
        }
        const [row] = await gw.db.sql`select cluster_id from records where id = ${id}`;
        expect(clusters).toContain(row?.cluster_id);
      }
    });
  });
});
