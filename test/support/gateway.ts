// An in-process gateway on a fresh database, served on a real loopback port.

import { createMetrics } from '../../gateway/metrics.js';
import { buildServer } from '../../gateway/server.js';
import type { AuditRecord } from '../../shared/audit.js';
import type { OidcConfig } from '../../shared/config.js';
import { Encryptor } from '../../shared/crypto.js';
import { checkEncryptionKeys } from '../../shared/db/key-check.js';
import { createLogger } from '../../shared/logger.js';
import type { GlobalRole, Role } from '../../shared/roles.js';
import { createToken } from '../../shared/tokens.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { freshDatabase, type TestDatabase } from './db.js';
import { testKeys } from './keys.js';

export interface TestGateway {
  url: string;
  db: TestDatabase;
  encryptor: Encryptor;
  /** Every audit record printed, in order. */
  audit: AuditRecord[];
  /** The lines printed on the audit stdout, exactly as written. */
  auditLines: string[];
  draining: { value: boolean };
  /** Every route the server registered (HEAD left out), its path as fastify has it (`/:id`). */
  routes: { method: string; path: string }[];
  token(role: Role, workspace?: string): Promise<string>;
  /** A token of no workspace. */
  globalToken(role: GlobalRole): Promise<string>;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is, with this content type, instead of JSON. */
  raw?: { body: string | Buffer; contentType: string };
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  body: any;
  text: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
}

export async function startTestGateway(
  options: {
    oidc?: OidcConfig;
    /** Every log line the gateway writes (level trace), when given. */
    logs?: string[];
    caBundle?: string;
  } = {},
): Promise<TestGateway> {
  const db = await freshDatabase();
  const encryptor = await Encryptor.create(testKeys());
  await checkEncryptionKeys(db.sql, encryptor);
  const audit: AuditRecord[] = [];
  const auditLines: string[] = [];
  const draining = { value: false };
  const app = await buildServer({
    sql: db.sql,
    encryptor,
    logger: options.logs
      ? createLogger('trace', 'test', { write: (line: string) => void options.logs?.push(line) })
      : createLogger('silent', 'test'),
    metrics: createMetrics(db.sql, 'commander-test', 5),
    printAudit: (...records) => {
      for (const record of records) {
        audit.push(record);
        auditLines.push(`[audit] ${JSON.stringify(record)}`);
      }
    },
    publicUrl: 'http://127.0.0.1',
    caBundle: options.caBundle,
    oidc: options.oidc,
    isDraining: () => draining.value,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const request = async (method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers['x-auth-token'] = opts.token;
    let body: string | Buffer | undefined;
    if (opts.raw) {
      headers['content-type'] = opts.raw.contentType;
      body = opts.raw.body;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const response = await fetch(`${url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, text, headers: Object.fromEntries(response.headers) };
  };

  return {
    url,
    db,
    encryptor,
    audit,
    auditLines,
    draining,
    routes: registeredRoutes(app.printRoutes({ commonPrefix: false })),
    async token(role, workspace = 'alpha') {
      const ws = await ensureWorkspace(db.sql, workspace);
      return (await createToken(db.sql, ws.id, `${role}-${workspace}`, role)).token;
    },
    async globalToken(role) {
      return (await createToken(db.sql, null, `${role}-token`, role)).token;
    },
    request,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

/**
 * The routes of fastify's printed route tree (`├── /api/v1/clusters (GET, HEAD, POST)`, children
 * indented by four characters and named by what they add to their parent's path).
 */
function registeredRoutes(tree: string): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const parents: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    const path = (parents[depth - 1] ?? '') + (match[2] as string);
    parents[depth] = path;
    parents.length = depth + 1;
    for (const method of match[3]?.split(', ') ?? []) if (method !== 'HEAD') routes.push({ method, path });
  }
  return routes;
}
