// Clusters made from a template version: values checked against the params (422 naming each
// key), every section rendered with the dc_* variables, the resources stored as the desired set,
// the SSH documents read as connection hosts, render errors as configuration_error with their
// line; PUT re-renders and starts a change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const params = [
  { header: 'Masters' },
  { key: 'masterHosts', type: 'string', title: 'Master addresses', minItems: 1, maxItems: 3 },
  { key: 'sshUser', type: 'string', title: 'SSH user', default: 'ubuntu' },
  { key: 'sshPort', type: 'number', title: 'SSH port', default: 22, min: 1, max: 65535 },
  { header: 'Workload' },
  { key: 'replicas', type: 'number', title: 'Replicas', default: 1, min: 1, max: 5 },
  { key: 'color', type: 'string', title: 'Color', enum: ['blue', 'green'], default: 'blue' },
];

const sections = {
  cluster_configuration: [
    'apiVersion: deckhouse.io/v1',
    'kind: ClusterConfiguration',
    'clusterType: Static',
    'podSubnetCIDR: 10.111.0.0/16',
    '',
  ].join('\n'),
  provider_specific_cluster_configuration: 'apiVersion: deckhouse.io/v1\nkind: StaticClusterConfiguration\n',
  ssh_configuration: [
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHConfig',
    'sshUser: {{ .sshUser }}',
    'sshPort: {{ .sshPort }}',
    'sshAgentPrivateKeys:',
    '- key: {{ printf "%q" .dc_sshPrivateKey }}',
    '{{- range $i, $host := .masterHosts }}',
    '---',
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHHost',
    'host: {{ $host }}',
    '{{- end }}',
    '',
  ].join('\n'),
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
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: workload',
    '  namespace: default',
    'data:',
    '  color: {{ .color }}',
    '  replicas: "{{ .replicas }}"',
    '  publicKey: {{ .dc_sshPublicKey | quote }}',
    '  caBundle: {{ .dc_caBundle | b64dec | quote }}',
    '',
  ].join('\n'),
  init_configuration:
    'apiVersion: deckhouse.io/v1\nkind: InitConfiguration\ndeckhouse:\n  imagesRepo: registry.example/deckhouse\n',
};

const masters = ['10.0.0.11', '10.0.0.12'];

