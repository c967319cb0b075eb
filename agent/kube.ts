// The agent's view of its Kubernetes API: server-side apply under one field manager, reads,
// deletes and lists, each bounded in time, with the API server's own message on failure.
import {
  ApiException,
  ApiextensionsV1Api,
  dumpYaml,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  VersionApi,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { bounded } from '../shared/lifecycle.js';

export const FIELD_MANAGER = 'commander-agent';
const CALL_TIMEOUT_MS = 30_000;

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** A failed call: the HTTP status (0 when the API was unreachable) and the server's message. */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

function asKubeError(error: unknown): KubeError {
  if (error instanceof KubeError) return error;
  if (error instanceof ApiException) {
    const status = error.code;
    try {
      const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
        message?: string;
      };
      if (body?.message) return new KubeError(status, body.message);
    } catch {
      // not a Status object
    }
    return new KubeError(status, `HTTP ${status}`);
  }
  return new KubeError(0, (error as Error)?.message ?? String(error));
}

async function call<T>(what: string, work: () => Promise<T>): Promise<T> {
  let result: { value: T } | undefined;
  try {
    result = await bounded(
      work().then((value) => ({ value })),
      CALL_TIMEOUT_MS,
    );
  } catch (error) {
    throw asKubeError(error);
  }
  if (!result)
    throw new KubeError(0, `${what}: no answer from the Kubernetes API within ${CALL_TIMEOUT_MS} ms`);
  return result.value;
}

export class Kube {
  private readonly objects: KubernetesObjectApi;
  private readonly extensions: ApiextensionsV1Api;
  private readonly versions: VersionApi;

  constructor(config: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.extensions = config.makeApiClient(ApiextensionsV1Api);
    this.versions = config.makeApiClient(VersionApi);
  }

  /** --kubeconfig, else KUBECONFIG or ~/.kube/config, else the pod's service account. */
  static load(kubeconfig?: string): Kube {
    const config = new KubeConfig();
    if (kubeconfig) config.loadFromFile(kubeconfig);
    else config.loadFromDefault();
    return new Kube(config);
  }

  /** Server-side apply, conflicts forced: our field manager owns what it applies. */
  apply(manifest: KubernetesObject): Promise<KubernetesObject> {
    // The client serializes built-in kinds through its typed models, which expect model names:
    // a plain manifest would silently lose fields such as a NetworkPolicy's `from` or a CRD
    // schema's `x-kubernetes-*`. Loading it as the client's own YAML maps the names first.
    const typed = loadYaml<KubernetesObject>(JSON.stringify(manifest));
    return call('apply', () =>
      this.objects.patch(typed, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    );
  }

  /** The live object as the API server sent it (JSON field names), or undefined when missing. */
  async read(ref: ObjectRef): Promise<KubernetesObject | undefined> {
    try {
      const typed = await call('read', () =>
        this.objects.read(ref as Parameters<KubernetesObjectApi['read']>[0]),
      );
      // The client hands back its typed model (x_kubernetes_… instead of x-kubernetes-…, Dates):
      // serialized back, it compares field by field with a manifest.
      return parse(dumpYaml(typed)) as KubernetesObject;
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** True when deleted, false when it was not there. */
  async remove(ref: ObjectRef): Promise<boolean> {
    try {
      await call('delete', () => this.objects.delete(ref as KubernetesObject));
      return true;
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return false;
      throw error;
    }
  }

  async list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string) {
    const list = await call('list', () =>
      this.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      ),
    );
    return list.items;
  }

  async crdEstablished(name: string): Promise<boolean> {
    const crd = await call('read CRD', () => this.extensions.readCustomResourceDefinition({ name }));
    return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
  }

  async version(): Promise<string> {
    const info = await call('version', () => this.versions.getCode());
    return info.gitVersion;
  }
}
