// The bootstrap bundle's agent.yaml and the commander-agent chart are one source: the bundle
// carries the chart rendered by helm with placeholders (manager/agent-chart.ts, generated here),
// and for the same inputs its agent.yaml holds exactly the objects `helm template` renders.
// UPDATE_AGENT_CHART=1 rewrites manager/agent-chart.ts from the chart.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AGENT_CHART } from '../../manager/agent-chart.js';
import { agentObjects, renderBundle } from '../../manager/bundle.js';
import { Helm, requireHelm } from '../support/helm.js';
import { schemaErrors } from '../support/kube-schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts', 'commander-agent');
const GENERATED = join(ROOT, 'manager', 'agent-chart.ts');
/** How the bundle installs the chart: its own namespace, created by the manifests themselves. */
const RELEASE = 'commander-agent';
const NAMESPACE = 'commander-agent';
/** Values no real input can hold; each marks where the bundle puts a cluster's own. */
const PLACEHOLDERS = {
  url: 'https://commander.invalid/agent_api/00000000-0000-0000-0000-000000000000',
  token: 'bundle-enrollment-token.invalid',
  allow: 'bundle-allow.invalid:1',
  image: 'commander.invalid/bundle-image:placeholder',
};

interface Inputs {
  agentUrl: string;
  enrollmentToken: string;
  allow: string[];
  image: string;
}

/** The chart values of the bundle for these inputs: the one place they are spelled. */
function bundleValues(inputs: Inputs): object {
  const colon = inputs.image.lastIndexOf(':');
  return {
    createNamespace: true,
    commander: { url: inputs.agentUrl },
    enrollment: { token: inputs.enrollmentToken },
    allow: inputs.allow,
    image: { repository: inputs.image.slice(0, colon), tag: inputs.image.slice(colon + 1) },
  };
}

function generatedSource(objects: unknown[]): string {
  const chart = { release: RELEASE, namespace: NAMESPACE, placeholders: PLACEHOLDERS, objects };
  return [
    '// Generated from charts/commander-agent by test/charts/agent-bundle.test.ts (run it with',
    "// UPDATE_AGENT_CHART=1 after changing the chart): `helm template` with the bootstrap bundle's",
    '// values, where each placeholder marks a value of the cluster. Do not edit by hand.',
    `export const AGENT_CHART = ${JSON.stringify(chart, null, 2)};`,
    '',
  ].join('\n');
}

describe('bootstrap bundle and agent chart', () => {
  const helmPath = requireHelm();
  let helm: Helm;
  let dir: string;

  const render = async (inputs: Inputs) => {
    const file = join(dir, `values-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(bundleValues(inputs)));
    return helm.template(CHART, { release: RELEASE, namespace: NAMESPACE, valuesFiles: [file] });
  };

  beforeAll(() => {
    if (helmPath) helm = new Helm(helmPath);
    dir = mkdtempSync(join(tmpdir(), 'commander-agent-bundle-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!helmPath)(
    'manager/agent-chart.ts is the chart rendered with placeholders (not stale)',
    async () => {
      const rendered = await render({
        agentUrl: PLACEHOLDERS.url,
        enrollmentToken: PLACEHOLDERS.token,
        allow: [PLACEHOLDERS.allow],
        image: PLACEHOLDERS.image,
      });
      const current = {
        release: RELEASE,
        namespace: NAMESPACE,
        placeholders: PLACEHOLDERS,
        objects: rendered,
      };
      if (process.env.UPDATE_AGENT_CHART === '1') {
        writeFileSync(GENERATED, generatedSource(rendered));
        execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', GENERATED], {
          cwd: ROOT,
        });
        return;
      }
      expect(
        JSON.parse(JSON.stringify(AGENT_CHART)),
        'manager/agent-chart.ts is stale: run UPDATE_AGENT_CHART=1 npx vitest run test/charts/agent-bundle.test.ts',
      ).toEqual(current);
    },
  );

  const cases: Array<[string, Inputs]> = [
    [
      'a cluster with tunnels allowed',
      {
        agentUrl: 'https://commander.example.com/agent_api/6f1c2c52-7a53-4a3e-9f0e-0b7d2f0d7a11',
        enrollmentToken: 'eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln',
        allow: ['10.0.0.10:22', '[fd00::/8]:6443', 'api.internal:*'],
        image: 'registry.example.com/commander/commander:1.2.3',
      },
    ],
    [
      'a cluster with no tunnel target, on a plain-HTTP gateway',
      {
        agentUrl: 'http://10.1.2.3:8080/agent_api/0b7d2f0d-7a53-4a3e-9f0e-6f1c2c527a11',
        enrollmentToken: 'a.b.c',
        allow: [],
        image: 'ghcr.io/commander/commander:latest',
      },
    ],
  ];

  for (const [name, inputs] of cases) {
    it.skipIf(!helmPath)(`agent.yaml holds what helm renders for the same inputs: ${name}`, async () => {
      const files = renderBundle({ ...inputs, clusterId: 'unused', directory: '/root/.commander/bundle-x' });
      const agentYaml = files.find((file) => file.name === 'agent.yaml')?.content ?? '';
      const bundled = parseAllDocuments(agentYaml).map((document) => document.toJS());
      expect(bundled).toEqual(await render(inputs));
      expect(bundled).toEqual(agentObjects(inputs));
      // What the bundle asks of the agent: the identity Secret, so a replaced pod comes back.
      const deployment = bundled.find((object) => object.kind === 'Deployment');
      const env = Object.fromEntries(
        deployment.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [
          e.name,
          e.value,
        ]),
      );
      expect(env).toMatchObject({
        COMMANDER_URL: inputs.agentUrl,
        COMMANDER_AGENT_ALLOW: inputs.allow.join(','),
        COMMANDER_AGENT_IDENTITY_SECRET: `${NAMESPACE}/commander-agent-identity`,
      });
      expect(deployment.spec.template.spec.containers[0].image).toBe(inputs.image);
      const token = bundled.find((object) => object.kind === 'Secret');
      expect(token.stringData.token).toBe(inputs.enrollmentToken);
      expect(bundled.map((object) => object.kind)).toContain('Namespace');
      for (const object of bundled) expect(await schemaErrors(object)).toEqual([]);
    });
  }
});
