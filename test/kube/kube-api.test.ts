// The Kubernetes API double, driven by the real client library exactly as an agent uses it:
// KubernetesObjectApi for server-side apply, read, list and delete, and the typed APIs.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  FetchError,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type V1ConfigMap,
  type V1CustomResourceDefinition,
  type V1Deployment,
  type V1Namespace,
  VersionApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeApi, startKubeApi } from '../support/kube-api.js';

const MANAGER = 'commander-agent';
const ESTABLISH_DELAY_MS = 200;

let kube: KubeApi;
let kc: KubeConfig;
let client: KubernetesObjectApi;

beforeAll(async () => {
  kube = await startKubeApi({ gitVersion: 'v1.30.4', crdEstablishDelayMs: ESTABLISH_DELAY_MS });
  kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig());
  client = KubernetesObjectApi.makeApiClient(kc);
  // The namespace most tests work in; each test names its own objects.
  await apply(namespace('team-a'));
});

afterAll(async () => {
  await kube?.close();
});

/** Server-side apply, as the agent does it. */
function apply<T extends KubernetesObject>(object: T, force = true): Promise<T> {
  return client.patch(object, undefined, undefined, MANAGER, force, PatchStrategy.ServerSideApply);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the request to fail');
}

/** The HTTP code and the Status body of a failed client call (ApiException.body is the raw text). */
async function failedWith(promise: Promise<unknown>): Promise<{ code: number; status: any }> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ApiException);
  const exception = error as ApiException<unknown>;
  return { code: exception.code, status: JSON.parse(String(exception.body)) };
}

