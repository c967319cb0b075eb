// Clusters made from a template, through the API as Commander's clients make them: how many
// create-from-template requests per second a fresh gateway answers while the workspace fills up
// to 1,000 clusters, and how long `GET /api/v1/clusters` takes for those 1,000. Each round is a
// fresh `commander gateway` on a fresh database. No peer serves this API here: absolute figures.
import { api, type Gateway, Resources, startGateway } from './harness.js';
import { percentile, report } from './report.js';

const CLUSTERS = 1000;
const CONCURRENCY = 16;
const LIST_READS = 30;
const ROUNDS = 2;

const version = {
  comment: 'bench',
  params: [
    { key: 'masterCount', type: 'string', title: 'Masters', enum: ['1', '3'] },
    { key: 'masterHost', type: 'string', title: 'Master' },
    { key: 'podSubnet', type: 'string', title: 'Pods', default: '10.111.0.0/16' },
  ],
  cluster_configuration: [
    'apiVersion: deckhouse.io/v1',
    'kind: ClusterConfiguration',
    'clusterType: Static',
    'podSubnetCIDR: {{ .podSubnet }}',
    'masterNodeGroup:',
    '  replicas: {{ .masterCount }}',
    '',
  ].join('\n'),
  ssh_configuration: [
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHConfig',
    'sshUser: root',
    'sshPort: 22',
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
    'spec:',
    '  enabled: true',
    '  version: 1',
    '  settings:',
    '    commanderUrl: "https://{{ .dc_domain }}/agent_api/{{ .dc_clusterUUID }}"',
    '',
  ].join('\n'),
};

interface Round {
  createsPerSecond: number;
  listP50: number;
  listP99: number;
}

async function round(databaseUrl: string): Promise<Round> {
  const resources = new Resources();
  try {
    const gateway: Gateway = await startGateway(resources, databaseUrl);
    const template = await api<{ current_cluster_template_version_id: string }>(
      gateway,
      'POST',
      '/api/v1/cluster_templates',
      { name: 'bench', cluster_template_versions: [version] },
    );
    const versionId = template.current_cluster_template_version_id;
    let next = 0;
    const start = performance.now();
    const worker = async () => {
      for (let i = next++; i < CLUSTERS; i = next++) {
        await api(gateway, 'POST', '/api/v1/clusters', {
          name: `cluster ${i}`,
          cluster_template_version_id: versionId,
          values: { masterCount: '1', masterHost: `10.0.${i >> 8}.${i & 255}` },
        });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const createsPerSecond = CLUSTERS / ((performance.now() - start) / 1000);
    const times: number[] = [];
    for (let i = 0; i < LIST_READS; i++) {
      const began = performance.now();
      const clusters = await api<unknown[]>(gateway, 'GET', '/api/v1/clusters');
      times.push(performance.now() - began);
      if (clusters.length !== CLUSTERS)
        throw new Error(`listed ${clusters.length} clusters, made ${CLUSTERS}`);
    }
    times.sort((a, b) => a - b);
    return { createsPerSecond, listP50: percentile(times, 50), listP99: percentile(times, 99) };
  } finally {
    await resources.close();
  }
}

export async function run(databaseUrl: string): Promise<void> {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(databaseUrl));
  const median = (pick: (r: Round) => number) =>
    percentile(
      rounds.map(pick).sort((a, b) => a - b),
      50,
    );
  report({
    bench: 'api-clusters',
    metric: 'create_from_template_per_second',
    value: median((r) => r.createsPerSecond),
    unit: 'req/s',
  });
  report({ bench: 'api-clusters', metric: 'list_1000_p50', value: median((r) => r.listP50), unit: 'ms' });
  report({ bench: 'api-clusters', metric: 'list_1000_p99', value: median((r) => r.listP99), unit: 'ms' });
}
