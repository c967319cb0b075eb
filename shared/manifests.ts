// Desired Kubernetes resources: parsing a submitted set (multi-document YAML or a JSON array) into
// validated resources, and the canonical JSON and hashes that make revisions content-addressed.
// Every size, count and depth is bounded here, whatever the body says (docs/resources.md).
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CORE_SCHEMA, type LoadOptions, loadAll, type State } from 'js-yaml';
import { CommanderError } from './errors.js';

/** Limits on a submitted set; documented in docs/resources.md. */
export const RESOURCE_LIMITS = {
  /** The whole request body. */
  maxBodyBytes: 32 * 1024 * 1024,
  /**
   * Every manifest of the set together, as canonical JSON. The same as the body: YAML aliases,
   * which count each time they are used, cannot make a set larger than a body could be.
   */
  maxSetBytes: 32 * 1024 * 1024,
  /** One manifest in canonical JSON: above the API server's own limit (about 1.5 MiB). */
  maxManifestBytes: 2 * 1024 * 1024,
  /** Resources in a set, after List wrappers are unpacked. */
  maxResources: 5000,
  /** Nested objects and arrays in one manifest (large CRD schemas reach about 40). */
  maxDepth: 100,
  /**
   * Values in a whole body (objects, arrays, keys, strings, numbers...): what parsing costs in
   * time and memory. 30 MiB of Deployments in YAML hold about 1.7 million.
   */
  maxValues: 4_000_000,
} as const;

export const MODE_ANNOTATION = 'commander.io/management-mode';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'commander';
export const CLUSTER_ANNOTATION = 'commander.io/cluster-uuid';
export type ManagementMode = 'enforced' | 'create-once';

const API_VERSION = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const NAME_RBAC = /^[A-Za-z0-9:._@-]{1,253}$/; // RBAC objects allow colons (system:…)
const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const stringMap = Type.Record(Type.String(), Type.String(), { description: 'a map of strings' });

/**
 * What every manifest of a set has: the body of PUT …/resources is an array of these (or YAML
 * documents of this shape). Fields not named here are the object's own business.
 */
export const ManifestSchema = Type.Object(
  {
    apiVersion: Type.String({ pattern: API_VERSION.source, description: 'e.g. "v1", "apps/v1"' }),
    kind: Type.String({ pattern: KIND.source, description: 'e.g. "ConfigMap"' }),
    metadata: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 253, description: 'a Kubernetes name' }),
        namespace: Type.Optional(Type.String({ pattern: NAMESPACE.source, description: 'a namespace name' })),
        labels: Type.Optional(stringMap),
        annotations: Type.Optional(stringMap),
      },
      { description: 'an object with a name' },
    ),
  },
  { description: 'a Kubernetes object' },
);
export type Manifest = Static<typeof ManifestSchema>;

export interface DesiredResource {
  /** apiVersion/kind/namespace/name: unique within a set. */
  key: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  mode: ManagementMode;
  /** sha256 of `canonical`. */
  hash: string;
  /** The manifest as canonical JSON. */
  canonical: string;
  /** A Secret, or an object that carries one (a template, say): stored encrypted. */
  sensitive: boolean;
}

export interface DocumentError {
  /** 0-based position of the document in the submitted set (empty YAML documents not counted). */
  document: number;
  /** 0-based position inside a List wrapper, when the problem is one of its items. */
  item?: number;
  message: string;
}

export interface ParsedSet {
  resources: DesiredResource[];
  /** Any error rejects the whole set. */
  errors: DocumentError[];
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

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? 'v1' : apiVersion.slice(0, slash);
}

export function resourceKey(apiVersion: string, kind: string, namespace: string, name: string): string {
  return `${apiVersion}/${kind}/${namespace}/${name}`;
}

/** Why a value has no canonical JSON; `path` names where, as in `spec.template[2].name`. */
export class CanonicalError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(path ? `${path} ${reason}` : reason);
    this.name = 'CanonicalError';
  }
}

/** Thrown when the canonical JSON would exceed `maxLength` (in UTF-16 units, so at least as many bytes). */
export class CanonicalTooLarge extends Error {
  constructor() {
    super('too large');
    this.name = 'CanonicalTooLarge';
  }
}

