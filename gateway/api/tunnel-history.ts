// The tunnels opened into a cluster, newest first: read from the audit trail, where the gateway
// writes one row per tunnel when it ends (tunnel-tally.ts), refused ones included. A tunnel
// still open has no row yet.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CommanderError } from '../../shared/errors.js';
import type { GatewayDeps } from '../deps.js';
import { typed } from '../request.js';
import { idParams, responses, timestamp } from './schemas.js';

const DEFAULT_LIMIT = 100;

const tunnelSchema = Type.Object({
  id: Type.Integer({ description: 'The audit record of the tunnel' }),
  user_type: Type.Union([Type.String(), Type.Null()]),
  user_name: Type.Union([Type.String(), Type.Null()]),
  remote_address: Type.Union([Type.String(), Type.Null()]),
  target: Type.String({ description: 'host:port inside the cluster' }),
  opened_at: timestamp,
  closed_at: timestamp,
  end: Type.String({
    description: 'How it ended: closed, client_closed, agent_closed…, or the code it was refused with',
  }),
  bytes_to_target: Type.Integer(),
  bytes_from_target: Type.Integer(),
});

const historyQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: DEFAULT_LIMIT })),
    before_id: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Page backwards: tunnels recorded before this id',
      }),
    ),
  },
  { additionalProperties: false },
);

interface TunnelRow {
  id: string;
  user_type: string | null;
  user_name: string | null;
  remote_address: string | null;
  audited_changes: Record<string, unknown>;
  created_at: Date;
}

/** The audit row's changes as written by tunnel-tally.ts; a field of the wrong type reads as empty. */
function tunnelJson(row: TunnelRow) {
  const changes = row.audited_changes;
  const count = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) ? value : 0);
  return {
    id: Number(row.id),
    user_type: row.user_type,
    user_name: row.user_name,
    remote_address: row.remote_address,
    target: typeof changes.target === 'string' ? changes.target : '',
    opened_at: new Date(row.created_at.getTime() - count(changes.duration_ms)).toISOString(),
    closed_at: row.created_at.toISOString(),
    end: typeof changes.end === 'string' ? changes.end : '',
    bytes_to_target: count(changes.bytes_to_target),
    bytes_from_target: count(changes.bytes_from_target),
  };
}

export function tunnelHistoryRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;
  api.get(
    '/clusters/:id/tunnels/history',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['tunnels'],
        description:
          'The tunnels opened into the cluster that have ended, newest first: who opened each, to which ' +
          'target, when it opened and closed, how it ended (refusals included) and the bytes each way.',
        params: idParams,
        querystring: historyQuery,
        response: responses({ 200: Type.Array(tunnelSchema) }),
      },
    },
    async (request) => {
      const { workspaceId } = request.principal;
      const { id } = request.params;
      const [cluster] = await sql`select id from clusters where id = ${id} and workspace_id = ${workspaceId}`;
      if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${id} not found`);
      const { limit, before_id } = request.query;
      const rows = await sql<TunnelRow[]>`
        select id, user_type, user_name, remote_address, audited_changes, created_at
        from audit_records
        where workspace_id = ${workspaceId} and auditable_type = 'Tunnel'
          and audited_changes->>'cluster_id' = ${id}
          ${before_id ? sql`and id < ${before_id}` : sql``}
        order by id desc limit ${limit ?? DEFAULT_LIMIT}`;
      return rows.map(tunnelJson);
    },
  );
}
