// The Kubernetes API a sync test runs against: the double in kube-api.ts, or, when KUBECONFIG is
// set, that real cluster behind a counting proxy, so the same tests can count the requests the
// agent makes either way. Tests read and change objects through this interface as another client
// (a person with kubectl) would.

import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import {
  dumpYaml,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  VersionApi,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  type KubeApi,
  type KubeObject,
  type RecordedRequest,
  type RequestFilter,
  startKubeApi,
} from './kube-api.js';

export interface KubeTarget {
  /** A kubeconfig file for the agent. */
  kubeconfig: string;
  /** True for a real cluster (KUBECONFIG), false for the double. */
  real: boolean;
  /** The double, when that is what runs (for fixtures only the double can fake). */
  double?: KubeApi;
  /** The requests the agent made, in order. */
  readonly requests: RecordedRequest[];
  count(filter?: RequestFilter): number;
  resetCounts(): void;
  get(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined>;
  /** Creates or replaces an object as another client would. */
  put(object: KubeObject): Promise<void>;
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void>;
  list(apiVersion: string, kind: string): Promise<KubeObject[]>;
  version(): Promise<string>;
  close(): Promise<void>;
}

function matches(request: RecordedRequest, filter: RequestFilter): boolean {
  return (
    (!filter.method || request.method === filter.method) &&
    (!filter.pathIncludes || request.path.includes(filter.pathIncludes)) &&
    (!filter.contentType || (request.contentType ?? '').startsWith(filter.contentType))
  );
}

export async function startKubeTarget(dir: string): Promise<KubeTarget> {
  if (!process.env.KUBECONFIG) {
    const double = await startKubeApi();
    return {
      kubeconfig: double.writeKubeconfig(dir),
      real: false,
      double,
      requests: double.requests,
      count: (filter) => double.count(filter),
      resetCounts: () => double.resetCounts(),
      get: async (...args) => double.get(...args),
      put: async (object) => void double.put(object),
      remove: async (...args) => void double.remove(...args),
      list: async (apiVersion, kind) => double.list(apiVersion, kind),
      version: async () =>
        String(
          (
            (await (
              await fetch(`${double.url}/version`, { headers: { authorization: `Bearer ${double.token}` } })
            ).json()) as { gitVersion: string }
          ).gitVersion,
        ),
      close: () => double.close(),
    };
  }
  return realCluster(dir);
}

async function realCluster(dir: string): Promise<KubeTarget> {
  const config = new KubeConfig();
  config.loadFromDefault();
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error('KUBECONFIG names no current cluster');
  const tls: RequestOptions = {};
  await config.applyToHTTPSOptions(tls);
  const requests: RecordedRequest[] = [];
  // Plain HTTP in; out with the real cluster's TLS (unless it serves plain HTTP) and credentials.
  const proxy: Server = createServer((incoming: IncomingMessage, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const recorded: RecordedRequest = {
      method: incoming.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      contentType: incoming.headers['content-type'],
      fieldManager: url.searchParams.get('fieldManager') ?? undefined,
      status: 0,
    };
    requests.push(recorded);
    const { authorization: _dropped, host: _host, ...headers } = incoming.headers;
    const send = server.startsWith('https:') ? httpsRequest : httpRequest;
    const upstream = send(
      new URL(`${url.pathname}${url.search}`, server),
      { ...tls, method: incoming.method, headers: { ...headers, ...(tls.headers as object) } },
      (answer) => {
        recorded.status = answer.statusCode ?? 0;
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: proxied\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: proxied\n  user:\n    token: the-proxy-adds-the-real-credentials',
      'contexts:',
      '- name: proxied\n  context:\n    cluster: proxied\n    user: proxied',
      'current-context: proxied',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const client = KubernetesObjectApi.makeApiClient(config);
  const plain = (object: KubernetesObject) => parse(dumpYaml(object)) as KubeObject;
  const ref = (apiVersion: string, kind: string, namespace: string | undefined, name: string) =>
    ({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } }) as KubernetesObject & {
      metadata: { name: string };
    };
  const notFound = (error: unknown) => (error as { code?: number }).code === 404;
  return {
    kubeconfig,
    real: true,
    requests,
    count: (filter = {}) => requests.filter((r) => matches(r, filter)).length,
    resetCounts: () => {
      requests.length = 0;
    },
    async get(apiVersion, kind, namespace, name) {
      try {
        return plain(await client.read(ref(apiVersion, kind, namespace, name)));
      } catch (error) {
        if (notFound(error)) return undefined;
        throw error;
      }
    },
    async put(object) {
      const typed = loadYaml<KubernetesObject>(JSON.stringify(object));
      try {
        const live = await client.read(
          ref(object.apiVersion, object.kind, object.metadata.namespace, String(object.metadata.name)),
        );
        typed.metadata = { ...typed.metadata, resourceVersion: live.metadata?.resourceVersion };
        await client.replace(typed);
      } catch (error) {
        if (!notFound(error)) throw error;
        await client.create(typed);
      }
    },
    async remove(apiVersion, kind, namespace, name) {
      try {
        await client.delete(ref(apiVersion, kind, namespace, name));
      } catch (error) {
        if (!notFound(error)) throw error;
      }
    },
    async list(apiVersion, kind) {
      return (await client.list(apiVersion, kind)).items.map(plain);
    },
    async version() {
      return (await config.makeApiClient(VersionApi).getCode()).gitVersion;
    },
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}
