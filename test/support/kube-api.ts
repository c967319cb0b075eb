// An in-process Kubernetes API server double: the one fake the test suite allows, since no
// kube-apiserver can run here. It is a plain node:http server on a loopback port that speaks the
// wire as @kubernetes/client-node 1.4.0 uses it: discovery (which KubernetesObjectApi reads to map
// a kind to its plural and scope), the REST paths, Status errors with the real reasons and codes,
// bearer auth, and server-side apply with managedFields and conflicts. Behaviour follows the
// real API server (v1.31) wherever it is cheap to; the simplifications are listed here and
// commented where they apply.
//
// Simplified compared with a real API server:
// - no watch (a `watch` request gets 405), no protobuf/CBOR, no aggregated discovery, no OpenAPI;
// - no schema: unknown fields are kept (a real server drops them, or rejects them with
//   fieldValidation=Strict), CRD schemas are neither validated nor used for pruning;
// - arrays are atomic for server-side apply (a real server merges e.g. containers by name), and
//   a strategic merge patch is a plain JSON merge patch (no merge keys, `$patch` directives dropped);
// - a few defaults only (Namespace, Secret, Service, Deployment/DaemonSet/StatefulSet and pod
//   templates at the top level; nothing inside containers);
// - controllers are simulated synchronously: workloads look ready (or not, see setReady) in the
//   same write, a CRD becomes Established after a delay; status writes are not in managedFields;
// - deletion is immediate (no grace periods, no garbage collection of owned objects) unless the
//   object has metadata.finalizers; deleting a Namespace or a CRD removes what it holds at once;
// - no admission, no RBAC (one static token is all-powerful), no quota.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { selfSigned } from '../../bench/certificates.js';

export type JsonMap = Record<string, unknown>;

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  /** Simplified FieldsV1: nested `f:<field>` maps, `{}` at every owned leaf (no `.`, `k:`, `v:`). */
  fieldsV1: JsonMap;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  /** The URL path, without the query string. */
  path: string;
  /** The query string, with its leading `?` (empty when none). */
  query: string;
  contentType?: string;
  fieldManager?: string;
  /** The HTTP status answered; 0 for a connection reset (or while still in flight). */
  status: number;
}

export interface RequestFilter {
  method?: string;
  pathIncludes?: string;
  contentType?: string;
}

export interface InjectedFailure {
  code: number;
  /** A Status reason, e.g. InternalError, ServiceUnavailable, TooManyRequests. */
  reason: string;
  message: string;
}

/** Returns a message to reject the object with 422 Invalid, or undefined to let it through. */
export type RejectPredicate = (object: KubeObject) => string | undefined;

export interface KubeApiOptions {
  /** The bearer token the kubeconfig carries; random by default. */
  token?: string;
  /** Reported by /version, e.g. v1.31.0 (the default); major and minor derive from it. */
  gitVersion?: string;
  /** How long after a CRD is written it becomes Established (default 50 ms). */
  crdEstablishDelayMs?: number;
  /** Request bodies above this get 413 (default 3 MiB, the real server's limit). */
  maxBodyBytes?: number;
  /** Stored objects above this fail as etcd would (default 1.5 MiB). */
  maxObjectBytes?: number;
  /** Whether Deployments, DaemonSets and StatefulSets look ready unless setReady says otherwise (default true). */
  workloadsReady?: boolean;
  /** The address to listen on (default 127.0.0.1): another one lets a network namespace reach it. */
  host?: string;
  /**
   * Serve HTTPS with a self-signed certificate (made with the openssl command), which the
   * kubeconfig then pins: clients that send no credentials over plain HTTP (client-go, so helm
   * and kubectl) need it.
   */
  tls?: boolean;
}

export interface NodeResources {
  cpu: string;
  memory: string;
  pods?: string;
  /** Defaults to the capacity. */
  allocatable?: { cpu?: string; memory?: string; pods?: string };
  labels?: Record<string, string>;
}

export interface KubeApi {
  /** http://127.0.0.1:PORT */
  url: string;
  token: string;
  /** A kubeconfig that KubeConfig.loadFromString() accepts (plain HTTP: insecure-skip-tls-verify; HTTPS: the CA pinned). */
  kubeconfig(): string;
  /** Writes kubeconfig() to <dir>/kubeconfig (mode 0600) and returns the path. */
  writeKubeconfig(dir: string): string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  count(filter?: RequestFilter): number;
  resetCounts(): void;
  /** A copy of the stored object, as a GET would return it; undefined when missing. */
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Creates or replaces an object as another client would (an Update by `manager`, default "kubectl-edit"). */
  put(object: KubeObject, options?: { manager?: string }): KubeObject;
  /** Deletes at once (ignoring finalizers); true when something was removed. */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean;
  /** Copies of every object of a kind, optionally in one namespace, sorted by namespace and name. */
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[];
  /** Every write (create, update, patch, apply) of an object the predicate returns a message for gets 422. */
  rejectWhen(predicate: RejectPredicate): () => void;
  /** The next `times` requests matching the filter get this error instead of being served. */
  failNext(filter: RequestFilter, failure: InjectedFailure, times?: number): void;
  /** While on, every request gets its connection reset (default) or a 503 Status. */
  setUnavailable(unavailable: boolean, mode?: 'reset' | '503'): void;
  /**
   * The next `count` requests matching the filter wait until all of them have arrived (or the
   * returned function is called), then are served one after the other in the order they came:
   * two clients' writes that a real server sees at the same moment (a create race, say).
   */
  gather(filter: RequestFilter, count: number): () => void;
  /**
   * CRDs written from now on stay not Established until the returned function is called (then
   * they become Established after the usual delay): the state a test sees does not depend on
   * how fast it runs.
   */
  holdCrdEstablishment(): () => void;
  addNode(name: string, resources: NodeResources): KubeObject;
  addPersistentVolume(
    name: string,
    storage: string,
    options?: { storageClassName?: string; accessModes?: string[] },
  ): KubeObject;
  /** Makes a Deployment, DaemonSet or StatefulSet look ready or not (a status write, new resourceVersion). */
  setReady(apiVersion: string, kind: string, namespace: string, name: string, ready: boolean): KubeObject;
  close(): Promise<void>;
}

export async function startKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
  const api = new KubeApiServer(options);
  await api.listen();
  return api;
}

// ---------------------------------------------------------------------------------------------
// Resource types

interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Has a /status subresource: writes to the main resource leave .status alone. */
  status: boolean;
  /** Keeps metadata.generation (only some kinds do on a real server: not ConfigMaps, for one). */
  generation: boolean;
  /** DELETE answers with the object rather than a Success Status (pods, services, CRs...). */
  returnsDeleted: boolean;
  listKind: string;
  /** The name of the CRD that serves it, for custom resources. */
  crd?: string;
}

type Trait = 'cluster' | 'status' | 'generation' | 'returnsDeleted';

function builtin(
  apiVersion: string,
  kind: string,
  plural: string,
  shortNames: string[],
  traits: Trait[] = [],
) {
  const { group, version } = splitApiVersion(apiVersion);
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced: !traits.includes('cluster'),
    status: traits.includes('status'),
    generation: traits.includes('generation'),
    returnsDeleted: traits.includes('returnsDeleted'),
    listKind: `${kind}List`,
  } satisfies ResourceType;
}

const BUILTINS: ResourceType[] = [
  builtin('v1', 'Namespace', 'namespaces', ['ns'], ['cluster', 'status', 'returnsDeleted']),
  builtin('v1', 'ConfigMap', 'configmaps', ['cm']),
  builtin('v1', 'Secret', 'secrets', []),
  builtin('v1', 'Service', 'services', ['svc'], ['status', 'returnsDeleted']),
  builtin('v1', 'ServiceAccount', 'serviceaccounts', ['sa']),
  builtin('v1', 'Node', 'nodes', ['no'], ['cluster', 'status']),
  builtin('v1', 'PersistentVolume', 'persistentvolumes', ['pv'], ['cluster', 'status']),
  builtin('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', ['pvc'], ['status']),
  builtin('v1', 'Pod', 'pods', ['po'], ['status', 'returnsDeleted']),
  builtin('apps/v1', 'Deployment', 'deployments', ['deploy'], ['status', 'generation']),
  builtin('apps/v1', 'DaemonSet', 'daemonsets', ['ds'], ['status', 'generation']),
  builtin('apps/v1', 'StatefulSet', 'statefulsets', ['sts'], ['status', 'generation']),
  builtin('batch/v1', 'Job', 'jobs', [], ['status', 'generation']),
  builtin('batch/v1', 'CronJob', 'cronjobs', ['cj'], ['status', 'generation']),
  builtin('networking.k8s.io/v1', 'Ingress', 'ingresses', ['ing'], ['status', 'generation']),
  builtin('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', ['netpol'], ['generation']),
  builtin('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', ['pdb'], ['status', 'generation']),
  builtin('rbac.authorization.k8s.io/v1', 'Role', 'roles', []),
  builtin('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', []),
  builtin('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', [], ['cluster']),
  builtin('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', [], ['cluster']),
  builtin('storage.k8s.io/v1', 'StorageClass', 'storageclasses', ['sc'], ['cluster']),
  builtin(
    'apiextensions.k8s.io/v1',
    'CustomResourceDefinition',
    'customresourcedefinitions',
    ['crd', 'crds'],
    ['cluster', 'status', 'generation', 'returnsDeleted'],
  ),
];

const CRD_GROUP = 'apiextensions.k8s.io';
const WORKLOADS = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const APPLY = 'application/apply-patch+yaml';
const MERGE_PATCH = 'application/merge-patch+json';
const STRATEGIC_PATCH = 'application/strategic-merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function groupVersion(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

// ---------------------------------------------------------------------------------------------
// Status errors, as the real server words them

interface FieldError {
  field: string;
  reason: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueTooLong';
  /** What follows `<field>: ` in the message, e.g. `Required value: name is required`. */
  message: string;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: JsonMap = {},
  ) {
    super(message);
  }

  toStatus(): JsonMap {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

const qualifiedResource = (t: ResourceType) => (t.group ? `${t.plural}.${t.group}` : t.plural);
const qualifiedKind = (t: { kind: string; group: string }) => (t.group ? `${t.kind}.${t.group}` : t.kind);
const resourceDetails = (t: ResourceType, name: string): JsonMap => ({
  name,
  ...(t.group ? { group: t.group } : {}),
  kind: t.plural, // Yes: the real server puts the resource (plural) in details.kind here.
});

const notFound = (t: ResourceType, name: string) =>
  new ApiError(404, 'NotFound', `${qualifiedResource(t)} "${name}" not found`, resourceDetails(t, name));
const namespaceNotFound = (namespace: string) =>
  new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, {
    name: namespace,
    kind: 'namespaces',
  });
