// Cluster change requests of the caller's workspace: list them, and approve one so the manager
// applies its destructive change. Conflicts answer 409 with the words Commander's clients look for.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../../shared/audit.js';
import {
  approveChangeRequest,
  CHANGE_REQUEST_STATUSES,
  type ChangeRequestRow,
  type ChangeRequestStatus,
  findChangeRequest,
  listChangeRequests,
} from '../../shared/change-requests.js';
import { CONVERGEABLE_STATUSES } from '../../shared/cluster-status.js';
import { CommanderError } from '../../shared/errors.js';
import { queueReconcile } from '../../shared/tasks.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import { idParams, nullableTimestamp, responses, timestamp, uuid } from './schemas.js';

const changeRequestSchema = {
  type: 'object',
  required: [
    'id',
    'cluster_id',
    'status',
    'destructive_change_id',
    'approved_at',
    'approved_by',
    'completed_at',
    'created_at',
    'updated_at',
  ],
  properties: {
    id: uuid,
    cluster_id: uuid,
    status: {
      type: 'string',
      enum: CHANGE_REQUEST_STATUSES,
      description:
        'pending: waits for approval; approved: the manager converges; completed: applied; ' +
        'cancelled: the check no longer reports the change',
    },
    destructive_change_id: {
      type: ['string', 'null'],
      description: "the installer check's name for the change",
    },
    approved_at: nullableTimestamp,
    approved_by: { type: ['string', 'null'], description: 'the token or user that approved it' },
    completed_at: nullableTimestamp,
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;

function changeRequestJson(row: ChangeRequestRow) {
  return {
    id: row.id,
    cluster_id: row.cluster_id,
    status: row.status,
    destructive_change_id: row.destructive_change_id,
    approved_at: row.approved_at,
    approved_by: row.approved_by,
    completed_at: row.completed_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function clusterChangeRequestRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;

  api.get(
    '/cluster_change_requests',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['clusters'],
        description: 'Newest first, at most 500.',
        querystring: Type.Object(
          {
            cluster_id: Type.Optional(uuid),
            status: Type.Optional(
              Type.Unsafe<ChangeRequestStatus>(Type.String({ enum: [...CHANGE_REQUEST_STATUSES] })),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: { type: 'array', items: changeRequestSchema } }),
      },
    },
    async (request) =>
      (
        await listChangeRequests(sql, request.principal.workspaceId, {
          clusterId: request.query.cluster_id,
          status: request.query.status,
        })
      ).map(changeRequestJson),
  );

  api.get(
    '/cluster_change_requests/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['clusters'], params: idParams, response: responses({ 200: changeRequestSchema }) },
    },
    async (request) =>
      changeRequestJson(await findChangeRequest(sql, request.principal.workspaceId, request.params.id)),
  );

  api.post(
    '/cluster_change_requests/:id/approve',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['clusters'],
        description:
          'Approves a pending request and queues a reconcile that applies the change. 409 with ' +
          '`already_approved`, `already_completed` (applied or cancelled) or `cluster_cannot_be_converged` ' +
          '(the cluster is being deleted, deleted, or not created yet). No body.',
        params: idParams,
        response: responses({ 200: changeRequestSchema }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        const found = await findChangeRequest(tx, request.principal.workspaceId, request.params.id, {
          lock: true,
        });
        if (found.status === 'approved') {
          throw new CommanderError(
            'ALREADY_APPROVED',
            `already_approved: change request ${found.id} was approved by ${found.approved_by}`,
          );
        }
        if (found.status === 'completed' || found.status === 'cancelled') {
          throw new CommanderError(
            'ALREADY_COMPLETED',
            found.status === 'completed'
              ? `already_completed: change request ${found.id} was applied`
              : `already_completed: change request ${found.id} was cancelled: the check no longer reports its change`,
          );
        }
        const convergeable = (CONVERGEABLE_STATUSES as readonly string[]).includes(found.cluster_status);
        if (found.cluster_archived_at || !convergeable || !found.cluster_ssh_host) {
          throw new CommanderError(
            'CLUSTER_CANNOT_BE_CONVERGED',
            `cluster_cannot_be_converged: cluster ${found.cluster_id} is ${found.cluster_status}` +
              (found.cluster_ssh_host ? '' : ' and has no host to converge'),
          );
        }
        const approved = await approveChangeRequest(tx, found.id, actor.userName ?? 'unknown');
        const task = await queueReconcile(tx, found.cluster_id);
        const record = await recordAudit(tx, actor, {
          auditableType: 'ClusterChangeRequest',
          auditableId: approved.id,
          action: 'approve',
          changes: {
            status: ['pending', 'approved'],
            cluster_id: approved.cluster_id,
            destructive_change_id: approved.destructive_change_id,
            task_id: task,
          },
        });
        return { row: approved, audit: record };
      });
      deps.printAudit(audit);
      return changeRequestJson(row);
    },
  );
}
