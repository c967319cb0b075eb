// The bootstrap bundle uploaded to a master node: the agent's Kubernetes manifests for this
// cluster, its enrollment token, an env file to start the agent without Kubernetes, the cluster's
// container registry when it has one, and the configuration rendered from the cluster's template
// version. The manifests are the commander-agent chart's own (manager/agent-chart.ts, rendered
// from it by helm) with this cluster's values put in: the chart is their one source.
import { stringify } from 'yaml';
import { dockerCfg, type InstallerRegistry } from '../shared/registries.js';
import { AGENT_CHART } from './agent-chart.js';
import type { Configuration } from './cluster-record.js';

export interface BundleInput {
  clusterId: string;
  agentUrl: string;
  enrollmentToken: string;
  allow: string[];
  /** Where the bundle lands on the node (the env file points at the token inside it). */
  directory: string;
  image: string;
  /** The cluster's registry, credentials in the clear: written to registry.json (mode 0600). */
  registry?: InstallerRegistry;
}

export interface BundleFile {
  name: string;
  content: string;
  mode: number;
}

/** Every string of `value` with each placeholder replaced by its value. */
function fill(value: unknown, values: Array<[string, string]>): unknown {
  if (typeof value === 'string') {
    return values.reduce((text, [placeholder, actual]) => text.split(placeholder).join(actual), value);
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, values));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, values)]));
  return value;
}

/** The agent's Kubernetes objects for this cluster: the chart's, with the bundle's values. */
export function agentObjects(input: Pick<BundleInput, 'agentUrl' | 'enrollmentToken' | 'allow' | 'image'>) {
  const { placeholders } = AGENT_CHART;
  return fill(AGENT_CHART.objects, [
    [placeholders.url, input.agentUrl],
    [placeholders.token, input.enrollmentToken],
    [placeholders.allow, input.allow.join(',')],
    [placeholders.image, input.image],
  ]) as Array<Record<string, unknown>>;
}

export function renderBundle(input: BundleInput): BundleFile[] {
  const env = [
    `COMMANDER_URL=${input.agentUrl}`,
    `COMMANDER_AGENT_TOKEN_FILE=${input.directory}/enrollment-token`,
    `COMMANDER_AGENT_ALLOW=${input.allow.join(',')}`,
    '',
  ].join('\n');
  const manifests = agentObjects(input);
  const files = [
    { name: 'agent.yaml', content: manifests.map((doc) => stringify(doc)).join('---\n'), mode: 0o600 },
    { name: 'enrollment-token', content: `${input.enrollmentToken}\n`, mode: 0o600 },
    { name: 'agent.env', content: env, mode: 0o600 },
  ];
  if (input.registry) files.push(registryFile(input.registry));
  return files;
}

/**
 * `registry.json`: where the platform's images are and how to log in, as Deckhouse's installer
 * takes it (`imagesRepo`, `registryScheme`, `registryDockerCfg`); the dockercfg is base64 of
 * `{"auths": {"<host>": {"auth": "<base64 user:password>"}}}`, empty auths without credentials.
 */
export function registryFile(registry: InstallerRegistry): BundleFile {
  const content = {
    images_repo: registry.imagesRepo,
    scheme: registry.scheme,
    dev_branch: registry.devBranch,
    dockercfg: dockerCfg(registry.imagesRepo, registry.auth),
  };
  return { name: 'registry.json', content: `${JSON.stringify(content, null, 2)}\n`, mode: 0o600 };
}

/** The rendered configuration as bundle files (none for a cluster not made from a template). */
export function configurationFiles(configuration: Configuration | undefined): BundleFile[] {
  return Object.entries(configuration ?? {}).map(([name, content]) => ({ name, content, mode: 0o600 }));
}