const alreadyExists = (t: ResourceType, name: string) =>
  new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(t)} "${name}" already exists`,
    resourceDetails(t, name),
  );
const modified = (t: ResourceType, name: string) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    resourceDetails(t, name),
  );
const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
const pathNotFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource');
const methodNotAllowed = (message = 'the server does not allow this method on the requested resource') =>
  new ApiError(405, 'MethodNotAllowed', message);
const unsupportedMedia = (accepted: string[]) =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );

function invalid(kind: { kind: string; group: string }, name: string, errors: FieldError[]): ApiError {
  const texts = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  const summary = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualifiedKind(kind)} "${name}" is invalid: ${summary}`, {
    name,
    ...(kind.group ? { group: kind.group } : {}),
    kind: kind.kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
  });
}

const invalidValue = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
});
const required = (field: string, detail?: string): FieldError => ({
  field,
  reason: 'FieldValueRequired',
  message: detail ? `Required value: ${detail}` : 'Required value',
});
const forbidden = (field: string, detail: string): FieldError => ({
  field,
  reason: 'FieldValueForbidden',
  message: `Forbidden: ${detail}`,
});
const tooLong = (field: string, limit: number): FieldError => ({
  field,
  reason: 'FieldValueTooLong',
  message: `Too long: must have at most ${limit} bytes`,
});
const OPTIONS_KIND = (kind: string) => ({ kind, group: 'meta.k8s.io' });

// ---------------------------------------------------------------------------------------------
// JSON helpers

function isMap(value: unknown): value is JsonMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const clone = <T>(value: T): T => structuredClone(value);

/** Drops null map values at every level (outside arrays), as an absent field. */
function stripNulls(value: JsonMap): JsonMap {
  const out: JsonMap = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null || child === undefined) continue;
    out[key] = isMap(child) ? stripNulls(child) : child;
  }
  return out;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type Path = string[];
const pathKey = (path: Path) => JSON.stringify(path);
const startsWith = (path: Path, prefix: Path) =>
  prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);

function getPath(root: unknown, path: Path): unknown {
  let node = root;
  for (const segment of path) {
    if (!isMap(node)) return undefined;
    node = node[segment];
  }
  return node;
}

function setPath(root: JsonMap, path: Path, value: unknown): void {
  let node = root;
  for (const segment of path.slice(0, -1)) {
    const child = node[segment];
    if (isMap(child)) node = child;
    else {
      const fresh: JsonMap = {};
      node[segment] = fresh;
      node = fresh;
    }
  }
  node[path[path.length - 1] as string] = value;
}

/** Removes a field, then the maps it leaves empty (never metadata itself). */
function deletePath(root: JsonMap, path: Path): void {
  const parents: JsonMap[] = [root];
  for (const segment of path.slice(0, -1)) {
    const child = parents[parents.length - 1]?.[segment];
    if (!isMap(child)) return;
    parents.push(child);
  }
  delete parents[parents.length - 1]?.[path[path.length - 1] as string];
  for (let depth = path.length - 1; depth >= 1; depth -= 1) {
    const map = parents[depth];
    if (!map || Object.keys(map).length > 0 || (depth === 1 && path[0] === 'metadata')) return;
    delete parents[depth - 1]?.[path[depth - 1] as string];
  }
}

