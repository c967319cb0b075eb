// Generated YAML and JSON bodies against a real gateway process over HTTP: whatever the body,
// content type and query, the answer is never a 5xx, the process stays up, and a refused PUT
// leaves the stored set, the revision and the audit history exactly as they were.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AgentStack } from '../e2e/agent-stack.js';

/** Characters that have broken parsers and databases before, mixed into ordinary text. */
const nasty = fc.constantFrom(
  '\u0000',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\u2028',
  '\\',
  '"',
  "'",
  '\n',
  '\t',
  ': ',
  '- ',
  '#',
  '&a ',
  '*a',
  '!!binary ',
  '!!timestamp ',
  '<<: ',
  '{',
  '[',
  '---\n',
  '...\n',
  '%YAML 1.1\n',
);
const text = fc.string({ unit: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), nasty) });
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 53 + 2, 1e308, -0, Number.MAX_SAFE_INTEGER),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', '')), tie('value'), {
    maxKeys: 4,
  }),
})).value;

const name = fc.oneof(
  fc.constantFrom('a', 'web', 'db-password', 'system:admin', 'x'.repeat(254), 'UPPER', '', '-a'),
  fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/),
  text,
);
const kind = fc.constantFrom(
  ...[
    'v1/ConfigMap',
    'v1/Secret',
    'v1/Namespace',
    'v1/List',
    'v1/SecretList',
    'apps/v1/Deployment',
    'rbac.authorization.k8s.io/v1/ClusterRole',
    'apiextensions.k8s.io/v1/CustomResourceDefinition',
    'example.com/v1/Widget',
    'bad version/lowercase',
  ].map((type) => ({
    apiVersion: type.slice(0, type.lastIndexOf('/')),
    kind: type.slice(type.lastIndexOf('/') + 1),
  })),
);

const manifest: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  manifest: fc
    .record(
      {
        kind,
        name,
        namespace: fc.option(fc.oneof(fc.constantFrom('shop', 'kube-system'), text), { nil: undefined }),
        annotations: fc.option(
          fc.dictionary(
            fc.constantFrom('commander.io/management-mode', 'note'),
            fc.oneof(fc.constantFrom('enforced', 'create-once', 'sometimes'), value),
          ),
          { nil: undefined },
        ),
        extra: fc.dictionary(fc.constantFrom('data', 'stringData', 'spec', 'items', 'metadata'), value, {
          maxKeys: 2,
        }),
        items: fc.option(fc.array(tie('manifest'), { maxLength: 3 }), { nil: undefined }),
      },
      { requiredKeys: ['kind', 'name', 'extra'] },
    )
    .map(({ kind: { apiVersion, kind: kindName }, name: n, namespace, annotations, extra, items }) => ({
      apiVersion,
      kind: kindName,
      metadata: {
        name: n,
        ...(namespace === undefined ? {} : { namespace }),
        ...(annotations ? { annotations } : {}),
      },
      ...extra,
      ...(items ? { items } : {}),
    })),
})).manifest;

/** Manifests the gateway accepts, so that some sets are stored and later refusals have something to keep. */
const validManifest = fc
  .record({
    name: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/),
    data: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
  })
  .map(({ name: n, data }) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: n, namespace: 'shop' },
    data,
  }));
const anyManifest = fc.oneof(validManifest, manifest);

/** Cuts, splices and repeats: small edits that turn a valid body into an almost valid one. */
function mutate(body: string, edits: Array<{ at: number; cut: number; insert: string }>): string {
  let out = body;
  for (const { at, cut, insert } of edits) {
    const position = out.length === 0 ? 0 : at % (out.length + 1);
    out = out.slice(0, position) + insert + out.slice(position + cut);
  }
  return out;
}
const edits = fc.array(
  fc.record({
    at: fc.nat(),
    cut: fc.nat({ max: 8 }),
    insert: fc.oneof(nasty, text, fc.constantFrom('  ', '\n  ', '[[[[[[[[', '{{{{', ': *a', '&a [*a]')),
  }),
  { maxLength: 4 },
);

