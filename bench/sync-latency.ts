// PUT → applied in the cluster, and → visible as applied in the API, for one real agent: a
// `commander agent` process (--sync-interval 60, so only nudges make it pull) whose --kubeconfig
// points at the Kubernetes API double (test/support/kube-api.ts) running in this process.
// The set is a Namespace and 20 ConfigMaps; each change PUTs the whole set again with ConfigMap
// config-0's data.version changed. From just before the PUT is sent it measures:
// - put: until the PUT's response arrives (the bare API call, for context);
// - applied: until the double stores config-0 with the new value (polled every 2 ms in-process);
// - reported: until GET /api/v1/clusters/:id/resources shows config-0 `applied` at the new
//   revision (polled back to back, starting once the double has it, so the polling does not load
//   the gateway while the change is on its way).
// WARMUP changes first, then CHANGES measured; p50/p99 of each. Target: applied_p99 < 1 s.

import { startKubeApi } from '../test/support/kube-api.js';
import { configMapSet } from './desired-sets.js';
import { api, log, Resources, sleep, startAgent, startGateway } from './harness.js';
import { percentile, report } from './report.js';

const BENCH = 'sync-latency';
const CONFIGMAPS = 20;
const WARMUP = 5;
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const NAMESPACE = 'bench';
const POLL_MS = 2;
const TIMEOUT_MS = 10_000;

interface Listed {
  revision: number;
  resources: Array<{ kind: string; name: string; status: string; applied_revision: number | null }>;
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + TIMEOUT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  const kube = await startKubeApi();
  resources.onClose(() => kube.close());
  try {
    const gateway = await startGateway(resources, databaseUrl);
    const kubeconfig = kube.writeKubeconfig(resources.tempDir('commander-bench-kube-'));
    const { clusterId } = await startAgent(resources, gateway, {
      args: ['--kubeconfig', kubeconfig, '--sync-interval', '60'],
    });
    const path = `/api/v1/clusters/${clusterId}/resources`;
    const appliedInApi = async (revision: number) => {
      const listed = await api<Listed>(gateway, 'GET', path);
      const resource = listed.resources.find((r) => r.kind === 'ConfigMap' && r.name === 'config-0');
      return resource?.status === 'applied' && (resource.applied_revision ?? 0) >= revision
        ? true
        : undefined;
    };
    const inCluster = (version: string) =>
      (kube.get('v1', 'ConfigMap', NAMESPACE, 'config-0') as { data?: Record<string, string> } | undefined)
        ?.data?.version === version || undefined;

    const first = await api<{ revision: number }>(
      gateway,
      'PUT',
      path,
      configMapSet(NAMESPACE, CONFIGMAPS, 'v0'),
    );
    await until('the first set applied', async () => {
      const listed = await api<Listed>(gateway, 'GET', path);
      return listed.resources.every(
        (r) => r.status === 'applied' && (r.applied_revision ?? 0) >= first.revision,
      )
        ? true
        : undefined;
    });
    log(`${BENCH}: ${CONFIGMAPS + 1} resources applied by the agent; ${WARMUP} + ${CHANGES} changes follow`);

    const put: number[] = [];
    const applied: number[] = [];
    const reported: number[] = [];
    for (let i = 1; i <= WARMUP + CHANGES; i++) {
      const version = `v${i}`;
      const body = configMapSet(NAMESPACE, CONFIGMAPS, version);
      const started = performance.now();
      const inClusterAt = until('the change in the cluster', () => inCluster(version)).then(() =>
        performance.now(),
      );
      inClusterAt.catch(() => {}); // awaited below; no unhandled rejection should the PUT fail first
      const { revision } = await api<{ revision: number }>(gateway, 'PUT', path, body);
      const putAt = performance.now();
      const appliedAt = await inClusterAt;
      await until('the change applied in the API', () => appliedInApi(revision));
      const reportedAt = performance.now();
      if (i <= WARMUP) continue;
      put.push(putAt - started);
      applied.push(appliedAt - started);
      reported.push(reportedAt - started);
    }
    for (const list of [put, applied, reported]) list.sort((a, b) => a - b);
    log(
      `${BENCH}: ${CHANGES} changes; max put ${put.at(-1)?.toFixed(1)} ms, applied ${applied.at(-1)?.toFixed(1)} ms, ` +
        `reported ${reported.at(-1)?.toFixed(1)} ms; the double saw ${kube.count({ method: 'PATCH' })} PATCH requests`,
    );
    report({ bench: BENCH, metric: 'put_p50', value: percentile(put, 50), unit: 'ms' });
    report({ bench: BENCH, metric: 'put_p99', value: percentile(put, 99), unit: 'ms' });
    report({ bench: BENCH, metric: 'applied_p50', value: percentile(applied, 50), unit: 'ms' });
    report({ bench: BENCH, metric: 'applied_p99', value: percentile(applied, 99), unit: 'ms' });
    report({ bench: BENCH, metric: 'reported_p50', value: percentile(reported, 50), unit: 'ms' });
    report({ bench: BENCH, metric: 'reported_p99', value: percentile(reported, 99), unit: 'ms' });
  } finally {
    await resources.close();
  }
}
