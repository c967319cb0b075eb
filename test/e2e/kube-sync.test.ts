// The agent makes a Kubernetes cluster match the desired set and keeps it matching, reports each
// resource's status, and sends telemetry; across agent restarts and gateway outages nothing is
// lost or doubled. The Kubernetes API is the double in test/support, or the real cluster that
// KUBECONFIG names (behind a counting proxy; the test works in its own namespace and removes what
// it made).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, RequestFilter } from '../support/kube-api.js';
import { type KubeTarget, startKubeTarget } from '../support/kube-target.js';
import { type AgentInstance, AgentStack, eventually, waitForLog } from './agent-stack.js';
import { api } from './helpers.js';

const MANAGED_BY = 'app.kubernetes.io/managed-by';
const CLUSTER_ANNOTATION = 'commander.io/cluster-uuid';

// On a real cluster, a namespace of our own; CRD names are cluster-wide, so they get the suffix too.
const suffix = process.env.KUBECONFIG ? `-${randomBytes(3).toString('hex')}` : '';
const NS = `shop${suffix}`;
const GROUP = `example${suffix}.com`;
const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } };
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};
const widget = (i: number) => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'Widget',
  metadata: { name: `widget-${i}`, namespace: NS },
  spec: { size: i },
});
const configMap = (name: string, data: Record<string, string>, annotations?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
  data,
});
const seed = configMap('seed', { initial: 'yes' }, { 'commander.io/management-mode': 'create-once' });
/** Every sync pass begins by reading this ConfigMap (who owns the cluster). */
const OWNERSHIP_PATH = '/api/v1/namespaces/kube-system/configmaps/commander-ownership';
/** Every telemetry sample begins by listing the nodes. */
const NODES_PATH = '/api/v1/nodes';

/** 50 resources: a Namespace, a CRD, 3 objects of that CRD, 44 ConfigMaps and a create-once one. */
function baseSet(color = 'blue'): object[] {
  return [
    // Deliberately out of order: the agent must apply the Namespace and the CRD first.
    widget(0),
    configMap('cm-0', { color }),
    crd,
    widget(1),
    widget(2),
    namespace,
    ...Array.from({ length: 43 }, (_, i) => configMap(`cm-${i + 1}`, { color: 'gray' })),
    seed,
  ];
}

