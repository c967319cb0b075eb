// The cluster templates API: templates and versions created, read, replaced and archived; a
// version a live cluster uses keeps its content; every refusal names its field; another
// workspace's templates do not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const SECTIONS = [
  'cluster_configuration',
  'provider_specific_cluster_configuration',
  'ssh_configuration',
  'resources',
  'init_resources',
  'init_configuration',
];

const params = [
  { header: 'Cluster' },
  { key: 'masterCount', type: 'number', title: 'Masters', default: 1, min: 1, max: 5 },
  { key: 'podSubnet', type: 'string', title: 'Pod subnet', optional: true },
];

describe('cluster templates', () => {
  let gw: TestGateway;
  let operator: string;
  let viewer: string;
  let other: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator');
    viewer = await gw.token('viewer');
    other = await gw.token('operator', 'beta');
  });
  afterAll(() => gw.close());

  const create = (body: object, token = operator) =>
    gw.request('POST', '/api/v1/cluster_templates', { token, body });

  it('creates a template with its first version, and reads it in full and in lists', async () => {
    const created = await create({
      name: 'Static cluster',
      comment: 'three masters over SSH',
      cluster_template_versions: [{ comment: 'first', params, resources: 'kind: ConfigMap\n' }],
    });
    expect(created.status, created.text).toBe(201);
    const template = created.body;
    expect(template).toMatchObject({
      name: 'Static cluster',
      comment: 'three masters over SSH',
      immutable: false,
      current_revision: 1,
      archived_at: null,
      archive_number: null,
    });
    expect(template.cluster_template_versions).toHaveLength(1);
    const [version] = template.cluster_template_versions;
    expect(template.current_cluster_template_version_id).toBe(version.id);
    expect(version).toMatchObject({
      cluster_template_id: template.id,
      version: '1',
      name: 'v1',
      comment: 'first',
      unusable: false,
      params,
      resources: 'kind: ConfigMap\n',
      cluster_configuration: '',
    });
    for (const section of SECTIONS) expect(typeof version[section]).toBe('string');
    expect(template.created_at).toMatch(/\.\d{3}(Z|[+-]\d\d:\d\d)$/);

    expect(
      (await gw.request('GET', `/api/v1/cluster_templates/${template.id}`, { token: viewer })).body,
    ).toEqual(template);
    const listed = (await gw.request('GET', '/api/v1/cluster_templates', { token: viewer })).body;
    const item = listed.find((t: { id: string }) => t.id === template.id);
    // Lists carry each version's metadata, not its content.
    expect(item.cluster_template_versions[0]).toEqual({
      id: version.id,
      cluster_template_id: template.id,
      version: '1',
      name: 'v1',
      comment: 'first',
      unusable: false,
      created_at: version.created_at,
      updated_at: version.updated_at,
    });
    expect(
      (await gw.request('GET', `/api/v1/cluster_template_versions/${version.id}`, { token: viewer })).body,
    ).toEqual(version);
  });

  it('adds versions: each a new row that becomes the current one', async () => {
    const template = (await create({ name: 'versioned', cluster_template_versions: [{ params }] })).body;
    const first = template.cluster_template_versions[0];
    const second = await gw.request('POST', `/api/v1/cluster_templates/${template.id}/versions`, {
      token: operator,
      body: { name: 'with pods', params, cluster_configuration: 'podSubnetCIDR: {{ .podSubnet }}\n' },
    });
    expect(second.status, second.text).toBe(201);
    expect(second.body).toMatchObject({ version: '2', name: 'with pods', cluster_template_id: template.id });
    const after = (await gw.request('GET', `/api/v1/cluster_templates/${template.id}`, { token: viewer }))
      .body;
    expect(after.current_cluster_template_version_id).toBe(second.body.id);
    expect(after.current_revision).toBe(template.current_revision + 1);
    const versions = (
      await gw.request('GET', `/api/v1/cluster_templates/${template.id}/versions`, { token: viewer })
    ).body;
    expect(versions.map((v: { id: string; version: string }) => [v.id, v.version])).toEqual([
      [first.id, '1'],
      [second.body.id, '2'],
    ]);
    expect(versions[0]).toEqual(first);
  });

  it('replaces a template with its current_revision; a stale one is 409', async () => {
    const template = (await create({ name: 'renamed', cluster_template_versions: [{}, {}] })).body;
    const [v1] = template.cluster_template_versions;
    const put = await gw.request('PUT', `/api/v1/cluster_templates/${template.id}`, {
      token: operator,
      body: {
        name: 'renamed twice',
        comment: 'back to v1',
        current_cluster_template_version_id: v1.id,
        current_revision: template.current_revision,
      },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({
      name: 'renamed twice',
      comment: 'back to v1',
      current_cluster_template_version_id: v1.id,
      current_revision: template.current_revision + 1,
    });
    const stale = await gw.request('PUT', `/api/v1/cluster_templates/${template.id}`, {
      token: operator,
      body: { name: 'again', current_revision: template.current_revision },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('REVISION_CONFLICT');
    const foreign = (await create({ name: 'foreign', cluster_template_versions: [{}] })).body;
    const wrongVersion = await gw.request('PUT', `/api/v1/cluster_templates/${template.id}`, {
      token: operator,
      body: {
        name: 'renamed twice',
        current_cluster_template_version_id: foreign.cluster_template_versions[0].id,
        current_revision: put.body.current_revision,
      },
    });
    expect(wrongVersion.status).toBe(400);
    expect(wrongVersion.body.error.message).toContain('body/current_cluster_template_version_id');
    const nameTaken = await gw.request('PUT', `/api/v1/cluster_templates/${template.id}`, {
      token: operator,
      body: { name: 'foreign', current_revision: put.body.current_revision },
    });
    expect(nameTaken.status).toBe(409);
    expect(nameTaken.body.error.code).toBe('NAME_TAKEN');
  });

  it('keeps an immutable template as it is', async () => {
    const template = (await create({ name: 'frozen', immutable: true, cluster_template_versions: [{}] }))
      .body;
    const put = await gw.request('PUT', `/api/v1/cluster_templates/${template.id}`, {
      token: operator,
      body: { name: 'thawed', current_revision: template.current_revision },
    });
    expect(put.status).toBe(409);
    expect(put.body.error.message).toContain('immutable');
    const version = await gw.request('POST', `/api/v1/cluster_templates/${template.id}/versions`, {
      token: operator,
      body: {},
    });
    expect(version.status).toBe(409);
    const edit = await gw.request(
      'PUT',
      `/api/v1/cluster_template_versions/${template.cluster_template_versions[0].id}`,
      {
        token: operator,
        body: { comment: 'x' },
      },
    );
    expect(edit.status).toBe(409);
  });

  it('changes a version while no live cluster uses it; then only its name, comment and unusable', async () => {
    const template = (await create({ name: 'in use', cluster_template_versions: [{ params }] })).body;
    const version = template.cluster_template_versions[0];
    const path = `/api/v1/cluster_template_versions/${version.id}`;
    const edited = await gw.request('PUT', path, {
      token: operator,
      body: { params, init_configuration: 'apiVersion: deckhouse.io/v1\nkind: InitConfiguration\n' },
    });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body.init_configuration).toContain('InitConfiguration');

    // A cluster made from it (empty sections render to nothing; no SSH hosts, so no install).
    const cluster = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: 'user of v1', cluster_template_version_id: version.id, values: { masterCount: 3 } },
    });
    expect(cluster.status, cluster.text).toBe(201);
    const content = await gw.request('PUT', path, {
      token: operator,
      body: { params, init_configuration: 'changed: true\n' },
    });
    expect(content.status).toBe(409);
    expect(content.body.error.code).toBe('VERSION_IN_USE');
    const stored = (await gw.request('GET', path, { token: viewer })).body;
    expect(stored.init_configuration).toContain('InitConfiguration');
    // jsonb reorders keys: the same params in another key order are no change.
    const reordered = params.map((param) => Object.fromEntries(Object.entries(param).reverse()));
    const meta = await gw.request('PUT', path, {
      token: operator,
      body: {
        ...stored,
        id: undefined,
        cluster_template_id: undefined,
        version: undefined,
        created_at: undefined,
        updated_at: undefined,
        params: reordered,
        comment: 'do not use',
        unusable: true,
      },
    });
    expect(meta.status, meta.text).toBe(200);
    expect(meta.body).toMatchObject({ comment: 'do not use', unusable: true });

    // Unusable: no new cluster from it.
    const refused = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: 'late user', cluster_template_version_id: version.id, values: {} },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('body/cluster_template_version_id');
    expect(refused.body.error.message).toContain('unusable');

    // Once the cluster is gone, the content may change again.
    await gw.db
      .sql`update clusters set status = 'deleted', archived_at = now() where id = ${cluster.body.id}`;
    const free = await gw.request('PUT', path, {
      token: operator,
      body: { params, init_configuration: 'x: 1\n' },
    });
    expect(free.status, free.text).toBe(200);
  });

  it('archives on DELETE: numbered, out of lists with without_archived=true, its name free', async () => {
    const names = async (query = '') =>
      (await gw.request('GET', `/api/v1/cluster_templates${query}`, { token: viewer })).body.map(
        (t: { name: string }) => t.name,
      );
    const first = (await create({ name: 'short-lived', cluster_template_versions: [{}] })).body;
    const deleted = await gw.request('DELETE', `/api/v1/cluster_templates/${first.id}`, { token: operator });
    expect(deleted.status).toBe(200);
    expect(deleted.body.archived_at).not.toBeNull();
    expect(deleted.body.archive_number).toBe('1');
    expect(
      (await gw.request('DELETE', `/api/v1/cluster_templates/${first.id}`, { token: operator })).body,
    ).toEqual(deleted.body);
    expect(await names()).toContain('short-lived');
    expect(await names('?without_archived=true')).not.toContain('short-lived');
    const again = (await create({ name: 'short-lived' })).body;
    const second = await gw.request('DELETE', `/api/v1/cluster_templates/${again.id}`, { token: operator });
    expect(second.body.archive_number).toBe('2');
    expect(
      (
        await gw.request('GET', `/api/v1/cluster_templates/${first.id}?without_archived=true`, {
          token: viewer,
        })
      ).status,
    ).toBe(404);
    const version = await gw.request('POST', `/api/v1/cluster_templates/${first.id}/versions`, {
      token: operator,
      body: {},
    });
    expect(version.status).toBe(409);
    const cluster = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: 'from archived', cluster_template_version_id: first.cluster_template_versions[0].id },
    });
    expect(cluster.status).toBe(400);
    expect(cluster.body.error.message).toContain('archived');
  });

  it('refuses bad input with 400 naming the field, and keeps names unique among live templates', async () => {
    const cases: Array<[object, string]> = [
      [{ name: 'x', extra: 1 }, 'unknown field "extra"'],
      [{ name: 'bad\nname' }, 'body/name'],
      [
        { name: 'x', cluster_template_versions: [{ resources: 'a'.repeat(256 * 1024 + 1) }] },
        'body/cluster_template_versions/0/resources',
      ],
      [
        {
          name: 'x',
          cluster_template_versions: [
            {
              params: [
                { key: 'a', title: 'A' },
                { key: 'a', title: 'B' },
              ],
            },
          ],
        },
        'body/cluster_template_versions/0/params/1/key duplicate key "a"',
      ],
      [
        {
          name: 'x',
          cluster_template_versions: [
            { params: [{ key: 'n', title: 'N', type: 'number', default: 'three' }] },
          ],
        },
        'params/0/default',
      ],
      [
        { name: 'x', cluster_template_versions: [{ params: [{ key: 'n', title: 'N', colour: 'red' }] }] },
        'body/cluster_template_versions/0/params/0',
      ],
    ];
    for (const [body, message] of cases) {
      const refused = await create(body);
      expect(refused.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      expect(refused.body.error.message).toContain(message);
    }
    expect((await create({ name: 'twin' })).status).toBe(201);
    const twin = await create({ name: 'twin' });
    expect(twin.status).toBe(409);
    expect(twin.body.error.code).toBe('NAME_TAKEN');
    // A whole version of 6 sections near their bound fits in one request.
    const big = await create({
      name: 'big',
      cluster_template_versions: [Object.fromEntries(SECTIONS.map((s) => [s, '#'.repeat(200 * 1024)]))],
    });
    expect(big.status, big.text.slice(0, 200)).toBe(201);
  });

  it('lets viewers read only, and hides other workspaces', async () => {
    expect((await create({ name: 'by viewer' }, viewer)).status).toBe(403);
    const template = (await create({ name: 'private', cluster_template_versions: [{}] })).body;
    const version = template.cluster_template_versions[0];
    const theirs = [
      ['GET', `/api/v1/cluster_templates/${template.id}`],
      [
        'PUT',
        `/api/v1/cluster_templates/${template.id}`,
        { name: 'mine', current_revision: template.current_revision },
      ],
      ['DELETE', `/api/v1/cluster_templates/${template.id}`],
      ['GET', `/api/v1/cluster_templates/${template.id}/versions`],
      ['POST', `/api/v1/cluster_templates/${template.id}/versions`, {}],
      ['GET', `/api/v1/cluster_template_versions/${version.id}`],
      ['PUT', `/api/v1/cluster_template_versions/${version.id}`, {}],
    ] as const;
    for (const [method, path, body] of theirs) {
      const answer = await gw.request(method, path, { token: other, body });
      expect(answer.status, `${method} ${path}`).toBe(404);
    }
    const list = (await gw.request('GET', '/api/v1/cluster_templates', { token: other })).body;
    expect(list.map((t: { id: string }) => t.id)).not.toContain(template.id);
    const cluster = await gw.request('POST', '/api/v1/clusters', {
      token: other,
      body: { name: 'stolen', cluster_template_version_id: version.id },
    });
    expect(cluster.status).toBe(400);
    expect(cluster.body.error.message).toContain('names no cluster template version');
    expect(
      (await gw.request('GET', `/api/v1/cluster_templates/${template.id}`, { token: operator })).status,
    ).toBe(200);
  });

  it('audits every change, sections as digests', async () => {
    const template = (
      await create({ name: 'audited', cluster_template_versions: [{ resources: 'kind: ConfigMap\n' }] })
    ).body;
    await gw.request('PUT', `/api/v1/cluster_templates/${template.id}`, {
      token: operator,
      body: { name: 'audited', comment: 'c', current_revision: template.current_revision },
    });
    await gw.request('DELETE', `/api/v1/cluster_templates/${template.id}`, { token: operator });
    const mine = gw.audit.filter(
      (record) =>
        record.auditable_id === template.id ||
        record.auditable_id === template.cluster_template_versions[0].id,
    );
    expect(mine.map((record) => [record.auditable_type, record.action])).toEqual([
      ['ClusterTemplate', 'create'],
      ['ClusterTemplateVersion', 'create'],
      ['ClusterTemplate', 'update'],
      ['ClusterTemplate', 'destroy'],
    ]);
    expect(mine[1]?.audited_changes.resources).toMatch(/^sha256:[0-9a-f]{16} \(16 bytes\)$/);
    expect(mine[2]?.audited_changes).toEqual({ comment: ['', 'c'] });
  });

  it('is in the OpenAPI document', async () => {
    const document = (await gw.request('GET', '/openapi.json')).body;
    for (const path of [
      '/api/v1/cluster_templates',
      '/api/v1/cluster_templates/{id}',
      '/api/v1/cluster_templates/{id}/versions',
      '/api/v1/cluster_template_versions/{id}',
    ]) {
      expect(document.paths[path], path).toBeDefined();
    }
  });
});