const yamlBody = fc
  .tuple(fc.array(anyManifest, { maxLength: 4 }), edits)
  .map(([documents, changes]) => mutate(documents.map((d) => stringify(d)).join('---\n'), changes));
const jsonBody = fc
  .tuple(fc.oneof(fc.array(anyManifest, { maxLength: 4 }), value), edits, fc.boolean())
  .map(([body, changes, edit]) => (edit ? mutate(JSON.stringify(body), changes) : JSON.stringify(body)));
const bombBody = fc
  .record({
    width: fc.integer({ min: 2, max: 12 }),
    depth: fc.integer({ min: 2, max: 12 }),
    docs: fc.nat({ max: 5 }),
  })
  .map(({ width, depth, docs }) => {
    const levels = [`l0: &l0 "${'x'.repeat(1000)}"`];
    for (let i = 1; i < depth; i++)
      levels.push(
        `l${i}: &l${i} [${Array(width)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const doc = `apiVersion: example.com/v1\nkind: Bomb\nmetadata: {name: b}\nspec:\n  ${levels.join('\n  ')}\n`;
    return Array(docs + 1)
      .fill(doc)
      .join('---\n');
  });

const cleanBody = fc
  .tuple(fc.array(validManifest, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([documents, asYaml]) =>
    asYaml ? documents.map((d) => stringify(d)).join('---\n') : JSON.stringify(documents),
  );

const request = fc.record({
  body: fc.oneof(
    { arbitrary: cleanBody.map((b) => Buffer.from(b)), weight: 3 },
    yamlBody.map((b) => Buffer.from(b)),
    jsonBody.map((b) => Buffer.from(b)),
    bombBody.map((b) => Buffer.from(b)),
    fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  ),
  contentType: fc.constantFrom(
    'application/yaml',
    'application/json',
    'text/yaml',
    'application/x-yaml',
    'application/json; charset=utf-8',
    'application/yaml; charset=latin1',
    'text/plain',
    'application/octet-stream',
    undefined,
  ),
  query: fc.constantFrom('', '', '?allow_empty=true', '?allow_empty=false', '?allow_empty=1', '?x=1'),
});

describe('PUT …/resources under generated input', () => {
  let stack: AgentStack;
  let clusterId: string;

  beforeAll(async () => {
    stack = await AgentStack.start();
    clusterId = await stack.createCluster([]);
  });
  afterAll(() => stack?.close());

  /** Everything a refused PUT must leave untouched. */
  const snapshot = async () => {
    const [cluster] = await stack.db.sql`select current_revision, resources_hash from clusters
      where id = ${clusterId}`;
    const [rows] = await stack.db.sql`select count(*)::int as n,
        md5(coalesce(string_agg(key || hash || desired || revision || status || manifest, ',' order by key), ''))
          as digest
      from cluster_resources where cluster_id = ${clusterId}`;
    const [audit] = await stack.db.sql`select count(*)::int as n from audit_records`;
    return { cluster, rows, audit };
  };

  it('answers every body with 2xx or 4xx, stays up, and leaves nothing half-written', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ body, contentType, query }) => {
        const before = await snapshot();
        const response = await fetch(`${stack.gateway.url}/api/v1/clusters/${clusterId}/resources${query}`, {
          method: 'PUT',
          headers: {
            'x-auth-token': stack.operator,
            ...(contentType ? { 'content-type': contentType } : {}),
          },
          body,
        });
        const answer = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, answer.slice(0, 500)).toBeLessThan(500);
        expect(stack.gateway.command.child.exitCode, stack.gateway.command.stderr()).toBeNull();
        if (response.status !== 200) {
          expect(JSON.parse(answer).error.code).toMatch(/^[A-Z_]+$/);
          expect(await snapshot()).toEqual(before);
        }
      }),
      { numRuns: 300 },
    );
    // The generators reach both sides: some sets are stored, most are refused.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
    expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
  });
});
