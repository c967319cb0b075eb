// Deckhouse Commander's own clients, replayed as they are written: the CI script of deckhouse's
// cloud layouts (curl + jq) and the storage-e2e Go client. Each request is the client's own
// (path, method, headers, body) and each answer is read the way the client reads it, including
// Go's encoding/json, which refuses a field of the wrong type. The cluster is made from a real
// template: its master comes from an inventory record, its registry from a registry object, and
// its resources render the commander-agent ModuleConfig the agent must receive through sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './agent-stack.js';
import { startTemplateStack, type TemplateStack, templateStackRunnable } from './template-stack.js';

// The fields of the Go client's structs that Go decodes by type (null is fine for any of them).
type GoKind = 'string' | 'int' | 'bool' | 'object';
const goStruct = (fields: Record<GoKind, string[]>) =>
  new Map(Object.entries(fields).flatMap(([kind, names]) => names.map((name) => [name, kind as GoKind])));
const CLUSTER_RESPONSE = goStruct({
  string: [
    'id',
    'name',
    'cluster_type',
    'status',
    'resources_sync_state',
    'resources_checked_at',
    'resources_applied_at',
    'cluster_template_version_id',
    'cluster_template_version_switched_at',
    'cluster_configuration_applied_at',
    'cluster_configuration_updated_at',
    'dhctl_configuration_rendered',
    'applied_cluster_configuration_rendered',
    'applied_provider_specific_cluster_configuration_rendered',
    'desired_cluster_configuration_rendered',
    'desired_provider_specific_cluster_configuration_rendered',
    'registry_id',
    'registry_mode',
    'created_at',
    'updated_at',
    'archived_at',
    'archive_number',
    'phase',
    'api_endpoint',
    'kubeconfig',
    'ssh_host',
    'ssh_user',
    'message',
  ],
  int: ['current_revision', 'ssh_port'],
  bool: ['was_created', 'is_locked'],
  object: [],
});
const TEMPLATE_VERSION = goStruct({
  string: ['id', 'cluster_template_id', 'name', 'comment', 'version'],
  int: [],
  bool: [],
  object: ['input_schema'],
});
const TEMPLATE_RESPONSE = goStruct({
  string: ['id', 'name', 'comment', 'current_cluster_template_version_id'],
  int: ['current_revision'],
  bool: ['immutable'],
  object: [],
});
const REGISTRY_RESPONSE = goStruct({
  string: ['id', 'name', 'images_repo', 'created_at', 'updated_at'],
  int: [],
  bool: [],
  object: [],
});
const CHANGE_REQUEST = goStruct({ string: ['id', 'cluster_id', 'status'], int: [], bool: [], object: [] });

/** What Go's json.Unmarshal into the client's struct would refuse. */
function goDecodeProblems(struct: Map<string, GoKind>, value: Record<string, unknown>, at = ''): string[] {
  const problems: string[] = [];
  for (const [field, item] of Object.entries(value)) {
    const kind = struct.get(field);
    if (kind === undefined || item === null) continue;
    const fits =
      (kind === 'string' && typeof item === 'string') ||
      (kind === 'int' && Number.isInteger(item)) ||
      (kind === 'bool' && typeof item === 'boolean') ||
      (kind === 'object' && typeof item === 'object' && !Array.isArray(item));
    if (!fits) problems.push(`${at}${field}: Go wants ${kind}, got ${JSON.stringify(item)}`);
  }
  if (struct === TEMPLATE_RESPONSE) {
    for (const [i, version] of (
      (value.cluster_template_versions ?? []) as Record<string, unknown>[]
    ).entries()) {
      problems.push(...goDecodeProblems(TEMPLATE_VERSION, version, `cluster_template_versions/${i}/`));
    }
  }
  return problems;
}

const sshHosts = [
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
].join('\n');