describe('clusters made from template versions', () => {
  let gw: TestGateway;
  let token: string;
  let templateId: string;
  let versionId: string;

  const tasksOf = async (id: string) =>
    (await gw.request('GET', `/api/v1/tasks?cluster_id=${id}`, { token })).body as Array<{
      kind: string;
      status: string;
    }>;
  const create = (name: string, values: object, version = versionId) =>
    gw.request('POST', '/api/v1/clusters', {
      token,
      body: { name, cluster_template_version_id: version, values },
    });
  const newVersion = async (body: object) => {
    const created = await gw.request('POST', `/api/v1/cluster_templates/${templateId}/versions`, {
      token,
      body,
    });
    expect(created.status, created.text).toBe(201);
    return created.body.id as string;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('operator');
    const template = await gw.request('POST', '/api/v1/cluster_templates', {
      token,
      body: { name: 'static', cluster_template_versions: [{ params, ...sections }] },
    });
    expect(template.status, template.text).toBe(201);
    templateId = template.body.id;
    versionId = template.body.current_cluster_template_version_id;
  });
  afterAll(() => gw.close());

  it('renders every section, stores the resources as the desired set and queues the install', async () => {
    const created = await create('rendered', { masterHosts: masters, replicas: 2 });
    expect(created.status, created.text).toBe(201);
    const cluster = created.body;
    const id = cluster.id as string;
    expect(cluster).toMatchObject({
      status: 'new',
      was_created: false,
      cluster_type: 'static',
      cluster_template_version_id: versionId,
      // Defaults applied.
      values: { masterHosts: masters, replicas: 2, sshUser: 'ubuntu', sshPort: 22, color: 'blue' },
      connection_hosts: {
        masters: masters.map((host) => ({ host, user: 'ubuntu', port: 22 })),
      },
      render_errors: [],
      current_revision: 1,
      desired_cluster_configuration_rendered: sections.cluster_configuration,
      init_configuration_rendered: sections.init_configuration,
      ssh: { host: masters[0], port: 22, user: 'ubuntu', host_key_fingerprint: null },
    });
    expect(cluster.cluster_template_version_switched_at).not.toBeNull();
    expect(cluster.allowed_targets).toEqual(masters.map((host) => `${host}:22`));
    expect(cluster.ssh_public_key).toMatch(/^ssh-ed25519 AAAA\S+ commander-/);
    // dc_domain is the public URL's host; dc_clusterUUID the cluster's id.
    expect(cluster.desired_resources_rendered).toContain(`commanderUrl: "https://127.0.0.1/agent_api/${id}"`);
    expect(cluster.desired_resources_rendered).toContain(`publicKey: "${cluster.ssh_public_key}"`);
    expect(cluster.desired_resources_rendered).toContain('replicas: "2"');
    // A gateway serving plain HTTP has no certificate for agents to trust.
    expect(cluster.desired_resources_rendered).toContain('caBundle: ""');

    // The generated private key: encrypted at rest, the key the manager dials with, never answered.
    const [row] = await gw.db
      .sql`select generated_ssh_private_key, ssh_private_key, dhctl_configuration_rendered
      from clusters where id = ${id}`;
    const privateKey = gw.encryptor.decrypt(row?.generated_ssh_private_key);
    expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect(gw.encryptor.decrypt(row?.ssh_private_key)).toBe(privateKey);
    expect(row?.dhctl_configuration_rendered).toMatch(/^enc:v1:/);
    expect(gw.encryptor.decrypt(row?.dhctl_configuration_rendered)).toContain(JSON.stringify(privateKey));
    const answered = JSON.stringify(cluster);
    expect(answered).not.toContain('PRIVATE KEY');
    for (const line of privateKey.split('\n').filter((l) => l.length >= 16))
      expect(answered).not.toContain(line);
    expect(cluster.dhctl_configuration_rendered).toContain('- key: "[FILTERED]"\n');
    expect(cluster.dhctl_configuration_rendered).toContain('kind: SSHHost\nhost: 10.0.0.12');

    const resources = (await gw.request('GET', `/api/v1/clusters/${id}/resources`, { token })).body;
    expect(resources.revision).toBe(1);
    expect(resources.resources.map((r: { kind: string; name: string }) => `${r.kind}/${r.name}`)).toEqual([
      'ModuleConfig/commander-agent',
      'ConfigMap/workload',
    ]);
    expect(await tasksOf(id)).toMatchObject([{ kind: 'install', status: 'pending' }]);
    expect((await gw.request('GET', `/api/v1/clusters/${id}`, { token })).body).toEqual(cluster);
  });

  it('answers 422 naming each value the params refuse, and stores nothing', async () => {
    const [before] = await gw.db.sql`select count(*)::int as n from clusters`;
    const refused = await create('refused', { color: 'red', sshPort: 70000, unknown: 1 });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('INVALID_VALUES');
    const paths = refused.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual([
      'body/values/color',
      'body/values/masterHosts',
      'body/values/sshPort',
      'body/values/unknown',
    ]);
    expect(refused.body.error.message).toContain('body/values/masterHosts is required');
    const [after] = await gw.db.sql`select count(*)::int as n from clusters`;
    expect(after?.n).toBe(before?.n);
  });

  it('re-renders on PUT: new values are a new revision and, once the cluster exists, a change', async () => {
    const created = (await create('changing', { masterHosts: masters })).body;
    const id = created.id as string;
    const stale = await gw.request('PUT', `/api/v1/clusters/${id}`, {
      token,
      body: {
        name: 'changing',
        cluster_template_version_id: versionId,
        values: created.values,
        current_revision: 0,
      },
    });
    expect(stale.status).toBe(409);
    const versionless = await gw.request('PUT', `/api/v1/clusters/${id}`, {
      token,
      body: { name: 'changing', values: created.values, current_revision: created.current_revision },
    });
    expect(versionless.status).toBe(400);
    expect(versionless.body.error.message).toContain('body/cluster_template_version_id');

    // Not installed yet: the pending install takes the new configuration; no second install.
    const put = await gw.request('PUT', `/api/v1/clusters/${id}`, {
      token,
      body: {
        name: 'changing',
        cluster_template_version_id: versionId,
        values: { ...created.values, replicas: 3 },
        current_revision: created.current_revision,
      },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ status: 'new', current_revision: created.current_revision + 1 });
    expect(put.body.desired_resources_rendered).toContain('replicas: "3"');
    const resources = (await gw.request('GET', `/api/v1/clusters/${id}/resources`, { token })).body;
    expect(resources.revision).toBe(put.body.current_revision);
    expect(await tasksOf(id)).toMatchObject([{ kind: 'install', status: 'pending' }]);

    // Installed: a change is a reconcile, and the status says so.
    await gw.db.sql`update clusters set was_created = true, status = 'in_sync' where id = ${id}`;
    await gw.db.sql`update tasks set status = 'succeeded' where cluster_id = ${id}`;
    const change = await gw.request('PUT', `/api/v1/clusters/${id}`, {
      token,
      body: {
        name: 'changing',
        cluster_template_version_id: versionId,
        values: { ...put.body.values, color: 'green' },
        current_revision: put.body.current_revision,
      },
    });
    expect(change.status, change.text).toBe(200);
    expect(change.body.status).toBe('changing');
    expect(change.body.desired_resources_rendered).toContain('color: green');
    expect((await tasksOf(id)).find((t) => t.kind === 'reconcile')).toMatchObject({ status: 'pending' });

    // The same values again: no change, no new task; a rename alone changes only the name.
    await gw.db.sql`update clusters set status = 'in_sync' where id = ${id}`;
    await gw.db.sql`update tasks set status = 'succeeded' where cluster_id = ${id}`;
    const rename = await gw.request('PUT', `/api/v1/clusters/${id}`, {
      token,
      body: {
        name: 'changing (renamed)',
        cluster_template_version_id: versionId,
        values: change.body.values,
        current_revision: change.body.current_revision,
      },
    });
    expect(rename.status, rename.text).toBe(200);
    expect(rename.body).toMatchObject({ status: 'in_sync', name: 'changing (renamed)' });
    expect((await tasksOf(id)).filter((t) => t.status === 'pending')).toEqual([]);
    expect(rename.body.current_revision).toBe(change.body.current_revision + 1);
  });

  it('gives configuration_error with the line of a template error; the last good configuration stays', async () => {
    const broken = await newVersion({
      params,
      ...sections,
      resources: [
        'apiVersion: v1',
        'kind: ConfigMap',
        'data:',
        '  size: {{ .replicas | nosuchfunc }}',
        '',
      ].join('\n'),
    });
    // Created from it: configuration_error at once, no install.
    const direct = await create('broken from the start', { masterHosts: masters }, broken);
    expect(direct.status, direct.text).toBe(201);
    expect(direct.body.status).toBe('configuration_error');
    expect(direct.body.render_errors).toEqual([
      {
        section: 'resources',
        line: 4,
        column: expect.any(Number),
        message: expect.stringMatching(/^template: resources:4:\d+: .*nosuchfunc/),
      },
    ]);
    expect(direct.body.desired_resources_rendered).toBeNull();
    expect(await tasksOf(direct.body.id)).toEqual([]);

    // Switched to it: the error, its pending work cancelled, the rendered resources kept.
    const good = (await create('switching', { masterHosts: masters })).body;
    const switched = await gw.request('PUT', `/api/v1/clusters/${good.id}`, {
      token,
      body: {
        name: 'switching',
        cluster_template_version_id: broken,
        values: good.values,
        current_revision: good.current_revision,
      },
    });
    expect(switched.status, switched.text).toBe(200);
    expect(switched.body).toMatchObject({
      status: 'configuration_error',
      cluster_template_version_id: broken,
      desired_resources_rendered: good.desired_resources_rendered,
    });
    expect(switched.body.render_errors[0]).toMatchObject({ section: 'resources', line: 4 });
    expect(Date.parse(switched.body.cluster_template_version_switched_at)).toBeGreaterThan(
      Date.parse(good.cluster_template_version_switched_at),
    );
    expect(await tasksOf(good.id)).toMatchObject([{ kind: 'install', status: 'cancelled' }]);
    const resources = (await gw.request('GET', `/api/v1/clusters/${good.id}/resources`, { token })).body;
    expect(resources.resources).toHaveLength(2);

    // And back to a version that renders: new again, with an install queued.
    const back = await gw.request('PUT', `/api/v1/clusters/${good.id}`, {
      token,
      body: {
        name: 'switching',
        cluster_template_version_id: versionId,
        values: good.values,
        current_revision: switched.body.current_revision,
      },
    });
    expect(back.body).toMatchObject({ status: 'new', render_errors: [] });
    expect((await tasksOf(good.id)).filter((t) => t.status === 'pending')).toMatchObject([
      { kind: 'install' },
    ]);
  });

  it('reports rendered text that is not YAML, bad SSH documents and bad manifests as render errors', async () => {
    const cases: Array<[object, RegExp, number | null]> = [
      [
        { cluster_configuration: 'a: 1\nb: [unclosed\nc: 3\n' },
        /cluster_configuration: the rendered text is not valid YAML/,
        3,
      ],
      [
        { ssh_configuration: 'apiVersion: dhctl.deckhouse.io/v1\nkind: SSHHost\nhost: 10.0.0.1\n' },
        /SSHHost documents need an SSHConfig/,
        null,
      ],
      [
        {
          ssh_configuration:
            'apiVersion: dhctl.deckhouse.io/v1\nkind: SSHConfig\nsshUser: root\nsshAgentPrivateKeys:\n- key: nonsense\n',
        },
        /sshAgentPrivateKeys\[0\]\.key is not a usable private key/,
        null,
      ],
      [{ resources: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' }, /resources: document 1: /, null],
    ];
    for (const [override, message, line] of cases) {
      const version = await newVersion({ params, ...sections, ...override });
      const created = await create(`bad ${message.source.slice(0, 40)}`, { masterHosts: masters }, version);
      expect(created.status, created.text).toBe(201);
      expect(created.body.status).toBe('configuration_error');
      expect(created.body.render_errors[0].message).toMatch(message);
      if (line !== null) expect(created.body.render_errors[0].line).toBe(line);
    }
  });

  it('takes a version without SSH hosts: rendered, no install', async () => {
    const version = await newVersion({
      params: [],
      resources: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
    });
    const created = await create('paper', {}, version);
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      status: 'new',
      cluster_type: null,
      connection_hosts: { masters: [] },
    });
    expect(await tasksOf(created.body.id)).toEqual([]);
    const resources = (await gw.request('GET', `/api/v1/clusters/${created.body.id}/resources`, { token }))
      .body;
    expect(resources.resources).toMatchObject([{ kind: 'Namespace', name: 'shop' }]);
  });

  it('gives dc_caBundle the certificate a gateway serving HTTPS serves, base64', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
    const https = await startTestGateway({ caBundle: Buffer.from(pem).toString('base64') });
    try {
      const own = await https.token('operator');
      const template = await https.request('POST', '/api/v1/cluster_templates', {
        token: own,
        body: { name: 'ca', cluster_template_versions: [{ params, ...sections }] },
      });
      const created = await https.request('POST', '/api/v1/clusters', {
        token: own,
        body: {
          name: 'trusting',
          cluster_template_version_id: template.body.current_cluster_template_version_id,
          values: { masterHosts: masters },
        },
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body.desired_resources_rendered).toContain(`caBundle: ${JSON.stringify(pem)}`);
    } finally {
      await https.close();
    }
  });

  it('answers 404 for another workspace', async () => {
    const created = (await create('mine', { masterHosts: masters })).body;
    const other = await gw.token('operator', 'elsewhere');
    for (const [method, body] of [
      ['GET', undefined],
      [
        'PUT',
        {
          name: 'theirs',
          cluster_template_version_id: versionId,
          values: {},
          current_revision: created.current_revision,
        },
      ],
      ['DELETE', undefined],
    ] as const) {
      const answer = await gw.request(method, `/api/v1/clusters/${created.id}`, { token: other, body });
      expect(answer.status, method).toBe(404);
    }
  });
});
