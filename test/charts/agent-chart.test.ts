// The commander-agent chart: helm lint and helm template over its values files (the minimum, a
// custom CA with an existing token Secret and narrowed rules), every object checked against the
// Kubernetes schemas, the RBAC least privilege it claims, and the agent's own config parser
// reading what the pod would get (its CA file included).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_SECRET, loadAgentConfig } from '../../agent/config.js';
import { OWNERSHIP } from '../../agent/reconciler.js';
import { Helm, requireHelm } from '../support/helm.js';
import { schemaErrors } from '../support/kube-schema.js';
import { all, one, podEnvironment, type Rendered } from './rendered.js';

const CHART = fileURLToPath(new URL('../../charts/commander-agent', import.meta.url));
const CLUSTER = '6f1c2c52-7a53-4a3e-9f0e-0b7d2f0d7a11';
const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];
const ESCALATING_VERBS = ['escalate', 'bind', 'impersonate', '*'];

describe('charts/commander-agent', () => {
  const helmPath = requireHelm();
  let helm: Helm;
  let root: string;

  const render = (values: string) =>
    helm.template(CHART, { release: 'agent', namespace: 'edge', valuesFiles: [join(CHART, 'ci', values)] });
  /** The agent's config as `commander agent` parses it inside the pod. */
  const agentConfig = (objects: Rendered[], external: Record<string, Record<string, string>> = {}) => {
    const deployment = one(objects, 'Deployment', 'agent');
    const pod = deployment.spec.template.spec;
    const env = podEnvironment(objects, pod, 'agent', mkdtempSync(join(root, 'pod-')), external);
    const args: string[] = pod.containers[0].args;
    expect(args[0]).toBe('agent');
    const flags: Record<string, string> = {};
    for (let i = 1; i < args.length; i += 2) flags[String(args[i]).replace(/^--/, '')] = String(args[i + 1]);
    return { config: loadAgentConfig(flags, env, 'edge'), env, deployment };
  };

  beforeAll(() => {
    if (helmPath) helm = new Helm(helmPath);
    root = mkdtempSync(join(tmpdir(), 'commander-agent-chart-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const values of ['minimal-values.yaml', 'custom-ca-values.yaml']) {
    it.skipIf(!helmPath)(`lints and renders valid Kubernetes objects: ${values}`, async () => {
      const lint = await helm.run(['lint', '--strict', CHART, '--values', join(CHART, 'ci', values)]);
      expect(lint.code, lint.stdout + lint.stderr).toBe(0);
      const objects = await render(values);
      for (const object of objects) expect(await schemaErrors(object)).toEqual([]);
      const pod = one(objects, 'Deployment', 'agent').spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
      expect(pod.containers[0].securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
    });
  }

  it.skipIf(!helmPath)(
    'passes the agent what it reads: URL, token file, allow list, identity Secret',
    async () => {
      const objects = await render('minimal-values.yaml');
      const { config, env, deployment } = agentConfig(objects);
      expect(config.url.href).toBe(`wss://commander.example.com/agent_api/${CLUSTER}`);
      expect(config.clusterId).toBe(CLUSTER);
      expect(config.allowText).toEqual(['10.0.0.10:22']);
      expect(config.identitySecret).toEqual({ namespace: 'edge', name: DEFAULT_IDENTITY_SECRET });
      expect(config.ca).toBeUndefined();
      expect(readFileSync(String(config.tokenFile), 'utf8')).toBe('eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl');
      expect(env.COMMANDER_AGENT_STATE_DIR).toMatch(/\/var\/lib\/commander-agent$/);
      expect(deployment.spec.replicas).toBe(1);
      expect(deployment.spec.strategy.type).toBe('Recreate');
      // The state dir is scratch: the key lives in the Secret.
      const state = deployment.spec.template.spec.volumes.find((v: Rendered) => v.name === 'state');
      expect(state).toEqual({ name: 'state', emptyDir: {} });
      expect(all(objects, 'Namespace')).toEqual([]);
    },
  );

  it.skipIf(!helmPath)(
    'least privilege: reads for telemetry, its own Secret by name, writes as configured',
    async () => {
      const objects = await render('minimal-values.yaml');
      const sa = one(objects, 'ServiceAccount', 'agent');
      const subject = { kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'edge' };
      const bindings = [...all(objects, 'ClusterRoleBinding'), ...all(objects, 'RoleBinding')];
      for (const binding of bindings) expect(binding.subjects).toEqual([subject]);
      const roleOf = (binding: Rendered) =>
        one(objects, binding.roleRef.kind, binding.roleRef.name) as Rendered & { rules: Rendered[] };
      const granted: Rendered[] = bindings.flatMap((binding) => roleOf(binding).rules);
      // Nothing escalates: no escalate, bind, impersonate, no non-resource URLs.
      for (const rule of granted) {
        expect(rule.verbs.filter((verb: string) => ESCALATING_VERBS.includes(verb))).toEqual([]);
        expect(rule.nonResourceURLs).toBeUndefined();
      }
      const telemetry = one(objects, 'ClusterRole', '-telemetry');
      for (const rule of telemetry.rules)
        expect(rule.verbs.filter((verb: string) => WRITE_VERBS.includes(verb))).toEqual([]);
      expect(telemetry.rules).toContainEqual(
        expect.objectContaining({ resources: ['nodes', 'persistentvolumes', 'persistentvolumeclaims'] }),
      );
      // Its own key: get and update on that one Secret; create (which no name can limit) on Secrets of its namespace.
      const identity = one(objects, 'Role', '-identity');
      expect(identity.metadata.namespace).toBe('edge');
      expect(identity.rules).toEqual([
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: [DEFAULT_IDENTITY_SECRET],
          verbs: ['get', 'update'],
        },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ]);
      const ownership = one(objects, 'Role', '-ownership');
      expect(ownership.metadata.namespace).toBe(OWNERSHIP.namespace);
      expect(ownership.rules[0].resourceNames).toEqual([OWNERSHIP.name]);
      // The managed resources: the configured rules, as they are.
      expect(one(objects, 'ClusterRole', '-manage').rules).toEqual([
        { apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] },
      ]);
    },
  );

  it.skipIf(!helmPath)(
    'a custom CA the agent pins, an existing token Secret, narrowed rules, more flags',
    async () => {
      const objects = await render('custom-ca-values.yaml');
      const ca = readFileSync(join(CHART, 'ci', 'custom-ca-values.yaml'), 'utf8');
      expect(all(objects, 'Secret')).toEqual([]);
      const { config } = agentConfig(objects, { 'edge-enrollment': { token: 'from.existing.secret' } });
      expect(config.ca?.toString()).toContain('-----BEGIN CERTIFICATE-----');
      expect(ca).toContain(String(config.ca?.toString().split('\n')[1]));
      // The CA's key (as openssl computes the pin) and the next one, through the agent's own parser.
      expect(config.pins).toEqual([
        'W3IYHySVbXkSz+lMspeFyrUR1/Krx2m2byX7voVyJYs=',
        'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      ]);
      expect(readFileSync(String(config.tokenFile), 'utf8')).toBe('from.existing.secret');
      expect(config.identitySecret).toEqual({ namespace: 'edge', name: 'edge-agent-key' });
      expect(config.syncIntervalMs).toBe(30_000);
      expect(config.componentNamespaces).toEqual(['kube-system']);
      expect(one(objects, 'Role', '-identity').rules[0].resourceNames).toEqual(['edge-agent-key']);
      expect(one(objects, 'ClusterRole', '-manage').rules).toEqual([
        {
          apiGroups: ['', 'apps'],
          resources: ['configmaps', 'deployments'],
          verbs: ['get', 'list', 'create', 'patch', 'delete'],
        },
      ]);
    },
  );

  it.skipIf(!helmPath)(
    'refuses to render without the commander URL, or with a bad allow entry or pin',
    async () => {
      const defaults = await helm.run(['template', 'agent', CHART]);
      expect(defaults.code).not.toBe(0);
      expect(defaults.stderr).toMatch(/commander\.url is required/);
      const badAllow = await helm.run([
        'template',
        'agent',
        CHART,
        '--set',
        `commander.url=https://x.example/agent_api/${CLUSTER}`,
        '--set',
        'allow={nope}',
      ]);
      expect(badAllow.code).not.toBe(0);
      expect(badAllow.stderr).toMatch(/allow\/0/);
      const badPin = await helm.run([
        'template',
        'agent',
        CHART,
        '--set',
        `commander.url=https://x.example/agent_api/${CLUSTER}`,
        '--set',
        'commander.pinSha256={sha256//abc}',
      ]);
      expect(badPin.code).not.toBe(0);
      expect(badPin.stderr).toMatch(/pinSha256\/0/);
    },
  );

  it('the schema check can fail: a misspelled field, a wrong type, a missing required field', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        replicas: 'two',
        selector: { matchLabels: { a: 'b' } },
        template: { spec: { containers: [{ name: 'c', imagee: 'x' }, { image: 'y' }] } },
      },
    };
    const errors = await schemaErrors(deployment);
    expect(errors).toContainEqual(expect.stringMatching(/spec\/replicas must be integer/));
    expect(errors).toContainEqual(expect.stringMatching(/containers\/1 must have required property name/));
    expect(errors).toContainEqual(expect.stringMatching(/containers\[0\]\.imagee: unknown field/));
    expect(
      await schemaErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
    ).toEqual(['Widget/w: no schema for example.com/v1 Widget']);
  });
});