// UTF-16 surrogates that are not part of a pair: UTF-8 cannot hold them, and Kubernetes would
// replace them, so the live object would differ from the desired one forever. Same for NUL, which
// PostgreSQL text cannot hold.
const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * JSON with object keys sorted at every level: the same manifest always hashes alike. Stops with
 * CanonicalTooLarge as soon as the output exceeds `maxLength`, and with CanonicalError beyond
 * `maxDepth`. `strict` refuses what would not come back unchanged from JSON, PostgreSQL and
 * Kubernetes: Infinity and NaN, integers JSON readers round, Dates, Maps or Buffers made by YAML
 * tags, NUL and lone surrogates. What the gateway stored passes, so readers need not be strict.
 */
export function canonicalJson(
  value: unknown,
  limits: { maxDepth?: number; maxLength?: number; strict?: boolean } = {},
): string {
  const maxDepth = limits.maxDepth ?? Number.POSITIVE_INFINITY;
  const maxLength = limits.maxLength ?? Number.POSITIVE_INFINITY;
  const strict = limits.strict ?? false;
  const parts: string[] = [];
  const path: Array<string | number> = [];
  let length = 0;
  const emit = (text: string) => {
    length += text.length;
    if (length > maxLength) throw new CanonicalTooLarge();
    parts.push(text);
  };
  const fail = (reason: string): never => {
    throw new CanonicalError(
      path.map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`)).join(''),
      reason,
    );
  };
  const string = (text: string) => {
    if (strict && (text.includes('\0') || (SURROGATE.test(text) && LONE_SURROGATE.test(text)))) {
      fail('holds NUL or a lone UTF-16 surrogate; binary content belongs base64-encoded in binaryData');
    }
    emit(JSON.stringify(text));
  };
  const number = (item: number) => {
    if (strict && !Number.isFinite(item)) fail('is not a finite number (.inf, .nan, or too large for JSON)');
    if (strict && Number.isInteger(item) && !Number.isSafeInteger(item)) {
      fail('is an integer beyond ±2^53, which JSON readers round; quote it as a string');
    }
    emit(JSON.stringify(item));
  };
  const array = (item: unknown[], depth: number) => {
    emit('[');
    for (let i = 0; i < item.length; i++) {
      if (i > 0) emit(',');
      path.push(i);
      write(item[i], depth + 1);
      path.pop();
    }
    emit(']');
  };
  const object = (item: object, depth: number) => {
    const prototype = Object.getPrototypeOf(item);
    if (strict && prototype !== Object.prototype && prototype !== null) {
      fail(
        `is a ${prototype?.constructor?.name ?? 'non-JSON value'}, which JSON cannot hold ` +
          '(a YAML tag such as !!binary, !!timestamp or !!set?); write it as a string',
      );
    }
    const record = item as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    emit('{');
    keys.forEach((key, i) => {
      if (i > 0) emit(',');
      path.push(key);
      string(key);
      emit(':');
      write(record[key], depth + 1);
      path.pop();
    });
    emit('}');
  };
  const write = (item: unknown, depth: number): void => {
    if (typeof item === 'string') string(item);
    else if (typeof item === 'number') number(item);
    else if (typeof item === 'boolean') emit(item ? 'true' : 'false');
    else if (item === null || item === undefined) emit('null');
    else if (typeof item !== 'object') fail(`is a ${typeof item}, which JSON cannot hold`);
    else if (depth >= maxDepth) fail(`nests objects and arrays more than ${maxDepth} deep`);
    else if (Array.isArray(item)) array(item, depth);
    else object(item, depth);
  };
  write(value, 0);
  return parts.join('');
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

/** A resource that passed every check a manifest can pass alone; scope and duplicates come later. */
interface Candidate extends DesiredResource {
  document: number;
  item?: number;
  typeKey: string;
  declared?: { typeKey: string; namespaced: boolean };
}

/**
 * The one parser of submitted sets. Holds the compiled manifest schema, so make one per thread
 * and reuse it. `parse` throws CommanderError for what concerns the whole request (not UTF-8,
 * not JSON, too many resources, too large once expanded) and reports every other problem per
 * document.
 */
export class ManifestParser {
  private readonly validate: ValidateFunction;

  constructor() {
    // allErrors off: the first problem of each document is reported, and checking stops there.
    this.validate = new Ajv({ allErrors: false, verbose: true, strict: false }).compile(ManifestSchema);
  }

  parse(body: Uint8Array, format: 'yaml' | 'json'): ParsedSet {
    const text = decodeUtf8(body);
    const set = new SetReader(this.validate);
    if (format === 'json') readJson(text, set);
    else readYaml(text, set);
    return set.finish();
  }
}

function decodeUtf8(body: Uint8Array): string {
  try {
    // fatal: a Latin-1 or UTF-16 body is refused instead of stored with replacement characters.
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new CommanderError(
      'VALIDATION_FAILED',
      'the body is not valid UTF-8; send the manifests as UTF-8',
      [{ path: 'body', message: 'is not valid UTF-8' }],
    );
  }
}

function readJson(text: string, set: SetReader): void {
  if (text.trim() === '') return;
  // Counted before JSON.parse builds anything: 32 MiB of `[{},{},…]` would be ten million objects.
  const scan = scanJson(text);
  if (scan.values > RESOURCE_LIMITS.maxValues) throw tooManyValues();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new CommanderError('INVALID_JSON', `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(body)) {
    set.error({ document: 0, message: 'the body must be a JSON array of manifests' });
    return;
  }
  body.forEach((value, index) => {
    const duplicate = scan.duplicates.get(index);
    // JSON.parse keeps the last of two equal keys; Kubernetes refuses them, and so do we.
    if (duplicate !== undefined)
      set.error({ document: index, message: `holds the key "${duplicate}" twice` });
    else set.add(index, value);
  });
}

/** Thrown from the YAML parser's node listener: stops the parse at the limit, not after it. */
class TooManyValues extends Error {}

function tooManyValues(): CommanderError {
  return new CommanderError(
    'PAYLOAD_TOO_LARGE',
    `the body holds more than ${RESOURCE_LIMITS.maxValues.toLocaleString('en')} values (objects, arrays, keys, ` +
      'strings, numbers); split the set',
  );
}

/**
 * YAML 1.2's core schema, as Kubernetes reads it: no tags beyond it (!!binary, !!timestamp and
 * custom tags are refused), `<<` is an ordinary key, and aliases are references, not copies.
 */
function readYaml(text: string, set: SetReader): void {
  let values = 0;
  let state: (State & { documents?: unknown[] }) | undefined;
  const options: LoadOptions & { maxDepth: number } = {
    schema: CORE_SCHEMA,
    // A little above the manifest limit, so that canonicalJson names the deepest field.
    maxDepth: RESOURCE_LIMITS.maxDepth + 2,
    listener(event, current) {
      state = current;
      if (event === 'open' && ++values > RESOURCE_LIMITS.maxValues) throw new TooManyValues();
    },
  };
  let documents: unknown[];
  try {
    documents = loadAll(text, null, options);
  } catch (error) {
    if (error instanceof TooManyValues) throw tooManyValues();
    // Any other exception from the parser is the input's doing: a syntax error, or a depth the
    // parser refuses. It names the document it was reading, counted as the set counts them.
    const document = (state?.documents ?? []).filter((value) => value !== null && value !== undefined).length;
    set.error({ document, message: `invalid YAML: ${yamlMessage(error)}` });
    return;
  }
  let index = 0;
  for (const value of documents) {
    // An empty document (a stray `---`) is not a manifest; skip it as kubectl does.
    if (value === null || value === undefined) continue;
    set.add(index, value);
    index += 1;
  }
}

function yamlMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/maxDepth|call stack/i.test(message)) {
    return `nests objects and arrays more than ${RESOURCE_LIMITS.maxDepth} deep`;
  }
  return (message.split('\n')[0] ?? '').slice(0, 300);
}

