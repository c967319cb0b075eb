// An inventory record through a cluster's whole life, with real processes: a gateway and a manager,
// a real sshd for the master, and the agent the install starts applying to the Kubernetes API
// double. The record's values and its x-commander-record-id reach the cluster's resources (and the
// agent applies them); a second cluster asking for the record is refused; once the first cluster
// is deleted (destroyed over SSH, archived), the record is free and the second cluster takes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './agent-stack.js';
import { startTemplateStack, type TemplateStack, templateStackRunnable } from './template-stack.js';

const version = {
  params: [
    { key: 'slot', title: 'Master host', catalog: 'hosts' },
    { key: 'sshUser', type: 'string', title: 'SSH user' },
    { key: 'sshPort', type: 'number', title: 'SSH port' },
  ],
  cluster_configuration: 'apiVersion: deckhouse.io/v1\nkind: ClusterConfiguration\nclusterType: Static\n',
  ssh_configuration: [
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHConfig',
    'sshUser: {{ .sshUser }}',
    'sshPort: {{ .sshPort }}',
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
    '  name: inventory-host',
    '  namespace: default',
    'data:',
    '  hostname: {{ .slot.hostname | quote }}',
    '  rack: {{ .slot.rack | quote }}',
    '  record: {{ index .slot "x-commander-record-id" | quote }}',
    '---',
    'apiVersion: deckhouse.io/v1alpha1',
    'kind: ModuleConfig',
    'metadata:',
    '  name: commander-agent',
    'spec:',
    '  enabled: true',
    '  version: 1',
    '  settings:',
    '    commanderUrl: "https://{{ .dc_domain }}/agent_api/{{ .dc_clusterUUID }}"',
    '',
  ].join('\n'),
};

describe.skipIf(!templateStackRunnable && !process.env.CI)('an inventory record through a cluster', () => {
  let stack: TemplateStack;

  async function call(method: string, path: string, body?: unknown) {
    const response = await fetch(`${stack.gateway}/api/v1${path}`, {
      method,
      headers: {
        'X-Auth-Token': stack.token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
  }

  const statusOf = (id: string, want: string, failures: string[]) =>
    eventually(
      `cluster ${want}`,
      async () => {
        const cluster = (await call('GET', `/clusters/${id}`)).body;
        if (failures.includes(cluster.status)) throw new Error(`cluster became ${cluster.status}`);
        return cluster.status === want ? cluster : undefined;
      },
      120_000,
      250,
    );

  beforeAll(async () => {
    stack = await startTemplateStack('commander-inventory-flow-');
    await stack.startManager('inventory-flow');
  }, 120_000);
  afterAll(() => stack?.stop());

  it('renders the record into the cluster, binds it to one cluster, and frees it when that one is deleted', async () => {
    const catalog = await call('POST', '/catalogs', {
      slug: 'hosts',
      name: 'Hosts',
      schema: [
        { key: 'hostname', type: 'string', title: 'Host name', unique: true },
        { key: 'ip', type: 'string', title: 'Address' },
        { key: 'rack', type: 'string', title: 'Rack', default: 'r1' },
      ],
    });
    expect(catalog.status, catalog.text).toBe(201);
    const record = await call('POST', '/records', {
      catalog_id: catalog.body.id,
      values: { hostname: 'metal-7', ip: stack.ns.nsAddress },
    });
    expect(record.status, record.text).toBe(201);
    const recordId: string = record.body.id;
    const template = await call('POST', '/cluster_templates', {
      name: 'on an inventory host',
      cluster_template_versions: [version],
    });
    expect(template.status, template.text).toBe(201);
    const versionId = template.body.current_cluster_template_version_id;
    const values = { slot: recordId, sshUser: stack.sshd.user, sshPort: stack.sshd.port };

    const first = await call('POST', '/clusters', {
      name: 'first',
      cluster_template_version_id: versionId,
      values,
    });
    expect(first.status, first.text).toBe(201);
    const firstId: string = first.body.id;
    expect(first.body.values.slot).toEqual({
      hostname: 'metal-7',
      ip: stack.ns.nsAddress,
      rack: 'r1',
      'x-commander-record-id': recordId,
    });
    expect(first.body.desired_resources_rendered).toContain('hostname: "metal-7"');
    expect(first.body.desired_resources_rendered).toContain(`record: "${recordId}"`);
    expect((await call('GET', `/records/${recordId}`)).body.cluster_id).toBe(firstId);

    // Installed over SSH at the record's address; its agent applies the rendered ConfigMap.
    stack.authorize(first.body.ssh_public_key);
    const ready = await statusOf(firstId, 'in_sync', ['creation_failed', 'configuration_error']);
    expect(ready.connection_hosts.masters[0].host).toBe(stack.ns.nsAddress);
    const applied = await eventually(
      'the ConfigMap',
      () =>
        stack.kube.get('v1', 'ConfigMap', 'default', 'inventory-host') as
          | { data: Record<string, string> }
          | undefined,
      30_000,
      100,
    );
    expect(applied.data).toEqual({ hostname: 'metal-7', rack: 'r1', record: recordId });

    // A second cluster asking for the same record: refused, naming the field; nothing stored.
    const refused = await call('POST', '/clusters', {
      name: 'second',
      cluster_template_version_id: versionId,
      values,
    });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.details).toEqual([
      { path: 'body/values/slot', message: expect.stringContaining('bound to another cluster') },
    ]);
    const names = (await call('GET', '/clusters')).body.map((cluster: { name: string }) => cluster.name);
    expect(names).toEqual(['first']);

    // Deleted: destroyed over SSH, archived, and the record is free again.
    const deleting = await call('DELETE', `/clusters/${firstId}`);
    expect(deleting.body.status).toBe('delete');
    const gone = await statusOf(firstId, 'deleted', ['deletion_failed']);
    expect(gone.archived_at).not.toBeNull();
    expect((await call('GET', `/records/${recordId}`)).body.cluster_id).toBeNull();

    const second = await call('POST', '/clusters', {
      name: 'second',
      cluster_template_version_id: versionId,
      values,
    });
    expect(second.status, second.text).toBe(201);
    expect(second.body.values.slot['x-commander-record-id']).toBe(recordId);
    expect(second.body.desired_resources_rendered).toContain(`record: "${recordId}"`);
    expect((await call('GET', `/records/${recordId}`)).body.cluster_id).toBe(second.body.id);
  }, 240_000);
});
