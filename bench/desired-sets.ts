// Desired sets of realistic resources for the sync benches: ConfigMaps and Deployments of about
// 1-2 KiB each in one namespace. ConfigMap config-0's `version` value is the one thing that differs
// between the sets of two revisions.
import { stringify } from 'yaml';
import { gatewayMetric } from './harness.js';

const LOREM =
  'Commander keeps the desired state of every cluster of a fleet and lets the agents pull only ' +
  'what changed since the revision they hold; ';

function configMap(namespace: string, index: number, version: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `config-${index}`,
      namespace,
      labels: { 'app.kubernetes.io/name': `service-${index}`, 'app.kubernetes.io/part-of': 'bench' },
    },
    data: {
      version,
      'application.yaml': `server:\n  port: 8080\nlogging:\n  level: info\n${LOREM.repeat(4)}\n`,
      'features.json': JSON.stringify({
        search: true,
        export: index % 3 === 0,
        beta: false,
        limit: 100 + index,
      }),
      'notes.txt': LOREM.repeat(3),
    },
  };
}

function deployment(namespace: string, index: number): Record<string, unknown> {
  const name = `service-${index}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'bench' },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'bench' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: `registry.example.com/bench/${name}:v1.${index % 17}.3`,
              args: ['--config', '/etc/app/application.yaml', '--listen', ':8080'],
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [
                { name: 'SERVICE_NAME', value: name },
                { name: 'LOG_FORMAT', value: 'json' },
                { name: 'REGION', value: 'eu-central' },
              ],
              resources: {
                requests: { cpu: '100m', memory: '128Mi' },
                limits: { cpu: '500m', memory: '512Mi' },
              },
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: '/livez', port: 'http' }, periodSeconds: 20 },
              volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: `config-${index}` } }],
        },
      },
    },
  };
}

/**
 * `count` resources in `namespace` (not including the Namespace itself), alternating ConfigMaps
 * and Deployments; resource 0 is ConfigMap config-0 with data.version = `version`.
 */
export function desiredSet(namespace: string, count: number, version: string): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0 ? configMap(namespace, i, i === 0 ? version : 'stable') : deployment(namespace, i),
  );
}

/** The Namespace, then `count` ConfigMaps in it; config-0 has data.version = `version`. */
export function configMapSet(namespace: string, count: number, version: string): Record<string, unknown>[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    ...Array.from({ length: count }, (_, i) => configMap(namespace, i, i === 0 ? version : 'stable')),
  ];
}

/** The gateway's commander_agent_desired_bytes_total (GET /metrics needs a token). */
export function desiredBytesSent(gateway: { url: string; token: string }): Promise<number> {
  return gatewayMetric(gateway, 'commander_agent_desired_bytes_total');
}

/**
 * About `mib` MiB of multi-document YAML within every limit of a set: Deployments alternating
 * with ConfigMaps that carry ~10 KiB of notes, 6 KiB per resource on average (5,000 for 30 MiB).
 */
export function largeYamlSet(namespace: string, mib: number): { yaml: string; resources: number } {
  const notes = `${LOREM.repeat(80)}\n`;
  const documents: string[] = [];
  let size = 0;
  for (let i = 0; size < mib * 1024 * 1024; i++) {
    const manifest = i % 2 === 0 ? configMap(namespace, i, 'stable') : deployment(namespace, i);
    if (i % 2 === 0) (manifest.data as Record<string, string>)['notes.txt'] = notes;
    const document = stringify(manifest, { lineWidth: 0 });
    documents.push(document);
    size += Buffer.byteLength(document) + 4;
  }
  return { yaml: documents.join('---\n'), resources: documents.length };
}
