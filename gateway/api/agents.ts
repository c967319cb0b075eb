// A cluster's agent: enrollment tokens (single use, short-lived) and revocation of its key.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { revokeAgent } from '../../shared/agent-revocation.js';
import { recordAudit } from '../../shared/audit.js';
import { issueEnrollmentToken } from '../../shared/enrollment.js';
import { CommanderError } from '../../shared/errors.js';
import type { SigningKey } from '../../shared/signing-key.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import { idParams, responses, timestamp } from './schemas.js';

const DEFAULT_TTL_SECONDS = 3600;
const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 86_400;

export function agentRoutes(
  app: FastifyInstance,
  deps: GatewayDeps,
  signingKey: () => Promise<SigningKey>,
): void {
  const api = typed(app);
  const { sql } = deps;

  api.post(
    '/clusters/:id/agent_tokens',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['agents'],
        description: 'The body is optional: no body at all stands for `{}`.',
        params: idParams,
        body: Type.Object(
          {
            expires_in: Type.Optional(
              Type.Integer({
                minimum: MIN_TTL_SECONDS,
                maximum: MAX_TTL_SECONDS,
                default: DEFAULT_TTL_SECONDS,
                description: 'seconds',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({
          201: {
            type: 'object',
            required: ['token', 'expires_at', 'commander_url'],
            properties: {
              token: { type: 'string' },
              expires_at: timestamp,
              commander_url: { type: 'string' },
            },
          },
        }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const key = await signingKey();
      const ttl = request.body.expires_in ?? DEFAULT_TTL_SECONDS;
      const { issued, audit } = await sql.begin(async (tx) => {
        const [cluster] = await tx`select id from clusters
          where id = ${request.params.id} and workspace_id = ${actor.workspaceId} and archived_at is null`;
        if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
        const token = await issueEnrollmentToken(tx, key, deps.publicUrl, request.params.id, ttl);
        const record = await recordAudit(tx, actor, {
          auditableType: 'AgentToken',
          auditableId: request.params.id,
          action: 'create',
          changes: { cluster_id: request.params.id, expires_at: token.expiresAt.toISOString() },
        });
        return { issued: token, audit: record };
      });
      deps.printAudit(audit);
      return reply.status(201).send({
        token: issued.token,
        expires_at: issued.expiresAt,
        commander_url: `${deps.publicUrl}/agent_api/${request.params.id}`,
      });
    },
  );

  api.delete(
    '/clusters/:id/agent',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['agents'],
        description: "Revokes the agent's key: its live session closes at once and it must enroll again.",
        params: idParams,
        response: responses({ 200: { type: 'object', properties: { revoked: { type: 'boolean' } } } }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { revoked, audit } = await sql.begin(async (tx) => {
        const [cluster] =
          await tx`select id from clusters where id = ${request.params.id} and workspace_id = ${actor.workspaceId}`;
        if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
        const done = await revokeAgent(tx, request.params.id);
        const record = await recordAudit(tx, actor, {
          auditableType: 'Agent',
          auditableId: request.params.id,
          action: 'revoke',
          changes: { revoked: done },
        });
        return { revoked: done, audit: record };
      });
      deps.printAudit(audit);
      return { revoked };
    },
  );

  api.get(
    '/clusters/:id/tunnel',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['tunnels'],
        description:
          'WebSocket upgrade (operator role): binary messages carry the raw bytes of one TCP connection to ' +
          '`target` inside the cluster; an empty binary message ends that direction. Refusals come back as ' +
          'HTTP errors before the upgrade: TARGET_NOT_ALLOWED 403, AGENT_OFFLINE 503, DIAL_FAILED 502, DIAL_TIMEOUT 504.',
        params: idParams,
        querystring: Type.Object(
          { target: Type.String({ format: 'target', description: 'host:port, IPv6 in brackets' }) },
          { additionalProperties: false },
        ),
        response: responses({}),
      },
    },
    async () => {
      throw new CommanderError('UPGRADE_REQUIRED', 'connect with a WebSocket upgrade (see commander tunnel)');
    },
  );

  api.get(
    '/clusters/:id/tunnels',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['tunnels'],
        description:
          'WebSocket upgrade (operator role): binary messages carry a yamux session in which every stream the ' +
          'client opens is one tunnel: a dial request, the answer (ok or a typed error), then raw bytes both ' +
          'ways (docs/protocol.md). What `commander tunnel` uses.',
        params: idParams,
        response: responses({}),
      },
    },
    async () => {
      throw new CommanderError('UPGRADE_REQUIRED', 'connect with a WebSocket upgrade (see commander tunnel)');
    },
  );
}
