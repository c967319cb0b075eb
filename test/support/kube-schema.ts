// Checks a Kubernetes object against the Kubernetes schemas, offline: the JSON schemas of
// `kubernetes-models` (types, required fields, formats, per kind) and, since those let unknown
// fields through as the API server's non-strict mode does, the field lists of
// @kubernetes/client-node's models (OpenAPI v1.34) for strictness: a misspelled or misplaced
// field is an error, as `kubectl apply --validate=strict` makes it.
import * as models from '@kubernetes/client-node';

type Json = Record<string, unknown>;

interface Attribute {
  baseName: string;
  type: string;
}

interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

function modelClass(name: string): ModelClass | undefined {
  const found = (models as unknown as Record<string, unknown>)[name] as Partial<ModelClass> | undefined;
  return typeof found?.getAttributeTypeMap === 'function' ? (found as ModelClass) : undefined;
}

/** The fields of `value` that its type does not have, as paths. */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1]) {
    if (Array.isArray(value))
      for (const [i, item] of value.entries()) unknownFields(item, array[1] as string, `${path}[${i}]`, out);
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1]) {
    if (value && typeof value === 'object')
      for (const [key, item] of Object.entries(value)) unknownFields(item, map[1], `${path}.${key}`, out);
    return;
  }
  const model = modelClass(type);
  if (!model || !value || typeof value !== 'object' || Array.isArray(value)) return;
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value as Json)) {
    const itemType = attributes.get(key);
    if (itemType === undefined) out.push(`${path}.${key}: unknown field (${type} has no such field)`);
    else unknownFields(item, itemType, `${path}.${key}`, out);
  }
}

/** The kubernetes-models module of an apiVersion: `v1`, `apps/v1`, `rbac.authorization.k8s.io/v1`… */
async function kindModel(apiVersion: string, kind: string) {
  const module = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}`)) as Record<
    string,
    new (
      data: Json,
    ) => { validate(): void }
  >;
  return module[kind];
}

/** Why `object` is not a valid Kubernetes object of its kind: an empty list when it is. */
export async function schemaErrors(object: Json): Promise<string[]> {
  const { apiVersion, kind } = object as { apiVersion?: string; kind?: string };
  const name = `${kind}/${(object.metadata as { name?: string } | undefined)?.name ?? '?'}`;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return [`${name}: no apiVersion or kind`];
  let Model: (new (data: Json) => { validate(): void }) | undefined;
  try {
    Model = await kindModel(apiVersion, kind);
  } catch {
    Model = undefined;
  }
  if (!Model) return [`${name}: no schema for ${apiVersion} ${kind}`];
  const errors: string[] = [];
  try {
    new Model(object).validate();
  } catch (error) {
    const details = (error as { errors?: Array<{ instancePath: string; message?: string }> }).errors;
    if (details) for (const e of details) errors.push(`${name}: ${e.instancePath || '/'} ${e.message}`);
    else errors.push(`${name}: ${(error as Error).message}`);
  }
  const version = apiVersion.split('/').at(-1) ?? '';
  const rootType = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  if (!modelClass(rootType)) errors.push(`${name}: no field list for ${rootType}`);
  const unknown: string[] = [];
  unknownFields(object, rootType, '', unknown);
  for (const problem of unknown) errors.push(`${name}: ${problem.replace(/^\./, '')}`);
  return errors;
}