const version = {
  comment: 'a static cluster on an inventory slot',
  params: [
    { header: 'Cluster' },
    { key: 'slot', title: 'Slot', catalog: 'slots' },
    { key: 'masterCount', type: 'string', title: 'Masters', enum: ['1', '3'] },
    { key: 'kubernetesVersion', type: 'string', title: 'Kubernetes', default: '1.29' },
    { key: 'sshPort', type: 'number', title: 'SSH port', default: 22 },
    { key: 'sshUser', type: 'string', title: 'SSH user' },
  ],
  cluster_configuration: [
    'apiVersion: deckhouse.io/v1',
    'kind: ClusterConfiguration',
    'clusterType: Static',
    'kubernetesVersion: {{ .kubernetesVersion | quote }}',
    'masterNodeGroup:',
    '  replicas: {{ .masterCount }}',
    '',
  ].join('\n'),
  provider_specific_cluster_configuration: [
    'apiVersion: deckhouse.io/v1',
    'kind: StaticClusterConfiguration',
    'internalNetworkCIDRs:',
    '- {{ .slot.ip }}/32',
    '',
  ].join('\n'),
  ssh_configuration: sshHosts,
  resources: [
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

// The master count is the disruptive part of the configuration: a change to it waits for approval.
const bundleConfig = '{bundle}/cluster-configuration.yaml';
const appliedConfig = '{bundle}/applied-cluster-configuration.yaml';
const check = [
  `if cmp -s ${bundleConfig} ${appliedConfig}; then echo '{"status": "InSync"}';`,
  `elif [ "$(grep replicas: ${bundleConfig})" != "$(grep replicas: ${appliedConfig})" ]; then`,
  `echo '{"status": "DestructiveOutOfSync", "destructive_change_id": "masters"}';`,
  `else echo '{"status": "OutOfSync"}'; fi`,
].join(' ');

describe.skipIf(!templateStackRunnable && !process.env.CI)("Commander's clients, as they are written", () => {
  let stack: TemplateStack;
  let templateId = '';
  let recordId = '';

  /** A request as both clients make it: X-Auth-Token, Accept JSON, a JSON body only when there is one. */
  async function call(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { 'X-Auth-Token': stack.token, accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${stack.gateway}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    stack = await startTemplateStack('commander-clients-', { check });
    // What an administrator prepares in the web application: the template and the inventory.
    const template = await call('POST', '/cluster_templates', {
      name: 'static-slot',
      cluster_template_versions: [version],
    });
    expect(template.status, template.text).toBe(201);
    templateId = template.body.id;
    const catalog = await call('POST', '/catalogs', {
      slug: 'slots',
      name: 'Slots',
      schema: [{ key: 'ip', type: 'string', title: 'Address' }],
    });
    expect(catalog.status, catalog.text).toBe(201);
    const record = await call('POST', '/records', {
      catalog_id: catalog.body.id,
      values: { ip: stack.ns.nsAddress },
    });
    expect(record.status, record.text).toBe(201);
    recordId = record.body.id;
    await stack.startManager('clients-test');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** The clients read a cluster by id; the Go client must be able to decode it. */
  async function clusterById(id: string) {
    const read = await call('GET', `/clusters/${id}`);
    expect(read.status, read.text).toBe(200);
    expect(goDecodeProblems(CLUSTER_RESPONSE, read.body)).toEqual([]);
    return read.body;
  }

  /** The scripts' poll loop: until `want`, failing on the words they treat as failures. */
  function pollStatus(id: string, want: string, failures: string[]) {
    return eventually(
      `cluster ${want}`,
      async () => {
        const cluster = await clusterById(id);
        if (failures.includes(cluster.status)) throw new Error(`cluster became ${cluster.status}`);
        return cluster.status === want ? cluster : undefined;
      },
      120_000,
      250,
    );
  }

  function moduleConfigOf() {
    return stack.kube.get('deckhouse.io/v1alpha1', 'ModuleConfig', undefined, 'commander-agent') as
      | { spec: { settings: { commanderUrl: string } } }
      | undefined;
  }

  it('the CI script: registry, cluster from the current version, in_sync, its master, its agent data, deleted', async () => {
    const registry = await call('POST', '/registries', {
      name: 'ci-1',
      images_repo: 'registry.example/deckhouse/fe',
      scheme: 'https',
      dev_branch: 'main',
      auth: Buffer.from('ci:secret').toString('base64'),
    });
    expect(registry.status, registry.text).toBeLessThan(400);
    expect(goDecodeProblems(REGISTRY_RESPONSE, registry.body)).toEqual([]);
    const registryId = registry.body.id;

    // jq -r 'del(.cluster_template_versions).current_cluster_template_version_id'
    const template = await call('GET', `/cluster_templates/${templateId}?without_archived=true`);
    expect(template.status).toBe(200);
    const { cluster_template_versions: _versions, ...withoutVersions } = template.body;
    const versionId = withoutVersions.current_cluster_template_version_id;

    const created = await call('POST', '/clusters', {
      name: 'ci 1',
      registry_id: registryId,
      cluster_template_version_id: versionId,
      values: {
        kubernetesVersion: '1.30',
        masterCount: '1',
        sshUser: stack.sshd.user,
        sshPort: stack.sshd.port,
        slot: recordId,
      },
    });
    expect(created.status >= 200 && created.status < 300, created.text).toBe(true);
    const clusterId = created.body.id;
    expect(clusterId).toBeTruthy();
    expect(created.body.status).toBe('new');
    // The master trusts the key pair Commander generated for this cluster (dc_sshPublicKey).
    stack.authorize(created.body.ssh_public_key);

    const ready = await pollStatus(clusterId, 'in_sync', ['creation_failed', 'configuration_error']);
    // jq -r '.connection_hosts.masters[0].host' and '.user'
    expect(ready.connection_hosts.masters[0].host).toBe(stack.ns.nsAddress);
    expect(ready.connection_hosts.masters[0].user).toBe(stack.sshd.user);

    // The agent received the rendered ModuleConfig through sync.
    const moduleConfig = await eventually('the ModuleConfig', moduleConfigOf, 30_000, 100);
    expect(moduleConfig.spec.settings.commanderUrl).toBe(
      `https://${new URL(stack.gateway).host}/agent_api/${clusterId}`,
    );

    // jq '.cluster_agent_data[] | select(.source == "overview") | .data.warnings.firing_alerts[].alert'
    const withData = await eventually(
      'agent data',
      async () => {
        const cluster = await clusterById(clusterId);
        return cluster.cluster_agent_data.some((item: { source: string }) => item.source === 'upmeter')
          ? cluster
          : undefined;
      },
      30_000,
      250,
    );
    const overview = withData.cluster_agent_data.find(
      (item: { source: string }) => item.source === 'overview',
    );
    expect(Array.isArray(overview.data.warnings.firing_alerts)).toBe(true);
    // jq '.cluster_agent_data[] | select(.source == "upmeter") | .data.rows[] | .probes[] | "\(.probe):\(.availability)"'
    const upmeter = withData.cluster_agent_data.find((item: { source: string }) => item.source === 'upmeter');
    for (const row of upmeter.data.rows) {
      for (const probe of row.probes) expect(typeof probe.probe).toBe('string');
    }
    // jq '.resources_state_results[] | select(.errors) | .errors ...' finds none
    const results = (await clusterById(clusterId)).resources_state_results as { errors: string[] }[];
    expect(results.length).toBeGreaterThan(0);
    expect(results.flatMap((result) => result.errors)).toEqual([]);

    // cleanup: DELETE, then wait for deleted (deletion_failed fails the run)
    const deleted = await call('DELETE', `/clusters/${clusterId}`);
    expect([200, 202, 204]).toContain(deleted.status);
    const gone = await pollStatus(clusterId, 'deleted', ['deletion_failed']);
    expect(gone.archived_at).not.toBeNull();
  });

  it('the Go client: template by name, a free record, create, a whole-object PUT, approvals, deleted', async () => {
    // GetClusterTemplateByName, then its versions.
    const templates = await call('GET', '/cluster_templates');
    for (const template of templates.body) expect(goDecodeProblems(TEMPLATE_RESPONSE, template)).toEqual([]);
    const template = templates.body.find((t: { name: string }) => t.name === 'static-slot');
    const versions = await call('GET', `/cluster_templates/${template.id}/versions`);
    expect(versions.status).toBe(200);
    for (const v of versions.body) expect(goDecodeProblems(TEMPLATE_VERSION, v)).toEqual([]);
    const versionId = template.current_cluster_template_version_id;

    // A free record of the catalog: filtered by the client itself (the CI cluster freed it).
    const catalogs = (await call('GET', '/catalogs?without_archived=true')).body;
    const catalogId = catalogs.find((c: { slug: string }) => c.slug === 'slots').id;
    const records = (await call('GET', '/records?without_archived=true')).body;
    const free = records.find(
      (r: { catalog_id: string; cluster_id: string | null }) =>
        r.catalog_id === catalogId && r.cluster_id === null,
    );
    expect(free?.id).toBe(recordId);

    const created = await call('POST', '/clusters', {
      name: 'storage e2e',
      cluster_template_version_id: versionId,
      // The record as the documentation builds it: `.values + {"x-commander-record-id": .id}`.
      values: {
        masterCount: '1',
        sshUser: stack.sshd.user,
        sshPort: stack.sshd.port,
        slot: { ...free.values, 'x-commander-record-id': free.id },
      },
    });
    expect([200, 201]).toContain(created.status);
    expect(goDecodeProblems(CLUSTER_RESPONSE, created.body)).toEqual([]);
    const clusterId = created.body.id;
    stack.authorize(created.body.ssh_public_key);
    // The record is this cluster's now.
    expect((await call('GET', `/records/${recordId}`)).body.cluster_id).toBe(clusterId);
    await pollStatus(clusterId, 'in_sync', ['creation_failed', 'configuration_error']);

    // UpdateClusterValues: by name from the list, then by id, then the whole object back.
    const byName = (await call('GET', '/clusters')).body.find(
      (c: { name: string }) => c.name === 'storage e2e',
    );
    const current = await clusterById(byName.id);
    const body = {
      name: current.name,
      cluster_template_version_id: current.cluster_template_version_id,
      registry_id: current.registry_id ?? '',
      registry_mode: current.registry_mode || 'Direct',
      current_revision: current.current_revision,
      values: { ...current.values, masterCount: '3' },
    };
    const stale = await call('PUT', `/clusters/${clusterId}`, {
      ...body,
      current_revision: current.current_revision - 1,
    });
    expect(stale.status, stale.text).toBe(409);
    const updated = await call('PUT', `/clusters/${clusterId}`, body);
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.current_revision).toBeGreaterThan(current.current_revision);

    // SetClusterInputValueAndWait: every tick approves every change request listed for the cluster.
    let approved = 0;
    await eventually(
      'in_sync after the approved change',
      async () => {
        const requests = await call('GET', `/cluster_change_requests?cluster_id=${clusterId}`);
        expect(requests.status).toBe(200);
        for (const request of requests.body) {
          expect(goDecodeProblems(CHANGE_REQUEST, request)).toEqual([]);
          const approve = await fetch(
            `${stack.gateway}/api/v1/cluster_change_requests/${request.id}/approve`,
            {
              method: 'POST',
              headers: { 'X-Auth-Token': stack.token },
            },
          );
          const text = await approve.text();
          if (approve.status >= 200 && approve.status < 300) approved++;
          else if (approve.status === 409 && /cluster_cannot_be_converged/i.test(text)) throw new Error(text);
          else
            expect(approve.status === 409 && /already_approved|already_completed/i.test(text), text).toBe(
              true,
            );
        }
        const cluster = await clusterById(clusterId);
        if (cluster.status.includes('fail')) throw new Error(`cluster became ${cluster.status}`);
        return approved > 0 && cluster.status === 'in_sync' ? cluster : undefined;
      },
      120_000,
      500,
    );
    const finished = await clusterById(clusterId);
    expect(finished.applied_cluster_configuration_rendered).toContain('replicas: 3');

    const deleted = await call('DELETE', `/clusters/${clusterId}`);
    expect(deleted.body.status).toBe('delete');
    await pollStatus(clusterId, 'deleted', ['deletion_failed']);
    expect((await call('GET', `/records/${recordId}`)).body.cluster_id).toBeNull();
  });
});