/**
 * One pass over a JSON text before it is parsed: how many values it holds, and the first key
 * that occurs twice in one object, per element of the top-level array. Never fails: on text that
 * is not JSON, the numbers are only rough, and JSON.parse says what is wrong.
 */
function scanJson(text: string): { values: number; duplicates: Map<number, string> } {
  const duplicates = new Map<number, string>();
  // One entry per open object or array: the keys seen so far, or null for an array.
  const open: Array<Set<string> | null> = [];
  let values = 0;
  let element = 0;
  let expectKey = false;
  let expectValue = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) break;
      const keys = open[open.length - 1];
      if (keys && expectKey) {
        const raw = text.slice(i + 1, end);
        let key = raw;
        if (raw.includes('\\')) {
          try {
            key = JSON.parse(`"${raw}"`) as string;
          } catch {
            // not JSON; JSON.parse will say so
          }
        }
        if (keys.has(key) && !duplicates.has(element)) duplicates.set(element, key);
        keys.add(key);
      }
      values += 1;
      expectKey = false;
      expectValue = false;
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      values += 1;
      open.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
      expectValue = c === 0x5b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectKey = false;
      expectValue = false;
    } else if (c === 0x2c /* , */) {
      if (open.length === 1) element += 1;
      expectKey = open[open.length - 1] !== null;
      expectValue = !expectKey;
    } else if (c === 0x3a /* : */) {
      expectValue = true;
    } else if (expectValue) {
      // The first character of a number, true, false or null.
      values += 1;
      expectValue = false;
    }
  }
  return { values, duplicates };
}

