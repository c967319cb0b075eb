// Hostile bodies to PUT …/resources: every one is refused with a 4xx naming the problem, and a
// refused PUT changes nothing (same revision, same rows, no audit record). Secrets are encrypted
// wherever they sit in the body, and an empty set is stored only when asked for explicitly.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MiB = 1024 * 1024;
const YAML = 'application/yaml';
const JSON_TYPE = 'application/json';

const configMap = (name: string, data: Record<string, string> = { a: '1' }) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'shop' },
  data,
});

/** Nine levels of ten aliases each: 10^9 strings once expanded. */
function billionLaughs(): string {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: lol, namespace: shop}', 'data:'];
  lines.push(`  l0: &l0 [${Array(10).fill('"lol"').join(', ')}]`);
  for (let level = 1; level < 9; level++) {
    lines.push(
      `  l${level}: &l${level} [${Array(10)
        .fill(`*l${level - 1}`)
        .join(', ')}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * About 1.9 MiB of YAML: 100 documents, each aliasing one 18 KiB string 99 times. Every document
 * stays within yaml's per-document alias limit and under 2 MiB as JSON; together they are 180 MB.
 */
function aliasAmplification(): string {
  const blob = 'x'.repeat(18 * 1024);
  return Array.from(
    { length: 100 },
    (_, i) =>
      `apiVersion: example.com/v1\nkind: Blob\nmetadata: {name: amp-${i}, namespace: shop}\n` +
      `spec:\n  blob: &b "${blob}"\n  copies: [${Array(99).fill('*b').join(', ')}]\n`,
  ).join('---\n');
}

interface Raw {
  status: number;
  text: string;
  body: any;
}

/** One request over node:http; the answer is read even when the server stops reading the body. */
function send(
  url: string,
  path: string,
  options: { token: string; body?: Buffer; contentType?: string; chunked?: boolean; method?: string },
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'x-auth-token': options.token };
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.body && !options.chunked) headers['content-length'] = String(options.body.length);
    const req = httpRequest(`${url}${path}`, { method: options.method ?? 'PUT', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, body });
      });
    });
    // The server may answer (413) and close before it read the whole body.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    if (options.body) {
      if (options.chunked) {
        for (let offset = 0; offset < options.body.length; offset += MiB)
          req.write(options.body.subarray(offset, offset + MiB));
      } else {
        req.write(options.body);
      }
    }
    req.end();
  });
}

describe('PUT …/resources with hostile input', () => {
  let gw: TestGateway;
  let operator: string;
  let clusterId: string;

  const path = (query = '') => `/api/v1/clusters/${clusterId}/resources${query}`;
  const put = (body: string | Buffer | undefined, contentType?: string, query = '') =>
    send(gw.url, path(query), {
      token: operator,
      body: body === undefined ? undefined : Buffer.from(body),
      contentType,
    });
  const putJson = (value: unknown, query = '') => put(JSON.stringify(value), JSON_TYPE, query);

  /** What a refused PUT must leave exactly as it was. */
  const state = async () => ({
    cluster: (
      await gw.db.sql`select current_revision, resources_hash from clusters where id = ${clusterId}`
    )[0],
    rows: await gw.db.sql`select key, hash, desired, revision, status, manifest from cluster_resources
      where cluster_id = ${clusterId} order by key`,
    auditRows: (await gw.db.sql`select count(*)::int as n from audit_records`)[0]?.n,
    audits: gw.audit.length,
  });

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator');
    const created = await gw.request('POST', '/api/v1/clusters', { token: operator, body: { name: 'shop' } });
    clusterId = created.body.id;
  });
  afterAll(() => gw.close());

  beforeEach(async () => {
    // Every case starts from a stored revision, so "nothing changed" means something.
    const stored = await putJson([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      configMap('settings', { color: 'blue' }),
    ]);
    expect(stored.status, stored.text).toBe(200);
  });

  /** The desired resources as the API lists them, in order. */
  const desired = async (): Promise<string[]> =>
    (await gw.request('GET', path(), { token: operator })).body.resources
      .filter((r: { desired: boolean }) => r.desired)
      .map((r: { kind: string; name: string }) => `${r.kind}/${r.name}`);

  /** Reads every stored row: only encrypted rows may hold a Secret, anywhere in the manifest. */
  async function expectNoPlaintextSecret(): Promise<Array<{ kind: string; manifest: string }>> {
    const rows = await gw.db.sql<{ kind: string; manifest: string }[]>`
      select kind, manifest from cluster_resources where cluster_id = ${clusterId}`;
    for (const row of rows) {
      expect(row.manifest).not.toContain('hunter2');
      if (row.manifest.startsWith('enc:')) {
        expect(gw.encryptor.decrypt(row.manifest)).toContain('hunter2');
        continue;
      }
      expect(kindsIn(JSON.parse(row.manifest))).not.toContain('Secret');
    }
    return rows;
  }

  async function expectRefused(
    what: string,
    attempt: () => Promise<Raw>,
    status: number,
    code: string,
    message?: RegExp,
  ): Promise<Raw> {
    const before = await state();
    const answer = await attempt();
    expect(answer.status, `${what}: ${answer.text.slice(0, 500)}`).toBe(status);
    expect(answer.body?.error?.code, what).toBe(code);
    if (message) expect(answer.body.error.message, what).toMatch(message);
    expect(await state(), `${what} changed the stored set`).toEqual(before);
    return answer;
  }

  it('refuses an empty body or an empty stream unless the empty set is asked for', async () => {
    const how = /allow_empty=true/;
    await expectRefused('empty YAML body', () => put('', YAML), 400, 'VALIDATION_FAILED', how);
    await expectRefused('empty JSON body', () => put('', JSON_TYPE), 400, 'VALIDATION_FAILED', how);
    await expectRefused('no body at all', () => put(undefined), 400, 'VALIDATION_FAILED', how);
    await expectRefused(
      'only comments and separators',
      () => put('# rendered nothing\n---\n---\n', YAML),
      400,
      'VALIDATION_FAILED',
      how,
    );
    await expectRefused('an empty JSON array', () => putJson([]), 400, 'VALIDATION_FAILED', how);
    await expectRefused(
      'a List with no items',
      () => putJson([{ apiVersion: 'v1', kind: 'List', items: [] }]),
      400,
      'VALIDATION_FAILED',
      how,
    );
    await expectRefused(
      'a flag that is not a boolean',
      () => putJson([], '?allow_empty=maybe'),
      400,
      'VALIDATION_FAILED',
      /allow_empty/,
    );
    await expectRefused('an unknown flag', () => putJson([], '?force=true'), 400, 'VALIDATION_FAILED');
  });

  it('stores the empty set when asked for, as YAML or JSON, with an audit record', async () => {
    const audits = gw.audit.length;
    const emptied = await put('', YAML, '?allow_empty=true');
    expect(emptied.status, emptied.text).toBe(200);
    expect(emptied.body).toMatchObject({ changed: true, added: 0, removed: 2 });
    expect(gw.audit.length).toBe(audits + 1);
    const rows = await gw.db.sql`select desired from cluster_resources where cluster_id = ${clusterId}`;
    expect(rows.every((row) => row.desired === false)).toBe(true);
    const again = await putJson([], '?allow_empty=true');
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ changed: false, revision: emptied.body.revision });
    // As docs/resources.md shows it: no body, no content type.
    const bare = await put(undefined, undefined, '?allow_empty=true');
    expect(bare.status, bare.text).toBe(200);
    expect(bare.body).toMatchObject({ changed: false, revision: emptied.body.revision });
  });

  it('refuses YAML alias bombs with a 4xx, within one document and across the whole request', async () => {
    const bomb = await expectRefused(
      'billion laughs',
      () => put(billionLaughs(), YAML),
      400,
      'INVALID_MANIFESTS',
    );
    // Aliases are references while parsing; the bomb goes off when it is written out, at 2 MiB.
    expect(bomb.body.error.details).toEqual([
      { document: 0, message: expect.stringMatching(/more than 2097152/) },
    ]);

    const amplified = aliasAmplification();
    expect(amplified.length).toBeLessThan(2 * MiB);
    await expectRefused(
      '1.9 MiB that expands to 180 MB',
      () => put(amplified, YAML),
      413,
      'PAYLOAD_TOO_LARGE',
      /32 MiB/,
    );
    await expectRefused(
      'an alias inside its own anchor (a cycle)',
      () =>
        put('apiVersion: example.com/v1\nkind: Loop\nmetadata: {name: loop}\nspec: &a {self: *a}\n', YAML),
      400,
      'INVALID_MANIFESTS',
    );
  });

  it('refuses values that PostgreSQL, JSON or Kubernetes cannot hold as given', async () => {
    const invalid = /document 0/;
    const cases: Array<[string, () => Promise<Raw>]> = [
      ['NUL in a JSON value', () => putJson([configMap('nul', { a: 'x\u0000y' })])],
      ['NUL in a JSON key', () => putJson([configMap('nul', { 'a\u0000': 'x' })])],
      [
        'NUL in a YAML value',
        () =>
          put(
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, namespace: shop}\ndata: {a: "x\\0y"}\n',
            YAML,
          ),
      ],
      [
        'a lone surrogate in JSON',
        () => put(`[${JSON.stringify(configMap('s')).replace('"1"', '"\\ud800"')}]`, JSON_TYPE),
      ],
      [
        'a lone surrogate in YAML',
        () =>
          put(
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: shop}\ndata: {a: "\\udc00"}\n',
            YAML,
          ),
      ],
      [
        '1e400 in JSON',
        () => put(`[${JSON.stringify(configMap('n')).replace('"data"', '"spec":1e400,"data"')}]`, JSON_TYPE),
      ],
      [
        '2^64 in JSON',
        () =>
          put(
            `[${JSON.stringify(configMap('n')).replace('"data"', '"spec":18446744073709551616,"data"')}]`,
            JSON_TYPE,
          ),
      ],
      [
        '.inf in YAML',
        () => put('apiVersion: example.com/v1\nkind: Num\nmetadata: {name: n}\nspec: {x: .inf}\n', YAML),
      ],
      [
        '.nan in YAML',
        () => put('apiVersion: example.com/v1\nkind: Num\nmetadata: {name: n}\nspec: {x: .nan}\n', YAML),
      ],
      [
        '2^64 in YAML',
        () =>
          put(
            'apiVersion: example.com/v1\nkind: Num\nmetadata: {name: n}\nspec: {x: 18446744073709551616}\n',
            YAML,
          ),
      ],
      [
        'a !!binary value',
        () =>
          put(
            'apiVersion: example.com/v1\nkind: Bin\nmetadata: {name: b}\nspec: {x: !!binary aGVsbG8=}\n',
            YAML,
          ),
      ],
      [
        'a !!timestamp value',
        () =>
          put(
            'apiVersion: example.com/v1\nkind: Ts\nmetadata: {name: t}\nspec: {x: !!timestamp 2001-12-14}\n',
            YAML,
          ),
      ],
      [
        'a duplicate key in JSON',
        () =>
          put(
            `[${JSON.stringify(configMap('d', { color: 'red' })).replace('"data":{', '"data":{"color":"blue",')}]`,
            JSON_TYPE,
          ),
      ],
      [
        'a duplicate key in YAML',
        () =>
          put(
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: shop}\ndata: {a: "1", a: "2"}\n',
            YAML,
          ),
      ],
      [
        'JSON nested 10,000 deep',
        () =>
          put(
            `[${JSON.stringify(configMap('deep')).replace('"data"', `"spec":${'['.repeat(10_000)}${']'.repeat(10_000)},"data"`)}]`,
            JSON_TYPE,
          ),
      ],
      [
        'YAML nested 10,000 deep',
        () =>
          put(
            `apiVersion: example.com/v1\nkind: Deep\nmetadata: {name: d}\nspec: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`,
            YAML,
          ),
      ],
      [
        'a label value that is not a string',
        () => putJson([{ ...configMap('l'), metadata: { name: 'l', namespace: 'shop', labels: { a: 1 } } }]),
      ],
      [
        'a List whose items are not an array',
        () =>
          putJson([
            { apiVersion: 'v1', kind: 'List', metadata: { name: 'l' }, items: { a: configMap('x') } },
          ]),
      ],
      [
        'a List inside a List',
        () =>
          putJson([
            {
              apiVersion: 'v1',
              kind: 'List',
              items: [{ apiVersion: 'v1', kind: 'List', items: [configMap('x')] }],
            },
          ]),
      ],
    ];
    for (const [what, attempt] of cases) {
      await expectRefused(what, attempt, 400, 'INVALID_MANIFESTS', invalid);
    }
  });

  it('refuses more documents or values than a set may hold, without building them all', async () => {
    const many = Array.from({ length: 5001 }, (_, i) => configMap(`cm-${i}`));
    await expectRefused('5,001 manifests', () => putJson(many), 400, 'INVALID_MANIFESTS', /at most 5000/);
    // Small values cost the parsers far more than their bytes: 4 million of them in 8 MiB.
    const zeros = `[${'0,'.repeat(4_000_000)}0]`;
    await expectRefused(
      'four million numbers in JSON',
      () =>
        put(
          `[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"z","namespace":"shop"},"spec":${zeros}}]`,
          JSON_TYPE,
        ),
      413,
      'PAYLOAD_TOO_LARGE',
      /values/,
    );
    await expectRefused(
      'four million numbers in YAML',
      () =>
        put(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: z, namespace: shop}\nspec: ${zeros}\n`, YAML),
      413,
      'PAYLOAD_TOO_LARGE',
      /values/,
    );
  });

  it('refuses bodies that are not UTF-8 or not of a type it reads', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: l, namespace: shop}\ndata: {a: "caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}\n'),
    ]);
    await expectRefused('latin-1 YAML', () => put(latin1, YAML), 400, 'VALIDATION_FAILED', /UTF-8/);
    await expectRefused(
      'UTF-16 JSON',
      () => put(Buffer.from(JSON.stringify([configMap('u')]), 'utf16le'), JSON_TYPE),
      400,
      'INVALID_JSON',
    );
    const accepted = /application\/yaml/;
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      await expectRefused(type, () => put('a=b', type), 415, 'UNSUPPORTED_MEDIA_TYPE', accepted);
    }
    await expectRefused('invalid JSON', () => put('[{"apiVersion": ', JSON_TYPE), 400, 'INVALID_JSON');
  });

  it('answers 413 PAYLOAD_TOO_LARGE to a body just over the limit, announced or chunked', async () => {
    const over = Buffer.alloc(32 * MiB + 1, 0x20);
    await expectRefused(
      'Content-Length over the limit',
      () => send(gw.url, path(), { token: operator, body: over, contentType: YAML }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expectRefused(
      'chunked over the limit',
      () => send(gw.url, path(), { token: operator, body: over, contentType: YAML, chunked: true }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('encrypts Secrets inside List wrappers: no Secret reaches the database in plaintext', async () => {
    const secret = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'shop' },
      stringData: { password: `hunter2-${name}` },
    });
    const yamlList = [
      'apiVersion: v1',
      'kind: List',
      'metadata: {resourceVersion: ""}',
      'items:',
      '- apiVersion: v1',
      '  kind: Secret',
      '  metadata: {name: in-yaml-list, namespace: shop}',
      '  stringData: {password: hunter2-in-yaml-list}',
      '- apiVersion: v1',
      '  kind: ConfigMap',
      '  metadata: {name: beside, namespace: shop}',
      '  data: {a: "1"}',
    ].join('\n');
    // Lists as kubectl writes them (metadata with an empty resourceVersion) and as people do.
    const stored = await putJson([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      {
        apiVersion: 'v1',
        kind: 'List',
        metadata: { name: 'bundle' },
        items: [secret('in-list'), configMap('plain')],
      },
      {
        apiVersion: 'v1',
        kind: 'SecretList',
        metadata: { name: 'secrets' },
        items: [secret('in-secret-list')],
      },
      {
        apiVersion: 'example.com/v1',
        kind: 'Secret',
        metadata: { name: 'custom', namespace: 'shop' },
        data: { password: 'hunter2-custom' },
      },
      {
        apiVersion: 'example.com/v1',
        kind: 'SecretTemplate',
        metadata: { name: 'templated', namespace: 'shop' },
        spec: { template: secret('in-template') },
      },
    ]);
    expect(stored.status, stored.text).toBe(200);
    await expectNoPlaintextSecret();
    expect(await desired()).toEqual([
      'Namespace/shop',
      'Secret/in-list',
      'ConfigMap/plain',
      'Secret/in-secret-list',
      'Secret/custom',
      'SecretTemplate/templated',
    ]);
    const fromYaml = await put(yamlList, YAML);
    expect(fromYaml.status, fromYaml.text).toBe(200);
    expect(await desired()).toEqual(['Secret/in-yaml-list', 'ConfigMap/beside']);
    const rows = await expectNoPlaintextSecret();
    expect(rows.filter((row) => row.kind === 'Secret')).toHaveLength(4);
  });
});

/** Every `kind` anywhere in a JSON value. */
function kindsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) kindsIn(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'kind' && typeof item === 'string') out.push(item);
      kindsIn(item, out);
    }
  }
  return out;
}
