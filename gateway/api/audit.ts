// The workspace's audit history, newest first.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import { typed } from '../request.js';
import { responses, timestamp } from './schemas.js';

const recordSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    auditable_type: { type: 'string' },
    auditable_id: { type: 'string' },
    action: { type: 'string' },
    user_type: { type: ['string', 'null'] },
    user_name: { type: ['string', 'null'] },
    remote_address: { type: ['string', 'null'] },
    request_uuid: { type: ['string', 'null'] },
    workspace_slug: { type: ['string', 'null'] },
    audited_changes: { type: 'object', additionalProperties: true },
    created_at: timestamp,
  },
} as const;

const DEFAULT_LIMIT = 100;

const auditQuery = Type.Object(
  {
    auditable_id: Type.Optional(Type.String({ maxLength: 200 })),
    auditable_type: Type.Optional(Type.String({ maxLength: 100 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: DEFAULT_LIMIT })),
    before_id: Type.Optional(
      Type.Integer({
        minimum: 1,
        // Ids are bigints, answered as JSON numbers: beyond this no id can be named exactly.
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Page backwards: records older than this id',
      }),
    ),
  },
  { additionalProperties: false },
);

export function auditRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;
  api.get(
    '/audit',
    {
      // A workspace's callers read its records; global callers read the global ones.
      config: { role: 'viewer', globalRole: 'global_viewer' },
      schema: {
        tags: ['audit'],
        querystring: auditQuery,
        response: responses({ 200: { type: 'array', items: recordSchema } }),
      },
    },
    async (request) => {
      const { auditable_id, auditable_type, limit, before_id } = request.query;
      const rows =
        await sql`select id, auditable_type, auditable_id, action, user_type, user_name, remote_address,
          request_uuid, workspace_slug, audited_changes, created_at
        from audit_records where ${
          request.caller.scope === 'workspace'
            ? sql`workspace_id = ${request.caller.workspaceId}`
            : sql`workspace_id is null`
        }
          ${auditable_id ? sql`and auditable_id = ${auditable_id}` : sql``}
          ${auditable_type ? sql`and auditable_type = ${auditable_type}` : sql``}
          ${before_id ? sql`and id < ${before_id}` : sql``}
        order by id desc limit ${limit ?? DEFAULT_LIMIT}`;
      return rows.map((row) => ({ ...row, id: Number(row.id) }));
    },
  );
}