describe('sync against a Kubernetes API', () => {
  let stack: AgentStack;
  let kube: KubeTarget;
  let clusterId: string;
  let agent: AgentInstance;

  const resources = async (id = clusterId) =>
    (await api(stack.gateway.url, 'GET', `/api/v1/clusters/${id}/resources`, { token: stack.operator }))
      .body as {
      revision: number;
      resources: Array<{
        revision: number;
        kind: string;
        name: string;
        status: string;
        message: string | null;
        desired: boolean;
        applied_revision: number | null;
      }>;
    };
  const put = async (set: object[], id = clusterId) => {
    // An empty set must be asked for explicitly (docs/resources.md).
    const query = set.length === 0 ? '?allow_empty=true' : '';
    const result = await api(stack.gateway.url, 'PUT', `/api/v1/clusters/${id}/resources${query}`, {
      token: stack.operator,
      body: set,
    });
    expect(result.status, result.text).toBe(200);
    return result.body.revision as number;
  };
  /** Waits until every desired resource is applied at `revision` and the cluster says configured. */
  const converged = (revision: number, timeoutMs = 20_000) =>
    eventually(
      `all resources applied at revision ${revision}`,
      async () => {
        const listed = await resources();
        const desired = listed.resources.filter((r) => r.desired);
        const cluster = await stack.cluster(clusterId);
        return listed.revision === revision &&
          desired.every((r) => r.status === 'applied' && (r.applied_revision ?? 0) >= r.revision) &&
          listed.resources.every((r) => r.desired || r.status === 'pruned') &&
          cluster.resources_sync_state === 'configured'
          ? listed
          : undefined;
      },
      timeoutMs,
      100,
    );
  /** The agent's requests since `mark` (a length of kube.requests) that match the filter. */
  const since = (mark: number, filter: RequestFilter & { path?: string }) =>
    kube.requests
      .slice(mark)
      .filter(
        (r) =>
          (!filter.method || r.method === filter.method) &&
          (!filter.path || r.path === filter.path) &&
          (!filter.pathIncludes || r.path.includes(filter.pathIncludes)),
      ).length;
  /**
   * Waits until `count` sync passes that started after `mark` have finished: passes run one at a
   * time and each begins by reading the ownership ConfigMap, so its (count + 1)th read since then
   * means the count-th pass is over.
   */
  const passesFinished = (count: number, mark = kube.requests.length) =>
    eventually(
      `${count} sync passes`,
      () => (since(mark, { method: 'GET', path: OWNERSHIP_PATH }) > count ? true : undefined),
      20_000,
      50,
    );
  const startAgent = (stateDir?: string) =>
    stack.startAgent(clusterId, {
      allow: [],
      ...(stateDir ? { stateDir, tokenFile: agent.tokenFile } : {}),
      args: ['--kubeconfig', kube.kubeconfig, '--sync-interval', '1', '--telemetry-interval', '1'],
    });

  beforeAll(async () => {
    stack = await AgentStack.start();
    kube = await startKubeTarget(stack.dir.path);
    // What only the double can fake; a real cluster has its own nodes and volumes.
    const double = kube.double;
    if (double) {
      double.addNode('master-0', { cpu: '4', memory: '16Gi' });
      double.addNode('worker-0', { cpu: '3800m', memory: '8Gi' });
      double.addPersistentVolume('pv-0', '10Gi');
      double.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'd8-system' } });
      double.put({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'deckhouse', namespace: 'd8-system' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'deckhouse' } },
          template: {
            metadata: { labels: { app: 'deckhouse' } },
            spec: { containers: [{ name: 'deckhouse', image: 'registry.example/deckhouse:v1.62.3' }] },
          },
        },
      });
    }
    clusterId = await stack.createCluster([]);
    agent = await startAgent();
  });
  afterAll(async () => {
    // An empty set: the agent prunes everything it made (on a real cluster, that is the clean-up).
    if (kube?.real) {
      await put([]).catch(() => {});
      await eventually(
        'everything pruned',
        async () => ((await kube.get('v1', 'Namespace', undefined, NS)) ? undefined : true),
        60_000,
      ).catch(() => {});
      await kube.remove('v1', 'ConfigMap', 'kube-system', 'commander-ownership');
    }
    await stack?.close();
    await kube?.close();
  });

  it('applies 50 resources in a valid order, each reported applied', async () => {
    const revision = await put(baseSet());
    const listed = await converged(revision);
    expect(listed.resources).toHaveLength(50);

    const applies = kube.requests.filter(
      (r) => r.method === 'PATCH' && r.contentType?.startsWith('application/apply-patch'),
    );
    const position = (fragment: string) => applies.findIndex((r) => r.path.includes(fragment));
    expect(position(`/namespaces/${NS}`)).toBeGreaterThanOrEqual(0);
    expect(position(`/namespaces/${NS}`)).toBeLessThan(position('/configmaps/cm-0'));
    expect(position(`/customresourcedefinitions/widgets.${GROUP}`)).toBeLessThan(
      position('/widgets/widget-0'),
    );
    for (const request of applies) expect(request.fieldManager).toBe('commander-agent');

    const applied = (await kube.get(`${GROUP}/v1`, 'Widget', NS, 'widget-1')) as KubeObject;
    expect(applied.spec).toEqual({ size: 1 });
    expect(applied.metadata.labels?.[MANAGED_BY]).toBe('commander');
    expect(applied.metadata.annotations?.[CLUSTER_ANNOTATION]).toBe(clusterId);
    // Applied exactly as given: no field lost on the way through the client library.
    const storedCrd = await kube.get(
      'apiextensions.k8s.io/v1',
      'CustomResourceDefinition',
      undefined,
      `widgets.${GROUP}`,
    );
    expect((storedCrd?.spec as typeof crd.spec | undefined)?.versions[0]?.schema.openAPIV3Schema).toEqual({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect((await kube.get('v1', 'ConfigMap', 'kube-system', 'commander-ownership'))?.data).toMatchObject({
      'cluster-uuid': clusterId,
    });
  });

  it('re-applies exactly the one changed resource', async () => {
    kube.resetCounts();
    const revision = await put(baseSet('red'));
    await converged(revision);
    // A drift pass too: it reads what it applied, and must not write.
    const mark = kube.requests.length;
    await passesFinished(1, mark);
    expect(since(mark, { method: 'GET', pathIncludes: `/namespaces/${NS}/configmaps/cm-0` })).toBeGreaterThan(
      0,
    );
    expect(kube.count({ method: 'PATCH' })).toBe(1);
    expect(kube.count({ method: 'PATCH', pathIncludes: '/configmaps/cm-0' })).toBe(1);
    expect((await kube.get('v1', 'ConfigMap', NS, 'cm-0'))?.data).toEqual({ color: 'red' });
  });

  it('prunes what left the set and never touches an object it did not create', async () => {
    await kube.put(configMap('foreign', { owner: 'someone else' }));
    kube.resetCounts();
    const revision = await put(
      baseSet('red').filter((m) => (m as { metadata: { name: string } }).metadata.name !== 'cm-1'),
    );
    const listed = await converged(revision);
    expect(listed.resources.find((r) => r.name === 'cm-1')).toMatchObject({
      desired: false,
      status: 'pruned',
    });
    expect(await kube.get('v1', 'ConfigMap', NS, 'cm-1')).toBeUndefined();
    expect((await kube.get('v1', 'ConfigMap', NS, 'foreign'))?.data).toEqual({ owner: 'someone else' });
    expect(kube.count({ method: 'DELETE' })).toBe(1);
    expect(kube.count({ pathIncludes: '/configmaps/foreign', method: 'PATCH' })).toBe(0);
    expect(kube.count({ pathIncludes: '/configmaps/foreign', method: 'DELETE' })).toBe(0);
  });

  it('repairs drift: a deleted object comes back, an edited one is restored, a create-once edit stays', async () => {
    await kube.remove('v1', 'ConfigMap', NS, 'cm-2');
    await kube.put(configMap('cm-3', { color: 'hacked' }));
    await kube.put({ ...seed, data: { initial: 'edited by hand' } });
    await eventually(
      'cm-2 recreated and cm-3 restored',
      async () =>
        (await kube.get('v1', 'ConfigMap', NS, 'cm-2')) &&
        ((await kube.get('v1', 'ConfigMap', NS, 'cm-3'))?.data as { color?: string } | undefined)?.color ===
          'gray'
          ? true
          : undefined,
      10_000,
      100,
    );
    // Two more passes, each of which looked at the create-once object and left it alone.
    const mark = kube.requests.length;
    await passesFinished(2, mark);
    expect(
      since(mark, { method: 'GET', pathIncludes: `/namespaces/${NS}/configmaps/seed` }),
    ).toBeGreaterThanOrEqual(2);
    expect(since(mark, { method: 'PATCH', pathIncludes: '/configmaps/seed' })).toBe(0);
    expect((await kube.get('v1', 'ConfigMap', NS, 'seed'))?.data).toEqual({ initial: 'edited by hand' });
    // A create-once object deleted by hand is created again.
    await kube.remove('v1', 'ConfigMap', NS, 'seed');
    await eventually('seed recreated', () => kube.get('v1', 'ConfigMap', NS, 'seed'), 10_000, 100);
    const listed = await resources();
    expect(listed.resources.filter((r) => r.desired && r.status !== 'applied')).toEqual([]);
  });

  it("reports a manifest the API server rejects as failed with the server's message, the rest applied", async () => {
    {
      // Valid for the gateway, invalid for the API server: a ConfigMap key with a space.
      const revision = await put([...baseSet('red'), configMap('cm-bad', { 'bad key': 'x' })]);
      const listed = await eventually(
        'cm-bad failed',
        async () => {
          const current = await resources();
          return current.revision === revision &&
            current.resources.find((r) => r.name === 'cm-bad')?.status === 'failed'
            ? current
            : undefined;
        },
        20_000,
        100,
      );
      expect(listed.resources.find((r) => r.name === 'cm-bad')?.message).toContain(
        'a valid config key must consist',
      );
      const others = listed.resources.filter((r) => r.desired && r.name !== 'cm-bad');
      expect(others.filter((r) => r.status !== 'applied')).toEqual([]);
      const cluster = await stack.cluster(clusterId);
      expect(cluster.resources_sync_state).toBe('not_configured');
      expect(cluster.resources_sync_message).toContain('1 failed');
    }
    await converged(await put(baseSet('red')));
  });

  it('sends telemetry: capacity, versions and components', async () => {
    const sample = await eventually('a telemetry sample', async () => {
      const response = await api(stack.gateway.url, 'GET', `/api/v1/clusters/${clusterId}/telemetry`, {
        token: stack.operator,
      });
      return response.status === 200 ? response.body : undefined;
    });
    // What the cluster itself says, read as another client would.
    const nodes = await kube.list('v1', 'Node');
    expect(sample.nodes).toBe(nodes.length);
    expect(sample.kubernetes_version).toBe(await kube.version());
    if (kube.double) {
      expect(sample, JSON.stringify(sample)).toMatchObject({
        nodes: 2,
        cpus: 7.8,
        memory_bytes: 24 * 2 ** 30,
        storage_bytes: 10 * 2 ** 30,
        kubernetes_version: 'v1.31.0',
        platform_version: 'v1.62.3',
      });
      expect(sample.components).toContainEqual({ name: 'd8-system/Deployment/deckhouse', ready: true });
    }
  });

  it('converges to the newest set after changes made while the agent was stopped', async () => {
    await agent.command.stop();
    await put(baseSet('one'));
    await put(baseSet('two'));
    const newest = await put([...baseSet('three'), configMap('late', { added: 'offline' })]);
    agent = await startAgent(agent.stateDir);
    await converged(newest);
    expect((await kube.get('v1', 'ConfigMap', NS, 'cm-0'))?.data).toEqual({ color: 'three' });
    expect(await kube.get('v1', 'ConfigMap', NS, 'late')).toBeDefined();
  });

  it('keeps every telemetry sample taken during a gateway outage, once each and in order', async () => {
    const port = stack.gateway.port;
    await stack.gateway.command.stop();
    // Meanwhile the agent keeps enforcing the set it holds.
    await kube.remove('v1', 'ConfigMap', NS, 'cm-4');
    await eventually(
      'cm-4 repaired while the gateway is down',
      () => kube.get('v1', 'ConfigMap', NS, 'cm-4'),
      5000,
      100,
    );
    // The samples counted start with the first one begun after the outage began: by the time the
    // test sees its request, the one before it is stored and the next one has not started.
    const first = kube.requests.length;
    await eventually('a sample during the outage', () =>
      since(first, { method: 'GET', path: NODES_PATH }) > 0 ? true : undefined,
    );
    const outageStart = Date.now();
    const mark = kube.requests.length;
    await eventually(
      'five more samples during the outage',
      () => (since(mark, { method: 'GET', path: NODES_PATH }) >= 5 ? true : undefined),
      30_000,
      100,
    );
    const taken = since(mark, { method: 'GET', path: NODES_PATH });
    const outageEnd = Date.now();
    await stack.startGateway(port);
    const history = await eventually('a sample from after the outage', async () => {
      const response = await api(
        stack.gateway.url,
        'GET',
        `/api/v1/clusters/${clusterId}/telemetry/history`,
        {
          token: stack.operator,
        },
      );
      expect(response.status, response.text).toBe(200);
      const samples = response.body as Array<{ time: string }>;
      // The agent sends what it kept before anything newer, so these came after all of it.
      return samples.some((s) => Date.parse(s.time) > outageEnd) ? samples : undefined;
    });
    const times = history.map((s) => Date.parse(s.time));
    // Once each, in order: no sample twice.
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
    // Every sample the agent took while the gateway was away arrived (one begun just before the
    // end may be there too).
    const during = times.filter((t) => t > outageStart && t < outageEnd);
    expect(during.length).toBeGreaterThanOrEqual(taken);
    expect(during.length).toBeLessThanOrEqual(taken + 1);
  });

  it('refuses to sync a Kubernetes cluster that another Commander owns, and says why', async () => {
    const ownership = (await kube.get('v1', 'ConfigMap', 'kube-system', 'commander-ownership')) as KubeObject;
    await kube.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'commander-ownership', namespace: 'kube-system' },
      data: { 'cluster-uuid': '00000000-0000-4000-8000-000000000000', installation: 'https://other.example' },
    });
    kube.resetCounts();
    const refusedRevision = await put([
      ...baseSet('three'),
      configMap('late', { added: 'offline' }),
      configMap('refused', { a: 'b' }),
    ]);
    // The agent has the set that adds `refused`, and a pass that began after it arrived is over:
    // that pass would have applied it.
    await waitForLog(agent.command, 'desired set received', { fields: { revision: refusedRevision } });
    await passesFinished(1);
    const cluster = await eventually('the refusal in the cluster status', async () => {
      const current = await stack.cluster(clusterId);
      return current.resources_sync_message?.includes('another Commander') ? current : undefined;
    });
    expect(cluster.resources_sync_state).toBe('not_configured');
    expect(cluster.resources_sync_message).toContain('https://other.example');
    expect(kube.count({ method: 'PATCH' })).toBe(0);
    expect(await kube.get('v1', 'ConfigMap', NS, 'refused')).toBeUndefined();

    // Ours again: it syncs again.
    await kube.put({ ...ownership, metadata: { name: 'commander-ownership', namespace: 'kube-system' } });
    const revision = (await resources()).revision;
    await converged(revision);
    expect(await kube.get('v1', 'ConfigMap', NS, 'refused')).toBeDefined();
  });
});
