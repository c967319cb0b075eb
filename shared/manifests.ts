// Desired Kubernetes resources: parsing a submitted set (multi-document YAML or a JSON array),
// validating every manifest, and the content hashes that make revisions content-addressed.
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';

/** Limits on a submitted set; documented in docs/resources.md. */
export const RESOURCE_LIMITS = {
  /** The whole request body. */
  maxBodyBytes: 32 * 1024 * 1024,
  /** One manifest in canonical JSON: above the API server's own limit (about 1.5 MiB). */
  maxManifestBytes: 2 * 1024 * 1024,
  maxResources: 5000,
} as const;

export const MODE_ANNOTATION = 'commander.io/management-mode';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'commander';
export const CLUSTER_ANNOTATION = 'commander.io/cluster-uuid';
export type ManagementMode = 'enforced' | 'create-once';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface DesiredResource {
  /** apiVersion/kind/namespace/name: unique within a set. */
  key: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  mode: ManagementMode;
  /** sha256 of the canonical JSON of the manifest. */
  hash: string;
  manifest: Manifest;
}

export interface DocumentError {
  /** 0-based position of the document in the submitted set. */
  document: number;
  message: string;
}

// Kinds whose scope we know without asking the API server. Other kinds keep what they say,
// unless a CustomResourceDefinition in the same set declares them.
const CLUSTER_SCOPED = new Set([
  'v1/Namespace',
  'v1/Node',
  'v1/PersistentVolume',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'scheduling.k8s.io/PriorityClass',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'apiregistration.k8s.io/APIService',
  'networking.k8s.io/IngressClass',
  'node.k8s.io/RuntimeClass',
]);
const NAMESPACED = new Set([
  'v1/ConfigMap',
  'v1/Secret',
  'v1/Service',
  'v1/ServiceAccount',
  'v1/Pod',
  'v1/PersistentVolumeClaim',
  'v1/Endpoints',
  'v1/LimitRange',
  'v1/ResourceQuota',
  'apps/Deployment',
  'apps/DaemonSet',
  'apps/StatefulSet',
  'apps/ReplicaSet',
  'batch/Job',
  'batch/CronJob',
  'rbac.authorization.k8s.io/Role',
  'rbac.authorization.k8s.io/RoleBinding',
  'networking.k8s.io/Ingress',
  'networking.k8s.io/NetworkPolicy',
  'policy/PodDisruptionBudget',
  'autoscaling/HorizontalPodAutoscaler',
]);

const API_VERSION = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const NAME_RBAC = /^[A-Za-z0-9:._@-]{1,253}$/; // RBAC objects allow colons (system:…)
const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? 'v1' : apiVersion.slice(0, slash);
}

export function resourceKey(apiVersion: string, kind: string, namespace: string, name: string): string {
  return `${apiVersion}/${kind}/${namespace}/${name}`;
}

/** JSON with object keys sorted at every level: the same manifest always hashes alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The revision of a set: a hash over its resources' keys and hashes, whatever their order. */
export function setHash(resources: Array<{ key: string; hash: string }>): string {
  const lines = resources.map((r) => `${r.key} ${r.hash}`).sort();
  return sha256(lines.join('\n'));
}

/** What a pull compares: a prefix of the hash, long enough for any set we accept. */
export function shortHash(hash: string): string {
  return hash.slice(0, 16);
}

/** Parses a submitted body into raw documents; YAML errors are reported per document. */
export function parseDocuments(
  body: unknown,
  contentType: 'yaml' | 'json',
): {
  documents: Array<{ index: number; value: unknown }>;
  errors: DocumentError[];
} {
  const errors: DocumentError[] = [];
  const documents: Array<{ index: number; value: unknown }> = [];
  if (contentType === 'json') {
    if (!Array.isArray(body)) {
      return { documents, errors: [{ document: 0, message: 'the body must be a JSON array of manifests' }] };
    }
    body.forEach((value, index) => {
      documents.push({ index, value });
    });
    return { documents, errors };
  }
  const parsed = parseAllDocuments(String(body));
  const list = Array.isArray(parsed) ? parsed : [parsed];
  let index = 0;
  for (const document of list) {
    if (document.errors.length > 0) {
      errors.push({
        document: index,
        message: `invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`,
      });
    } else {
      const value = document.toJS({ maxAliasCount: 100 }) as unknown;
      // An empty document (a stray `---`) is not a manifest; skip it as kubectl does.
      if (value === null || value === undefined) continue;
      documents.push({ index, value });
    }
    index += 1;
  }
  return { documents, errors };
}

