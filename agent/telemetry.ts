// Telemetry samples from the cluster's Kubernetes API: capacity, versions and whether the
// platform's components are available.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { TelemetrySample } from '../shared/wire/control.js';
import type { Kube } from './kube.js';

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("4", "3800m", "16Gi", "1e9") as a number; 0 when unreadable. */
export function parseQuantity(text: unknown): number {
  if (typeof text === 'number') return text;
  if (typeof text !== 'string') return 0;
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(text.trim());
  const factor = match ? SUFFIXES[match[2] ?? ''] : undefined;
  if (!match || factor === undefined) return 0;
  return Number(match[1]) * factor;
}

type Workload = KubernetesObject & {
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ image?: string }> } } };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
  };
};

/** Available: every wanted replica (or scheduled daemon pod) is ready. */
function ready(kind: string, workload: Workload): boolean {
  const status = workload.status ?? {};
  if (kind === 'DaemonSet') return (status.numberReady ?? 0) >= (status.desiredNumberScheduled ?? 0);
  const wanted = workload.spec?.replicas ?? 1;
  return (status.readyReplicas ?? 0) >= wanted;
}

/** The tag of the first container's image: registry.example/deckhouse:v1.62.3 → v1.62.3. */
function imageTag(image: string | undefined): string {
  if (!image) return '';
  const name = image.split('@')[0] ?? '';
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(colon + 1) : '';
}

export async function collectTelemetry(
  kube: Kube,
  options: { platformVersionSource: { namespace: string; name: string }; componentNamespaces: string[] },
): Promise<TelemetrySample> {
  const time = new Date().toISOString();
  const [nodes, volumes, version, platform] = await Promise.all([
    kube.list('v1', 'Node'),
    kube.list('v1', 'PersistentVolume'),
    kube.version(),
    kube.read({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: options.platformVersionSource,
    }) as Promise<Workload | undefined>,
  ]);
  const capacity = (node: KubernetesObject, resource: string) =>
    parseQuantity((node as { status?: { capacity?: Record<string, string> } }).status?.capacity?.[resource]);
  const components: TelemetrySample['components'] = [];
  for (const namespace of options.componentNamespaces) {
    for (const kind of ['Deployment', 'DaemonSet', 'StatefulSet']) {
      for (const workload of (await kube.list('apps/v1', kind, namespace)) as Workload[]) {
        components.push({
          name: `${namespace}/${kind}/${workload.metadata?.name}`,
          ready: ready(kind, workload),
        });
      }
    }
  }
  return {
    time,
    // In millicores, as Kubernetes counts them (no float noise such as 7.800000000000001).
    cpus: Math.round(nodes.reduce((sum, node) => sum + capacity(node, 'cpu'), 0) * 1000) / 1000,
    memory_bytes: Math.round(nodes.reduce((sum, node) => sum + capacity(node, 'memory'), 0)),
    nodes: nodes.length,
    storage_bytes: Math.round(
      volumes.reduce(
        (sum, volume) =>
          sum +
          parseQuantity((volume as { spec?: { capacity?: { storage?: string } } }).spec?.capacity?.storage),
        0,
      ),
    ),
    kubernetes_version: version,
    platform_version: imageTag(platform?.spec?.template?.spec?.containers?.[0]?.image),
    components,
  };
}
