// Tasks of the workspace's clusters, as the manager records them.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { queueReconcile } from '../../shared/tasks.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
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
    kind: { type: 'string', enum: ['install', 'reconcile', 'delete', 'noop'] },
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

export function taskRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;
  const columns = sql`t.id, t.cluster_id, t.kind, t.status, t.attempts, t.log, t.error, t.created_at, t.started_at, t.finished_at`;

  api.get(
    '/tasks',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['tasks'],
        querystring: Type.Object({ cluster_id: Type.Optional(uuid) }, { additionalProperties: false }),
        response: responses({ 200: { type: 'array', items: taskSchema } }),
      },
    },
    async (request) =>
      sql`select ${columns} from tasks t join clusters c on c.id = t.cluster_id
        where c.workspace_id = ${request.principal.workspaceId}
          ${request.query.cluster_id ? sql`and t.cluster_id = ${request.query.cluster_id}` : sql``}
        order by t.created_at desc, t.id limit ${MAX_LIST}`,
  );

  api.post(
    '/clusters/:id/tasks',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['tasks'],
        description:
          'Queues a reconcile (at most one waits per cluster). A destructive change the check reports is ' +
          'applied once its cluster change request is approved (POST /cluster_change_requests/:id/approve).',
        params: idParams,
        body: Type.Object({ kind: Type.Literal('reconcile') }, { additionalProperties: false }),
        response: responses({ 201: taskSchema }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { task, audit } = await sql.begin(async (tx) => {
        const [cluster] = await tx`select id, archived_at from clusters
          where id = ${request.params.id} and workspace_id = ${request.principal.workspaceId} for update`;
        if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
        if (cluster.archived_at) throw new CommanderError('CONFLICT', 'the cluster is archived');
        const queued = await queueReconcile(tx, cluster.id);
        const record = await recordAudit(tx, actor, {
          auditableType: 'Task',
          auditableId: queued,
          action: 'create',
          changes: { kind: 'reconcile', cluster_id: cluster.id },
        });
        const [row] = await tx`select ${columns} from tasks t where t.id = ${queued}`;
        return { task: row, audit: record };
      });
      deps.printAudit(audit);
      return reply.status(201).send(task);
    },
  );

  api.post(
    '/tasks/:id/cancel',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['tasks'],
        description: 'A pending task is cancelled at once; a running one stops at its next heartbeat.',
        params: idParams,
        response: responses({ 200: taskSchema }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { task, audit } = await sql.begin(async (tx) => {
        const [found] = await tx`select t.id, t.status from tasks t join clusters c on c.id = t.cluster_id
          where t.id = ${request.params.id} and c.workspace_id = ${request.principal.workspaceId} for update of t`;
        if (!found) throw new CommanderError('NOT_FOUND', `task ${request.params.id} not found`);
        if (found.status === 'pending') {
          await tx`update tasks set status = 'cancelled', finished_at = now(), error = 'cancelled' where id = ${found.id}`;
        } else if (found.status === 'running') {
          await tx`update tasks set cancel_requested = true where id = ${found.id}`;
        } else {
          throw new CommanderError('CONFLICT', `task ${found.id} already ${found.status}`);
        }
        const record = await recordAudit(tx, actor, {
          auditableType: 'Task',
          auditableId: found.id,
          action: 'cancel',
          changes: { status: found.status },
        });
        const [after] = await tx`select ${columns} from tasks t where t.id = ${found.id}`;
        return { task: after, audit: record };
      });
      deps.printAudit(audit);
      return task;
    },
  );

  api.get(
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
