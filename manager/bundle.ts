// The bootstrap bundle uploaded to a master node: the agent's Kubernetes manifests rendered for
// this cluster, its enrollment token, an env file to start the agent without Kubernetes, the
// cluster's container registry when it has one, and the configuration rendered from the cluster's
// template version.
import { stringify } from 'yaml';
import { dockerCfg, type InstallerRegistry } from '../shared/registries.js';
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

const NAMESPACE = 'commander-agent';

export function renderBundle(input: BundleInput): BundleFile[] {
  const labels = { 'app.kubernetes.io/name': 'commander-agent', 'commander.io/cluster': input.clusterId };
  const manifests = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'commander-agent', namespace: NAMESPACE, labels },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'commander-agent', labels },
      // The agent applies whatever the desired state holds, so it needs the cluster's full API.
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'commander-agent', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'commander-agent' },
      subjects: [{ kind: 'ServiceAccount', name: 'commander-agent', namespace: NAMESPACE }],
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'commander-agent-enrollment', namespace: NAMESPACE, labels },
      type: 'Opaque',
      stringData: { token: input.enrollmentToken },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'commander-agent', namespace: NAMESPACE, labels },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { 'app.kubernetes.io/name': 'commander-agent' } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'commander-agent',
            containers: [
              {
                name: 'agent',
                image: input.image,
                args: ['agent'],
                env: [
                  { name: 'COMMANDER_URL', value: input.agentUrl },
                  { name: 'COMMANDER_AGENT_TOKEN_FILE', value: '/etc/commander/enrollment/token' },
                  { name: 'COMMANDER_AGENT_STATE_DIR', value: '/var/lib/commander-agent' },
                  { name: 'COMMANDER_AGENT_ALLOW', value: input.allow.join(',') },
                ],
                volumeMounts: [
                  { name: 'enrollment', mountPath: '/etc/commander/enrollment', readOnly: true },
                  { name: 'state', mountPath: '/var/lib/commander-agent' },
                ],
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                },
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              },
            ],
            volumes: [
              {
                name: 'enrollment',
                secret: { secretName: 'commander-agent-enrollment', defaultMode: 0o400 },
              },
              { name: 'state', emptyDir: {} },
            ],
          },
        },
      },
    },
  ];
  const env = [
    `COMMANDER_URL=${input.agentUrl}`,
    `COMMANDER_AGENT_TOKEN_FILE=${input.directory}/enrollment-token`,
    `COMMANDER_AGENT_ALLOW=${input.allow.join(',')}`,
    '',
  ].join('\n');
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
