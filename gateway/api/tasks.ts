// Tasks of the workspace's clusters, as the manager records them.
import type { FastifyInstance } from 'fastify';
import { CommanderError } from '../../shared/errors.js';
import type { GatewayDeps } from '../server.js';
import { idParams, nullableTimestamp, responses, timestamp, uuid } from './schemas.js';

const taskSchema = {
  type: 'object',
  required: [
    'id',
    'cluster_id',
    'kind',
    'status',
    'attempts',
    'log',
    'error',
    'created_at',
    'started_at',
    'finished_at',
  ],
  properties: {
    id: uuid,
    cluster_id: uuid,
    kind: { type: 'string', enum: ['install', 'reconcile', 'delete'] },
    status: { type: 'string', enum: ['pending', 'running', 'succeeded', 'failed', 'cancelled'] },
    attempts: { type: 'integer' },
    log: { type: 'string' },
    error: { type: ['string', 'null'] },
    created_at: timestamp,
    started_at: nullableTimestamp,
    finished_at: nullableTimestamp,
  },
} as const;

const MAX_LIST = 500;

export function taskRoutes(api: FastifyInstance, deps: GatewayDeps): void {
  const { sql } = deps;
  const columns = sql`t.id, t.cluster_id, t.kind, t.status, t.attempts, t.log, t.error, t.created_at, t.started_at, t.finished_at`;

  api.get<{ Querystring: { cluster_id?: string } }>(
    '/tasks',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['tasks'],
        querystring: { type: 'object', additionalProperties: false, properties: { cluster_id: uuid } },
        response: responses({ 200: { type: 'array', items: taskSchema } }),
      },
    },
    async (request) =>
      sql`select ${columns} from tasks t join clusters c on c.id = t.cluster_id
        where c.workspace_id = ${request.principal.workspaceId}
          ${request.query.cluster_id ? sql`and t.cluster_id = ${request.query.cluster_id}` : sql``}
        order by t.created_at desc, t.id limit ${MAX_LIST}`,
  );

  api.get<{ Params: { id: string } }>(
    '/tasks/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['tasks'], params: idParams, response: responses({ 200: taskSchema }) },
    },
    async (request) => {
      const [task] = await sql`select ${columns} from tasks t join clusters c on c.id = t.cluster_id
        where t.id = ${request.params.id} and c.workspace_id = ${request.principal.workspaceId}`;
      if (!task) throw new CommanderError('NOT_FOUND', `task ${request.params.id} not found`);
      return task;
    },
  );
}
