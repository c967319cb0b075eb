// A cluster made from a template, end to end: a real gateway and manager, a real sshd in a
// network namespace (the cluster's master, reachable only at its own address), a real agent
// started there by the installer, and the Kubernetes API double. The template's SSH section,
// filled from parameters, is what the manager dials; its resources (the commander-agent
// ModuleConfig among them) reach the cluster through the agent's sync; a values change is
// rendered again and converges; a template error is a configuration_error with its line.
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { type KubeApi, startKubeApi } from '../support/kube-api.js';
import { createNetns, haveNetns, type NetNs } from '../support/netns.js';
import { CLI, waitForStatus } from '../support/process.js';
import { haveSshd, startSshd, type TestSshd } from '../support/sshd.js';
import { eventually } from './agent-stack.js';
import { api, Processes, tempDir } from './helpers.js';

const runnable = haveSshd() && haveNetns();

const params = [
  { header: 'Master' },
  { key: 'masterHost', type: 'string', title: 'Master address' },
  { key: 'sshPort', type: 'number', title: 'SSH port', default: 22 },
  { key: 'sshUser', type: 'string', title: 'SSH user', default: 'root' },
  { header: 'Cluster' },
  { key: 'podSubnet', type: 'string', title: 'Pod subnet', default: '10.111.0.0/16' },
  { key: 'greeting', type: 'string', title: 'Greeting', enum: ['hello', 'bonjour'] },
];

const version = {
  comment: 'static cluster over SSH',
  params,
  cluster_configuration: [
    'apiVersion: deckhouse.io/v1',
    'kind: ClusterConfiguration',
    'clusterType: Static',
    'podSubnetCIDR: {{ .podSubnet }}',
    '',
  ].join('\n'),
  provider_specific_cluster_configuration: [
    'apiVersion: deckhouse.io/v1',
    'kind: StaticClusterConfiguration',
    'internalNetworkCIDRs:',
    '- {{ .masterHost }}/32',
    '',
  ].join('\n'),
  ssh_configuration: [
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHConfig',
    'sshUser: {{ .sshUser }}',
    'sshPort: {{ .sshPort }}',
    'sshAgentPrivateKeys:',
    '- key: |',
    '    {{- .dc_sshPrivateKey | nindent 4 }}',
    '---',
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHHost',
    'host: {{ .masterHost }}',
    '',
  ].join('\n'),
  resources: [
    'apiVersion: deckhouse.io/v1alpha1',
    'kind: ModuleConfig',
    'metadata:',
    '  name: commander-agent',
    '  labels:',
    '    heritage: deckhouse-commander',
    'spec:',
    '  enabled: true',
    '  version: 1',
    '  settings:',
    '    commanderUrl: "https://{{ .dc_domain }}/agent_api/{{ .dc_clusterUUID }}"',
    '---',
    'apiVersion: v1',
    'kind: Namespace',
    'metadata:',
    '  name: shop',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: greeting',
    '  namespace: shop',
    'data:',
    '  text: {{ .greeting | quote }}',
    '  cluster: {{ .dc_clusterUUID }}',
    '',
  ].join('\n'),
  init_configuration: [
    'apiVersion: deckhouse.io/v1',
    'kind: InitConfiguration',
    'deckhouse:',
    '  imagesRepo: registry.example/deckhouse',
    '',
  ].join('\n'),
};

const moduleConfigCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'moduleconfigs.deckhouse.io' },
  spec: {
    group: 'deckhouse.io',
    scope: 'Cluster',
    names: { plural: 'moduleconfigs', singular: 'moduleconfig', kind: 'ModuleConfig' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

describe.skipIf(!runnable && !process.env.CI)('a cluster made from a template, end to end', () => {
  const processes = new Processes();
  const dir = tempDir('commander-templates-');
  let ns: NetNs | undefined;
  let sshd: TestSshd | undefined;
  let kube: KubeApi;
  let db: TestDatabase;
  let env: Record<string, string>;
  let gateway: string;
  let token: string;
  let clusterId = '';

  beforeAll(async () => {
    if (!runnable)
      throw new Error('sshd (openssh-server) and root with iproute2 (ip netns) are required in CI');
    ns = createNetns();
    // The master: an sshd inside the namespace, at the namespace's own address only.
    sshd = await startSshd({ listen: ns.nsAddress, prefix: ns.exec });
    // The cluster's Kubernetes API, where the namespace can reach it.
    kube = await startKubeApi({ host: ns.hostAddress });
    kube.put(moduleConfigCrd);
    const kubeconfig = kube.writeKubeconfig(dir.path);
    db = await freshDatabase();
    // The installer keeps the configuration it installed beside the bundle; check compares the
    // bundle's (uploaded again before each check) with it, converge takes the new one.
    const applied = '{bundle}/applied-cluster-configuration.yaml';
    const install = `set -a; . {bundle}/agent.env; set +a; cp {bundle}/cluster-configuration.yaml ${applied}; setsid nohup ${process.execPath} ${CLI} agent --state-dir {bundle}/state --kubeconfig ${kubeconfig} --sync-interval 1 --telemetry-interval 1 --heartbeat-interval 1 > {bundle}/agent.log 2>&1 < /dev/null & echo installer started`;
    const installers = join(dir.path, 'installers.yaml');
    writeFileSync(
      installers,
      [
        'default_version: "1.0"',
        'installers:',
        '  "1.0":',
        `    install: ${JSON.stringify(install)}`,
        `    check: ${JSON.stringify(`if cmp -s {bundle}/cluster-configuration.yaml ${applied}; then echo '{"status": "InSync"}'; else echo '{"status": "OutOfSync"}'; fi`)}`,
        `    converge: ${JSON.stringify(`cp {bundle}/cluster-configuration.yaml ${applied} && echo converged`)}`,
        `    destroy: ${JSON.stringify('pkill -f "agent --state-dir {bundle}/state"; echo destroyed')}`,
      ].join('\n'),
    );
    // The gateway listens on the host's end of the pair: the agent in the namespace dials it.
    const port = await freePort();
    gateway = `http://${ns.hostAddress}:${port}`;
    env = {
      DATABASE_URL: db.url,
      ...keysEnv(testKeys()),
      COMMANDER_PUBLIC_URL: gateway,
      COMMANDER_INSTALLERS: installers,
      COMMANDER_AGENT_WAIT_SECONDS: '30',
    };
    processes.start(['gateway'], { ...env, COMMANDER_LISTEN: `${ns.hostAddress}:${port}` });
    await waitForStatus(`${gateway}/readyz`, 200, 45_000);
    token = (
      await processes.run(['token', 'create', '--workspace', 'fleet', '--role', 'operator'], env)
    ).stdout.trim();
  });

  afterAll(async () => {
    await processes.stopAll();
    const home = process.env.HOME ?? '/root';
    if (clusterId) rmSync(join(home, '.commander', `bundle-${clusterId}`), { recursive: true, force: true });
    await sshd?.stop();
    await kube?.close();
    ns?.remove();
    await db?.drop();
    dir.remove();
  });

  const cluster = async () => (await api(gateway, 'GET', `/api/v1/clusters/${clusterId}`, { token })).body;
  const waitStatus = (status: string, timeoutMs = 60_000) =>
    eventually(
      `cluster ${status}`,
      async () => {
        const current = await cluster();
        if (
          ['creation_failed', 'change_failed', 'configuration_error'].includes(current.status) &&
          current.status !== status
        ) {
          const tasks = (await api(gateway, 'GET', `/api/v1/tasks?cluster_id=${clusterId}`, { token })).body;
          throw new Error(
            `cluster is ${current.status}: ${JSON.stringify(tasks.map((t: { log: string }) => t.log))}`,
          );
        }
        return current.status === status ? current : undefined;
      },
      timeoutMs,
      200,
    );
  const greetingInCluster = () =>
    kube.get('v1', 'ConfigMap', 'shop', 'greeting')?.data as Record<string, string> | undefined;

  it('is installed over SSH at its rendered hosts, and its agent applies the rendered resources', async () => {
    if (!ns || !sshd) throw new Error('no namespace');
    const template = await api(gateway, 'POST', '/api/v1/cluster_templates', {
      token,
      body: { name: 'Static over SSH', cluster_template_versions: [version] },
    });
    expect(template.status, template.text).toBe(201);
    const versionId = template.body.current_cluster_template_version_id as string;

    const created = await api(gateway, 'POST', '/api/v1/clusters', {
      token,
      body: {
        name: 'edge 1',
        cluster_template_version_id: versionId,
        values: { masterHost: ns.nsAddress, sshPort: sshd.port, sshUser: sshd.user, greeting: 'hello' },
      },
    });
    expect(created.status, created.text).toBe(201);
    clusterId = created.body.id;
    expect(created.body).toMatchObject({
      status: 'new',
      cluster_type: 'static',
      connection_hosts: { masters: [{ host: ns.nsAddress, user: sshd.user, port: sshd.port }] },
      render_errors: [],
    });
    // The master trusts the key pair Commander generated for this cluster (dc_sshPublicKey).
    appendFileSync(join(sshd.dir, 'authorized_keys'), `${created.body.ssh_public_key}\n`);

    const manager = processes.start(['manager'], { ...env, COMMANDER_REPLICA_ID: 'templates-test' });
    await manager.waitFor(/"msg":"manager ready"/, 30_000);
    const installed = await waitStatus('in_sync', 90_000);
    expect(installed).toMatchObject({ was_created: true, agent_status: 'connected' });
    expect(installed.applied_cluster_configuration_rendered).toBe(
      installed.desired_cluster_configuration_rendered,
    );
    const [install] = (await api(gateway, 'GET', `/api/v1/tasks?cluster_id=${clusterId}`, { token })).body;
    expect(install.log).toContain(`connecting to ${sshd.user}@${ns.nsAddress}:${sshd.port}`);
    expect(install.log).toContain('cluster-configuration.yaml, provider-specific-cluster-configuration.yaml');
    expect(install.log).not.toContain('PRIVATE KEY');

    // The rendered configuration reached the installer, as bundle files.
    const bundle = join(process.env.HOME ?? '/root', '.commander', `bundle-${clusterId}`);
    expect(readFileSync(join(bundle, 'cluster-configuration.yaml'), 'utf8')).toContain(
      'podSubnetCIDR: 10.111.0.0/16',
    );
    expect(readFileSync(join(bundle, 'init-configuration.yaml'), 'utf8')).toBe(version.init_configuration);
    expect(readFileSync(join(bundle, 'provider-specific-cluster-configuration.yaml'), 'utf8')).toContain(
      `- ${ns.nsAddress}/32`,
    );

    // The agent received the rendered resources through sync.
    const moduleConfig = await eventually(
      'the ModuleConfig in the cluster',
      () => kube.get('deckhouse.io/v1alpha1', 'ModuleConfig', undefined, 'commander-agent'),
      30_000,
      100,
    );
    expect(moduleConfig.spec).toMatchObject({
      enabled: true,
      settings: { commanderUrl: `https://${new URL(gateway).host}/agent_api/${clusterId}` },
    });
    expect(moduleConfig.metadata.labels).toMatchObject({ heritage: 'deckhouse-commander' });
    expect(await eventually('the greeting', greetingInCluster, 30_000, 100)).toEqual({
      text: 'hello',
      cluster: clusterId,
    });
    await eventually(
      'resources configured',
      async () => ((await cluster()).resources_sync_state === 'configured' ? true : undefined),
      30_000,
      200,
    );
  });

  it('renders a values change again: the agent converges and the installer gets the new configuration', async () => {
    const before = await cluster();
    const put = await api(gateway, 'PUT', `/api/v1/clusters/${clusterId}`, {
      token,
      body: {
        name: before.name,
        cluster_template_version_id: before.cluster_template_version_id,
        values: { ...before.values, greeting: 'bonjour', podSubnet: '10.222.0.0/16' },
        current_revision: before.current_revision,
      },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body.status).toBe('changing');
    expect(put.body.current_revision).toBe(before.current_revision + 1);

    await eventually(
      'the new greeting',
      () => (greetingInCluster()?.text === 'bonjour' ? true : undefined),
      30_000,
      100,
    );
    const converged = await waitStatus('in_sync');
    expect(converged.applied_cluster_configuration_rendered).toContain('podSubnetCIDR: 10.222.0.0/16');
    const bundle = join(process.env.HOME ?? '/root', '.commander', `bundle-${clusterId}`);
    expect(readFileSync(join(bundle, 'applied-cluster-configuration.yaml'), 'utf8')).toContain(
      'podSubnetCIDR: 10.222.0.0/16',
    );
    const reconcile = (
      await api(gateway, 'GET', `/api/v1/tasks?cluster_id=${clusterId}`, { token })
    ).body.find((t: { kind: string; status: string }) => t.kind === 'reconcile' && t.status === 'succeeded');
    expect(reconcile.log).toContain('check: OutOfSync');
    expect(reconcile.log).toContain('| converged');
    await eventually(
      'resources configured at the new revision',
      async () => {
        const resources = (await api(gateway, 'GET', `/api/v1/clusters/${clusterId}/resources`, { token }))
          .body;
        const state = await cluster();
        return state.resources_sync_state === 'configured' && resources.revision === put.body.current_revision
          ? true
          : undefined;
      },
      30_000,
      200,
    );
  });

  it('gives configuration_error with the line of a template error, and leaves the cluster as it was', async () => {
    const before = await cluster();
    const broken = await api(
      gateway,
      'POST',
      `/api/v1/cluster_templates/${(await templateOf(before)).id}/versions`,
      {
        token,
        body: {
          ...version,
          comment: 'a typo on line 3',
          cluster_configuration:
            'apiVersion: deckhouse.io/v1\nkind: ClusterConfiguration\npodSubnetCIDR: {{ .podSubnet | nosuch }}\n',
        },
      },
    );
    expect(broken.status, broken.text).toBe(201);
    const put = await api(gateway, 'PUT', `/api/v1/clusters/${clusterId}`, {
      token,
      body: {
        name: before.name,
        cluster_template_version_id: broken.body.id,
        values: before.values,
        current_revision: before.current_revision,
      },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body.status).toBe('configuration_error');
    expect(put.body.render_errors).toHaveLength(1);
    expect(put.body.render_errors[0]).toMatchObject({ section: 'cluster_configuration', line: 3 });
    expect(put.body.render_errors[0].message).toMatch(/cluster_configuration:3:\d+: .*"nosuch" not defined/);
    expect(put.body.desired_cluster_configuration_rendered).toBe(
      before.desired_cluster_configuration_rendered,
    );
    expect(greetingInCluster()?.text).toBe('bonjour');
  });

  it('is deleted over SSH: destroyed, then deleted and archived', async () => {
    const deleted = await api(gateway, 'DELETE', `/api/v1/clusters/${clusterId}`, { token });
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('delete');
    const gone = await waitStatus('deleted');
    expect(gone.archived_at).not.toBeNull();
    const listed = (await api(gateway, 'GET', '/api/v1/clusters?without_archived=true', { token })).body;
    expect(listed.map((c: { id: string }) => c.id)).not.toContain(clusterId);
    const removal = (await api(gateway, 'GET', `/api/v1/tasks?cluster_id=${clusterId}`, { token })).body.find(
      (t: { kind: string }) => t.kind === 'delete',
    );
    expect(removal.log).toContain('| destroyed');
  });

  async function templateOf(current: { cluster_template_version_id: string }) {
    const versionRow = (
      await api(gateway, 'GET', `/api/v1/cluster_template_versions/${current.cluster_template_version_id}`, {
        token,
      })
    ).body;
    return { id: versionRow.cluster_template_id as string };
  }
});
