// The workspace's audit history, newest first.
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../server.js';
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

interface AuditQuery {
  auditable_id?: string;
  auditable_type?: string;
  limit: number;
  before_id?: number;
}

export function auditRoutes(api: FastifyInstance, deps: GatewayDeps): void {
  const { sql } = deps;
  api.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            auditable_id: { type: 'string', maxLength: 200 },
            auditable_type: { type: 'string', maxLength: 100 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            before_id: {
              type: 'integer',
              minimum: 1,
              description: 'Page backwards: records older than this id',
            },
          },
        },
        response: responses({ 200: { type: 'array', items: recordSchema } }),
      },
    },
    async (request) => {
      const { auditable_id, auditable_type, limit, before_id } = request.query;
      const rows =
        await sql`select id, auditable_type, auditable_id, action, user_type, user_name, remote_address,
          request_uuid, workspace_slug, audited_changes, created_at
        from audit_records where workspace_id = ${request.principal.workspaceId}
          ${auditable_id ? sql`and auditable_id = ${auditable_id}` : sql``}
          ${auditable_type ? sql`and auditable_type = ${auditable_type}` : sql``}
          ${before_id ? sql`and id < ${before_id}` : sql``}
        order by id desc limit ${limit}`;
      return rows.map((row) => ({ ...row, id: Number(row.id) }));
    },
  );
}