/** The leaves of an object: scalars, arrays (atomic) and empty maps, as paths. */
function leafPaths(value: JsonMap, prefix: Path = [], out: Path[] = []): Path[] {
  for (const [key, child] of Object.entries(value)) {
    if (child === null || child === undefined) continue;
    const path = [...prefix, key];
    if (isMap(child) && Object.keys(child).length > 0) leafPaths(child, path, out);
    else out.push(path);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field ownership (server-side apply)

/** One managedFields entry, with its fields as leaf paths. */
interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  paths: Map<string, Path>;
}

// Fields nobody owns: identity and system metadata (and status where a subresource serves it).
const SYSTEM_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

function ignoredField(t: ResourceType, path: Path): boolean {
  const [top, second] = path;
  if (top === 'apiVersion' || top === 'kind') return true;
  if (top === 'status' && t.status) return true;
  return top === 'metadata' && (second === undefined || SYSTEM_METADATA.has(second));
}

function ownedLeaves(t: ResourceType, value: JsonMap): Path[] {
  return leafPaths(value).filter((path) => !ignoredField(t, path));
}

function fieldsToPaths(fields: JsonMap, prefix: Path, out: Path[]): void {
  const children = Object.keys(fields).filter((key) => key.startsWith('f:'));
  if (children.length === 0) {
    if (prefix.length > 0) out.push(prefix);
    return;
  }
  for (const key of children) {
    const child = fields[key];
    fieldsToPaths(isMap(child) ? child : {}, [...prefix, key.slice(2)], out);
  }
}

function pathsToFields(paths: Path[]): JsonMap {
  const root: JsonMap = {};
  for (const path of [...paths].sort((a, b) => pathKey(a).localeCompare(pathKey(b)))) {
    let node = root;
    for (const segment of path) {
      const key = `f:${segment}`;
      const child = node[key];
      if (isMap(child)) node = child;
      else {
        const fresh: JsonMap = {};
        node[key] = fresh;
        node = fresh;
      }
    }
  }
  return root;
}

function decodeOwners(meta: ObjectMeta | undefined): Owner[] {
  return (meta?.managedFields ?? []).map((entry) => {
    const paths: Path[] = [];
    fieldsToPaths(isMap(entry.fieldsV1) ? entry.fieldsV1 : {}, [], paths);
    return {
      manager: entry.manager,
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      time: entry.time,
      ...(entry.subresource ? { subresource: entry.subresource } : {}),
      paths: new Map(paths.map((path) => [pathKey(path), path])),
    };
  });
}

function encodeOwners(owners: Owner[]): ManagedFieldsEntry[] {
  return owners
    .filter((owner) => owner.paths.size > 0)
    .map((owner) => ({
      manager: owner.manager,
      operation: owner.operation,
      apiVersion: owner.apiVersion,
      time: owner.time,
      fieldsType: 'FieldsV1' as const,
      fieldsV1: pathsToFields([...owner.paths.values()]),
      ...(owner.subresource ? { subresource: owner.subresource } : {}),
    }));
}

/**
 * Whether someone owning `owned` is in the way of setting the leaf `path`: the same field, a
 * field inside it (the leaf replaces a map), or an atomic value (scalar, array) it sits inside.
 */
function clashes(path: Path, owned: Path, live: unknown): boolean {
  if (startsWith(owned, path)) return true;
  return startsWith(path, owned) && !isMap(getPath(live, owned));
}

/** An applied empty map only asks for the map to exist; anything else must be equal. */
function sameValue(applied: unknown, live: unknown): boolean {
  if (isMap(applied) && Object.keys(applied).length === 0) return isMap(live);
  return isDeepStrictEqual(applied, live);
}

function describeManager(owner: Owner): string {
  let text = JSON.stringify(owner.manager);
  if (owner.subresource) text += ` with subresource ${JSON.stringify(owner.subresource)}`;
  return owner.operation === 'Update' ? `${text} using ${owner.apiVersion}` : text;
}

function applyConflict(conflicts: Array<{ owner: Owner; path: Path }>): ApiError {
  const field = (path: Path) => `.${path.join('.')}`;
  let message: string;
  const [only] = conflicts;
  if (conflicts.length === 1 && only) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(only.owner)}: ${field(only.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const { owner, path } of conflicts) {
      const name = describeManager(owner);
      byManager.set(name, [...(byManager.get(name) ?? []), `- ${field(path)}`]);
    }
    const lines = [...byManager.keys()]
      .sort()
      .flatMap((name) => [`conflicts with ${name}:`, ...(byManager.get(name) ?? [])]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, {
    causes: conflicts.map(({ owner, path }) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${describeManager(owner)}`,
      field: field(path),
    })),
  });
}

/**
 * Server-side apply, simplified: the applier owns exactly the leaves it applies. A leaf another
 * manager owns with a different value is a conflict (409) unless forced, which takes it over.
 * Leaves the applier owned before and no longer applies are removed, unless someone else owns them.
 */
function serverSideApply(
  t: ResourceType,
  live: KubeObject | undefined,
  applied: JsonMap,
  manager: string,
  force: boolean,
  now: string,
): { object: JsonMap; owners: Owner[] } {
  const owners = decodeOwners(live?.metadata);
  let me = owners.find((o) => o.manager === manager && o.operation === 'Apply' && !o.subresource);
  const previous = me ? [...me.paths.values()] : [];
  if (!me) {
    me = { manager, operation: 'Apply', apiVersion: String(applied.apiVersion), time: now, paths: new Map() };
    owners.push(me);
  }
  const others = owners.filter((o) => o !== me);
  const object: JsonMap = live ? clone(live) : {};
  const leaves = ownedLeaves(t, applied);

  const conflicts: Array<{ owner: Owner; path: Path }> = [];
  for (const path of leaves) {
    if (sameValue(getPath(applied, path), getPath(object, path))) continue; // shared ownership
    for (const owner of others) {
      for (const owned of owner.paths.values()) {
        if (clashes(path, owned, object) && !conflicts.some((c) => c.owner === owner && c.path === owned)) {
          conflicts.push({ owner, path: owned });
        }
      }
    }
  }
  if (conflicts.length > 0 && !force) throw applyConflict(conflicts);
  for (const { owner, path } of conflicts) owner.paths.delete(pathKey(path));

  const appliedKeys = new Set(leaves.map(pathKey));
  for (const path of previous) {
    if (appliedKeys.has(pathKey(path))) continue;
    if (leaves.some((leaf) => startsWith(leaf, path) || startsWith(path, leaf))) continue;
    if (others.some((o) => [...o.paths.values()].some((owned) => clashes(path, owned, object)))) continue;
    deletePath(object, path);
  }
  for (const path of leaves) {
    const value = getPath(applied, path);
    if (!isMap(value)) setPath(object, path, clone(value));
    else if (!isMap(getPath(object, path))) setPath(object, path, {});
  }
  me.paths = new Map(leaves.map((path) => [pathKey(path), path]));
  me.time = now;
  me.apiVersion = String(applied.apiVersion);
  return { object, owners };
}

/** An Update (create, replace, patch) owns the leaves it changed, taking them from everyone else. */
function trackUpdate(
  t: ResourceType,
  owners: Owner[],
  old: JsonMap | undefined,
  next: JsonMap,
  manager: string,
  now: string,
): void {
  const changed = ownedLeaves(t, next).filter(
    (path) => !isDeepStrictEqual(getPath(old, path), getPath(next, path)),
  );
  if (changed.length === 0) return;
  let me = owners.find((o) => o.manager === manager && o.operation === 'Update' && !o.subresource);
  if (!me) {
    me = { manager, operation: 'Update', apiVersion: String(next.apiVersion), time: now, paths: new Map() };
    owners.push(me);
  }
  for (const owner of owners) {
    if (owner === me) continue;
    for (const [key, owned] of owner.paths) {
      if (changed.some((path) => clashes(path, owned, old))) owner.paths.delete(key);
    }
  }
  for (const path of changed) me.paths.set(pathKey(path), path);
  me.time = now;
  me.apiVersion = String(next.apiVersion);
}

// ---------------------------------------------------------------------------------------------
// Patches

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  const result: JsonMap = isMap(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Strategic merge patch directives ($patch, $retainKeys, $setElementOrder/...) are dropped. */
function dropDirectives(patch: unknown): unknown {
  if (!isMap(patch)) return patch;
  const out: JsonMap = {};
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith('$')) out[key] = dropDirectives(value);
  }
  return out;
}

function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json patch must be an array of operations');
  const fail = (message: string) =>
    new ApiError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request: ${message}`,
    );
  const tokens = (pointer: unknown): string[] => {
    if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) {
      throw fail(`invalid JSON pointer ${JSON.stringify(pointer)}`);
    }
    return pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const read = (root: unknown, path: string[]): unknown => {
    let node = root;
    for (const token of path) {
      if (Array.isArray(node)) node = node[Number(token)];
      else if (isMap(node)) node = node[token];
      else return undefined;
    }
    return node;
  };
  const write = (
    root: unknown,
    path: string[],
    value: unknown,
    mode: 'add' | 'replace' | 'remove',
  ): unknown => {
    if (path.length === 0) return value;
    const parent = read(root, path.slice(0, -1));
    const last = path[path.length - 1] as string;
    const where = `/${path.join('/')}`;
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      const limit = mode === 'add' ? parent.length : parent.length - 1;
      if (!Number.isInteger(index) || index < 0 || index > limit)
        throw fail(`index out of range at ${where}`);
      if (mode === 'add') parent.splice(index, 0, value);
      else if (mode === 'replace') parent[index] = value;
      else parent.splice(index, 1);
    } else if (isMap(parent)) {
      if (mode !== 'add' && !(last in parent)) throw fail(`doc is missing path: "${where}"`);
      if (mode === 'remove') delete parent[last];
      else parent[last] = value;
    } else {
      throw fail(`doc is missing path: "${where}"`);
    }
    return root;
  };
  let root = clone(document);
  for (const operation of operations) {
    if (!isMap(operation)) throw fail('an operation must be an object');
    const path = tokens(operation.path);
    switch (operation.op) {
      case 'add':
      case 'replace':
        root = write(root, path, clone(operation.value), operation.op);
        break;
      case 'remove':
        root = write(root, path, undefined, 'remove');
        break;
      case 'test':
        if (!isDeepStrictEqual(read(root, path), operation.value))
          throw fail(`testing value ${operation.path} failed`);
        break;
      case 'move':
      case 'copy': {
        const from = tokens(operation.from);
        const value = clone(read(root, from));
        if (value === undefined) throw fail(`doc is missing from path: "${operation.from}"`);
        if (operation.op === 'move') root = write(root, from, undefined, 'remove');
        root = write(root, path, value, 'add');
        break;
      }
      default:
        throw fail(`unexpected operation ${JSON.stringify(operation.op)}`);
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// Selectors

type Requirement = { key: string; op: 'in' | 'notin' | 'exists' | '!exists'; values: string[] };

function parseLabelSelector(selector: string): Requirement[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += char;
  }
  terms.push(current);
  const key = '[A-Za-z0-9][-A-Za-z0-9_./]*';
  return terms
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .map((term): Requirement => {
      let match = new RegExp(`^!\\s*(${key})$`).exec(term);
      if (match) return { key: match[1] as string, op: '!exists', values: [] };
      match = new RegExp(`^(${key})\\s+(in|notin)\\s+\\(([^)]*)\\)$`).exec(term);
      if (match) {
        const values = (match[3] as string).split(',').map((v) => v.trim());
        return { key: match[1] as string, op: match[2] as 'in' | 'notin', values };
      }
      match = new RegExp(`^(${key})\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`).exec(term);
      if (match) {
        return {
          key: match[1] as string,
          op: match[2] === '!=' ? 'notin' : 'in',
          values: [match[3] as string],
        };
      }
      match = new RegExp(`^(${key})$`).exec(term);
      if (match) return { key: match[1] as string, op: 'exists', values: [] };
      throw badRequest(
        `unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, or end of string`,
      );
    });
}

function matchesLabels(labels: Record<string, string> | undefined, requirements: Requirement[]): boolean {
  return requirements.every(({ key, op, values }) => {
    const value = labels?.[key];
    if (op === 'exists') return value !== undefined;
    if (op === '!exists') return value === undefined;
    if (op === 'in') return value !== undefined && values.includes(value);
    return value === undefined || !values.includes(value);
  });
}

function parseFieldSelector(selector: string): Array<(object: KubeObject) => boolean> {
  return selector
    .split(',')
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .map((term) => {
      const match = /^([a-zA-Z.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
      if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
      const [, field, op, value] = match;
      if (field !== 'metadata.name' && field !== 'metadata.namespace') {
        throw badRequest(`field label not supported: ${field}`);
      }
      return (object: KubeObject) => {
        const actual = field === 'metadata.name' ? object.metadata.name : (object.metadata.namespace ?? '');
        return op === '!=' ? actual !== value : actual === value;
      };
    });
}

// ---------------------------------------------------------------------------------------------
// Validation

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function nameErrors(t: ResourceType, name: string): FieldError[] {
  const field = 'metadata.name';
  if (t.group === 'rbac.authorization.k8s.io') {
    // RBAC names are path segments: `system:controller:foo` is fine.
    if (name === '.' || name === '..' || /[/%]/.test(name)) {
      return [invalidValue(field, name, "may not contain '/' or '%', and may not be '.' or '..'")];
    }
    return [];
  }
  if (t.kind === 'Namespace') {
    if (name.length <= 63 && DNS_LABEL.test(name)) return [];
    return [
      invalidValue(
        field,
        name,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ),
    ];
  }
  if (t.kind === 'Service' && !t.group) {
    if (name.length <= 63 && DNS_1035_LABEL.test(name)) return [];
    return [
      invalidValue(
        field,
        name,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ),
    ];
  }
  if (name.length <= 253 && DNS_SUBDOMAIN.test(name)) return [];
  return [
    invalidValue(
      field,
      name,
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ),
  ];
}

function qualifiedNameErrors(field: string, key: string): FieldError[] {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  const errors: FieldError[] = [];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    errors.push(invalidValue(field, key, 'prefix part must be a lowercase RFC 1123 subdomain'));
  }
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) {
    errors.push(
      invalidValue(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ),
    );
  }
  return errors;
}

/** Type errors a real server reports while decoding (400), before any validation. */
function checkShapes(t: ResourceType, object: JsonMap): void {
  const stringMap = (path: Path) => {
    const value = getPath(object, path);
    if (value === undefined) return;
    if (!isMap(value)) throw badRequest(`.${path.join('.')}: expected map, got ${JSON.stringify(value)}`);
    for (const [key, entry] of Object.entries(value)) {
      if (typeof entry !== 'string') {
        throw badRequest(`.${[...path, key].join('.')}: expected string, got ${JSON.stringify(entry)}`);
      }
    }
  };
  if (object.metadata !== undefined && !isMap(object.metadata)) throw badRequest('.metadata: expected map');
  stringMap(['metadata', 'labels']);
  stringMap(['metadata', 'annotations']);
  if (!t.group && (t.kind === 'ConfigMap' || t.kind === 'Secret')) {
    stringMap(['data']);
    stringMap(['binaryData']);
    stringMap(['stringData']);
    const base64 = t.kind === 'Secret' ? getPath(object, ['data']) : getPath(object, ['binaryData']);
    for (const [key, value] of Object.entries(isMap(base64) ? base64 : {})) {
      if (!BASE64.test(String(value)))
        throw badRequest(`illegal base64 data at input byte 0 (in .data.${key})`);
    }
  }
}

function selectorErrors(kind: string, object: JsonMap, old: JsonMap | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const selector = getPath(object, ['spec', 'selector']);
  if (!isMap(selector)) errors.push(required('spec.selector'));
  const matchLabels = getPath(selector, ['matchLabels']);
  const templateLabels = getPath(object, ['spec', 'template', 'metadata', 'labels']);
  if (isMap(matchLabels)) {
    const mismatch = Object.entries(matchLabels).some(
      ([k, v]) => !isMap(templateLabels) || templateLabels[k] !== v,
    );
    if (mismatch) {
      errors.push(
        invalidValue(
          'spec.template.metadata.labels',
          templateLabels ?? {},
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  const containers = getPath(object, ['spec', 'template', 'spec', 'containers']);
  if (!Array.isArray(containers) || containers.length === 0)
    errors.push(required('spec.template.spec.containers'));
  const oldSelector = getPath(old, ['spec', 'selector']);
  if (old && oldSelector !== undefined && !isDeepStrictEqual(oldSelector, selector)) {
    errors.push(invalidValue('spec.selector', selector, 'field is immutable'));
  }
  return kind === 'Deployment' || kind === 'DaemonSet' || kind === 'StatefulSet' ? errors : [];
}

function crdErrors(object: JsonMap): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isMap(object.spec) ? object.spec : {};
  const names = isMap(spec.names) ? spec.names : {};
  const name = String(getPath(object, ['metadata', 'name']));
  const group = spec.group;
  if (typeof group !== 'string' || group === '') errors.push(required('spec.group'));
  else if (!group.includes('.'))
    errors.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  if (typeof names.plural !== 'string' || names.plural === '') errors.push(required('spec.names.plural'));
  if (typeof names.kind !== 'string' || names.kind === '') errors.push(required('spec.names.kind'));
  if (typeof names.plural === 'string' && typeof group === 'string' && name !== `${names.plural}.${group}`) {
    errors.push(invalidValue('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errors.push(
      spec.scope === undefined
        ? required('spec.scope')
        : invalidValue('spec.scope', spec.scope, 'should be either Cluster or Namespaced'),
    );
  }
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isMap) : [];
  if (versions.length === 0)
    errors.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage === true).length !== 1) {
    errors.push(
      invalidValue(
        'spec.versions',
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Defaults and simulated controllers

function defaultField(object: JsonMap, path: Path, value: unknown): void {
  if (getPath(object, path) === undefined && isMap(getPath(object, path.slice(0, -1))))
    setPath(object, path, value);
}

function defaultPodSpec(object: JsonMap, specPath: Path): void {
  defaultField(object, [...specPath, 'restartPolicy'], 'Always');
  defaultField(object, [...specPath, 'dnsPolicy'], 'ClusterFirst');
  defaultField(object, [...specPath, 'terminationGracePeriodSeconds'], 30);
  defaultField(object, [...specPath, 'schedulerName'], 'default-scheduler');
  defaultField(object, [...specPath, 'securityContext'], {});
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  [field: string]: unknown;
}

/** Conditions keep their timestamps while their status and reason stay the same. */
function conditions(old: unknown, wanted: Condition[], timeFields: string[]): Condition[] {
  const previous = Array.isArray(old) ? old.filter(isMap) : [];
  const now = timestamp();
  return wanted.map((condition) => {
    const before = previous.find((c) => c.type === condition.type);
    const same = before && before.status === condition.status && before.reason === condition.reason;
    const times = Object.fromEntries(timeFields.map((f) => [f, same && before[f] ? before[f] : now]));
    return { ...condition, ...times };
  });
}

function revisionHash(object: JsonMap): string {
  const text = JSON.stringify(getPath(object, ['spec', 'template']) ?? {});
  let hash = 0;
  for (const char of text) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash.toString(36).padStart(7, '0').slice(0, 10);
}

/** Omits zero counts, as the real status structs do (omitempty). */
function counts(values: Record<string, number | undefined>): JsonMap {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== 0));
}

function workloadStatus(
  kind: string,
  object: KubeObject,
  oldStatus: unknown,
  ready: boolean,
  nodes: number,
): JsonMap {
  const observedGeneration = object.metadata.generation;
  const name = object.metadata.name ?? '';
  const replicas = Number(getPath(object, ['spec', 'replicas']) ?? 1);
  const oldConditions = getPath(oldStatus, ['conditions']);
  if (kind === 'Deployment') {
    const replicaSet = `${name}-${revisionHash(object)}`;
    return {
      observedGeneration,
      ...counts({
        replicas,
        updatedReplicas: replicas,
        readyReplicas: ready ? replicas : 0,
        availableReplicas: ready ? replicas : 0,
        unavailableReplicas: ready ? 0 : replicas,
      }),
      conditions: conditions(
        oldConditions,
        [
          ready
            ? {
                type: 'Available',
                status: 'True',
                reason: 'MinimumReplicasAvailable',
                message: 'Deployment has minimum availability.',
              }
            : {
                type: 'Available',
                status: 'False',
                reason: 'MinimumReplicasUnavailable',
                message: 'Deployment does not have minimum availability.',
              },
          ready
            ? {
                type: 'Progressing',
                status: 'True',
                reason: 'NewReplicaSetAvailable',
                message: `ReplicaSet "${replicaSet}" has successfully progressed.`,
              }
            : {
                type: 'Progressing',
                status: 'True',
                reason: 'ReplicaSetUpdated',
                message: `ReplicaSet "${replicaSet}" is progressing.`,
              },
        ],
        ['lastUpdateTime', 'lastTransitionTime'],
      ),
    };
  }
  if (kind === 'DaemonSet') {
    // Scheduled on every node; with no Node objects, pretend there is one.
    const desired = Math.max(nodes, 1);
    return {
      currentNumberScheduled: desired,
      numberMisscheduled: 0,
      desiredNumberScheduled: desired,
      numberReady: ready ? desired : 0,
      observedGeneration,
      ...counts({
        updatedNumberScheduled: desired,
        numberAvailable: ready ? desired : 0,
        numberUnavailable: ready ? 0 : desired,
      }),
    };
  }
  const revision = `${name}-${revisionHash(object)}`;
  return {
    observedGeneration,
    replicas,
    ...counts({
      readyReplicas: ready ? replicas : 0,
      currentReplicas: replicas,
      updatedReplicas: replicas,
      availableReplicas: ready ? replicas : 0,
    }),
    currentRevision: revision,
    updateRevision: revision,
    collisionCount: 0,
  };
}

function isEstablished(crd: JsonMap | undefined): boolean {
  const found = getPath(crd, ['status', 'conditions']);
  return (
    Array.isArray(found) && found.some((c) => isMap(c) && c.type === 'Established' && c.status === 'True')
  );
}

/** Orders versions as Kubernetes does: GA before beta before alpha, higher numbers first. */
function versionPriority(version: string): number[] {
  const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
  if (!match) return [0, 0, 0];
  const stability = match[2] === undefined ? 3 : match[2] === 'beta' ? 2 : 1;
  return [stability, Number(match[1]), Number(match[3] ?? 0)];
}

function compareVersions(a: string, b: string): number {
  const [pa, pb] = [versionPriority(a), versionPriority(b)];
  for (let i = 0; i < 3; i += 1) {
    const diff = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return a.localeCompare(b);
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

type Reply = { code: number; body: unknown } | { code: number; text: string };

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Reads the whole body (draining past the limit so the client can read the answer); undefined when too large. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function matchesFilter(request: RecordedRequest, filter: RequestFilter): boolean {
  if (filter.method && request.method !== filter.method.toUpperCase()) return false;
  if (filter.pathIncludes && !request.path.includes(filter.pathIncludes)) return false;
  if (filter.contentType && mediaType(request.contentType) !== filter.contentType) return false;
  return true;
}

function fieldManagerFrom(query: URLSearchParams, userAgent: string | undefined): string {
  // Without fieldManager, the real server names an Update's manager after the user agent.
  return query.get('fieldManager') ?? (userAgent?.split('/')[0] || 'unknown');
}

interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

interface WriteOptions {
  /** How managedFields change: owners computed by an apply, an Update by a manager, or kept. */
  fields: { apply: Owner[] } | { update: string } | 'keep';
  /** A write to the main resource of a kind with a status subresource: the stored status stays. */
  keepStatus: boolean;
  /** Validation and the test's rejection hooks (writes that come over HTTP). */
  validate: boolean;
  /** Simulated controllers fill in status (workloads, CRDs). */
  controllers: boolean;
  dryRun?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The server

class KubeApiServer implements KubeApi {
  url = '';
  readonly token: string;
  private readonly host: string;
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly objects = new Map<string, KubeObject>();
  private revision = 100;
  private unavailable: false | 'reset' | '503' = false;
  private readonly rejections = new Set<RejectPredicate>();
  private readonly failures: Array<{ filter: RequestFilter; failure: InjectedFailure; remaining: number }> =
    [];
  private readonly gathers: Array<{ filter: RequestFilter; count: number; waiting: Array<() => void> }> = [];
  private readonly readiness = new Map<string, boolean>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly gitVersion: string;
  private readonly establishDelay: number;
  /** CRDs waiting for holdCrdEstablishment()'s release; undefined when nothing holds them. */
  private heldCrds: KubeObject[] | undefined;
  private readonly maxBodyBytes: number;
  private readonly maxObjectBytes: number;
  private readonly workloadsReady: boolean;
  private readonly certificate: { key: string; cert: string } | undefined;

  constructor(options: KubeApiOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.token = options.token ?? randomBytes(24).toString('base64url');
    this.gitVersion = options.gitVersion ?? 'v1.31.0';
    this.establishDelay = options.crdEstablishDelayMs ?? 50;
    this.maxBodyBytes = options.maxBodyBytes ?? 3 * 1024 * 1024;
    this.maxObjectBytes = options.maxObjectBytes ?? 1.5 * 1024 * 1024;
    this.workloadsReady = options.workloadsReady ?? true;
    const serve = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.send(res, undefined, { code: 500, body: internalError(error) });
      });
    };
    this.certificate = options.tls ? selfSignedCertificate() : undefined;
    this.server = this.certificate ? createHttpsServer(this.certificate, serve) : createServer(serve);
    const namespaceType = this.builtinType('v1', 'Namespace');
    for (const name of INITIAL_NAMESPACES) {
      const draft = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
      this.commit(namespaceType, undefined, draft, {
        fields: { update: 'kube-apiserver' },
        keepStatus: false,
        validate: false,
        controllers: true,
      });
    }
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.host, () => resolve());
    });
    const scheme = this.certificate ? 'https' : 'http';
    this.url = `${scheme}://${this.host}:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  kubeconfig(): string {
    const name = 'kube-api-double';
    return stringifyYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name,
          cluster: this.certificate
            ? {
                server: this.url,
                'certificate-authority-data': Buffer.from(this.certificate.cert).toString('base64'),
              }
            : { server: this.url, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: `${name}-admin`, user: { token: this.token } }],
      contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
      'current-context': name,
      preferences: {},
    });
  }

  writeKubeconfig(dir: string): string {
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, this.kubeconfig(), { mode: 0o600 });
    return path;
  }

  count(filter: RequestFilter = {}): number {
    return this.requests.filter((request) => matchesFilter(request, filter)).length;
  }

  resetCounts(): void {
    this.requests.length = 0;
  }

  rejectWhen(predicate: RejectPredicate): () => void {
    this.rejections.add(predicate);
    return () => this.rejections.delete(predicate);
  }

  holdCrdEstablishment(): () => void {
    const held: KubeObject[] = [];
    this.heldCrds = held;
    return () => {
      if (this.heldCrds === held) this.heldCrds = undefined;
      for (const crd of held.splice(0)) this.scheduleEstablish(crd);
    };
  }

  failNext(filter: RequestFilter, failure: InjectedFailure, times = 1): void {
    this.failures.push({ filter, failure, remaining: times });
  }

  setUnavailable(unavailable: boolean, mode: 'reset' | '503' = 'reset'): void {
    this.unavailable = unavailable ? mode : false;
  }

  gather(filter: RequestFilter, count: number): () => void {
    const gate = { filter, count, waiting: [] as Array<() => void> };
    this.gathers.push(gate);
    return () => this.openGate(gate);
  }

  private openGate(gate: (typeof this.gathers)[number]): void {
    const at = this.gathers.indexOf(gate);
    if (at >= 0) this.gathers.splice(at, 1);
    // Resolved in arrival order, each handler then routes synchronously: served in that order.
    for (const go of gate.waiting.splice(0)) go();
  }

  // --- direct state access ---------------------------------------------------------------------

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const t = this.typeForKind(apiVersion, kind);
    const found = this.objects.get(this.key(t, namespace, name));
    return found && this.output(t, found);
  }

  put(object: KubeObject, options: { manager?: string } = {}): KubeObject {
    const t = this.typeForKind(object.apiVersion, object.kind);
    const { name, namespace } = object.metadata ?? {};
    if (!name) throw new Error('put: metadata.name is required');
    if (t.namespaced && !namespace) throw new Error(`put: ${object.kind} ${name} needs metadata.namespace`);
    const draft = stripNulls(clone(object)) as KubeObject;
    if (!t.namespaced) delete draft.metadata.namespace;
    const old = this.objects.get(this.key(t, namespace, name));
    if (!old && namespace && t.namespaced && !this.namespaceExists(namespace)) {
      throw new Error(`put: namespace ${namespace} does not exist`);
    }
    const result = this.commit(t, old, draft, {
      fields: { update: options.manager ?? 'kubectl-edit' },
      keepStatus: false,
      validate: false,
      controllers: true,
    });
    return this.output(t, result.object);
  }

  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
    const t = this.typeForKind(apiVersion, kind);
    const found = this.objects.get(this.key(t, namespace, name));
    if (!found) return false;
    this.hardDelete(t, found);
    return true;
  }

  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const t = this.typeForKind(apiVersion, kind);
    return this.stored(t, namespace).map((object) => this.output(t, object));
  }

  addNode(name: string, resources: NodeResources): KubeObject {
    const capacity = { cpu: resources.cpu, memory: resources.memory, pods: resources.pods ?? '110' };
    const now = timestamp();
    return this.put(
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            ...resources.labels,
          },
        },
        spec: {},
        status: {
          capacity,
          allocatable: { ...capacity, ...resources.allocatable },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          addresses: [{ type: 'Hostname', address: name }],
          nodeInfo: {
            architecture: 'amd64',
            operatingSystem: 'linux',
            osImage: 'Ubuntu 24.04 LTS',
            kernelVersion: '6.8.0',
            containerRuntimeVersion: 'containerd://1.7.20',
            kubeletVersion: this.gitVersion,
            kubeProxyVersion: this.gitVersion,
            machineID: '',
            systemUUID: '',
            bootID: '',
          },
        },
      },
      { manager: 'kubelet' },
    );
  }

  addPersistentVolume(
    name: string,
    storage: string,
    options: { storageClassName?: string; accessModes?: string[] } = {},
  ): KubeObject {
    return this.put(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name },
        spec: {
          capacity: { storage },
          accessModes: options.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          volumeMode: 'Filesystem',
          hostPath: { path: `/mnt/${name}`, type: '' },
          ...(options.storageClassName ? { storageClassName: options.storageClassName } : {}),
        },
        status: { phase: 'Available' },
      },
      { manager: 'kube-controller-manager' },
    );
  }

  setReady(apiVersion: string, kind: string, namespace: string, name: string, ready: boolean): KubeObject {
    const t = this.typeForKind(apiVersion, kind);
    if (t.group !== 'apps' || !WORKLOADS.has(t.kind)) throw new Error(`setReady: ${kind} is not a workload`);
    const key = this.key(t, namespace, name);
    const old = this.objects.get(key);
    if (!old) throw new Error(`setReady: ${kind} ${namespace}/${name} does not exist`);
    this.readiness.set(key, ready);
    const result = this.commit(t, old, clone(old), {
      fields: 'keep',
      keepStatus: false,
      validate: false,
      controllers: true,
    });
    return this.output(t, result.object);
  }

  // --- types -----------------------------------------------------------------------------------

  private builtinType(apiVersion: string, kind: string): ResourceType {
    const { group, version } = splitApiVersion(apiVersion);
    const found = BUILTINS.find((t) => t.group === group && t.version === version && t.kind === kind);
    if (!found) throw new Error(`unknown built-in kind ${apiVersion} ${kind}`);
    return found;
  }

  /** Types served by Established CRDs, one per served version. */
  private customTypes(): ResourceType[] {
    const types: ResourceType[] = [];
    for (const crd of this.objects.values()) {
      if (crd.kind !== 'CustomResourceDefinition' || !isEstablished(crd)) continue;
      const spec = isMap(crd.spec) ? crd.spec : {};
      const names = isMap(spec.names) ? spec.names : {};
      const kind = String(names.kind);
      for (const version of Array.isArray(spec.versions) ? spec.versions.filter(isMap) : []) {
        if (version.served === false) continue;
        types.push({
          group: String(spec.group),
          version: String(version.name),
          kind,
          plural: String(names.plural),
          singular: typeof names.singular === 'string' ? names.singular : kind.toLowerCase(),
          shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
          namespaced: spec.scope === 'Namespaced',
          status: isMap(getPath(version, ['subresources', 'status'])),
          generation: true,
          returnsDeleted: true,
          listKind: typeof names.listKind === 'string' ? names.listKind : `${kind}List`,
          crd: crd.metadata.name,
        });
      }
    }
    return types;
  }

  private allTypes(): ResourceType[] {
    return [...BUILTINS, ...this.customTypes()];
  }

  private typeForKind(apiVersion: string, kind: string): ResourceType {
    const { group, version } = splitApiVersion(apiVersion);
    const found = this.allTypes().find((t) => t.group === group && t.version === version && t.kind === kind);
    if (!found) throw new Error(`the API server does not serve ${apiVersion} ${kind} (yet)`);
    return found;
  }

  /** group → served versions, in priority order. */
  private groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const t of this.allTypes()) {
      if (!t.group) continue;
      const versions = groups.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      groups.set(t.group, versions);
    }
    for (const versions of groups.values()) versions.sort(compareVersions);
    return groups;
  }

  // --- storage ---------------------------------------------------------------------------------

  /** Objects are stored per group and kind, whatever version wrote them (no conversion needed). */
  private key(t: ResourceType, namespace: string | undefined, name: string): string {
    return `${t.group}/${t.kind}/${t.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  private stored(t: ResourceType, namespace?: string): KubeObject[] {
    return [...this.objects.values()]
      .filter((o) => splitApiVersion(o.apiVersion).group === t.group && o.kind === t.kind)
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) =>
        `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
        ),
      );
  }

  private namespaceExists(namespace: string): boolean {
    return this.objects.has(`/Namespace//${namespace}`);
  }

  private requireNamespace(t: ResourceType, namespace: string | undefined): void {
    if (t.namespaced && namespace && !this.namespaceExists(namespace)) throw namespaceNotFound(namespace);
  }

  /** A copy as the API serves it, under the requested version. */
  private output(t: ResourceType, object: KubeObject, inList = false): KubeObject {
    const out = clone(object);
    out.apiVersion = groupVersion(t);
    // Typed lists of built-in kinds carry no apiVersion/kind on their items; custom resource lists do.
    if (inList && !t.crd) {
      const { apiVersion: _a, kind: _k, ...rest } = out;
      return rest as KubeObject;
    }
    return out;
  }

  private nextRevision(): string {
    this.revision += 1;
    return String(this.revision);
  }

  /**
   * Every write ends here: system metadata, defaults, managedFields, validation, generation,
   * simulated controllers, then a no-op check (a write that changes nothing keeps its
   * resourceVersion, as on a real server) and the store.
   */
  private commit(
    t: ResourceType,
    old: KubeObject | undefined,
    draft: JsonMap,
    how: WriteOptions,
  ): { object: KubeObject; created: boolean } {
    const now = timestamp();
    const next = draft as KubeObject;
    next.apiVersion = groupVersion(t);
    next.kind = t.kind;
    const meta: ObjectMeta = isMap(next.metadata) ? next.metadata : {};
    next.metadata = meta;
    if (old) {
      meta.uid = old.metadata.uid;
      meta.creationTimestamp = old.metadata.creationTimestamp;
    } else {
      meta.uid = randomUUID();
      meta.creationTimestamp = now;
    }
    if (how.validate) {
      // Clients cannot set these; only a DELETE can.
      for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds']) {
        if (old?.metadata[field] !== undefined) meta[field] = old.metadata[field];
        else delete meta[field];
      }
    }
    delete meta.resourceVersion;
    delete meta.generation;
    delete meta.selfLink;
    if (how.keepStatus && t.status) {
      if (old?.status !== undefined) next.status = clone(old.status);
      else delete next.status;
    }
    this.applyDefaults(t, next, old);

    let owners: Owner[];
    if (how.fields === 'keep') owners = decodeOwners(old?.metadata);
    else if ('apply' in how.fields) owners = how.fields.apply;
    else {
      owners = decodeOwners(old?.metadata);
      trackUpdate(t, owners, old, next, how.fields.update, now);
    }
    for (const owner of owners) {
      for (const [key, path] of owner.paths) if (getPath(next, path) === undefined) owner.paths.delete(key);
    }
    const managedFields = encodeOwners(owners);
    if (managedFields.length > 0) meta.managedFields = managedFields;
    else delete meta.managedFields;

    if (how.validate) this.validate(t, old, next);
    if (t.generation) {
      const previous = old?.metadata.generation ?? 0;
      meta.generation = !old ? 1 : this.specChanged(t, old, next) ? previous + 1 : previous;
    }
    if (how.controllers) this.simulateControllers(t, next, old);

    if (old && sameObject(old, next)) return { object: old, created: false };
    if (Buffer.byteLength(JSON.stringify(next)) > this.maxObjectBytes) {
      throw new ApiError(500, 'InternalError', 'etcdserver: request is too large', {
        causes: [{ message: 'etcdserver: request is too large' }],
      });
    }
    if (how.dryRun) return { object: next, created: !old };

    meta.resourceVersion = this.nextRevision();
    if (meta.deletionTimestamp && !meta.finalizers?.length) {
      // The last finalizer is gone from an object being deleted: the deletion completes.
      this.hardDelete(t, next);
      return { object: next, created: false };
    }
    this.objects.set(this.key(t, meta.namespace, meta.name ?? ''), next);
    if (t.group === CRD_GROUP && t.kind === 'CustomResourceDefinition') this.scheduleEstablish(next);
    return { object: next, created: !old };
  }

  private specChanged(t: ResourceType, old: KubeObject, next: KubeObject): boolean {
    const content = (o: KubeObject) => {
      const { metadata: _m, status, ...rest } = o;
      return t.status ? rest : { ...rest, status };
    };
    return !isDeepStrictEqual(content(old), content(next));
  }

  private hardDelete(t: ResourceType, object: KubeObject): void {
    const { namespace, name } = object.metadata;
    this.objects.delete(this.key(t, namespace, name ?? ''));
    this.readiness.delete(this.key(t, namespace, name ?? ''));
    this.nextRevision();
    if (!t.group && t.kind === 'Namespace') {
      for (const [key, o] of this.objects) if (o.metadata.namespace === name) this.objects.delete(key);
    }
    if (t.group === CRD_GROUP && t.kind === 'CustomResourceDefinition') {
      const group = getPath(object, ['spec', 'group']);
      const kind = getPath(object, ['spec', 'names', 'kind']);
      for (const [key, o] of this.objects) {
        if (splitApiVersion(o.apiVersion).group === group && o.kind === kind) this.objects.delete(key);
      }
    }
  }

  private applyDefaults(t: ResourceType, object: KubeObject, old: KubeObject | undefined): void {
    const name = object.metadata.name ?? '';
    if (!t.group) {
      if (t.kind === 'Namespace') {
        object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': name };
        if (!isMap(object.spec)) object.spec = {};
        defaultField(object, ['spec', 'finalizers'], ['kubernetes']);
        if (!isMap(object.status)) object.status = {};
        defaultField(object, ['status', 'phase'], 'Active');
      }
      if (t.kind === 'Secret') {
        if (object.type === undefined) object.type = 'Opaque';
        // stringData is write-only: it lands base64-encoded in data.
        if (isMap(object.stringData)) {
          const data = isMap(object.data) ? object.data : {};
          for (const [key, value] of Object.entries(object.stringData)) {
            data[key] = Buffer.from(String(value)).toString('base64');
          }
          object.data = data;
          delete object.stringData;
        }
      }
      if (t.kind === 'Service' && isMap(object.spec)) {
        const spec = object.spec;
        spec.type ??= 'ClusterIP';
        spec.sessionAffinity ??= 'None';
        if (spec.type !== 'ExternalName') {
          spec.clusterIP ??= getPath(old, ['spec', 'clusterIP']) ?? this.allocateClusterIp();
          spec.clusterIPs ??= [spec.clusterIP];
          spec.ipFamilies ??= ['IPv4'];
          spec.ipFamilyPolicy ??= 'SingleStack';
          spec.internalTrafficPolicy ??= 'Cluster';
        }
        if (!isMap(object.status)) object.status = { loadBalancer: {} };
      }
      if (t.kind === 'Pod') {
        defaultPodSpec(object, ['spec']);
        if (!isMap(object.status)) object.status = { phase: 'Pending', qosClass: 'BestEffort' };
      }
      if (t.kind === 'PersistentVolumeClaim') {
        defaultField(object, ['spec', 'volumeMode'], 'Filesystem');
        if (!isMap(object.status)) object.status = { phase: 'Pending' };
      }
      if (t.kind === 'PersistentVolume') {
        defaultField(object, ['spec', 'persistentVolumeReclaimPolicy'], 'Retain');
        defaultField(object, ['spec', 'volumeMode'], 'Filesystem');
        if (!isMap(object.status)) object.status = { phase: 'Available' };
      }
    }
    if (t.group === 'apps' && isMap(object.spec)) {
      if (t.kind !== 'DaemonSet') defaultField(object, ['spec', 'replicas'], 1);
      defaultField(object, ['spec', 'revisionHistoryLimit'], 10);
      if (t.kind === 'Deployment') {
        defaultField(object, ['spec', 'progressDeadlineSeconds'], 600);
        defaultField(object, ['spec', 'strategy'], {
          type: 'RollingUpdate',
          rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
        });
      }
      if (t.kind === 'DaemonSet') {
        defaultField(object, ['spec', 'updateStrategy'], {
          type: 'RollingUpdate',
          rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
        });
      }
      if (t.kind === 'StatefulSet') {
        defaultField(object, ['spec', 'podManagementPolicy'], 'OrderedReady');
        defaultField(object, ['spec', 'updateStrategy'], {
          type: 'RollingUpdate',
          rollingUpdate: { partition: 0 },
        });
        defaultField(object, ['spec', 'persistentVolumeClaimRetentionPolicy'], {
          whenDeleted: 'Retain',
          whenScaled: 'Retain',
        });
      }
      defaultPodSpec(object, ['spec', 'template', 'spec']);
    }
    if (t.group === CRD_GROUP && t.kind === 'CustomResourceDefinition' && isMap(object.spec)) {
      defaultField(object, ['spec', 'conversion'], { strategy: 'None' });
      const kind = getPath(object, ['spec', 'names', 'kind']);
      if (typeof kind === 'string') {
        defaultField(object, ['spec', 'names', 'singular'], kind.toLowerCase());
        defaultField(object, ['spec', 'names', 'listKind'], `${kind}List`);
      }
    }
  }

  private allocateClusterIp(): string {
    const n = this.revision;
    return `10.96.${(n >> 8) & 255}.${n & 255 || 1}`;
  }

  private validate(t: ResourceType, old: KubeObject | undefined, object: KubeObject): void {
    const name = object.metadata.name ?? '';
    const errors: FieldError[] = [...nameErrors(t, name)];
    for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
      errors.push(...qualifiedNameErrors('metadata.labels', key));
      if (value.length > 63 || !LABEL_VALUE.test(value)) {
        errors.push(
          invalidValue(
            'metadata.labels',
            value,
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
          ),
        );
      }
    }
    let annotationBytes = 0;
    for (const [key, value] of Object.entries(object.metadata.annotations ?? {})) {
      errors.push(...qualifiedNameErrors('metadata.annotations', key));
      annotationBytes += key.length + value.length;
    }
    if (annotationBytes > 256 * 1024) errors.push(tooLong('metadata.annotations', 256 * 1024));
    if (!t.group && (t.kind === 'ConfigMap' || t.kind === 'Secret')) {
      const size = (field: string) =>
        Object.entries(isMap(object[field]) ? (object[field] as JsonMap) : {}).reduce(
          (sum, [key, value]) => sum + key.length + String(value).length,
          0,
        );
      if (size('data') + size('binaryData') > 1024 * 1024) {
        errors.push(tooLong(t.kind === 'Secret' ? 'data' : '', 1024 * 1024));
      }
      // Keys must be config keys, as the real server checks them.
      for (const field of ['data', 'binaryData']) {
        for (const key of Object.keys(isMap(object[field]) ? (object[field] as JsonMap) : {})) {
          if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
            errors.push(
              invalidValue(
                `${field}[${key}]`,
                key,
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.' " +
                  "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
              ),
            );
          }
        }
      }
    }
    if (t.group === 'apps') errors.push(...selectorErrors(t.kind, object, old));
    if (t.group === CRD_GROUP && t.kind === 'CustomResourceDefinition') errors.push(...crdErrors(object));
    for (const predicate of this.rejections) {
      const message = predicate(clone(object));
      if (message !== undefined) errors.push({ field: '', reason: 'FieldValueInvalid', message });
    }
    if (errors.length > 0) throw invalid(t, name, errors);
  }

  private simulateControllers(t: ResourceType, object: KubeObject, old: KubeObject | undefined): void {
    if (t.group === 'apps' && WORKLOADS.has(t.kind)) {
      const key = this.key(t, object.metadata.namespace, object.metadata.name ?? '');
      const ready = this.readiness.get(key) ?? this.workloadsReady;
      const nodes = this.stored(this.builtinType('v1', 'Node')).length;
      object.status = workloadStatus(t.kind, object, old?.status, ready, nodes);
    }
    if (t.group === CRD_GROUP && t.kind === 'CustomResourceDefinition') {
      const status = isMap(object.status) ? object.status : {};
      const versions = getPath(object, ['spec', 'versions']);
      const storage = Array.isArray(versions) ? versions.filter((v) => isMap(v) && v.storage === true) : [];
      const stored = Array.isArray(status.storedVersions) ? status.storedVersions.map(String) : [];
      for (const v of storage) if (isMap(v) && !stored.includes(String(v.name))) stored.push(String(v.name));
      status.storedVersions = stored;
      status.acceptedNames ??= { plural: '', kind: '' };
      object.status = status;
    }
  }

  /** A CRD becomes Established (its kind served) a little after it is written, as on a real server. */
  private scheduleEstablish(crd: KubeObject): void {
    if (isEstablished(crd)) return;
    if (this.heldCrds) {
      this.heldCrds.push(crd);
      return;
    }
    const name = crd.metadata.name ?? '';
    const uid = crd.metadata.uid;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const t = this.builtinType(`${CRD_GROUP}/v1`, 'CustomResourceDefinition');
      const old = this.objects.get(this.key(t, undefined, name));
      if (!old || old.metadata.uid !== uid || isEstablished(old)) return;
      const next = clone(old);
      const names = getPath(next, ['spec', 'names']);
      const status = isMap(next.status) ? next.status : {};
      status.acceptedNames = clone(names);
      status.conditions = conditions(
        status.conditions,
        [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
          {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
          },
        ],
        ['lastTransitionTime'],
      );
      next.status = status;
      this.commit(t, old, next, { fields: 'keep', keepStatus: false, validate: false, controllers: false });
    }, this.establishDelay);
    this.timers.add(timer);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kube-api.invalid');
    const entry: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      status: 0,
    };
    if (req.headers['content-type']) entry.contentType = req.headers['content-type'];
    const fieldManager = url.searchParams.get('fieldManager');
    if (fieldManager !== null) entry.fieldManager = fieldManager;
    this.requests.push(entry);

    if (this.unavailable === 'reset') {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req, this.maxBodyBytes);
    const gate = this.gathers.find((g) => matchesFilter(entry, g.filter));
    if (gate) {
      await new Promise<void>((resolve) => {
        gate.waiting.push(resolve);
        if (gate.waiting.length >= gate.count) this.openGate(gate);
      });
    }
    let reply: Reply;
    try {
      if (this.unavailable === '503') {
        throw new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
      }
      if (req.headers.authorization !== `Bearer ${this.token}`)
        throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const failure = this.failures.find((f) => f.remaining > 0 && matchesFilter(entry, f.filter));
      if (failure) {
        failure.remaining -= 1;
        throw new ApiError(failure.failure.code, failure.failure.reason, failure.failure.message);
      }
      if (body === undefined) {
        throw new ApiError(
          413,
          'RequestEntityTooLarge',
          `Request entity too large: limit is ${this.maxBodyBytes}`,
        );
      }
      reply = this.route(req, url, body);
    } catch (error) {
      reply =
        error instanceof ApiError
          ? { code: error.code, body: error.toStatus() }
          : { code: 500, body: internalError(error) };
    }
    this.send(res, entry, reply);
  }

  private send(res: ServerResponse, entry: RecordedRequest | undefined, reply: Reply): void {
    const text = 'text' in reply ? reply.text : JSON.stringify(reply.body);
    if (entry) entry.status = reply.code;
    res.writeHead(reply.code, {
      'Content-Type': 'text' in reply ? 'text/plain; charset=utf-8' : 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
    });
    res.end(text);
  }

  private route(req: IncomingMessage, url: URL, body: Buffer): Reply {
    let segments: string[];
    try {
      segments = url.pathname
        .split('/')
        .filter((s) => s !== '')
        .map(decodeURIComponent);
    } catch {
      throw badRequest(`invalid path ${url.pathname}`);
    }
    const method = req.method ?? 'GET';
    const [root, second, third] = segments;
    if (segments.length === 1 && root && ['healthz', 'livez', 'readyz'].includes(root))
      return { code: 200, text: 'ok' };
    if (segments.length === 1 && root === 'version') {
      if (method !== 'GET') throw methodNotAllowed();
      return { code: 200, body: this.versionInfo() };
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (root === 'api') {
      if (segments.length === 1) {
        return {
          code: 200,
          body: {
            kind: 'APIVersions',
            versions: ['v1'],
            serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: new URL(this.url).host }],
          },
        };
      }
      if (second !== 'v1') throw pathNotFound();
      group = '';
      version = 'v1';
      rest = segments.slice(2);
    } else if (root === 'apis') {
      const groups = this.groups();
      if (segments.length === 1) {
        const list = [...groups].map(([name, versions]) => apiGroup(name, versions));
        return { code: 200, body: { kind: 'APIGroupList', apiVersion: 'v1', groups: list } };
      }
      const versions = groups.get(second ?? '');
      if (!versions) throw pathNotFound();
      if (segments.length === 2)
        return { code: 200, body: { kind: 'APIGroup', ...apiGroup(second ?? '', versions) } };
      if (!versions.includes(third ?? '')) throw pathNotFound();
      group = second ?? '';
      version = third ?? '';
      rest = segments.slice(3);
    } else {
      throw pathNotFound();
    }
    const types = this.allTypes().filter((t) => t.group === group && t.version === version);
    if (rest.length === 0) {
      if (method !== 'GET') throw methodNotAllowed();
      return { code: 200, body: resourceList(group, version, types) };
    }
    const target = resolveTarget(types, rest);
    return this.serve(method, target, url.searchParams, req, body);
  }

  private versionInfo(): JsonMap {
    const match = /^v(\d+)\.(\d+)/.exec(this.gitVersion);
    return {
      major: match?.[1] ?? '1',
      minor: match?.[2] ?? '31',
      emulationMajor: match?.[1] ?? '1',
      emulationMinor: match?.[2] ?? '31',
      gitVersion: this.gitVersion,
      gitCommit: '9e1f0d2c1b5c1e2d3f4a5b6c7d8e9f0a1b2c3d4e',
      gitTreeState: 'clean',
      buildDate: '2024-08-13T07:28:49Z',
      goVersion: 'go1.22.5',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
  }

  private serve(
    method: string,
    target: Target,
    query: URLSearchParams,
    req: IncomingMessage,
    body: Buffer,
  ): Reply {
    const { type: t, name, subresource } = target;
    if (name === undefined) {
      if (method === 'GET') {
        if (query.get('watch') === 'true' || query.get('watch') === '1') {
          throw methodNotAllowed('watch is not supported by the kube-api test double');
        }
        return this.serveList(target, query);
      }
      if (method === 'POST' && (!t.namespaced || target.namespace))
        return this.serveCreate(target, query, req, body);
      if (method === 'DELETE' && (!t.namespaced || target.namespace))
        return this.serveDeleteCollection(target, query);
      throw methodNotAllowed();
    }
    if (subresource === 'status') {
      if (method === 'GET') return { code: 200, body: this.output(t, this.mustGet(target)) };
      if (method === 'PUT' || method === 'PATCH')
        return this.serveStatusWrite(method, target, query, req, body);
      throw methodNotAllowed();
    }
    if (method === 'GET') return { code: 200, body: this.output(t, this.mustGet(target)) };
    if (method === 'PUT') return this.serveReplace(target, query, req, body);
    if (method === 'PATCH') return this.servePatch(target, query, req, body);
    if (method === 'DELETE') return this.serveDelete(target, query, body);
    throw methodNotAllowed();
  }

  private mustGet(target: Target): KubeObject {
    const found = this.objects.get(this.key(target.type, target.namespace, target.name ?? ''));
    if (!found) throw notFound(target.type, target.name ?? '');
    return found;
  }

  private serveList(target: Target, query: URLSearchParams): Reply {
    const t = target.type;
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    let items = this.stored(t, target.namespace).filter(
      (o) => matchesLabels(o.metadata.labels, labels) && fields.every((match) => match(o)),
    );
    const metadata: JsonMap = { resourceVersion: String(this.revision) };
    const limit = Number(query.get('limit') ?? 0);
    const token = query.get('continue');
    const start = token ? decodeContinue(token) : 0;
    if (start > 0) items = items.slice(start);
    if (limit > 0 && items.length > limit) {
      metadata.continue = Buffer.from(JSON.stringify({ start: start + limit })).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    return {
      code: 200,
      body: {
        apiVersion: groupVersion(t),
        kind: t.listKind,
        metadata,
        items: items.map((o) => this.output(t, o, true)),
      },
    };
  }

  /** Parses a JSON or YAML body into a map, with nulls dropped. */
  private parseBody(body: Buffer, yaml: boolean): JsonMap {
    let value: unknown;
    try {
      const text = body.toString('utf8');
      value = yaml ? parseYaml(text) : JSON.parse(text);
    } catch (error) {
      throw badRequest(
        `error decoding ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    if (!isMap(value)) throw badRequest('the request body must be an object');
    return stripNulls(value);
  }

  private parseWriteBody(req: IncomingMessage, body: Buffer): JsonMap {
    const media = mediaType(req.headers['content-type']);
    if (media !== 'application/json' && media !== 'application/yaml') {
      throw unsupportedMedia(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
    }
    return this.parseBody(body, media === 'application/yaml');
  }

  /** apiVersion and kind of a body sent to POST or PUT must be those of the URL. */
  private checkKind(t: ResourceType, object: JsonMap): void {
    if (object.apiVersion !== undefined && object.apiVersion !== groupVersion(t)) {
      throw badRequest(
        `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${groupVersion(t)})`,
      );
    }
    if (object.kind !== undefined && object.kind !== t.kind) {
      throw badRequest(
        `the kind in the data (${String(object.kind)}) does not match the expected kind (${t.kind})`,
      );
    }
  }

  /** Body metadata against the URL: the name must match; the namespace must match or is filled in. */
  private checkIdentity(target: Target, meta: ObjectMeta): void {
    if (target.name !== undefined && meta.name !== target.name) {
      throw badRequest(
        `the name of the object (${meta.name ?? ''}) does not match the name on the URL (${target.name})`,
      );
    }
    if (target.type.namespaced) {
      if (meta.namespace && meta.namespace !== target.namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = target.namespace;
    } else {
      delete meta.namespace; // a real server silently clears it for cluster-scoped kinds
    }
  }

  private metadataOf(object: JsonMap): ObjectMeta {
    if (!isMap(object.metadata)) object.metadata = {};
    return object.metadata as ObjectMeta;
  }

  private serveCreate(target: Target, query: URLSearchParams, req: IncomingMessage, body: Buffer): Reply {
    const t = target.type;
    const object = this.parseWriteBody(req, body);
    this.checkKind(t, object);
    checkShapes(t, object);
    const meta = this.metadataOf(object);
    if (!meta.name) {
      if (!meta.generateName)
        throw invalid(t, '', [required('metadata.name', 'name or generateName is required')]);
      meta.name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    }
    this.checkIdentity({ ...target, name: meta.name }, meta);
    delete meta.managedFields;
    this.requireNamespace(t, target.namespace);
    if (this.objects.has(this.key(t, target.namespace, meta.name))) throw alreadyExists(t, meta.name);
    const result = this.commit(t, undefined, object, {
      fields: { update: fieldManagerFrom(query, req.headers['user-agent']) },
      keepStatus: true,
      validate: true,
      controllers: true,
      dryRun: query.has('dryRun'),
    });
    return { code: 201, body: this.output(t, result.object) };
  }

  private serveReplace(target: Target, query: URLSearchParams, req: IncomingMessage, body: Buffer): Reply {
    const t = target.type;
    const object = this.parseWriteBody(req, body);
    this.checkKind(t, object);
    checkShapes(t, object);
    const meta = this.metadataOf(object);
    this.checkIdentity(target, meta);
    const old = this.mustGet(target);
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) {
      throw modified(t, target.name ?? '');
    }
    delete meta.managedFields;
    const result = this.commit(t, old, object, {
      fields: { update: fieldManagerFrom(query, req.headers['user-agent']) },
      keepStatus: true,
      validate: true,
      controllers: true,
      dryRun: query.has('dryRun'),
    });
    return { code: 200, body: this.output(t, result.object) };
  }

  /** The patched object for a JSON, merge or strategic merge patch of `old` (as served). */
  private patched(t: ResourceType, old: KubeObject, media: string, body: Buffer): JsonMap {
    let patch: unknown;
    try {
      patch = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw badRequest(`error decoding patch: ${(error as Error).message}`);
    }
    const base = this.output(t, old);
    const result =
      media === JSON_PATCH
        ? jsonPatch(base, patch)
        : mergePatch(base, media === STRATEGIC_PATCH ? dropDirectives(patch) : patch);
    if (!isMap(result)) throw badRequest('the patch must leave an object');
    const patchedVersion = getPath(patch, ['metadata', 'resourceVersion']);
    if (typeof patchedVersion === 'string' && patchedVersion !== old.metadata.resourceVersion) {
      throw modified(t, old.metadata.name ?? '');
    }
    return stripNulls(result);
  }

  private patchMedia(t: ResourceType, req: IncomingMessage): string {
    const media = mediaType(req.headers['content-type']);
    const accepted = t.crd
      ? [JSON_PATCH, MERGE_PATCH, APPLY]
      : [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY];
    // Custom resources have no strategic merge patch (client-node's patch() default!): 415.
    if (!accepted.includes(media)) throw unsupportedMedia(accepted);
    return media;
  }

  private servePatch(target: Target, query: URLSearchParams, req: IncomingMessage, body: Buffer): Reply {
    const t = target.type;
    const media = this.patchMedia(t, req);
    if (media === APPLY) return this.serveApply(target, query, body);
    if (query.has('force')) {
      throw invalid(OPTIONS_KIND('PatchOptions'), '', [
        forbidden('force', 'may not be specified for non-apply patch'),
      ]);
    }
    const old = this.mustGet(target);
    const object = this.patched(t, old, media, body);
    this.checkKind(t, object);
    checkShapes(t, object);
    this.checkIdentity(target, this.metadataOf(object));
    const result = this.commit(t, old, object, {
      fields: { update: fieldManagerFrom(query, req.headers['user-agent']) },
      keepStatus: true,
      validate: true,
      controllers: true,
      dryRun: query.has('dryRun'),
    });
    return { code: 200, body: this.output(t, result.object) };
  }

  private serveApply(target: Target, query: URLSearchParams, body: Buffer): Reply {
    const t = target.type;
    const manager = query.get('fieldManager');
    if (!manager) {
      throw invalid(OPTIONS_KIND('PatchOptions'), '', [
        required('fieldManager', 'is required for apply patch'),
      ]);
    }
    const force = query.get('force') === 'true' || query.get('force') === '1';
    const applied = this.parseBody(body, true);
    if (applied.apiVersion !== groupVersion(t)) {
      throw badRequest(
        `Incorrect version specified in apply patch. Specified patch version: ${String(applied.apiVersion ?? '')}, expected: ${groupVersion(t)}`,
      );
    }
    if (applied.kind !== t.kind) {
      throw badRequest(
        `Incorrect kind specified in apply patch. Specified patch kind: ${String(applied.kind ?? '')}, expected: ${t.kind}`,
      );
    }
    checkShapes(t, applied);
    const meta = this.metadataOf(applied);
    if (meta.managedFields !== undefined) throw badRequest('metadata.managedFields must be nil');
    if (!meta.name) throw invalid(t, target.name ?? '', [required('metadata.name', 'name is required')]);
    this.checkIdentity(target, meta);
    const old = this.objects.get(this.key(t, target.namespace, target.name ?? ''));
    if (old && meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) {
      throw modified(t, meta.name);
    }
    if (!old) this.requireNamespace(t, target.namespace);
    const { object, owners } = serverSideApply(t, old, applied, manager, force, timestamp());
    const objectMeta = this.metadataOf(object);
    objectMeta.name = meta.name;
    if (t.namespaced) objectMeta.namespace = target.namespace;
    const result = this.commit(t, old, object, {
      fields: { apply: owners },
      keepStatus: true,
      validate: true,
      controllers: true,
      dryRun: query.has('dryRun'),
    });
    return { code: old ? 200 : 201, body: this.output(t, result.object) };
  }

  /** PUT or PATCH on /status: only .status changes (not tracked in managedFields here). */
  private serveStatusWrite(
    method: string,
    target: Target,
    query: URLSearchParams,
    req: IncomingMessage,
    body: Buffer,
  ): Reply {
    const t = target.type;
    const old = this.mustGet(target);
    let written: JsonMap;
    if (method === 'PUT') {
      written = this.parseWriteBody(req, body);
      this.checkKind(t, written);
      this.checkIdentity(target, this.metadataOf(written));
    } else {
      const media = this.patchMedia(t, req);
      if (media === APPLY)
        throw methodNotAllowed(
          'apply to the status subresource is not supported by the kube-api test double',
        );
      written = this.patched(t, old, media, body);
    }
    const next = clone(old);
    if (written.status === undefined) delete next.status;
    else next.status = written.status;
    const result = this.commit(t, old, next, {
      fields: 'keep',
      keepStatus: false,
      validate: true,
      controllers: false,
      dryRun: query.has('dryRun'),
    });
    return { code: 200, body: this.output(t, result.object) };
  }

  private serveDelete(target: Target, query: URLSearchParams, body: Buffer): Reply {
    const t = target.type;
    const old = this.mustGet(target);
    if (body.length > 0) {
      const options = this.parseBody(body, false);
      const preconditions = isMap(options.preconditions) ? options.preconditions : {};
      if (preconditions.uid !== undefined && preconditions.uid !== old.metadata.uid) {
        throw new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${qualifiedResource(t)} "${old.metadata.name}": Precondition failed: UID in precondition: ${String(preconditions.uid)}, UID in object meta: ${old.metadata.uid}`,
          resourceDetails(t, old.metadata.name ?? ''),
        );
      }
      if (
        preconditions.resourceVersion !== undefined &&
        preconditions.resourceVersion !== old.metadata.resourceVersion
      ) {
        throw modified(t, old.metadata.name ?? '');
      }
    }
    return { code: 200, body: this.deleteObject(t, old, query.has('dryRun')) };
  }

  /** Deletes (or, with finalizers, marks for deletion) and returns what a DELETE answers. */
  private deleteObject(t: ResourceType, old: KubeObject, dryRun: boolean): unknown {
    if (old.metadata.finalizers?.length) {
      if (old.metadata.deletionTimestamp || dryRun) return this.output(t, old);
      const next = clone(old);
      next.metadata.deletionTimestamp = timestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      const result = this.commit(t, old, next, {
        fields: 'keep',
        keepStatus: false,
        validate: false,
        controllers: false,
      });
      return this.output(t, result.object);
    }
    if (!dryRun) this.hardDelete(t, old);
    if (t.returnsDeleted) {
      const out = this.output(t, old);
      if (!t.group && t.kind === 'Namespace') {
        // A real namespace lingers as Terminating while its content goes; here it is gone at once.
        out.metadata.deletionTimestamp = timestamp();
        out.status = { phase: 'Terminating' };
      }
      return out;
    }
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { ...resourceDetails(t, old.metadata.name ?? ''), uid: old.metadata.uid },
    };
  }

  private serveDeleteCollection(target: Target, query: URLSearchParams): Reply {
    const t = target.type;
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    const doomed = this.stored(t, target.namespace).filter(
      (o) => matchesLabels(o.metadata.labels, labels) && fields.every((match) => match(o)),
    );
    const dryRun = query.has('dryRun');
    for (const object of doomed) this.deleteObject(t, object, dryRun);
    return {
      code: 200,
      body: {
        apiVersion: groupVersion(t),
        kind: t.listKind,
        metadata: { resourceVersion: String(this.revision) },
        items: doomed.map((o) => this.output(t, o, true)),
      },
    };
  }
}