/** True when the quote at `end` follows an odd number of backslashes. */
function isEscaped(text: string, end: number): boolean {
  let slashes = 0;
  for (let j = end - 1; text.charCodeAt(j) === 0x5c; j--) slashes += 1;
  return slashes % 2 === 1;
}

/** Collects the resources of one set while it is read, within the set's limits. */
class SetReader {
  private readonly candidates: Candidate[] = [];
  private readonly errors: DocumentError[] = [];
  private count = 0;
  private setBytes = 0;

  constructor(private readonly validate: ValidateFunction) {}

  error(error: DocumentError): void {
    this.errors.push(error);
  }

  /** One document: a manifest, or a List wrapper whose items are manifests (as kubectl reads it). */
  add(document: number, value: unknown): void {
    if (isListWrapper(value)) {
      value.items.forEach((item, index) => {
        if (isListWrapper(item)) {
          this.errors.push({
            document,
            item: index,
            message: 'a List inside a List; list the items directly',
          });
        } else {
          this.manifest(document, index, item);
        }
      });
    } else {
      this.manifest(document, undefined, value);
    }
  }

  private manifest(document: number, item: number | undefined, value: unknown): void {
    this.count += 1;
    const where = { document, ...(item === undefined ? {} : { item }) };
    if (this.count > RESOURCE_LIMITS.maxResources) {
      const message = `a set holds at most ${RESOURCE_LIMITS.maxResources} resources`;
      throw new CommanderError('INVALID_MANIFESTS', `${message}; this one has more (document ${document})`, [
        { ...where, message },
      ]);
    }
    const checked = this.check(value);
    if (typeof checked === 'string') this.errors.push({ ...where, message: checked });
    else this.candidates.push({ ...checked, ...where });
  }

  /** Everything one manifest can be checked for alone: a problem, or the resource it is. */
  private check(value: unknown): string | Omit<Candidate, 'document' | 'item'> {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return 'a manifest must be an object';
    const remaining = RESOURCE_LIMITS.maxSetBytes - this.setBytes;
    const tooLarge = `the manifest is more than ${RESOURCE_LIMITS.maxManifestBytes} bytes as JSON; at most ${RESOURCE_LIMITS.maxManifestBytes} are accepted`;
    let canonical: string;
    try {
      canonical = canonicalJson(value, {
        maxDepth: RESOURCE_LIMITS.maxDepth,
        maxLength: Math.min(RESOURCE_LIMITS.maxManifestBytes, remaining),
        strict: true,
      });
    } catch (error) {
      if (error instanceof CanonicalError) return error.message;
      if (!(error instanceof CanonicalTooLarge)) throw error;
      if (remaining <= RESOURCE_LIMITS.maxManifestBytes) throw this.tooLarge();
      return tooLarge;
    }
    // The length checked above counts UTF-16 units; the limits are in UTF-8 bytes.
    const size = Buffer.byteLength(canonical);
    if (size > RESOURCE_LIMITS.maxManifestBytes) return tooLarge;
    this.setBytes += size;
    if (this.setBytes > RESOURCE_LIMITS.maxSetBytes) throw this.tooLarge();

    if (!this.validate(value)) return schemaMessage(this.validate.errors?.[0]);
    const { apiVersion, kind, metadata } = value as Manifest;
    if (kind === 'List' && groupOf(apiVersion) === 'v1') return 'a List needs an array of items';
    const rbac = groupOf(apiVersion) === 'rbac.authorization.k8s.io';
    if (!(rbac ? NAME_RBAC : NAME).test(metadata.name)) {
      return 'metadata.name is missing or not a valid Kubernetes name';
    }
    if ('generateName' in metadata || 'resourceVersion' in metadata || 'uid' in metadata) {
      return 'metadata.generateName, resourceVersion and uid are set by the cluster, not in a desired manifest';
    }
    const mode = metadata.annotations?.[MODE_ANNOTATION] ?? 'enforced';
    if (mode !== 'enforced' && mode !== 'create-once') {
      return `annotation ${MODE_ANNOTATION} must be "enforced" or "create-once", not "${mode}"`;
    }
    const namespace = metadata.namespace ?? '';
    return {
      key: resourceKey(apiVersion, kind, namespace, metadata.name),
      apiVersion,
      kind,
      namespace,
      name: metadata.name,
      mode,
      hash: sha256(canonical),
      canonical,
      sensitive: holdsSecret(value),
      typeKey: `${groupOf(apiVersion)}/${kind}`,
      declared: declaredKind(value),
    };
  }

