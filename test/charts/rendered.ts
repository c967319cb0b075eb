// Reading what a chart rendered as a pod would see it: the environment of a container (values,
// Secret and ConfigMap keys, envFrom, field references) and the files of its Secret and
// ConfigMap volumes, written under a directory so that the programs' own config parsers can read
// them where the pod would.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Rendered = Record<string, any>;

/** The one object of this kind whose name ends with `suffix`; fails when there is not exactly one. */
export function one(objects: Rendered[], kind: string, suffix = ''): Rendered {
  const found = objects.filter((o) => o.kind === kind && String(o.metadata?.name).endsWith(suffix));
  if (found.length !== 1)
    throw new Error(`expected one ${kind} named *${suffix}, found ${found.map((o) => o.metadata?.name)}`);
  return found[0] as Rendered;
}

export function all(objects: Rendered[], kind: string): Rendered[] {
  return objects.filter((o) => o.kind === kind);
}

/** The key → text of a rendered Secret or ConfigMap, else of `external` (objects made by hand). */
function source(
  objects: Rendered[],
  kind: 'Secret' | 'ConfigMap',
  name: string,
  external: Record<string, Record<string, string>>,
): Record<string, string> | undefined {
  const object = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!object) return external[name];
  const out: Record<string, string> = { ...(object.stringData ?? {}) };
  for (const [key, value] of Object.entries<string>(object.data ?? {}))
    out[key] = kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value;
  return out;
}

/**
 * The environment of `container` in `podSpec`, its Secret and ConfigMap volumes written under
 * `root` (mount path /etc/x → root/etc/x), and every variable naming a file under a mount
 * pointed there.
 */
export function podEnvironment(
  objects: Rendered[],
  podSpec: Rendered,
  containerName: string,
  root: string,
  external: Record<string, Record<string, string>> = {},
): Record<string, string> {
  const container = (podSpec.containers as Rendered[]).find((c) => c.name === containerName);
  if (!container) throw new Error(`no container ${containerName}`);
  const env: Record<string, string> = {};
  const required = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`${containerName}: ${what} is not there`);
    return value;
  };
  for (const from of container.envFrom ?? []) {
    const name = from.secretRef?.name ?? from.configMapRef?.name;
    const kind = from.secretRef ? 'Secret' : 'ConfigMap';
    Object.assign(env, required(`${kind} ${name}`, source(objects, kind, name, external)));
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom;
    if (!ref) env[variable.name] = variable.value ?? '';
    else if (ref.secretKeyRef || ref.configMapKeyRef) {
      const key = ref.secretKeyRef ?? ref.configMapKeyRef;
      const data = source(objects, ref.secretKeyRef ? 'Secret' : 'ConfigMap', key.name, external);
      env[variable.name] = required(`${key.name}/${key.key}`, data?.[key.key]);
    } else if (ref.fieldRef)
      env[variable.name] = ref.fieldRef.fieldPath === 'status.podIP' ? '10.1.2.3' : 'pod-0';
    else throw new Error(`${variable.name}: unsupported valueFrom`);
    // Kubernetes expands $(NAME) of a variable defined before this one.
    env[variable.name] = (env[variable.name] as string).replace(
      /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
      (text, name) => env[name] ?? text,
    );
  }
  const mounts: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = (podSpec.volumes as Rendered[]).find((v) => v.name === mount.name);
    mounts.push(mount.mountPath);
    const kind = volume?.secret ? 'Secret' : volume?.configMap ? 'ConfigMap' : undefined;
    if (!kind) continue;
    const name = volume?.secret?.secretName ?? volume?.configMap?.name;
    const data = source(objects, kind, name, external);
    if (!data && (volume?.secret?.optional || volume?.configMap?.optional)) continue;
    const dir = join(root, mount.mountPath);
    mkdirSync(dir, { recursive: true });
    for (const [key, value] of Object.entries(required(`${kind} ${name}`, data)))
      writeFileSync(join(dir, key), value);
  }
  for (const [name, value] of Object.entries(env)) {
    if (mounts.some((path) => value.startsWith(`${path}/`))) env[name] = join(root, value);
  }
  return env;
}