/** Validates documents into resources; any error rejects the whole set. */
export function validateSet(documents: Array<{ index: number; value: unknown }>): {
  resources: DesiredResource[];
  errors: DocumentError[];
} {
  const errors: DocumentError[] = [];
  if (documents.length > RESOURCE_LIMITS.maxResources) {
    return {
      resources: [],
      errors: [
        {
          document: RESOURCE_LIMITS.maxResources,
          message: `a set holds at most ${RESOURCE_LIMITS.maxResources} resources; this one has ${documents.length}`,
        },
      ],
    };
  }
  // Kinds declared by CRDs in the same set, with their scope.
  const declared = new Map<string, boolean>();
  for (const { value } of documents) {
    const crd = value as {
      kind?: unknown;
      spec?: { group?: unknown; scope?: unknown; names?: { kind?: unknown } };
    };
    if (crd?.kind === 'CustomResourceDefinition' && typeof crd.spec?.group === 'string') {
      declared.set(`${crd.spec.group}/${String(crd.spec.names?.kind)}`, crd.spec.scope === 'Namespaced');
    }
  }
  const seen = new Map<string, number>();
  const resources: DesiredResource[] = [];
  for (const { index, value } of documents) {
    const fail = (message: string) => errors.push({ document: index, message });
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail('a manifest must be an object');
      continue;
    }
    const manifest = value as Partial<Manifest>;
    const { apiVersion, kind } = manifest;
    if (typeof apiVersion !== 'string' || !API_VERSION.test(apiVersion)) {
      fail('apiVersion is missing or invalid (e.g. "v1", "apps/v1")');
      continue;
    }
    if (typeof kind !== 'string' || !KIND.test(kind)) {
      fail('kind is missing or invalid (e.g. "ConfigMap")');
      continue;
    }
    const metadata = manifest.metadata;
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      fail('metadata is missing');
      continue;
    }
    const rbac = groupOf(apiVersion) === 'rbac.authorization.k8s.io';
    if (typeof metadata.name !== 'string' || !(rbac ? NAME_RBAC : NAME).test(metadata.name)) {
      fail('metadata.name is missing or not a valid Kubernetes name');
      continue;
    }
    if (
      metadata.namespace !== undefined &&
      (typeof metadata.namespace !== 'string' || !NAMESPACE.test(metadata.namespace))
    ) {
      fail('metadata.namespace is not a valid namespace name');
      continue;
    }
    if ('generateName' in metadata || 'resourceVersion' in metadata || 'uid' in metadata) {
      fail(
        'metadata.generateName, resourceVersion and uid are set by the cluster, not in a desired manifest',
      );
      continue;
    }
    const typeKey = `${groupOf(apiVersion)}/${kind}`;
    const namespaced =
      declared.get(typeKey) ??
      (NAMESPACED.has(typeKey) ? true : CLUSTER_SCOPED.has(typeKey) ? false : undefined);
    if (namespaced === false && metadata.namespace !== undefined) {
      fail(`${kind} is cluster-scoped: remove metadata.namespace`);
      continue;
    }
    if (namespaced === true && metadata.namespace === undefined) {
      fail(`${kind} is namespaced: set metadata.namespace`);
      continue;
    }
    const annotations = metadata.annotations;
    if (
      annotations !== undefined &&
      (annotations === null || typeof annotations !== 'object' || Array.isArray(annotations))
    ) {
      fail('metadata.annotations must be a map of strings');
      continue;
    }
    const mode = (annotations?.[MODE_ANNOTATION] ?? 'enforced') as string;
    if (mode !== 'enforced' && mode !== 'create-once') {
      fail(`annotation ${MODE_ANNOTATION} must be "enforced" or "create-once", not "${mode}"`);
      continue;
    }
    const canonical = canonicalJson(manifest);
    if (Buffer.byteLength(canonical) > RESOURCE_LIMITS.maxManifestBytes) {
      fail(
        `the manifest is ${Buffer.byteLength(canonical)} bytes; at most ${RESOURCE_LIMITS.maxManifestBytes} are accepted`,
      );
      continue;
    }
    const namespace = metadata.namespace ?? '';
    const key = resourceKey(apiVersion, kind, namespace, metadata.name);
    const first = seen.get(key);
    if (first !== undefined) {
      fail(`duplicates document ${first}: ${kind} ${namespace ? `${namespace}/` : ''}${metadata.name}`);
      continue;
    }
    seen.set(key, index);
    resources.push({
      key,
      apiVersion,
      kind,
      namespace,
      name: metadata.name,
      mode,
      hash: sha256(canonical),
      manifest: JSON.parse(canonical) as Manifest,
    });
  }
  return { resources, errors };
}
