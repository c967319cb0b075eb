// The commander chart: helm lint and helm template over its values files (defaults, HA, an
// external database, the ingress, the gateway's own TLS), every rendered object checked against
// the Kubernetes schemas, and the environment each container gets read by the programs' own
// config parsers. The encryption keys Secret is generated once: rendered against a Kubernetes
// API (the double) that holds it from the first install, the chart gives the same keys back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInstallers } from '../../manager/installers.js';
import { loadConfig } from '../../shared/config.js';
import { RESOURCE_LIMITS } from '../../shared/manifests.js';
import { Helm, renderedObjects, requireHelm } from '../support/helm.js';
import { startKubeApi } from '../support/kube-api.js';
import { schemaErrors } from '../support/kube-schema.js';
import { all, one, podEnvironment, type Rendered } from './rendered.js';

const CHART = fileURLToPath(new URL('../../charts/commander', import.meta.url));
const VALUES = {
  defaults: undefined,
  ha: 'ha-values.yaml',
  externalDb: 'external-db-values.yaml',
  ingress: 'ingress-values.yaml',
  gatewayTls: 'gateway-tls-values.yaml',
} as const;
const KEY_NAMES = [
  'COMMANDER_ENCRYPTION_PRIMARY_KEY',
  'COMMANDER_ENCRYPTION_DETERMINISTIC_KEY',
  'COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT',
];
/** Secrets the operator makes before installing (README of the chart: docs/deploy.md). */
const EXTERNAL = {
  'commander-database': { url: 'postgres://commander:pw@pg-primary:5432/commander' },
  'pg-commander-app': { uri: 'postgres://app:pw@pg-commander-rw:5432/app' },
  'commander-keys': Object.fromEntries(KEY_NAMES.map((name) => [name, 'k'.repeat(43)])),
  'commander-gateway-tls': {
    'tls.crt': '-----BEGIN CERTIFICATE-----\n',
    'tls.key': '-----BEGIN PRIVATE KEY-----\n',
    'ca.crt': '-----BEGIN CERTIFICATE-----\n',
  },
};