function internalError(error: unknown): JsonMap {
  return new ApiError(
    500,
    'InternalError',
    `Internal error occurred: ${(error as Error)?.message ?? String(error)}`,
  ).toStatus();
}

function decodeContinue(token: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isMap(parsed) && typeof parsed.start === 'number') return parsed.start;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: illegal base64 data');
}

/** Compares ignoring resourceVersion and managedFields timestamps. */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  const comparable = (o: KubeObject) => {
    const copy = clone(o);
    delete copy.metadata.resourceVersion;
    for (const entry of copy.metadata.managedFields ?? []) entry.time = '';
    return copy;
  };
  return isDeepStrictEqual(comparable(a), comparable(b));
}

function apiGroup(name: string, versions: string[]): JsonMap {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}

function resourceList(group: string, version: string, types: ResourceType[]): JsonMap {
  const resources: JsonMap[] = [];
  for (const t of types) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs:
        t.kind === 'Namespace' && !t.group ? ALL_VERBS.filter((v) => v !== 'deletecollection') : ALL_VERBS,
      ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
    });
    // Subresources share the kind, and come after the resource (client-node takes the first match).
    if (t.status) {
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

/**
 * Resolves the path after /api/v1 or /apis/<group>/<version>:
 *   <plural>[/<name>[/<subresource>]]                      cluster-scoped, or a list across namespaces
 *   namespaces/<ns>/<plural>[/<name>[/<subresource>]]      namespaced
 * `namespaces/<name>/status` is the Namespace's own subresource.
 */
function resolveTarget(types: ResourceType[], rest: string[]): Target {
  const byPlural = (plural: string | undefined) => types.find((t) => t.plural === plural);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const t = byPlural(rest[2]);
    if (t?.namespaced) {
      if (rest.length > 5) throw pathNotFound();
      return checkSubresource({ type: t, namespace: rest[1], name: rest[3], subresource: rest[4] });
    }
  }
  const t = byPlural(rest[0]);
  if (!t || rest.length > 3) throw pathNotFound();
  if (t.namespaced && rest.length > 1) throw pathNotFound();
  return checkSubresource({ type: t, name: rest[1], subresource: rest[2] });
}

function checkSubresource(target: Target): Target {
  if (target.subresource !== undefined && !(target.subresource === 'status' && target.type.status)) {
    throw pathNotFound();
  }
  return target;
}

/** A throwaway key and self-signed certificate for 127.0.0.1 (one day), made by openssl. */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kube-api-double-tls-'));
  try {
    const files = selfSigned(dir, 'kube-api', '/CN=kube-api-double', ['subjectAltName=IP:127.0.0.1']);
    return { key: readFileSync(files.keyFile, 'utf8'), cert: readFileSync(files.certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
