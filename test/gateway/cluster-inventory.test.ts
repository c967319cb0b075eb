// Clusters made from a template take inventory records and a registry: a catalog parameter's
// record reaches the template with its values and x-commander-record-id and is bound to that one
// cluster (clusters racing for it through the API: exactly one wins), PUT moves the binding, the
// delete task frees it; registry_id must name a live registry of the workspace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTask } from '../../manager/tasks/delete.js';
import { RECORD_ID_KEY } from '../../shared/params/values.js';
import { installerRegistry } from '../../shared/registries.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

const params = [
  { key: 'slot', title: 'Master slot', catalog: 'hosts' },
  { key: 'workers', title: 'Workers', catalog: 'hosts', minItems: 0, maxItems: 3, optional: true },
];

const sections = {
  ssh_configuration: [
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHConfig',
    'sshUser: root',
    'sshPort: 22',
    'sshAgentPrivateKeys:',
    '- key: {{ printf "%q" .dc_sshPrivateKey }}',
    '---',
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHHost',
    'host: {{ .slot.ip }}',
    '',
  ].join('\n'),
  resources: [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: slot',
    '  namespace: default',
    'data:',
    '  host: {{ .slot.hostname }}',
    '  record: {{ index .slot "x-commander-record-id" }}',
    '  workers: "{{ range .workers }}{{ .hostname }},{{ end }}"',
    '',
  ].join('\n'),
};