  private tooLarge(): CommanderError {
    return new CommanderError(
      'PAYLOAD_TOO_LARGE',
      `the manifests come to more than ${RESOURCE_LIMITS.maxSetBytes / 1024 / 1024} MiB as JSON ` +
        '(YAML aliases count each time they are used); split the set or drop the aliases',
    );
  }

  /** Checks that need the whole set: scopes (CRDs in the set declare kinds) and duplicates. */
  finish(): ParsedSet {
    const declared = new Map<string, boolean>();
    for (const candidate of this.candidates) {
      if (candidate.declared) declared.set(candidate.declared.typeKey, candidate.declared.namespaced);
    }
    const seen = new Map<string, Candidate>();
    const resources: DesiredResource[] = [];
    for (const candidate of this.candidates) {
      const { document, item, kind, namespace, typeKey } = candidate;
      const problem = (message: string) =>
        this.errors.push({ document, ...(item === undefined ? {} : { item }), message });
      const namespaced =
        declared.get(typeKey) ??
        (NAMESPACED.has(typeKey) ? true : CLUSTER_SCOPED.has(typeKey) ? false : undefined);
      if (namespaced === false && namespace !== '') {
        problem(`${kind} is cluster-scoped: remove metadata.namespace`);
        continue;
      }
      if (namespaced === true && namespace === '') {
        problem(`${kind} is namespaced: set metadata.namespace`);
        continue;
      }
      const first = seen.get(candidate.key);
      if (first) {
        const where = first.item === undefined ? '' : ` (item ${first.item})`;
        problem(
          `duplicates document ${first.document}${where}: ${kind} ${namespace ? `${namespace}/` : ''}${candidate.name}`,
        );
        continue;
      }
      seen.set(candidate.key, candidate);
      const { document: _d, item: _i, typeKey: _t, declared: _c, ...resource } = candidate;
      resources.push(resource);
    }
    this.errors.sort((a, b) => a.document - b.document || (a.item ?? -1) - (b.item ?? -1));
    return { resources, errors: this.errors };
  }
}

/** True when the manifest is a Secret or holds an object of kind Secret anywhere inside it. */
function holdsSecret(value: unknown): boolean {
  // canonicalJson has checked the depth already, so recursion is safe here.
  if (Array.isArray(value)) return value.some(holdsSecret);
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return record.kind === 'Secret' || Object.values(record).some(holdsSecret);
}

/** kubectl's rule: a kind ending in List with an `items` array wraps other objects. */
function isListWrapper(value: unknown): value is { items: unknown[] } {
  const list = value as { kind?: unknown; items?: unknown } | null;
  return (
    typeof list === 'object' &&
    list !== null &&
    typeof list.kind === 'string' &&
    list.kind.endsWith('List') &&
    Array.isArray(list.items)
  );
}

/** The kind a CustomResourceDefinition declares, with its scope. */
function declaredKind(value: object): Candidate['declared'] {
  const crd = value as {
    kind?: unknown;
    spec?: { group?: unknown; scope?: unknown; names?: { kind?: unknown } };
  };
  if (crd.kind !== 'CustomResourceDefinition' || typeof crd.spec?.group !== 'string') return undefined;
  return {
    typeKey: `${crd.spec.group}/${String(crd.spec.names?.kind)}`,
    namespaced: crd.spec.scope === 'Namespaced',
  };
}

/** The schema's first complaint as a sentence naming the field, e.g. `metadata.name is missing or invalid (…)`. */
function schemaMessage(error: ErrorObject | undefined): string {
  if (!error) return 'the manifest is invalid';
  const steps = error.instancePath
    .split('/')
    .slice(1)
    .map((step) => step.replace(/~1/g, '/').replace(/~0/g, '~'));
  let schema = error.parentSchema as {
    description?: string;
    properties?: Record<string, { description?: string }>;
  };
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty: string }).missingProperty);
    steps.push(missing);
    schema = schema.properties?.[missing] ?? {};
  }
  if (steps.length === 0) return 'a manifest must be an object';
  const field = steps.join('.');
  return schema.description
    ? `${field} is missing or invalid (${schema.description})`
    : `${field} ${error.message ?? 'is invalid'}`;
}
