// API tokens of the caller's workspace (admin only): create (shown once), list, revoke.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { ROLES, type Role } from '../../shared/roles.js';
import { createToken, type TokenRow } from '../../shared/tokens.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import { idParams, nullableTimestamp, responses, timestamp, uuid } from './schemas.js';

const tokenSchema = {
  type: 'object',
  required: ['id', 'name', 'role', 'created_at', 'last_used_at', 'revoked_at'],
  properties: {
    id: uuid,
    name: { type: 'string' },
    role: { type: 'string', enum: ROLES },
    token: { type: 'string', description: 'Present only in the answer that creates the token' },
    created_at: timestamp,
    last_used_at: nullableTimestamp,
    revoked_at: nullableTimestamp,
  },
} as const;

function tokenJson(row: TokenRow) {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}

export function tokenRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;

  api.post(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['tokens'],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]+$' }),
            role: Type.Unsafe<Role>(Type.String({ enum: [...ROLES] })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: tokenSchema }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { token, row, audit } = await sql.begin(async (tx) => {
        const created = await createToken(
          tx,
          actor.workspaceId as string,
          request.body.name,
          request.body.role,
        );
        const record = await recordAudit(tx, actor, {
          auditableType: 'AuthToken',
          auditableId: created.row.id,
          action: 'create',
          changes: { name: created.row.name, role: created.row.role },
        });
        return { ...created, audit: record };
      });
      deps.printAudit(audit);
      return reply.status(201).send({ ...tokenJson(row), token });
    },
  );

  api.get(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: { tags: ['tokens'], response: responses({ 200: { type: 'array', items: tokenSchema } }) },
    },
    async (request) => {
      const rows = await sql<TokenRow[]>`
        select id, workspace_id, name, role, created_at, last_used_at, revoked_at from api_tokens
        where workspace_id = ${request.principal.workspaceId} order by created_at, id`;
      return rows.map(tokenJson);
    },
  );

  api.delete(
    '/tokens/:id',
    {
      config: { role: 'admin' },
      schema: { tags: ['tokens'], params: idParams, response: responses({ 200: tokenSchema }) },
    },
    async (request) => {
      const actor = actorOf(request);
      const [row, audit] = await sql.begin(async (tx) => {
        const [revoked] = await tx<TokenRow[]>`
          update api_tokens set revoked_at = coalesce(revoked_at, now())
          where id = ${request.params.id} and workspace_id = ${actor.workspaceId}
          returning id, workspace_id, name, role, created_at, last_used_at, revoked_at`;
        if (!revoked) throw new CommanderError('NOT_FOUND', `token ${request.params.id} not found`);
        const record = await recordAudit(tx, actor, {
          auditableType: 'AuthToken',
          auditableId: revoked.id,
          action: 'destroy',
          changes: { revoked_at: revoked.revoked_at },
        });
        return [revoked, record] as const;
      });
      api.invalidations.publish({ table: 'api_tokens', id: row.id });
      deps.printAudit(audit);
      return tokenJson(row);
    },
  );
}