function authed(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${kube.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${kube.token}`, ...(init.headers as Record<string, string>) },
  });
}

function namespace(name: string): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

function configMap(
  ns: string,
  name: string,
  data: Record<string, string>,
  labels?: Record<string, string>,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
    data,
  };
}

function deployment(ns: string, name: string, replicas: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
      },
    },
  };
}

const WIDGET_CRD: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    scope: 'Namespaced',
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
  },
};

function widget(ns: string, name: string, app: string): KubernetesObject & { spec: { size: number } } {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name, namespace: ns, labels: { app } },
    spec: { size: 3 },
  };
}

const established = (crd: V1CustomResourceDefinition) =>
  crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;

/** Polls the CRD until Established, as an agent must. */
async function waitEstablished(name: string): Promise<V1CustomResourceDefinition> {
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  let crd = await extensions.readCustomResourceDefinition({ name });
  for (let reads = 1; !established(crd); reads += 1) {
    if (reads > 100) throw new Error(`${name} never became Established`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    crd = await extensions.readCustomResourceDefinition({ name });
  }
  return crd;
}

describe('kube-api double with @kubernetes/client-node', () => {
  it('server-side applies a namespace, a config map and a deployment', async () => {
    // A fresh client, as an agent starts with: it has discovered nothing yet.
    const agent = KubernetesObjectApi.makeApiClient(kc);
    const ssa = <T extends KubernetesObject>(object: T) =>
      agent.patch(object, undefined, undefined, MANAGER, true, PatchStrategy.ServerSideApply);
    kube.resetCounts();
    const ns = await ssa(namespace('team-apply'));
    expect(ns.metadata?.resourceVersion).toMatch(/^\d+$/);
    await ssa(configMap('team-apply', 'settings', { mode: 'fast' }));
    await ssa(deployment('team-apply', 'web', 2));

    // The wire: discovery once per group/version (to map kind to plural and scope), then one
    // apply PATCH per object, with the content type, manager and force the client sent.
    expect(kube.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /api/v1 200',
      'PATCH /api/v1/namespaces/team-apply 201',
      'PATCH /api/v1/namespaces/team-apply/configmaps/settings 201',
      'GET /apis/apps/v1 200',
      'PATCH /apis/apps/v1/namespaces/team-apply/deployments/web 201',
    ]);
    for (const request of kube.requests.filter((r) => r.method === 'PATCH')) {
      expect(request.contentType).toBe('application/apply-patch+yaml');
      expect(request.fieldManager).toBe(MANAGER);
      expect(request.query).toBe(`?fieldManager=${MANAGER}&force=true`);
    }

    const cm = await client.read<V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'team-apply' },
    });
    expect(cm.data).toEqual({ mode: 'fast' });
    expect(cm.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(cm.metadata?.uid).toBeTruthy();
    expect(cm.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([[MANAGER, 'Apply']]);
    expect(cm.metadata?.managedFields?.[0]?.fieldsV1).toEqual({ 'f:data': { 'f:mode': {} } });

    const deploy = await client.read<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'team-apply' },
    });
    expect(deploy.metadata?.generation).toBe(1);
    expect(deploy.spec?.revisionHistoryLimit).toBe(10); // defaulted by the server, owned by nobody
    expect(deploy.status?.readyReplicas).toBe(2);
    expect(deploy.status?.observedGeneration).toBe(1);

    const readNs = await client.read({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-apply' },
    });
    expect(readNs.metadata?.labels).toEqual({ 'kubernetes.io/metadata.name': 'team-apply' });
  });

  it('re-applying an unchanged object is exactly one PATCH and keeps its resourceVersion', async () => {
    await apply(configMap('team-a', 'steady', { mode: 'fast' }));
    const before = kube.get('v1', 'ConfigMap', 'team-a', 'steady');
    expect(before).toBeDefined();
    kube.resetCounts();
    const again = await apply(configMap('team-a', 'steady', { mode: 'fast' }));
    // Discovery is cached by the client, so the apply is the only request.
    expect(kube.count()).toBe(1);
    expect(kube.count({ method: 'PATCH' })).toBe(1);
    expect(kube.requests[0]?.status).toBe(200);
    // A real server does not bump resourceVersion (or generation) for a no-op apply.
    expect(again.metadata?.resourceVersion).toBe(before?.metadata.resourceVersion);

    const changed = await apply(configMap('team-a', 'steady', { mode: 'slow' }));
    expect(Number(changed.metadata?.resourceVersion)).toBeGreaterThan(
      Number(before?.metadata.resourceVersion),
    );

    const deployBefore = await apply(deployment('team-a', 'scaled', 2));
    const deployAgain = await apply(deployment('team-a', 'scaled', 2));
    expect(deployAgain.metadata?.resourceVersion).toBe(deployBefore.metadata?.resourceVersion);
    expect(deployAgain.metadata?.generation).toBe(deployBefore.metadata?.generation);
    const scaled = await apply(deployment('team-a', 'scaled', 3));
    expect(scaled.metadata?.generation).toBe((deployBefore.metadata?.generation ?? 0) + 1);
    expect(scaled.status?.readyReplicas).toBe(3);
  });

  it('serves a CRD kind only once the CRD is Established', async () => {
    await apply(namespace('team-b'));
    const release = kube.holdCrdEstablishment();
    await apply(WIDGET_CRD);
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    let crd = await extensions.readCustomResourceDefinition({ name: 'widgets.example.com' });
    expect(established(crd)).toBe(false);

    // Until then the group/version is unknown: discovery answers 404, so the apply fails.
    const early = await failedWith(apply(widget('team-b', 'w-early', 'x')));
    expect(early.code).toBe(404);
    expect(early.status.reason).toBe('NotFound');

    release();
    crd = await waitEstablished('widgets.example.com');
    expect(crd.status?.conditions?.find((c) => c.type === 'NamesAccepted')?.status).toBe('True');
    expect(crd.status?.acceptedNames?.kind).toBe('Widget');

    const created = await apply(widget('team-b', 'w1', 'x'));
    expect(created.metadata?.generation).toBe(1);
    await apply(widget('team-b', 'w2', 'y'));
    const selected = await client.list(
      'example.com/v1',
      'Widget',
      'team-b',
      undefined,
      undefined,
      undefined,
      undefined,
      'app=x',
    );
    expect(selected.items.map((item) => item.metadata?.name)).toEqual(['w1']);
    expect(selected.items[0]?.kind).toBe('Widget'); // custom resource lists keep kind on their items
    expect(selected.kind).toBe('WidgetList');
    expect(kube.requests.at(-1)?.path).toBe('/apis/example.com/v1/namespaces/team-b/widgets');
    expect(kube.requests.at(-1)?.query).toContain('labelSelector=app%3Dx');

    const notX = await client.list(
      'example.com/v1',
      'Widget',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'app!=x',
    );
    expect(notX.items.map((item) => item.metadata?.name)).toEqual(['w2']);
    const everywhere = await client.list('example.com/v1', 'Widget');
    expect(everywhere.items.map((item) => `${item.metadata?.namespace}/${item.metadata?.name}`)).toEqual([
      'team-b/w1',
      'team-b/w2',
    ]);
    const byName = await client.list(
      'example.com/v1',
      'Widget',
      'team-b',
      undefined,
      undefined,
      undefined,
      'metadata.name=w2',
    );
    expect(byName.items.map((item) => item.metadata?.name)).toEqual(['w2']);

    const groups = (await (await authed('/apis')).json()) as { groups: Array<{ name: string }> };
    expect(groups.groups.map((g) => g.name)).toContain('example.com');
  });

  it('reports a conflict with another manager, and force takes the field over', async () => {
    await apply(configMap('team-a', 'owned', { key: 'a', other: 'x' }));
    const live = kube.get('v1', 'ConfigMap', 'team-a', 'owned');
    if (!live) throw new Error('the config map was not stored');
    // A human edits the field (an Update by "kubectl-edit").
    kube.put({ ...live, data: { key: 'b', other: 'x' } });

    const conflict = await failedWith(apply(configMap('team-a', 'owned', { key: 'a', other: 'x' }), false));
    expect(conflict.code).toBe(409);
    expect(conflict.status).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
    });
    expect(conflict.status.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.key',
    );
    expect(conflict.status.details.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl-edit" using v1',
        field: '.data.key',
      },
    ]);
    expect(kube.get('v1', 'ConfigMap', 'team-a', 'owned')?.data).toEqual({ key: 'b', other: 'x' });

    const forced = await apply(configMap('team-a', 'owned', { key: 'a', other: 'x' }), true);
    expect(forced.data).toEqual({ key: 'a', other: 'x' });
    expect(kube.requests.at(-1)?.status).toBe(200);
    const managers = kube
      .get('v1', 'ConfigMap', 'team-a', 'owned')
      ?.metadata.managedFields?.map((f) => f.manager);
    expect(managers).toEqual([MANAGER]); // kubectl-edit lost its only field
  });

  it('removes a field the manager stopped applying, and keeps what others own', async () => {
    await apply(configMap('team-a', 'pruned', { a: '1', b: '2' }, { tier: 'web' }));
    const live = kube.get('v1', 'ConfigMap', 'team-a', 'pruned');
    if (!live) throw new Error('the config map was not stored');
    kube.put(
      { ...live, data: { ...(live.data as Record<string, string>), c: '3' } },
      { manager: 'someone-else' },
    );

    await apply(configMap('team-a', 'pruned', { a: '1' }));
    const after = await client.read<V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'pruned', namespace: 'team-a' },
    });
    expect(after.data).toEqual({ a: '1', c: '3' });
    expect(after.metadata?.labels).toBeUndefined();
    expect(after.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([
      [MANAGER, 'Apply'],
      ['someone-else', 'Update'],
    ]);
  });

  it('deletes, and a later read is a 404 whose body is a NotFound Status', async () => {
    await apply(configMap('team-a', 'doomed', { x: '1' }));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'doomed', namespace: 'team-a' } };
    const deleted = await client.delete(ref);
    expect(deleted.status).toBe('Success');
    expect(kube.get('v1', 'ConfigMap', 'team-a', 'doomed')).toBeUndefined();

    const read = await failedWith(client.read(ref));
    expect(read.code).toBe(404);
    expect(read.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "doomed" not found',
      reason: 'NotFound',
      details: { name: 'doomed', kind: 'configmaps' },
      code: 404,
    });
    expect((await failedWith(client.delete(ref))).code).toBe(404);
  });

  it('rejects what rejectWhen flags with 422 Invalid, the message reaching the client', async () => {
    const stop = kube.rejectWhen((object) =>
      object.kind === 'ConfigMap' && (object.data as Record<string, string> | undefined)?.mode === 'broken'
        ? 'data.mode: Unsupported value: "broken"'
        : undefined,
    );
    try {
      const rejected = await failedWith(apply(configMap('team-a', 'bad', { mode: 'broken' })));
      expect(rejected.code).toBe(422);
      expect(rejected.status.reason).toBe('Invalid');
      expect(rejected.status.message).toBe(
        'ConfigMap "bad" is invalid: data.mode: Unsupported value: "broken"',
      );
      expect(rejected.status.details).toMatchObject({ name: 'bad', kind: 'ConfigMap' });
      expect(kube.get('v1', 'ConfigMap', 'team-a', 'bad')).toBeUndefined();
      await apply(configMap('team-a', 'good', { mode: 'fine' }));
    } finally {
      stop();
    }
    await apply(configMap('team-a', 'bad', { mode: 'broken' }));
    expect(kube.get('v1', 'ConfigMap', 'team-a', 'bad')?.data).toEqual({ mode: 'broken' });
  });

  it('validates like the server: names, selectors, namespaces, managers', async () => {
    const badName = await failedWith(apply(configMap('team-a', 'Not_Valid', {})));
    // client-node lower-cases the URL path, so the body name no longer matches it.
    expect(badName.code).toBe(400);
    expect(badName.status.message).toContain('does not match the name on the URL');

    const noSelector = deployment('team-a', 'broken', 1);
    if (noSelector.spec) noSelector.spec.selector = { matchLabels: { app: 'other' } };
    const selector = await failedWith(apply(noSelector));
    expect(selector.code).toBe(422);
    expect(selector.status.message).toContain('`selector` does not match template `labels`');

    const missingNs = await failedWith(apply(configMap('nowhere', 'cm', {})));
    expect(missingNs.code).toBe(404);
    expect(missingNs.status.message).toBe('namespaces "nowhere" not found');

    const noManager = await authed('/api/v1/namespaces/team-a/configmaps/raw', {
      method: 'PATCH',
      headers: { 'content-type': 'application/apply-patch+yaml' },
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\n',
    });
    expect(noManager.status).toBe(422);
    expect(((await noManager.json()) as { message: string }).message).toContain(
      'fieldManager: Required value: is required for apply patch',
    );
  });

  it('creates, replaces with optimistic locking, and merge-patches', async () => {
    const created = await client.create(configMap('team-a', 'plain', { x: '1' }));
    expect(created.metadata?.managedFields?.[0]?.operation).toBe('Update');
    const duplicate = await failedWith(client.create(configMap('team-a', 'plain', { x: '1' })));
    expect(duplicate.code).toBe(409);
    expect(duplicate.status.reason).toBe('AlreadyExists');

    const stale = {
      ...configMap('team-a', 'plain', { x: '2' }),
      metadata: { name: 'plain', namespace: 'team-a', resourceVersion: '1' },
    };
    const conflict = await failedWith(client.replace(stale));
    expect(conflict.code).toBe(409);
    expect(conflict.status.reason).toBe('Conflict');
    stale.metadata.resourceVersion = created.metadata?.resourceVersion ?? '';
    const replaced = await client.replace(stale);
    expect(replaced.data).toEqual({ x: '2' });

    const patched = await client.patch(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'plain', namespace: 'team-a' },
        data: { y: '3' },
      },
      undefined,
      undefined,
      'patcher',
      undefined,
      PatchStrategy.MergePatch,
    );
    expect(patched.data).toEqual({ x: '2', y: '3' });
    expect(kube.requests.at(-1)?.contentType).toBe('application/merge-patch+json');
  });

  it('serves two gathered Secret creates in arrival order: one 201, one 409 AlreadyExists', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const secret = (value: string) => ({
      metadata: { name: 'raced' },
      type: 'Opaque',
      data: { key: Buffer.from(value).toString('base64') },
    });
    const release = kube.gather({ method: 'POST', pathIncludes: '/namespaces/team-a/secrets' }, 2);
    const first = core.createNamespacedSecret({ namespace: 'team-a', body: secret('first') });
    // Held until the second arrives: the first has come in and is not answered.
    const posted = () => kube.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/secrets'));
    while (posted().length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(posted().map((r) => r.status)).toEqual([0]);
    const second = core.createNamespacedSecret({ namespace: 'team-a', body: secret('second') });
    const [won, lost] = await Promise.allSettled([first, second]);
    release();
    expect(won.status).toBe('fulfilled');
    expect(lost.status).toBe('rejected');
    const refusal = await failedWith(Promise.reject((lost as PromiseRejectedResult).reason));
    expect(refusal.code).toBe(409);
    expect(refusal.status).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'AlreadyExists',
      message: 'secrets "raced" already exists',
      details: { name: 'raced', kind: 'secrets' },
    });
    const stored = await core.readNamespacedSecret({ namespace: 'team-a', name: 'raced' });
    expect(Buffer.from(stored.data?.key ?? '', 'base64').toString()).toBe('first');
    // A write with a stale resourceVersion is a 409 Conflict, not AlreadyExists.
    const stale = { ...secret('third'), metadata: { name: 'raced', resourceVersion: '1' } };
    const conflict = await failedWith(
      core.replaceNamespacedSecret({ namespace: 'team-a', name: 'raced', body: stale }),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.status.reason).toBe('Conflict');
  });

  it('serves /version, nodes and persistent volumes through the typed APIs', async () => {
    kube.addNode('node-1', { cpu: '4', memory: '16Gi' });
    kube.addPersistentVolume('pv-1', '10Gi');
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version).toMatchObject({
      major: '1',
      minor: '30',
      gitVersion: 'v1.30.4',
      platform: 'linux/amd64',
    });

    const core = kc.makeApiClient(CoreV1Api);
    const nodes = await core.listNode();
    expect(
      nodes.items.map((n) => [n.metadata?.name, n.status?.capacity?.cpu, n.status?.allocatable?.memory]),
    ).toEqual([['node-1', '4', '16Gi']]);
    const volumes = await core.listPersistentVolume();
    expect(volumes.items.map((pv) => [pv.metadata?.name, pv.spec?.capacity?.storage])).toEqual([
      ['pv-1', '10Gi'],
    ]);
    const namespaces = await core.listNamespace({ labelSelector: 'kubernetes.io/metadata.name=team-a' });
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(['team-a']);
  });

  it('flips workload readiness with setReady', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    await apply(deployment('team-a', 'flaky', 3));
    const before = await apps.readNamespacedDeployment({ name: 'flaky', namespace: 'team-a' });
    expect(before.status?.readyReplicas).toBe(3);
    kube.setReady('apps/v1', 'Deployment', 'team-a', 'flaky', false);
    const notReady = await apps.readNamespacedDeployment({ name: 'flaky', namespace: 'team-a' });
    expect(notReady.status?.readyReplicas).toBeUndefined();
    expect(notReady.status?.unavailableReplicas).toBe(3);
    expect(notReady.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('False');
    expect(notReady.metadata?.resourceVersion).not.toBe(before.metadata?.resourceVersion);
    expect(notReady.metadata?.generation).toBe(before.metadata?.generation);

    kube.setReady('apps/v1', 'Deployment', 'team-a', 'flaky', true);
    const ready = await apps.readNamespacedDeployment({ name: 'flaky', namespace: 'team-a' });
    expect(ready.status?.readyReplicas).toBe(3);
  });

  it('writes a kubeconfig file the client loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-api-'));
    try {
      const path = kube.writeKubeconfig(dir);
      const fromFile = new KubeConfig();
      fromFile.loadFromFile(path);
      expect(fromFile.getCurrentCluster()?.server).toBe(kube.url);
      const namespaces = await fromFile.makeApiClient(CoreV1Api).listNamespace();
      expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
        expect.arrayContaining(['default', 'kube-system', 'kube-public', 'team-a']),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers discovery as the real server does', async () => {
    const api = (await (await authed('/api')).json()) as { versions: string[] };
    expect(api.versions).toEqual(['v1']);
    const groups = (await (await authed('/apis')).json()) as {
      kind: string;
      groups: Array<{ name: string }>;
    };
    expect(groups.kind).toBe('APIGroupList');
    for (const group of [
      'apps',
      'apiextensions.k8s.io',
      'rbac.authorization.k8s.io',
      'batch',
      'networking.k8s.io',
    ]) {
      expect(groups.groups.map((g) => g.name)).toContain(group);
    }
    const core = (await (await authed('/api/v1')).json()) as {
      resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }>;
    };
    const byName = (name: string) => core.resources.find((r) => r.name === name);
    expect(byName('configmaps')).toMatchObject({ kind: 'ConfigMap', namespaced: true });
    expect(byName('nodes')).toMatchObject({ kind: 'Node', namespaced: false });
    expect(byName('namespaces')?.verbs).toContain('patch');
    const unknown = await authed('/apis/nope.example.io/v1');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { kind: string; reason: string }).reason).toBe('NotFound');
  });

  it('rejects requests without the bearer token with a 401 Status', async () => {
    const anonymous = await fetch(`${kube.url}/api/v1/namespaces`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/json');
    expect(await anonymous.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    const wrong = await fetch(`${kube.url}/api/v1/namespaces`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const right = await authed('/api/v1/namespaces');
    expect(right.status).toBe(200);
    const list = (await right.json()) as { kind: string; items: Array<{ metadata: { name: string } }> };
    expect(list.kind).toBe('NamespaceList');
    expect(list.items.map((n) => n.metadata.name)).toContain('default');
  });

  it('bounds request bodies', async () => {
    const huge = await authed(`/api/v1/namespaces/team-a/configmaps/huge?fieldManager=${MANAGER}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/apply-patch+yaml' },
      body: JSON.stringify(configMap('team-a', 'huge', { blob: 'x'.repeat(3 * 1024 * 1024) })),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { reason: string }).reason).toBe('RequestEntityTooLarge');
    expect(kube.get('v1', 'ConfigMap', 'team-a', 'huge')).toBeUndefined();
  });

  it('simulates an unreachable API server', async () => {
    await apply(configMap('team-a', 'reachable', { mode: 'fast' }));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'reachable', namespace: 'team-a' } };
    kube.setUnavailable(true);
    try {
      // A network error, not an HTTP answer.
      const reset = await rejection(client.read(ref));
      expect(reset).toBeInstanceOf(FetchError);
      expect((reset as FetchError).code).toBe('ECONNRESET');
      kube.setUnavailable(true, '503');
      expect((await failedWith(client.read(ref))).code).toBe(503);
    } finally {
      kube.setUnavailable(false);
    }
    expect((await client.read(ref)).metadata?.name).toBe('reachable');

    kube.failNext({ method: 'PATCH' }, { code: 500, reason: 'InternalError', message: 'etcd is sad' });
    const injected = await failedWith(apply(configMap('team-a', 'reachable', { mode: 'slow' })));
    expect(injected).toMatchObject({ code: 500, status: { message: 'etcd is sad' } });
    expect(kube.get('v1', 'ConfigMap', 'team-a', 'reachable')?.data).toEqual({ mode: 'fast' });
    await apply(configMap('team-a', 'reachable', { mode: 'slow' }));
    expect(kube.get('v1', 'ConfigMap', 'team-a', 'reachable')?.data).toEqual({ mode: 'slow' });
  });

  it('drops a CRD schema keyword that client-node cannot serialize from a raw manifest', async () => {
    // client-node serializes typed kinds through its models, which spell `x-kubernetes-*`,
    // `enum`, `default` and `$ref` differently: from a raw manifest they silently vanish.
    // loadYaml() turns a manifest into the model form, and then they survive.
    const raw = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.org' },
      spec: {
        group: 'example.org',
        names: { plural: 'gadgets', kind: 'Gadget' },
        scope: 'Cluster',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    const schema = () =>
      (
        kube.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, 'gadgets.example.org')
          ?.spec as any
      )?.versions[0].schema.openAPIV3Schema;
    await apply(raw);
    expect(schema()).toEqual({ type: 'object' });
    await apply(loadYaml<KubernetesObject>(JSON.stringify(raw)));
    expect(schema()).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  });

  it('deleting a namespace deletes its objects, deleting a CRD removes its kind', async () => {
    const gizmos: V1CustomResourceDefinition = {
      ...WIDGET_CRD,
      metadata: { name: 'gizmos.example.net' },
      spec: {
        group: 'example.net',
        names: { plural: 'gizmos', kind: 'Gizmo' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true }],
      },
    };
    const gizmo = (ns: string, name: string) => ({
      ...widget(ns, name, 'x'),
      apiVersion: 'example.net/v1',
      kind: 'Gizmo',
    });
    await apply(gizmos);
    await waitEstablished('gizmos.example.net');
    await apply(namespace('team-c'));
    await apply(gizmo('team-c', 'g1'));
    await apply(gizmo('team-a', 'g2'));
    await apply(configMap('team-c', 'cm', { x: '1' }));

    // Custom resources have no strategic merge patch, which is client-node's default patch strategy.
    expect((await failedWith(client.patch(gizmo('team-c', 'g1')))).code).toBe(415);

    const deleted = await client.delete(namespace('team-c'));
    expect(deleted).toBeDefined();
    expect(kube.get('v1', 'Namespace', undefined, 'team-c')).toBeUndefined();
    expect(kube.get('v1', 'ConfigMap', 'team-c', 'cm')).toBeUndefined();
    expect(kube.list('example.net/v1', 'Gizmo').map((g) => g.metadata.name)).toEqual(['g2']);

    await client.delete(gizmos);
    expect((await authed('/apis/example.net/v1')).status).toBe(404);
    expect(() => kube.list('example.net/v1', 'Gizmo')).toThrow();
    const gone = await failedWith(
      client.read({
        apiVersion: 'example.net/v1',
        kind: 'Gizmo',
        metadata: { name: 'g2', namespace: 'team-a' },
      }),
    );
    expect(gone.code).toBe(404);
    // Applying the CRD again serves an empty kind: its objects went with it.
    await apply(gizmos);
    await waitEstablished('gizmos.example.net');
    expect(kube.list('example.net/v1', 'Gizmo')).toEqual([]);
  });
});
