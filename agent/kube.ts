// The agent's view of its Kubernetes API: server-side apply under one field manager, reads,
// deletes and lists, each bounded in time, with the API server's own message on failure.
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  dumpYaml,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type V1Secret,
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

/**
 * A failed call: the HTTP status (0 when the API was unreachable), the server's message and its
 * Status reason (AlreadyExists and Conflict are both 409, and mean different things).
 */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }

  /** Worth retrying: the API was unreachable, overloaded or failing inside. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

function asKubeError(error: unknown): KubeError {
  if (error instanceof KubeError) return error;
  if (error instanceof ApiException) {
    const status = error.code;
    try {
      const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
        message?: string;
        reason?: string;
      };
      if (body?.message) return new KubeError(status, body.message, body.reason);
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
  private readonly core: CoreV1Api;

  constructor(config: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.core = config.makeApiClient(CoreV1Api);
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

  /** A Secret, or undefined when there is none. */
  async readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await call('read Secret', () => this.core.readNamespacedSecret({ namespace, name }));
    } catch (error) {
      // A missing namespace answers 404 too; the create that follows then says so.
      if (error instanceof KubeError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Creates a Secret; one that exists already fails with 409 AlreadyExists. */
  createSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    return call('create Secret', () => this.core.createNamespacedSecret({ namespace, body }));
  }

  /** Replaces a Secret; with metadata.resourceVersion set, a newer one fails with 409 Conflict. */
  replaceSecret(namespace: string, name: string, body: V1Secret): Promise<V1Secret> {
    return call('replace Secret', () => this.core.replaceNamespacedSecret({ namespace, name, body }));
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