describe('charts/commander', () => {
  const helmPath = requireHelm();
  let helm: Helm;
  let root: string;
  const rendered = new Map<string, Rendered[]>();

  const render = async (values: string | undefined) => {
    const key = values ?? 'defaults';
    const cached = rendered.get(key);
    if (cached) return cached;
    const objects = await helm.template(CHART, {
      release: 'cmdr',
      namespace: 'ops',
      valuesFiles: values ? [join(CHART, 'ci', values)] : [],
    });
    rendered.set(key, objects);
    return objects;
  };
  /** The env of a Deployment's or Job's container, as its process would get it. */
  const environment = (objects: Rendered[], workload: Rendered, container: string) => {
    const dir = mkdtempSync(join(root, 'pod-'));
    return podEnvironment(objects, workload.spec.template.spec, container, dir, EXTERNAL);
  };

  beforeAll(() => {
    if (helmPath) helm = new Helm(helmPath);
    root = mkdtempSync(join(tmpdir(), 'commander-chart-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const [name, values] of Object.entries(VALUES)) {
    it.skipIf(!helmPath)(`lints and renders valid Kubernetes objects: ${name}`, async () => {
      const lint = await helm.run([
        'lint',
        '--strict',
        CHART,
        ...(values ? ['--values', join(CHART, 'ci', values)] : []),
      ]);
      expect(lint.code, lint.stdout + lint.stderr).toBe(0);
      const objects = await render(values);
      expect(objects.length).toBeGreaterThanOrEqual(4);
      for (const object of objects) expect(await schemaErrors(object)).toEqual([]);
      // What every workload gets: non-root, read-only root, no capabilities, no API token.
      for (const workload of [...all(objects, 'Deployment'), ...all(objects, 'Job')]) {
        const pod = workload.spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
        expect(pod.automountServiceAccountToken).toBe(false);
        for (const container of pod.containers) {
          expect(container.securityContext).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.resources.requests).toBeDefined();
          expect(container.image).toBe('ghcr.io/commander/commander:0.1.0');
        }
      }
    });
  }

  it.skipIf(!helmPath)(
    'defaults: gateway and manager apart, probes, PDBs, a migration hook, no ingress',
    async () => {
      const objects = await render(VALUES.defaults);
      const gateway = one(objects, 'Deployment', '-gateway');
      const manager = one(objects, 'Deployment', '-manager');
      expect(gateway.spec.replicas).toBe(2);
      expect(manager.spec.replicas).toBe(2);
      expect(gateway.spec.template.spec.containers[0].args).toEqual(['gateway']);
      expect(manager.spec.template.spec.containers[0].args).toEqual(['manager']);
      const container = gateway.spec.template.spec.containers[0];
      expect(container.livenessProbe.httpGet).toMatchObject({
        path: '/healthz',
        port: 'http',
        scheme: 'HTTP',
      });
      expect(container.readinessProbe.httpGet).toMatchObject({
        path: '/readyz',
        port: 'http',
        scheme: 'HTTP',
      });
      expect(container.startupProbe.httpGet.path).toBe('/healthz');
      // The Service reaches the port the gateway listens on.
      const service = one(objects, 'Service', '-gateway');
      expect(service.spec.ports[0].targetPort).toBe('http');
      expect(service.spec.selector).toEqual(gateway.spec.selector.matchLabels);
      const gatewayEnv = environment(objects, gateway, 'gateway');
      const config = loadConfig(gatewayEnv);
      expect(config.listen).toEqual({ host: '0.0.0.0', port: container.ports[0].containerPort });
      // Peers reach each replica's link at its pod IP.
      expect(config.replicaLink).toEqual({
        listen: { host: '0.0.0.0', port: 8081 },
        address: '10.1.2.3:8081',
      });
      expect(config.databaseUrl).toBe(EXTERNAL['commander-database'].url);
      expect(config.encryption?.primaryKeys[0]).toHaveLength(43);
      expect(config.publicUrl).toBe('http://cmdr-commander-gateway.ops.svc:8080');
      // docs/operations.md: a preStop sleep, then the shutdown timeout and 5 s more to close the pool.
      const [sleep, seconds] = container.lifecycle.preStop.exec.command;
      expect(sleep).toBe('sleep');
      expect(Number(seconds)).toBeGreaterThan(0);
      expect(gateway.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
        Number(seconds) + config.shutdownTimeoutMs / 1000 + 5,
      );
      const managerConfig = loadConfig(environment(objects, manager, 'manager'));
      expect(managerConfig.gatewayUrl).toBe('http://cmdr-commander-gateway.ops.svc:8080');
      expect(managerConfig.agentImage).toBe('ghcr.io/commander/commander:0.1.0');
      expect(managerConfig.encryption).toEqual(config.encryption);

      const pdbs = all(objects, 'PodDisruptionBudget');
      expect(pdbs.map((pdb) => [pdb.metadata.name, pdb.spec.maxUnavailable])).toEqual([
        ['cmdr-commander-gateway', 1],
        ['cmdr-commander-manager', 1],
      ]);
      expect(pdbs[0]?.spec.selector).toEqual(gateway.spec.selector);
      expect(all(objects, 'Ingress')).toEqual([]);

      const job = one(objects, 'Job', '-migrate');
      expect(job.metadata.annotations).toMatchObject({
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
      });
      expect(job.spec.template.spec.containers[0].args).toEqual(['migrate']);
      expect(loadConfig(environment(objects, job, 'migrate')).databaseUrl).toBe(
        EXTERNAL['commander-database'].url,
      );
      // Before install the chart's own objects do not exist yet: the Job needs none of them.
      expect(JSON.stringify(job)).not.toContain('cmdr-commander-encryption');

      const keys = one(objects, 'Secret', '-encryption');
      expect(keys.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
      expect(Object.keys(keys.data).sort()).toEqual([...KEY_NAMES].sort());
    },
  );

  it.skipIf(!helmPath)('HA: replicas, spread, PDBs, and an installers file the manager reads', async () => {
    const objects = await render(VALUES.ha);
    const gateway = one(objects, 'Deployment', '-gateway');
    const manager = one(objects, 'Deployment', '-manager');
    expect([gateway.spec.replicas, manager.spec.replicas]).toEqual([3, 3]);
    expect(gateway.spec.template.spec.topologySpreadConstraints[0].topologyKey).toBe(
      'kubernetes.io/hostname',
    );
    expect(one(objects, 'PodDisruptionBudget', '-gateway').spec).toMatchObject({ maxUnavailable: 1 });
    const managerPdb = one(objects, 'PodDisruptionBudget', '-manager').spec;
    expect(managerPdb.minAvailable).toBe(2);
    expect(managerPdb.maxUnavailable).toBeUndefined();
    const env = environment(objects, manager, 'manager');
    const installers = loadInstallers(loadConfig(env).installersFile);
    expect(installers.defaultVersion).toBe('1.0');
    expect(installers.byVersion.get('1.0')?.install).toBe('sh {bundle}/install.sh');
  });

  it.skipIf(!helmPath)('an external database and keys: both from Secrets the operator made', async () => {
    const objects = await render(VALUES.externalDb);
    expect(all(objects, 'Secret')).toEqual([]);
    expect(all(objects, 'PodDisruptionBudget')).toEqual([]);
    for (const [workload, container] of [
      [one(objects, 'Deployment', '-gateway'), 'gateway'],
      [one(objects, 'Deployment', '-manager'), 'manager'],
    ] as const) {
      const config = loadConfig(environment(objects, workload, container));
      expect(config.databaseUrl).toBe(EXTERNAL['pg-commander-app'].uri);
      expect(config.dbPoolMax).toBe(20);
      expect(config.encryption?.salt).toBe('k'.repeat(43));
    }
  });

  it.skipIf(!helmPath)(
    'the ingress: WebSocket timeouts, body size, TLS, and the public URL from its host',
    async () => {
      const objects = await render(VALUES.ingress);
      const ingress = one(objects, 'Ingress', 'cmdr-commander');
      expect(ingress.metadata.annotations).toEqual({
        'cert-manager.io/cluster-issuer': 'letsencrypt',
        'nginx.ingress.kubernetes.io/proxy-read-timeout': '7200',
        'nginx.ingress.kubernetes.io/proxy-send-timeout': '7200',
        'nginx.ingress.kubernetes.io/proxy-body-size': `${RESOURCE_LIMITS.maxBodyBytes / 1024 / 1024}m`,
      });
      expect(ingress.spec.tls).toEqual([
        { hosts: ['commander.example.com'], secretName: 'commander-example-com-tls' },
      ]);
      expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({
        name: 'cmdr-commander-gateway',
        port: { name: 'http' },
      });
      const config = loadConfig(environment(objects, one(objects, 'Deployment', '-gateway'), 'gateway'));
      expect(config.publicUrl).toBe('https://commander.example.com');
      expect(config.trustProxy).toEqual(['10.0.0.0/8']);
      expect(config.oidc).toMatchObject({ issuer: 'https://login.example.com', audience: 'commander' });
    },
  );

  it.skipIf(!helmPath)(
    "the gateway's own TLS: HTTPS probes, and the ingress speaks HTTPS to it",
    async () => {
      const objects = await render(VALUES.gatewayTls);
      const gateway = one(objects, 'Deployment', '-gateway');
      const container = gateway.spec.template.spec.containers[0];
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(container[probe].httpGet.scheme).toBe('HTTPS');
      expect(
        one(objects, 'Ingress', 'cmdr-commander').metadata.annotations[
          'nginx.ingress.kubernetes.io/backend-protocol'
        ],
      ).toBe('HTTPS');
      // The certificate and key of the Secret the operator made are files where the gateway looks.
      const dir = mkdtempSync(join(root, 'pod-'));
      const env = podEnvironment(objects, gateway.spec.template.spec, 'gateway', dir, EXTERNAL);
      expect(loadConfig(env).tls).toEqual({
        certFile: join(dir, '/etc/commander/tls/tls.crt'),
        keyFile: join(dir, '/etc/commander/tls/tls.key'),
      });
      const tlsMount = container.volumeMounts.find((m: Rendered) => m.name === 'tls');
      expect(tlsMount.mountPath).toBe('/etc/commander/tls');
      expect(
        gateway.spec.template.spec.volumes.find((v: Rendered) => v.name === 'tls').secret.secretName,
      ).toBe('commander-gateway-tls');
      // The manager reaches that HTTPS, trusting the CA of the Secret's ca.crt.
      const manager = one(objects, 'Deployment', '-manager');
      const managerDir = mkdtempSync(join(root, 'pod-'));
      const managerConfig = loadConfig(
        podEnvironment(objects, manager.spec.template.spec, 'manager', managerDir, EXTERNAL),
      );
      expect(managerConfig.gatewayUrl).toBe('https://cmdr-commander-gateway.ops.svc:8080');
      expect(managerConfig.gatewayCaFile).toBe(join(managerDir, '/etc/commander/gateway-ca/ca.crt'));
    },
  );

  it.skipIf(!helmPath)('refuses bad values, naming them (values.schema.json)', async () => {
    const bad = async (...set: string[]) => {
      const result = await helm.run(['template', 'cmdr', CHART, ...set.flatMap((s) => ['--set', s])]);
      expect(result.code).not.toBe(0);
      return result.stderr;
    };
    expect(await bad('gateway.replicas=-1')).toMatch(/gateway\/replicas/);
    expect(await bad('unknownSetting=1')).toMatch(/unknownSetting/);
    expect(await bad('logLevel=loud')).toMatch(/logLevel/);
    expect(await bad('ingress.enabled=true')).toMatch(/ingress\.host is required/);
    expect(await bad('database.existingSecret=')).toMatch(/database\/existingSecret/);
    expect(await bad('manager.gatewayCa.secret=a', 'manager.gatewayCa.configMap=b')).toMatch(
      /manager\/gatewayCa/,
    );
  });

  it.skipIf(!helmPath)(
    'generates the encryption keys once: an upgrade reads them back from the cluster',
    async () => {
      const kube = await startKubeApi({ tls: true });
      try {
        kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops' } });
        const kubeconfig = kube.writeKubeconfig(root);
        const serverRender = async () =>
          renderedObjects(
            (
              await helm.run([
                'template',
                'cmdr',
                CHART,
                '--namespace',
                'ops',
                '--dry-run=server',
                '--kubeconfig',
                kubeconfig,
                // The double serves no OpenAPI document; the schemas are checked above.
                '--disable-openapi-validation',
              ])
            ).stdout,
          );
        const first = one(await serverRender(), 'Secret', '-encryption');
        expect(
          kube.count({ method: 'GET', pathIncludes: '/namespaces/ops/secrets/cmdr-commander-encryption' }),
        ).toBeGreaterThan(0);
        // Nothing there yet: each render makes new keys.
        expect(one(await serverRender(), 'Secret', '-encryption').data).not.toEqual(first.data);
        // The first install created it, as helm does (its ownership label and annotations).
        kube.put({
          ...first,
          metadata: {
            ...first.metadata,
            labels: { ...first.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' },
            annotations: {
              ...first.metadata.annotations,
              'meta.helm.sh/release-name': 'cmdr',
              'meta.helm.sh/release-namespace': 'ops',
            },
          },
        } as never);
        for (let upgrade = 0; upgrade < 2; upgrade += 1)
          expect(one(await serverRender(), 'Secret', '-encryption').data).toEqual(first.data);
      } finally {
        await kube.close();
      }
    },
  );
});