describe('clusters with inventory records and a registry', () => {
  let gw: TestGateway;
  let token: string;
  let versionId: string;
  let registryId: string;
  const records: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('operator', 'alpha');
    const template = await gw.request('POST', '/api/v1/cluster_templates', {
      token,
      body: { name: 'from-inventory', cluster_template_versions: [{ params, ...sections }] },
    });
    expect(template.status, template.text).toBe(201);
    versionId = template.body.current_cluster_template_version_id;
    const catalog = await gw.request('POST', '/api/v1/catalogs', {
      token,
      body: {
        slug: 'hosts',
        name: 'Hosts',
        schema: [
          { key: 'hostname', type: 'string', title: 'Hostname', unique: true },
          { key: 'ip', type: 'string', title: 'IP' },
        ],
      },
    });
    for (let i = 1; i <= 12; i++) {
      const created = await gw.request('POST', '/api/v1/records', {
        token,
        body: { catalog_id: catalog.body.id, values: { hostname: `host-${i}`, ip: `10.0.0.${i}` } },
      });
      records.push(created.body.id);
    }
    const registry = await gw.request('POST', '/api/v1/registries', {
      token,
      body: {
        name: 'ee',
        images_repo: 'registry.example.com/deckhouse/ee',
        auth: Buffer.from('u:p').toString('base64'),
      },
    });
    registryId = registry.body.id;
  });
  afterAll(() => gw.close());

  const create = (name: string, values: object, extra: object = { registry_id: registryId }) =>
    gw.request('POST', '/api/v1/clusters', {
      token,
      body: { name, cluster_template_version_id: versionId, values, ...extra },
    });
  const recordOf = async (id: string) => (await gw.request('GET', `/api/v1/records/${id}`, { token })).body;

  it('renders the record values with their id and binds the records to the cluster', async () => {
    const [slot, worker] = records as [string, string];
    const created = await create('with-slot', { slot, workers: [worker] });
    expect(created.status, created.text).toBe(201);
    const cluster = created.body;
    expect(cluster.registry_id).toBe(registryId);
    expect(cluster.values).toEqual({
      slot: { hostname: 'host-1', ip: '10.0.0.1', [RECORD_ID_KEY]: slot },
      workers: [{ hostname: 'host-2', ip: '10.0.0.2', [RECORD_ID_KEY]: worker }],
    });
    expect(cluster.connection_hosts.masters[0]).toMatchObject({ host: '10.0.0.1' });
    expect(cluster.desired_resources_rendered).toContain(`record: ${slot}`);
    expect(cluster.desired_resources_rendered).toContain('host: host-1');
    expect(cluster.desired_resources_rendered).toContain('workers: "host-2,"');
    expect((await recordOf(slot)).cluster_id).toBe(cluster.id);
    expect((await recordOf(worker)).cluster_id).toBe(cluster.id);
    const bound = gw.audit.filter((r) => r.auditable_type === 'Record' && r.audited_changes.cluster_id);
    expect(bound.map((r) => [r.auditable_id, r.audited_changes.cluster_id])).toEqual(
      expect.arrayContaining([
        [slot, [null, cluster.id]],
        [worker, [null, cluster.id]],
      ]),
    );
    // The installer gets the cluster's registry.
    expect(await installerRegistry(gw.db.sql, gw.encryptor, cluster.id)).toMatchObject({
      imagesRepo: 'registry.example.com/deckhouse/ee',
      auth: Buffer.from('u:p').toString('base64'),
    });
    // A registry a live cluster uses cannot be archived.
    expect((await gw.request('DELETE', `/api/v1/registries/${registryId}`, { token })).status).toBe(409);

    // Another cluster cannot take a bound record; nothing of it is stored.
    const second = await create('second', { slot });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain('body/values/slot');
    expect(second.body.error.message).toContain('bound to another cluster');
    expect((await gw.db.sql`select count(*)::int as n from clusters where name = 'second'`)[0]?.n).toBe(0);
  });

  it('refuses a wrong record (422) or registry (400), naming the field', async () => {
    const wrong = await create('wrong-record', { slot: NO_SUCH_ID });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.message).toContain('body/values/slot');
    const notRecord = await create('not-a-record', { slot: 'host-1' });
    expect(notRecord.status).toBe(422);
    expect(notRecord.body.error.message).toContain('body/values/slot');
    const otherToken = await gw.token('admin', 'beta');
    const theirs = await gw.request('POST', '/api/v1/registries', {
      token: otherToken,
      body: { name: 'theirs', images_repo: 'r.example.com/x' },
    });
    for (const registry of [NO_SUCH_ID, theirs.body.id]) {
      const res = await create('wrong-registry', { slot: records[5] }, { registry_id: registry });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('body/registry_id');
    }
    const archived = await gw.request('POST', '/api/v1/registries', {
      token,
      body: { name: 'old', images_repo: 'r.example.com/old' },
    });
    await gw.request('DELETE', `/api/v1/registries/${archived.body.id}`, { token });
    const res = await create('archived-registry', { slot: records[5] }, { registry_id: archived.body.id });
    expect(res.status).toBe(400);
    expect((await recordOf(records[5] as string)).cluster_id).toBeNull();
    expect((await gw.db.sql`select count(*)::int as n from clusters where name like 'wrong-%'`)[0]?.n).toBe(
      0,
    );
  });

  it('lets exactly one of several clusters racing through the API for one record get it', async () => {
    for (const [round, record] of [records[6], records[7]].entries()) {
      const results = await Promise.all(
        [1, 2, 3, 4].map((n) => create(`race-${round}-${n}`, { slot: record })),
      );
      expect(results.map((r) => r.status).sort(), results.map((r) => r.text).join('\n')).toEqual([
        201, 409, 409, 409,
      ]);
      const winner = results.find((r) => r.status === 201)?.body.id;
      expect((await recordOf(record as string)).cluster_id).toBe(winner);
      const [stored] = await gw.db
        .sql`select count(*)::int as n from clusters where name like ${`race-${round}-%`}`;
      expect(stored?.n).toBe(1);
    }
  });

  it('moves the binding on PUT, keeps it when the stored values come back, and frees it on delete', async () => {
    const [a, b] = [records[8], records[9]] as [string, string];
    const created = await create('moves', { slot: a });
    expect(created.status, created.text).toBe(201);
    let cluster = created.body;
    // The values as read (record objects) PUT back unchanged: same binding, nothing to do.
    const same = await gw.request('PUT', `/api/v1/clusters/${cluster.id}`, {
      token,
      body: {
        name: cluster.name,
        cluster_template_version_id: versionId,
        registry_id: registryId,
        current_revision: cluster.current_revision,
        values: cluster.values,
      },
    });
    expect(same.status, same.text).toBe(200);
    expect((await recordOf(a)).cluster_id).toBe(cluster.id);
    cluster = same.body;
    const moved = await gw.request('PUT', `/api/v1/clusters/${cluster.id}`, {
      token,
      body: {
        name: cluster.name,
        cluster_template_version_id: versionId,
        registry_id: registryId,
        current_revision: cluster.current_revision,
        values: { slot: b },
      },
    });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.values.slot[RECORD_ID_KEY]).toBe(b);
    expect(moved.body.desired_resources_rendered).toContain(`record: ${b}`);
    expect((await recordOf(a)).cluster_id).toBeNull();
    expect((await recordOf(b)).cluster_id).toBe(cluster.id);
    const released = gw.audit.find(
      (r) =>
        r.auditable_id === a &&
        JSON.stringify(r.audited_changes) === JSON.stringify({ cluster_id: [cluster.id, null] }),
    );
    expect(released).toBeDefined();

    // A bound record cannot be archived; deleting its cluster (the manager's task) frees it.
    expect((await gw.request('DELETE', `/api/v1/records/${b}`, { token })).status).toBe(409);
    const deleting = await gw.request('DELETE', `/api/v1/clusters/${cluster.id}`, { token });
    expect(deleting.body.status).toBe('delete');
    const [task] = await gw.db.sql`select * from tasks where cluster_id = ${cluster.id} and kind = 'delete'`;
    const log: string[] = [];
    await deleteTask({
      sql: gw.db.sql,
      encryptor: gw.encryptor,
      installers: { byVersion: new Map() } as never,
      printAudit: (...records) => void gw.audit.push(...records),
    })({
      task: task as never,
      log: async (line) => {
        log.push(line);
      },
      signal: new AbortController().signal,
      replica: 'test',
      secret: () => {},
    });
    expect(log.join('\n')).toContain(`freed inventory records ${b}`);
    expect(gw.audit.at(-1)).toMatchObject({
      auditable_type: 'Record',
      auditable_id: b,
      action: 'update',
      user_type: 'System',
      user_name: 'manager test',
      workspace_slug: 'alpha',
      audited_changes: { cluster_id: [cluster.id, null] },
    });
    expect((await recordOf(b)).cluster_id).toBeNull();
    expect((await gw.request('GET', `/api/v1/clusters/${cluster.id}`, { token })).body.status).toBe(
      'deleted',
    );
    // Free again: another cluster takes it.
    expect((await create('after-delete', { slot: b })).status).toBe(201);
  });
});
